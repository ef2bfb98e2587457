//! Interfaces that appear after the speaker started are answered on: a node
//! namespace starts with no interface at all, the speaker is elected for an
//! address, and only then is the node cabled; later the cable is replaced
//! (the interface deleted and re-created with another MAC). Also the
//! probes of a speaker that never gets that far
//! (`cargo xtask envtest run -- cargo test -p leifur-speaker --features e2e --test rescan`).

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::Result;
use common::{Cluster, Listeners, eventually};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use netns_harness::{Lab, Netns};

const VIP: &str = "192.0.2.130";
const PORT: u16 = 8080;
const ANNOUNCED_L2: &str = r#"leifur_speaker_announced_addresses{mode="l2",via="eth0"}"#;
const GRATUITOUS_ARP: &str =
    r#"leifur_speaker_gratuitous_announcements_total{protocol="arp",interface="eth0"}"#;

fn reached(client: &Netns) -> Result<String> {
    let addr = SocketAddr::new(VIP.parse()?, PORT);
    client.tcp_get(addr, 1, Duration::from_secs(2))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interface_added_or_recreated_after_start_is_answered_on() -> Result<()> {
    let kube = common::setup().await?;
    let lab = Lab::new()?;
    let mut cluster = Cluster::new(kube);
    let client = lab.namespace("client")?;
    lab.attach(&client, "eth0", &["192.0.2.1/24"])?;

    let ns = lab.namespace("a")?;
    // `all` covers interfaces made later: the kernel takes the larger of
    // `all` and the interface's own value.
    ns.sysctl("net.ipv4.conf.all.arp_ignore", "1")?;
    ns.sysctl("net.ipv4.conf.all.arp_announce", "2")?;
    ns.ip(&["addr", "add", &format!("{VIP}/32"), "dev", "lo"])?;
    let node = format!("{}-a", lab.id());
    let mut listeners = Listeners::default();
    listeners.serve(&ns, SocketAddr::new(VIP.parse()?, PORT), node.clone())?;
    cluster.node(&node).await?;
    cluster
        .pool(
            &format!("{}-late", lab.id()),
            serde_json::json!({
                "addresses": ["192.0.2.128/28"],
                "announce": {"l2": {"nodeSelector": {"matchLabels": {"leifur-e2e": "true"}}}}
            }),
        )
        .await?;
    let mut speaker = common::speaker(&node, &ns, &[])?;
    common::full_membership(&[&node], Duration::from_secs(30)).await?;
    let vip: IpAddr = VIP.parse()?;
    cluster
        .service(&format!("{}-late", lab.id()), &[vip])
        .await?;
    // Elected (the only node), with nowhere to answer yet.
    eventually(
        "the speaker elected for the address",
        Duration::from_secs(20),
        async || {
            Ok((common::metric(&node, "leifur_speaker_elected_addresses")? == 1.0).then_some(()))
        },
    )
    .await?;
    let log = std::fs::read_to_string(common::speaker_log(&node))?;
    assert!(log.contains("no interface to answer on yet"), "{log}");
    assert!(reached(&client).is_err(), "answered without an interface");

    // Cabled now: answered within a re-scan and a turn.
    let port = lab.attach(&ns, "eth0", &["192.0.2.11/24"])?;
    let cabled = Instant::now();
    let first = eventually(
        "the client reaches the node over its new interface",
        Duration::from_secs(15),
        async || Ok(reached(&client).ok()),
    )
    .await?;
    println!(
        "answered {:?} after the interface appeared",
        cabled.elapsed()
    );
    assert_eq!(first, node);
    assert!(client.ip(&["neigh", "show", VIP])?.contains(&port.mac));
    assert_eq!(common::metric(&node, ANNOUNCED_L2)?, 1.0);
    assert!(common::metric(&node, GRATUITOUS_ARP)? >= 1.0);

    // The cable replaced: the old socket fails, its thread ends, and the
    // new interface (another MAC) is served and announced; the client's
    // entry moves by that announcement alone (it is not flushed).
    ns.ip(&["link", "del", "eth0"])?;
    let port = lab.attach(&ns, "eth0", &["192.0.2.11/24"])?;
    let recabled = Instant::now();
    eventually(
        "the client's neighbour entry follows the new interface",
        Duration::from_secs(15),
        async || {
            let neigh = client.ip(&["neigh", "show", VIP])?;
            Ok((neigh.contains(&port.mac) && reached(&client).is_ok()).then_some(()))
        },
    )
    .await?;
    println!(
        "answered {:?} after the interface was re-created",
        recabled.elapsed()
    );

    // Stopped gracefully (SIGTERM, as the kubelet does): the speaker exits
    // cleanly, having deleted its Lease so the others need not wait for it
    // to lapse.
    let status = speaker.terminate(Duration::from_secs(10))?;
    assert!(status.success(), "the speaker exited with {status}");
    let leases: Api<Lease> = Api::namespaced(cluster.client.clone(), common::NAMESPACE);
    let lease = leases
        .get_opt(&leifur_api::speaker_lease_name(&node))
        .await?;
    assert!(lease.is_none(), "the Lease outlived its speaker: {lease:?}");
    Ok(())
}

/// Live but not ready while the caches cannot sync: a speaker whose token
/// the apiserver refuses serves `/healthz` (the process is fine; restarting
/// it would not help) and answers `/readyz` with 503, and announces nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_speaker_that_cannot_sync_is_live_but_not_ready() -> Result<()> {
    common::setup().await?;
    let lab = Lab::new()?;
    let ns = lab.namespace("unready")?;
    let node = format!("{}-unready", lab.id());
    let instance = crdforge_envtest::Instance::from_env();
    let kubeconfig = instance.dir().join(format!("{node}.kubeconfig"));
    instance.write_token_kubeconfig(&kubeconfig, "nobody", "not-a-valid-token")?;
    let _speaker = common::speaker_as(&node, &ns, &[], &kubeconfig)?;
    let (live, _) = eventually(
        "the speaker serves its probes",
        Duration::from_secs(20),
        async || Ok(common::http_get(&node, "/healthz").ok()),
    )
    .await?;
    assert_eq!(live, 200);
    // Over a few seconds (several attempts to list), never ready.
    for _ in 0..10 {
        let (ready, body) = common::http_get(&node, "/readyz")?;
        assert_eq!(ready, 503, "{body}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(
        common::metric(&node, "leifur_speaker_elected_addresses")?,
        0.0
    );
    Ok(())
}

/// Synced but not ready while its Lease cannot be renewed: a speaker whose
/// Lease namespace does not exist lists (nothing) there, so its caches
/// sync, but every renewal fails; it counts the failures and never reports
/// ready. (As the admin: the speaker's own Role holds only in its namespace.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_speaker_that_cannot_renew_its_lease_is_not_ready_and_counts_failures() -> Result<()> {
    common::setup().await?;
    let lab = Lab::new()?;
    let ns = lab.namespace("nolease")?;
    let node = format!("{}-nolease", lab.id());
    let admin = crdforge_envtest::Instance::from_env().kubeconfig();
    let missing = format!("{}-missing", lab.id());
    let _speaker = common::speaker_as(&node, &ns, &["--namespace", &missing], &admin)?;
    let failures = r#"leifur_speaker_lease_renew_failures_total"#;
    eventually(
        "renewals failing, counted",
        Duration::from_secs(20),
        async || Ok((common::metric(&node, failures).unwrap_or(0.0) >= 2.0).then_some(())),
    )
    .await?;
    let log = std::fs::read_to_string(common::speaker_log(&node))?;
    assert!(log.contains("renewing lease"), "{log}");
    let (ready, body) = common::http_get(&node, "/readyz")?;
    assert_eq!(ready, 503, "{body}");
    assert_eq!(common::http_get(&node, "/healthz")?.0, 200);
    Ok(())
}
