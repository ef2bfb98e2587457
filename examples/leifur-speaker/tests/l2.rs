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
use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Result;
use common::{Cluster, eventually};
use leifur_speaker::election::elect;
use netns_harness::{Lab, Netns};

const VIP: &str = "192.0.2.100";
const PORT: u16 = 8080;

/// Serves the node's name to every connection on VIP:PORT inside `ns`,
/// until `stop` (or two minutes, whichever comes first).
fn listener(ns: &Netns, node: String, stop: Arc<AtomicBool>) -> Result<thread::JoinHandle<()>> {
    let vip: IpAddr = VIP.parse()?;
    let listener = ns.enter(move || TcpListener::bind((vip, PORT)))??;
    listener.set_nonblocking(true)?;
    Ok(thread::spawn(move || {
        let started = Instant::now();
        while !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(120) {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    let _ = stream.write_all(node.as_bytes());
                }
                Err(_) => thread::sleep(Duration::from_millis(10)),
            }
        }
    }))
}

/// The node the client reaches on VIP:PORT with one connection attempt.
fn reached(client: &Netns) -> Result<String> {
    let addr = SocketAddr::new(VIP.parse()?, PORT);
    client.tcp_get(addr, 1, Duration::from_secs(2))
}

struct StopListeners(Arc<AtomicBool>, Vec<thread::JoinHandle<()>>);

impl Drop for StopListeners {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
        for handle in self.1.drain(..) {
            let _ = handle.join();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_elected_node_answers_arp_and_another_takes_over_when_it_dies() -> Result<()> {
    let kube = common::setup().await?;
    // Declared first, dropped last: speakers and listeners go before it.
    let lab = Lab::new()?;
    let mut cluster = Cluster::new(kube);
    let client = lab.namespace("client")?;
    lab.attach(&client, "eth0", &["192.0.2.1/24"])?;

    let stop = Arc::new(AtomicBool::new(false));
    let mut listeners = StopListeners(Arc::clone(&stop), Vec::new());
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
        listeners
            .1
            .push(listener(&ns, node.clone(), Arc::clone(&stop))?);
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
