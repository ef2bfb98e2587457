//! TCP MD5 signatures (RFC 2385) on BGP sessions, end to end: GoBGP
//! (Debian's `gobgpd`) in a client namespace requires a password of the
//! speaker's node (`auth-password`); the speaker reads its password from the
//! Secret the pool names, in its own namespace. The right password gives a
//! session and the host route in GoBGP's RIB; a wrong one, or none, gives no
//! session at all (the peer's kernel drops the segments unanswered); a
//! missing key is a refusal naming the field; the password never shows in
//! the speaker's log, `/metrics` or Events
//! (`cargo xtask envtest run -- cargo test -p leifur-speaker --features e2e --test md5`).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use common::gobgp::{ESTABLISHED, Neighbor, neighbor, paths, start_gobgpd};
use common::{Cluster, eventually};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Event, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use netns_harness::Lab;
use netns_harness::debian::{Gobgp, ensure_gobgp};
use serde_json::json;

const PEER: &str = "198.51.100.1";
const NODE_ADDRESS: &str = "198.51.100.11";
const VIP: &str = "198.51.100.201";
const PREFIX: &str = "198.51.100.201/32";
const ASN: u32 = 64512;
/// What GoBGP requires, and a wrong one: both distinctive, so a leak into a
/// log line, a metric or an Event is found by a plain search.
const PASSWORD: &str = "lf2-right-3d8a61";
const WRONG: &str = "lf2-wrong-77c1e0";
/// How long a session that must not come up is watched for: over two
/// connection attempts of the speaker (3 s timeout, back-off from 1 s).
const NO_SESSION_FOR: Duration = Duration::from_secs(12);

/// The Secret `name` in the speakers' namespace holding `data`, applied
/// (server-side, so keys left out are removed).
async fn secret(cluster: &Cluster, name: &str, data: &[(&str, &str)]) -> Result<()> {
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), common::NAMESPACE);
    let data: BTreeMap<String, ByteString> = data
        .iter()
        .map(|(key, value)| ((*key).to_owned(), ByteString(value.as_bytes().to_vec())))
        .collect();
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": common::NAMESPACE},
        "data": data
    });
    api.patch(
        name,
        &PatchParams::apply(common::MANAGER).force(),
        &Patch::Apply(&secret),
    )
    .await?;
    Ok(())
}

/// The pool, its one peer naming `secret_ref` (or no password).
async fn pool(cluster: &mut Cluster, name: &str, secret_ref: Option<&str>) -> Result<()> {
    let mut peer = json!({"address": PEER, "asn": ASN, "holdTime": "9s"});
    if let Some(secret) = secret_ref {
        peer["passwordSecretRef"] = json!({"name": secret, "key": "password"});
    }
    cluster
        .pool(
            name,
            json!({
                "addresses": ["198.51.100.200/29"],
                "announce": {"bgp": {"myASN": ASN, "peers": [peer]}}
            }),
        )
        .await
}

/// Waits for the session (GoBGP's side: Established) and the route.
async fn session_and_route(gobgp: &Gobgp, client: &netns_harness::Netns) -> Result<()> {
    eventually(
        "GoBGP's session with the node Established and the /32 in its RIB",
        Duration::from_secs(30),
        async || {
            let (state, _) = neighbor(gobgp, client, NODE_ADDRESS)?;
            let hops: Vec<String> = paths(gobgp, client, PREFIX)?
                .iter()
                .flat_map(|path| path["attrs"].as_array().cloned().unwrap_or_default())
                .filter_map(|attr| Some(attr["nexthop"].as_str()?.to_owned()))
                .collect();
            Ok((state == ESTABLISHED && hops == [NODE_ADDRESS]).then_some(()))
        },
    )
    .await
}

/// Waits for the session to be down, then watches it for
/// [`NO_SESSION_FOR`]: never Established, no OPEN received (the TCP
/// connection itself never comes up), no route.
async fn no_session(gobgp: &Gobgp, client: &netns_harness::Netns, why: &str) -> Result<()> {
    eventually(
        &format!("{why}: the session down and the route gone"),
        Duration::from_secs(30),
        async || {
            let (state, _) = neighbor(gobgp, client, NODE_ADDRESS)?;
            Ok((state != ESTABLISHED && paths(gobgp, client, PREFIX)?.is_empty()).then_some(()))
        },
    )
    .await?;
    let (_, opens) = neighbor(gobgp, client, NODE_ADDRESS)?;
    let started = Instant::now();
    // Bounded: NO_SESSION_FOR at 200 ms a turn.
    for _ in 0..(NO_SESSION_FOR.as_millis() / 200) {
        let (state, now_opens) = neighbor(gobgp, client, NODE_ADDRESS)?;
        ensure!(
            state != ESTABLISHED,
            "{why}: GoBGP's session is Established"
        );
        ensure!(
            now_opens == opens,
            "{why}: GoBGP received an OPEN ({opens} → {now_opens})"
        );
        ensure!(
            paths(gobgp, client, PREFIX)?.is_empty(),
            "{why}: the route is in GoBGP's RIB"
        );
        if started.elapsed() > NO_SESSION_FOR {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// The speaker's log lines since byte `from`, and the log's length.
fn log_since(node: &str, from: usize) -> (String, usize) {
    let log = std::fs::read_to_string(common::speaker_log(node)).unwrap_or_default();
    (log.get(from..).unwrap_or("").to_owned(), log.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_comes_up_with_the_right_password_only() -> Result<()> {
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
    let ns = lab.namespace("a")?;
    lab.attach(&ns, "eth0", &[&format!("{NODE_ADDRESS}/24")])?;
    let node = format!("{}-a", lab.id());
    cluster.node(&node).await?;
    let gobgpd = start_gobgpd(
        &gobgp,
        &client,
        &dir,
        PEER,
        ASN,
        &[Neighbor {
            address: NODE_ADDRESS,
            password: Some(PASSWORD),
        }],
    )?;

    let secret_name = format!("{}-md5", lab.id());
    let secrets: Api<Secret> = Api::namespaced(cluster.client.clone(), common::NAMESPACE);
    secret(&cluster, &secret_name, &[("password", PASSWORD)]).await?;
    let pool_name = format!("{}-md5", lab.id());
    pool(&mut cluster, &pool_name, Some(&secret_name)).await?;
    let _speaker = common::speaker(&node, &ns, &[])?;
    let service = format!("{}-md5", lab.id());
    cluster.service(&service, &[VIP.parse()?]).await?;

    let result = async {
        // The right password: a session, and the route.
        let started = Instant::now();
        session_and_route(&gobgp, &client).await?;
        println!(
            "established with the password after {:?}",
            started.elapsed()
        );

        // A wrong one (the Secret changed): the speaker ends the session and
        // starts one signed with the new password, which GoBGP's kernel
        // drops; the speaker says why it cannot connect.
        let (_, mark) = log_since(&node, 0);
        secret(&cluster, &secret_name, &[("password", WRONG)]).await?;
        no_session(&gobgp, &client, "a wrong password").await?;
        let (log, mark) = log_since(&node, mark);
        ensure!(
            log.contains("with a TCP MD5 signature"),
            "the speaker did not say its signed connection failed:\n{log}"
        );
        let established =
            format!(r#"leifur_speaker_bgp_session{{peer="{PEER}:179",state="established"}}"#);
        ensure!(common::metric(&node, &established)? == 0.0);

        // A missing key: a refusal naming the field, as a Warning Event
        // from this node, a log line and a metric.
        secret(&cluster, &secret_name, &[("other", WRONG)]).await?;
        eventually(
            "the refusal in /metrics",
            Duration::from_secs(10),
            async || {
                Ok(
                    (common::metric(&node, "leifur_speaker_refused_bgp_peers")? == 1.0)
                        .then_some(()),
                )
            },
        )
        .await?;
        let field = "spec.announce.bgp.peers[0].passwordSecretRef.key";
        let events: Api<Event> = Api::namespaced(cluster.client.clone(), "default");
        let refusals = eventually("the refusal Event", Duration::from_secs(10), async || {
            let messages: Vec<String> = events
                .list(&ListParams::default().fields(&format!("involvedObject.name={pool_name}")))
                .await?
                .items
                .into_iter()
                .filter(|e| {
                    e.reason.as_deref() == Some("BGPPeerRefused")
                        && e.reporting_instance.as_deref() == Some(node.as_str())
                })
                .filter_map(|e| e.message)
                .collect();
            Ok(messages
                .iter()
                .any(|m| m.contains(field))
                .then_some(messages))
        })
        .await?;
        let (log, _) = log_since(&node, mark);
        ensure!(log.contains(field), "no refusal logged:\n{log}");

        // No password on our side while GoBGP requires one: no session.
        pool(&mut cluster, &pool_name, None).await?;
        no_session(&gobgp, &client, "no password").await?;
        ensure!(common::metric(&node, "leifur_speaker_refused_bgp_peers")? == 0.0);

        // The password never shows: not in the log, /metrics or Events.
        let (_, metrics) = common::http_get(&node, "/metrics")?;
        let (log, _) = log_since(&node, 0);
        for password in [PASSWORD, WRONG] {
            ensure!(!log.contains(password), "the password is in the log");
            ensure!(!metrics.contains(password), "the password is in /metrics");
            ensure!(
                !refusals.iter().any(|m| m.contains(password)),
                "the password is in an Event"
            );
        }

        // And back: the right password again gives the session, so the
        // failures above were the password's.
        secret(&cluster, &secret_name, &[("password", PASSWORD)]).await?;
        pool(&mut cluster, &pool_name, Some(&secret_name)).await?;
        session_and_route(&gobgp, &client).await?;
        Ok(())
    }
    .await;
    let _ = secrets.delete(&secret_name, &DeleteParams::default()).await;
    drop(gobgpd);
    result
}
