//! L2 mode over IPv6 end to end: as `tests/l2.rs`, with 2001:db8::/32
//! addresses, so the client resolves the Service address by neighbour
//! discovery and failover rides on an unsolicited neighbour advertisement
//! (`cargo xtask envtest run -- cargo test -p leifur-speaker --features e2e --test ndp`).
//!
//! Unlike ARP, a Linux node answers a neighbour solicitation only for
//! addresses of the interface it arrived on, so the Service address on the
//! nodes' loopback needs no sysctl to keep their kernels quiet. Duplicate
//! address detection is off in every namespace (addresses usable at once).

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::Result;
use common::{Cluster, Listeners, eventually};
use leifur_speaker::election::elect;
use netns_harness::{Lab, Netns};

const VIP: &str = "2001:db8::100";
const PORT: u16 = 8080;
const ANNOUNCED_L2: &str = r#"leifur_speaker_announced_addresses{mode="l2",via="eth0"}"#;
const NDP_REPLIES: &str = r#"leifur_speaker_replies_total{protocol="ndp",interface="eth0"}"#;
const UNSOLICITED_NA: &str =
    r#"leifur_speaker_gratuitous_announcements_total{protocol="ndp",interface="eth0"}"#;

/// The node the client reaches on [VIP]:PORT with one connection attempt.
fn reached(client: &Netns) -> Result<String> {
    let addr = SocketAddr::new(VIP.parse()?, PORT);
    client.tcp_get(addr, 1, Duration::from_secs(2))
}

/// A namespace of the lab whose interfaces skip duplicate address
/// detection (for link-local addresses too, which `nodad` does not cover).
fn namespace(lab: &Lab, role: &str) -> Result<Netns> {
    let ns = lab.namespace(role)?;
    for key in ["all", "default"] {
        ns.sysctl(&format!("net.ipv6.conf.{key}.accept_dad"), "0")?;
    }
    Ok(ns)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_elected_node_answers_ndp_and_another_takes_over_when_it_dies() -> Result<()> {
    let kube = common::setup().await?;
    // Declared first, dropped last: speakers and listeners go before it.
    let lab = Lab::new()?;
    let mut cluster = Cluster::new(kube);
    let client = namespace(&lab, "client")?;
    lab.attach(&client, "eth0", &["2001:db8::1/64"])?;

    let mut listeners = Listeners::default();
    let mut macs = BTreeMap::new();
    let mut namespaces = BTreeMap::new();
    for (i, role) in ["a", "b", "c"].into_iter().enumerate() {
        let ns = namespace(&lab, role)?;
        let port = lab.attach(&ns, "eth0", &[&format!("2001:db8::{}/64", 11 + i)])?;
        ns.ip(&["addr", "add", &format!("{VIP}/128"), "dev", "lo"])?;
        let node = format!("{}-{role}", lab.id());
        listeners.serve(&ns, SocketAddr::new(VIP.parse()?, PORT), node.clone())?;
        cluster.node(&node).await?;
        macs.insert(node.clone(), port.mac);
        namespaces.insert(node, ns);
    }
    assert!(
        reached(&client).is_err(),
        "the VIP answered before any speaker"
    );

    let pool = format!("{}-ndp", lab.id());
    cluster
        .pool(
            &pool,
            serde_json::json!({
                "addresses": ["2001:db8::100-2001:db8::1ff"],
                "announce": {"l2": {"nodeSelector": {"matchLabels": {"leifur-e2e": "true"}}}}
            }),
        )
        .await?;
    let mut speakers = BTreeMap::new();
    for (node, ns) in &namespaces {
        speakers.insert(node.clone(), common::speaker(node, ns, &[])?);
    }
    let nodes: Vec<&str> = namespaces.keys().map(String::as_str).collect();
    common::full_membership(&nodes, Duration::from_secs(30)).await?;
    let service = format!("{}-web6", lab.id());
    let vip: IpAddr = VIP.parse()?;
    cluster.service(&service, &[vip]).await?;

    let elected = elect(nodes.iter().copied(), vip).unwrap().to_owned();
    let started = Instant::now();
    let first = eventually(
        "the client reaches a node",
        Duration::from_secs(30),
        async || Ok(reached(&client).ok()),
    )
    .await?;
    println!("first answer after {:?}, from {first}", started.elapsed());
    assert_eq!(
        first, elected,
        "the client reached a node that was not elected"
    );
    let neigh = client.ip(&["-6", "neigh", "show", VIP])?;
    assert!(
        neigh.contains(&macs[&elected]),
        "NDP did not resolve to {elected}: {neigh}"
    );
    for node in &nodes {
        let held = if *node == elected { 1.0 } else { 0.0 };
        assert_eq!(common::metric(node, ANNOUNCED_L2)?, held, "{node}");
    }
    // The client may have learnt the address from the announcement alone
    // (its failed attempt before the speakers left an entry to update):
    // forgotten, it must ask, and the elected speaker answer.
    client.ip(&["-6", "neigh", "flush", "to", VIP])?;
    assert_eq!(reached(&client)?, elected, "after the client asked again");
    eventually(
        "the elected speaker counts its advertisements",
        Duration::from_secs(5),
        async || {
            let replies = common::metric(&elected, NDP_REPLIES)?;
            let unsolicited = common::metric(&elected, UNSOLICITED_NA)?;
            Ok((replies >= 1.0 && unsolicited >= 1.0).then_some(()))
        },
    )
    .await?;

    // SIGKILL the elected speaker. The client's neighbour entry stays (and
    // the dead speaker's node still serves the address), so only the
    // successor's unsolicited advertisement, with the override flag, can
    // move the client's traffic.
    speakers.get_mut(&elected).unwrap().kill()?;
    let killed = Instant::now();
    let rest: Vec<&str> = nodes.iter().copied().filter(|n| *n != elected).collect();
    let successor = elect(rest.iter().copied(), vip).unwrap().to_owned();
    let reached_successor = eventually(
        "the successor takes over",
        Duration::from_secs(30),
        async || Ok(reached(&client).ok().filter(|node| *node == successor)),
    )
    .await?;
    let failover = killed.elapsed();
    println!(
        "failover (IPv6): {failover:?} from SIGKILL of {elected} to a connection reaching {reached_successor}"
    );
    let neigh = client.ip(&["-6", "neigh", "show", VIP])?;
    assert!(
        neigh.contains(&macs[&successor]),
        "the neighbour entry still points elsewhere: {neigh}"
    );
    assert!(
        failover < Duration::from_secs(10),
        "failover took {failover:?}"
    );
    assert!(common::metric(&successor, UNSOLICITED_NA)? >= 1.0);

    // Released: nobody answers any more.
    cluster.set_ingress(&service, &[]).await?;
    eventually(
        "the address stops being answered",
        Duration::from_secs(20),
        async || {
            client.ip(&["-6", "neigh", "flush", "to", VIP])?;
            Ok(reached(&client).is_err().then_some(()))
        },
    )
    .await?;
    Ok(())
}
