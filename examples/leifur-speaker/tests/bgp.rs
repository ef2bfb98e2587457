//! BGP mode end to end: GoBGP (Debian's `gobgpd`, installed by
//! `netns_harness::debian::ensure_gobgp` when missing) in a client
//! namespace is the peer of the speakers of two node namespaces; the test
//! reads its RIB with the `gobgp` CLI
//! (`cargo xtask envtest run -- cargo test -p leifur-speaker --features e2e --test bgp`).

mod common;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use common::gobgp::{Neighbor, paths, start_gobgpd};
use common::{Cluster, eventually};
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams};
use netns_harness::Lab;
use netns_harness::debian::ensure_gobgp;
use serde_json::Value;

const PEER: &str = "198.51.100.1";
const REFUSED_PEER: &str = "198.51.100.2";
const VIP: &str = "198.51.100.201";
const PREFIX: &str = "198.51.100.201/32";
/// iBGP, so that LOCAL_PREF is ours to send (RFC 4271 5.1.5).
const ASN: u32 = 64512;
const COMMUNITY: &str = "65000:100";
const LOCAL_PREF: u64 = 200;

fn attribute(path: &Value, type_: u64) -> Option<&Value> {
    path["attrs"]
        .as_array()?
        .iter()
        .find(|attr| attr["type"].as_u64() == Some(type_))
}

/// Next hops of the paths that carry our attributes.
fn next_hops_with_our_attributes(paths: &[Value]) -> BTreeSet<String> {
    let community = (65000u64 << 16) | 100;
    paths
        .iter()
        .filter(|path| {
            attribute(path, 5).and_then(|a| a["value"].as_u64()) == Some(LOCAL_PREF)
                && attribute(path, 8)
                    .and_then(|a| a["communities"].as_array())
                    .is_some_and(|c| c.iter().any(|v| v.as_u64() == Some(community)))
        })
        .filter_map(|path| Some(attribute(path, 3)?["nexthop"].as_str()?.to_owned()))
        .collect()
}

/// Waits until every node's speaker reports its session with the peer
/// established and `routes` routes advertised on it.
async fn bgp_metrics(nodes: &[&str], routes: f64) -> Result<()> {
    let established =
        format!(r#"leifur_speaker_bgp_session{{peer="{PEER}:179",state="established"}}"#);
    let announced = format!(r#"leifur_speaker_announced_addresses{{mode="bgp",via="{PEER}:179"}}"#);
    eventually(
        "the speakers' BGP metrics",
        Duration::from_secs(10),
        async || {
            for node in nodes {
                if common::metric(node, &established)? != 1.0
                    || common::metric(node, &announced)? != routes
                {
                    return Ok(None);
                }
            }
            Ok(Some(()))
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_peer_learns_withdraws_and_relearns_the_host_route() -> Result<()> {
    let (gobgp, provenance) = ensure_gobgp()?;
    println!("gobgp: {provenance:?}");
    let kube = common::setup().await?;
    let lab = Lab::new()?;
    let mut cluster = Cluster::new(kube);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("leifur-e2e")
        .join(lab.id());
    std::fs::create_dir_all(&dir)?;

    let client = lab.namespace("peer")?;
    lab.attach(&client, "eth0", &[&format!("{PEER}/24")])?;
    let mut namespaces = Vec::new();
    let mut addresses = Vec::new();
    for (i, role) in ["a", "b"].into_iter().enumerate() {
        let ns = lab.namespace(role)?;
        let address = format!("198.51.100.{}", 11 + i);
        lab.attach(&ns, "eth0", &[&format!("{address}/24")])?;
        let node = format!("{}-{role}", lab.id());
        cluster.node(&node).await?;
        namespaces.push((node, ns));
        addresses.push(address);
    }
    let neighbors: Vec<Neighbor<'_>> = addresses
        .iter()
        .map(|address| Neighbor {
            address,
            password: None,
        })
        .collect();
    let mut gobgpd = start_gobgpd(&gobgp, &client, &dir, PEER, ASN, &neighbors)?;

    let pool = format!("{}-bgp", lab.id());
    cluster
        .pool(
            &pool,
            serde_json::json!({
                "addresses": ["198.51.100.200/29"],
                "announce": {"bgp": {
                    "myASN": ASN,
                    "peers": [
                        {"address": PEER, "asn": ASN, "holdTime": "9s"},
                        // Refused (its Secret does not exist): never a
                        // session, and said so.
                        {"address": REFUSED_PEER, "asn": ASN,
                         "passwordSecretRef": {"name": "bgp-peer", "key": "password"}}
                    ],
                    "communities": [COMMUNITY],
                    "localPref": LOCAL_PREF
                }}
            }),
        )
        .await?;
    let mut speakers = Vec::new();
    for (node, ns) in &namespaces {
        speakers.push(common::speaker(node, ns, &[])?);
    }
    let service = format!("{}-bgp", lab.id());
    let vip: IpAddr = VIP.parse()?;
    cluster.service(&service, &[vip]).await?;

    let every_node: BTreeSet<String> = addresses.iter().cloned().collect();
    let started = Instant::now();
    eventually(
        "both nodes' routes with our attributes",
        Duration::from_secs(30),
        async || {
            let hops = next_hops_with_our_attributes(&paths(&gobgp, &client, PREFIX)?);
            Ok((hops == every_node).then_some(()))
        },
    )
    .await?;
    println!("advertised after {:?}", started.elapsed());
    // Each speaker's /metrics: the session established, one route on it.
    let nodes: Vec<&str> = namespaces.iter().map(|(node, _)| node.as_str()).collect();
    bgp_metrics(&nodes, 1.0).await?;
    // The peer whose password Secret is missing: refused by every speaker,
    // each with a Warning Event on the pool naming the field, and no session
    // at all (`tests/md5.rs` has the sessions with passwords).
    for node in &nodes {
        assert_eq!(
            common::metric(node, "leifur_speaker_refused_bgp_peers")?,
            1.0
        );
        let session = format!(r#"leifur_speaker_bgp_session{{peer="{REFUSED_PEER}:179""#);
        let (_, body) = common::http_get(node, "/metrics")?;
        assert!(
            !body.contains(&session),
            "{node} has a session with {REFUSED_PEER}"
        );
    }
    let events: Api<Event> = Api::namespaced(cluster.client.clone(), "default");
    let refusals = events
        .list(&ListParams::default().fields(&format!("involvedObject.name={pool}")))
        .await?
        .items
        .into_iter()
        .filter(|e| {
            e.type_.as_deref() == Some("Warning") && e.reason.as_deref() == Some("BGPPeerRefused")
        })
        .filter_map(|e| Some((e.reporting_instance?, e.message?)))
        .collect::<Vec<_>>();
    for node in &nodes {
        assert!(
            refusals.iter().any(|(from, message)| from == node
                && message.contains("spec.announce.bgp.peers[1].passwordSecretRef.name")),
            "no refusal Event from {node}: {refusals:?}"
        );
    }

    // Release: the route is withdrawn by every speaker.
    cluster.set_ingress(&service, &[]).await?;
    let released = Instant::now();
    eventually("the route withdrawn", Duration::from_secs(30), async || {
        Ok(paths(&gobgp, &client, PREFIX)?.is_empty().then_some(()))
    })
    .await?;
    println!("withdrawn after {:?}", released.elapsed());
    bgp_metrics(&nodes, 0.0).await?;

    // Session loss: the peer is SIGKILLed and restarted with an empty RIB;
    // the speakers reconnect and advertise again.
    cluster.set_ingress(&service, &[vip]).await?;
    eventually("the route back", Duration::from_secs(30), async || {
        Ok(
            (next_hops_with_our_attributes(&paths(&gobgp, &client, PREFIX)?) == every_node)
                .then_some(()),
        )
    })
    .await?;
    gobgpd.kill()?;
    let killed = Instant::now();
    gobgpd = start_gobgpd(&gobgp, &client, &dir, PEER, ASN, &neighbors)?;
    eventually(
        "the route re-advertised to the restarted peer",
        Duration::from_secs(60),
        async || {
            Ok(
                (next_hops_with_our_attributes(&paths(&gobgp, &client, PREFIX)?) == every_node)
                    .then_some(()),
            )
        },
    )
    .await?;
    println!(
        "re-advertised {:?} after the peer's SIGKILL",
        killed.elapsed()
    );
    drop(gobgpd);
    Ok(())
}
