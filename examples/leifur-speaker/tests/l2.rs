//! L2 mode end to end: a client namespace and three node namespaces on one
//! bridge, a speaker per node, a real control plane
//! (`cargo xtask envtest run -- cargo test -p leifur-speaker --features e2e --test l2`);
//! the lab is `common::l2lab`'s.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::Result;
use common::eventually;
use common::l2lab::{L2Lab, VIP, reached};
use leifur_speaker::election::elect;

const ANNOUNCED_L2: &str = r#"leifur_speaker_announced_addresses{mode="l2",via="eth0"}"#;
const ARP_REPLIES: &str = r#"leifur_speaker_replies_total{protocol="arp",interface="eth0"}"#;
const GRATUITOUS_ARP: &str =
    r#"leifur_speaker_gratuitous_announcements_total{protocol="arp",interface="eth0"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_elected_node_answers_arp_and_another_takes_over_when_it_dies() -> Result<()> {
    let mut l2 = L2Lab::start().await?;
    let client = l2.client.clone();
    let macs = l2.macs.clone();
    let service = l2.service.clone();
    let nodes: Vec<String> = l2.nodes().into_iter().map(str::to_owned).collect();
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    let vip: IpAddr = VIP.parse()?;

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
    l2.speakers.get_mut(&elected).unwrap().kill()?;
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
    l2.cluster.set_ingress(&service, &[]).await?;
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
