//! The speaker's loop: informers for IPPools, Services, Nodes, the
//! speakers' Leases and the Secrets of its namespace (BGP passwords); a task renewing this node's Lease; and every
//! [`Options::tick`] the [`model::desired`] set handed to the announcers.
//!
//! Polling the caches on a short tick, rather than reacting to each event,
//! keeps one path for every cause of change, including the one no event
//! announces: a Lease expiring because its speaker died.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use crdforge_runtime::informer::{InformerOptions, SharedInformerFactory};
use crdforge_runtime::server::Server;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{Node, Secret, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use leifur_api::IPPool;
use prometheus_client::registry::Registry;

use crate::bgp::BgpSpeaker;
use crate::events;
use crate::l2::L2Announcer;
use crate::metrics::SpeakerMetrics;
use crate::model;

/// The field manager of the speaker's writes.
pub const FIELD_MANAGER: &str = "leifur-speaker";

/// How a speaker runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// This node's name.
    pub node: String,
    /// Namespace of the membership Leases.
    pub namespace: String,
    /// How long a Lease holds without renewal.
    pub lease_duration: Duration,
    /// How often the Lease is renewed.
    pub renew_interval: Duration,
    /// How often the desired announcements are recomputed.
    pub tick: Duration,
    /// The data plane's network namespace (tests only).
    pub netns: Option<PathBuf>,
    /// Interfaces to answer ARP/NDP on (all when empty).
    pub interfaces: Vec<String>,
    /// Address of `/metrics`, `/healthz` and `/readyz` (in the speaker's
    /// own network namespace, not `netns`).
    pub metrics_addr: SocketAddr,
}

/// Whether the speaker is ready: its caches have synced and its Lease was
/// renewed within the lease duration, i.e. the other speakers count it in.
#[derive(Debug)]
struct Readiness {
    synced: AtomicBool,
    renewed: Mutex<Option<Instant>>,
    lease_duration: Duration,
}

impl Readiness {
    fn ready(&self) -> bool {
        self.synced.load(Ordering::SeqCst)
            && self
                .renewed
                .lock()
                .unwrap()
                .is_some_and(|at| at.elapsed() < self.lease_duration)
    }
}

/// Runs until `shutdown` resolves; then stops announcing and deletes this
/// node's Lease, so the others take its addresses over at once.
pub async fn run(
    client: Client,
    options: Options,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let metrics = SpeakerMetrics::default();
    let mut registry = Registry::default();
    metrics.register(&mut registry);
    let readiness = Arc::new(Readiness {
        synced: AtomicBool::new(false),
        renewed: Mutex::new(None),
        lease_duration: options.lease_duration,
    });
    // Bound before the caches sync: /healthz answers while they do.
    let server = Server::new()
        .health_with({
            let readiness = Arc::clone(&readiness);
            move || readiness.ready()
        })
        .metrics(Arc::new(registry))
        .bind(options.metrics_addr)
        .await
        .with_context(|| format!("serving metrics on {}", options.metrics_addr))?;
    tracing::info!(addr = %server.local_addr(), "serving /metrics, /healthz and /readyz");

    let factory = SharedInformerFactory::new(client.clone(), InformerOptions::default());
    let pools = factory.informer::<IPPool>();
    let services = factory.informer::<Service>();
    let nodes = factory.informer::<Node>();
    let leases = factory.informer_with::<Lease>(InformerOptions {
        namespace: Some(options.namespace.clone()),
        ..Default::default()
    });
    // Peers' TCP MD5 passwords: the Secrets of our own namespace only (the
    // generated Role grants no more), watched so that a changed Secret
    // takes effect on the next tick.
    let secrets = factory.informer_with::<Secret>(InformerOptions {
        namespace: Some(options.namespace.clone()),
        ..Default::default()
    });
    factory.start();
    factory
        .wait_for_cache_sync(Duration::from_secs(60))
        .await
        .map_err(|err| anyhow::anyhow!("caches not synced: {err:?}"))?;
    readiness.synced.store(true, Ordering::SeqCst);

    let l2 = L2Announcer::start(options.netns.clone(), &options.interfaces, metrics.clone())
        .context("starting L2 announcement")?;
    let mut bgp = BgpSpeaker::new(options.netns.clone(), &options.node, metrics.clone());

    let leases_api: Api<Lease> = Api::namespaced(client.clone(), &options.namespace);
    let lease_name = leifur_api::speaker_lease_name(&options.node);
    let renew = tokio::spawn(renew_forever(
        leases_api.clone(),
        options.clone(),
        lease_name.clone(),
        Arc::clone(&readiness),
        metrics.clone(),
    ));

    let mut tick = tokio::time::interval(options.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    let mut last = model::Desired::default();
    let mut last_ready = None;
    let mut reported = BTreeSet::new();
    let mut last_problems: Vec<String> = Vec::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tick.tick() => {}
        }
        let ready = model::ready_speakers(&leases.store().list(), Timestamp::now());
        if last_ready.as_ref() != Some(&ready) {
            // Logged on its own: the membership is what an operator (and the
            // end-to-end tests) look at to tell "not elected" from "not seen".
            tracing::info!(ready = ?ready, "membership changed");
            last_ready = Some(ready.clone());
        }
        let ippools = pools.store().list();
        let (parsed, problems) = model::pools(&ippools, &secrets.store().list());
        // Logged when they change, not on every tick.
        if problems != last_problems {
            for problem in problems.iter().filter(|p| !last_problems.contains(p)) {
                tracing::warn!("{problem}");
            }
            last_problems = problems;
        }
        report_refusals(
            &client,
            &options.node,
            &ippools,
            &parsed,
            &mut reported,
            &metrics,
        )
        .await;
        let desired = model::desired(
            &options.node,
            &parsed,
            &services.store().list(),
            &nodes.store().list(),
            &ready,
        );
        if desired != last {
            tracing::info!(
                l2 = ?desired.l2.keys().collect::<Vec<_>>(),
                bgp_sessions = desired.bgp.len(),
                ready = ?ready,
                "announcements changed"
            );
            metrics
                .elected
                .set(i64::try_from(desired.l2.len()).unwrap_or(i64::MAX));
            l2.set(desired.l2.clone());
            bgp.set(&desired.bgp);
            last = desired;
        }
    }
    tracing::info!("shutting down: withdrawing and leaving");
    renew.abort();
    l2.set(Default::default());
    drop(l2);
    bgp.shutdown().await;
    match leases_api
        .delete(&lease_name, &DeleteParams::default())
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => {}
        Err(err) => tracing::warn!("deleting lease {lease_name}: {err}"),
    }
    factory.shutdown();
    server.shutdown();
    Ok(())
}

/// Logs and publishes (as a Warning Event on the pool) each refusal not
/// reported yet by this process; forgets those that went away, so a refusal
/// that comes back is reported again.
async fn report_refusals(
    client: &Client,
    node: &str,
    ippools: &[Arc<IPPool>],
    parsed: &[model::Pool],
    reported: &mut BTreeSet<(String, model::Refusal)>,
    metrics: &SpeakerMetrics,
) {
    let now: BTreeSet<(String, model::Refusal)> = parsed
        .iter()
        .flat_map(|pool| pool.refused.iter().map(|r| (pool.name.clone(), r.clone())))
        .collect();
    metrics
        .refused_peers
        .set(i64::try_from(now.len()).unwrap_or(i64::MAX));
    for (name, refusal) in now.difference(reported) {
        let message = format!("{}: {}", refusal.field, refusal.message);
        tracing::warn!(pool = %name, "{message}");
        if let Some(pool) = ippools
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(name))
        {
            events::warn(client, node, pool, events::PEER_REFUSED, &message).await;
        }
    }
    *reported = now;
}

/// Renews this node's Lease every `renew_interval`; a failed renewal is
/// logged and retried on the next turn (the Lease expiring meanwhile is
/// exactly what should happen to a speaker cut off from the apiserver).
async fn renew_forever(
    api: Api<Lease>,
    options: Options,
    name: String,
    readiness: Arc<Readiness>,
    metrics: SpeakerMetrics,
) {
    let mut tick = tokio::time::interval(options.renew_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let seconds = i32::try_from(options.lease_duration.as_secs().max(1)).unwrap_or(i32::MAX);
    loop {
        tick.tick().await;
        // Readiness counts from before `renew_time` is taken, so it never
        // outlasts the Lease the others see.
        let sent = Instant::now();
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(options.namespace.clone()),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(options.node.clone()),
                lease_duration_seconds: Some(seconds),
                renew_time: Some(MicroTime(Timestamp::now())),
                ..Default::default()
            }),
        };
        let params = PatchParams::apply(FIELD_MANAGER).force();
        match api.patch(&name, &params, &Patch::Apply(&lease)).await {
            Ok(_) => *readiness.renewed.lock().unwrap() = Some(sent),
            Err(err) => {
                metrics.lease_renew_failures.inc();
                tracing::warn!("renewing lease {name}: {err}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readiness(synced: bool, renewed_ago: Option<Duration>) -> Readiness {
        Readiness {
            synced: AtomicBool::new(synced),
            renewed: Mutex::new(renewed_ago.map(|ago| Instant::now().checked_sub(ago).unwrap())),
            lease_duration: Duration::from_secs(15),
        }
    }

    #[test]
    fn ready_needs_synced_caches_and_a_live_lease() {
        assert!(readiness(true, Some(Duration::from_secs(1))).ready());
        assert!(!readiness(false, Some(Duration::from_secs(1))).ready());
        assert!(!readiness(true, None).ready(), "never renewed");
        assert!(
            !readiness(true, Some(Duration::from_secs(16))).ready(),
            "the Lease has lapsed: the others no longer count this node"
        );
    }
}
