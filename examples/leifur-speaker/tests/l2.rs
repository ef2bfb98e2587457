//! L2 mode end to end: a client namespace and three node namespaces on one
//! bridge, a speaker per node, a real control plane
//! (`cargo xtask envtest run -- cargo test -p leifur-speaker --features e2e --test l2`).
//!
//! Each node namespace plays kube-proxy: it accepts traffic for the Service
//! address (on its loopback) with `arp_ignore=1`/`arp_announce=2`, so the
//! kernel never answers ARP for it — only the elected speaker does — and a
//! listener there tells the client which node it reached.

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::Result;
use common::{Cluster, Listeners, eventually};
use leifur_speaker::election::elect;
use netns_harness::{Lab, Netns};

const VIP: &str = "192.0.2.100";
const PORT: u16 = 8080;
const ANNOUNCED_L2: &str = r#"leifur_speaker_announced_addresses{mode="l2",via="eth0"}"#;
const ARP_REPLIES: &str = r#"leifur_speaker_replies_total{protocol="arp",interface="eth0"}"#;
const GRATUITOUS_ARP: &str =
    r#"leifur_speaker_gratuitous_announcements_total{protocol="arp",interface="eth0"}"#;

/// The node the client reaches on VIP:PORT with one connection attempt.
fn reached(client: &Netns) -> Result<String> {
    let addr = SocketAddr::new(VIP.parse()?, PORT);
    client.tcp_get(addr, 1, Duration::from_secs(2))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_elected_node_answers_arp_and_another_takes_over_when_it_dies() -> Result<()> {
    let kube = common::setup().await?;
    // Declared first, dropped last: speakers and listeners go before it.
    let lab = Lab::new()?;
    let mut cluster = Cluster::new(kube);
    let client = lab.namespace("client")?;
    lab.attach(&client, "eth0", &["192.0.2.1/24"])?;

    let mut listeners = Listeners::default();
    let mut macs = BTreeMap::new();
    let mut namespaces = BTreeMap::new();
    for (i, role) in ["a", "b", "c"].into_iter().enumerate() {
        let ns = lab.namespace(role)?;
        let port = lab.attach(&ns, "eth0", &[&format!("192.0.2.{}/24", 11 + i)])?;
        for key in ["all", "eth0"] {
            ns.sysctl(&format!("net.ipv4.conf.{key}.arp_ignore"), "1")?;
            ns.sysctl(&format!("net.ipv4.conf.{key}.arp_announce"), "2")?;
        }
        ns.ip(&["addr", "add", &format!("{VIP}/32"), "dev", "lo"])?;
        let node = format!("{}-{role}", lab.id());
        listeners.serve(&ns, SocketAddr::new(VIP.parse()?, PORT), node.clone())?;
        cluster.node(&node).await?;
        macs.insert(node.clone(), port.mac);
        namespaces.insert(node, ns);
    }
    // Nothing answers for the address yet: the kernels stay quiet.
    assert!(
        reached(&client).is_err(),
        "the VIP answered before any speaker"
    );

    let pool = format!("{}-l2", lab.id());
    cluster
        .pool(
            &pool,
            serde_json::json!({
                "addresses": ["192.0.2.96/28"],
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
    let service = format!("{}-web", lab.id());
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
    let neigh = client.ip(&["neigh", "show", VIP])?;
    assert!(
        neigh.contains(&macs[&elected]),
        "ARP did not resolve to {elected}: {neigh}"
    );
    // The speakers' own account on /metrics agrees: every one is live and
    // ready, the elected one holds the address on eth0, announced it and
    // answered the client's ARP; the others hold nothing.
    for node in &nodes {
        assert_eq!(
            common::http_get(node, "/healthz")?.0,
            200,
            "{node} /healthz"
        );
        assert_eq!(common::http_get(node, "/readyz")?.0, 200, "{node} /readyz");
        let held = if *node == elected { 1.0 } else { 0.0 };
        assert_eq!(
            common::metric(node, "leifur_speaker_elected_addresses")?,
            held,
            "{node}"
        );
        assert_eq!(common::metric(node, ANNOUNCED_L2)?, held, "{node}");
    }
    // The client may have learnt the address from the announcement alone
    // (its failed attempt before the speakers left an entry to update):
    // forgotten, it must ask, and the elected speaker answer.
    client.ip(&["neigh", "flush", "to", VIP])?;
    assert_eq!(reached(&client)?, elected, "after the client asked again");
    eventually(
        "the elected speaker counts its ARP reply and announcements",
        Duration::from_secs(5),
        async || {
            let replies = common::metric(&elected, ARP_REPLIES)?;
            let gratuitous = common::metric(&elected, GRATUITOUS_ARP)?;
            Ok((replies >= 1.0 && gratuitous >= 1.0).then_some(()))
        },
    )
    .await?;

    // SIGKILL the elected speaker: its Lease lapses, another node wins and
    // announces with gratuitous ARP. The client's neighbour entry is not
    // flushed, so only that announcement can move its traffic.
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
        "failover: {failover:?} from SIGKILL of {elected} to a connection reaching {reached_successor}"
    );
    let neigh = client.ip(&["neigh", "show", VIP])?;
    assert!(
        neigh.contains(&macs[&successor]),
        "ARP still points elsewhere: {neigh}"
    );
    assert!(
        failover < Duration::from_secs(10),
        "failover took {failover:?}"
    );
    assert_eq!(
        common::metric(&successor, "leifur_speaker_elected_addresses")?,
        1.0
    );
    assert!(common::metric(&successor, GRATUITOUS_ARP)? >= 1.0);

    // Released: nobody answers any more.
    cluster.set_ingress(&service, &[]).await?;
    eventually(
        "the address stops being answered",
        Duration::from_secs(20),
        async || {
            client.ip(&["neigh", "flush", "to", VIP])?;
            Ok(reached(&client).is_err().then_some(()))
        },
    )
    .await?;
    Ok(())
}
