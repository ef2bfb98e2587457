//! Wiring: informers on Services, IPPools and Namespaces feed the work
//! queue; once their caches have synced the allocator is seeded from the
//! Services' status, and only then do workers allocate. With leader
//! election all of it happens in the leader only, and each new term starts
//! from a fresh cache and a fresh allocator.

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use crdforge_runtime::client::TypedClient;
use crdforge_runtime::controller::{Controller, ControllerMetrics, ReconcileMetrics};
use crdforge_runtime::informer::{Deleted, HandlerFns, InformerOptions, SharedInformerFactory};
use crdforge_runtime::leader::{LeaderElector, LeaseConfig};
use crdforge_runtime::lister::Lister;
use crdforge_runtime::server::Server;
use crdforge_runtime::workqueue::{
    ItemExponentialBackoff, MaxOf, RateLimitingQueue, TokenBucket, WorkQueueMetrics,
};
use k8s_openapi::api::core::v1::{Namespace, Service};
use kube::{Client, ResourceExt};
use leifur_api::IPPool;
use prometheus_client::registry::Registry;

use crate::allocator::Allocator;
use crate::events::Recorder;
use crate::metrics::IpamMetrics;
use crate::reconcile::{self, Context, Key};

/// Name of the controller: field manager, ServiceAccount, Lease, Deployment.
pub const NAME: &str = leifur_api::CONTROLLER_NAME;

/// How the controller runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Concurrent workers.
    pub workers: usize,
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    pub metrics_addr: SocketAddr,
    /// Leader election, when several replicas run.
    pub leader_election: Option<LeaseConfig>,
    /// This replica's name, for Events and the Lease.
    pub identity: String,
}

#[derive(Clone)]
struct Telemetry {
    queue: WorkQueueMetrics,
    reconciles: ReconcileMetrics,
    ipam: IpamMetrics,
    ready: Arc<AtomicBool>,
}

/// Runs until `shutdown` completes (then drains and returns `Ok`) or
/// leadership is lost (then returns the error; the process should exit and
/// start over as a candidate).
pub async fn run(
    client: Client,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut registry = Registry::default();
    let reconciles = ControllerMetrics::new();
    reconciles.register(&mut registry);
    let telemetry = Telemetry {
        queue: WorkQueueMetrics::new(),
        reconciles: reconciles.controller(NAME),
        ipam: IpamMetrics::default(),
        ready: Arc::new(AtomicBool::new(false)),
    };
    telemetry.queue.register(&mut registry);
    telemetry.ipam.register(&mut registry);
    let server = Server::new()
        .health(Arc::clone(&telemetry.ready))
        .metrics(Arc::new(registry))
        .bind(options.metrics_addr)
        .await
        .with_context(|| format!("serving metrics on {}", options.metrics_addr))?;
    tracing::info!(addr = %server.local_addr(), "serving /metrics, /healthz and /readyz");

    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });

    let result = match options.leader_election.clone() {
        None => work_loop(client, options, telemetry, stop).await,
        Some(lease) => {
            // A standby is healthy and ready: it is doing its job, waiting.
            telemetry.ready.store(true, Ordering::SeqCst);
            let elector = LeaderElector::new(client.clone(), lease)?;
            let mut waiting = stop.clone();
            tokio::select! {
                led = elector.run(|_leadership| work_loop(client, options, telemetry, stop)) => led?,
                _ = waiting.wait_for(|s| *s) => Ok(()),
            }
        }
    };
    server.shutdown();
    result
}

async fn work_loop(
    client: Client,
    options: Options,
    telemetry: Telemetry,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let factory = SharedInformerFactory::new(client.clone(), InformerOptions::default());
    let services = factory.informer::<Service>();
    let pools = factory.informer::<IPPool>();
    let namespaces = factory.informer::<Namespace>();

    let limiter: MaxOf<Key> = MaxOf::new(vec![
        Box::new(ItemExponentialBackoff::new(
            Duration::from_millis(50),
            Duration::from_secs(10),
        )),
        Box::new(TokenBucket::default()),
    ]);
    let queue: RateLimitingQueue<Key> =
        RateLimitingQueue::with_metrics(NAME, &telemetry.queue, limiter);
    let ctx = Arc::new(Context {
        services: Lister::new(services.store()),
        pools: Lister::new(pools.store()),
        namespaces: Lister::new(namespaces.store()),
        service_client: TypedClient::new(client.clone(), NAME),
        pool_client: TypedClient::new(client.clone(), NAME),
        recorder: Recorder::new(TypedClient::new(client, NAME), options.identity.clone()),
        allocator: Mutex::new(Allocator::new()),
        pending: Mutex::new(BTreeSet::new()),
        queue: queue.clone(),
        metrics: telemetry.ipam.clone(),
    });

    // Nothing is queued before the caches have synced and the allocator is
    // seeded: a Service reconciled against a half-filled cache could be
    // given an address another Service's status already holds.
    let synced = Arc::new(AtomicBool::new(false));
    let key_of = |svc: &Service| {
        Key::Service(format!(
            "{}/{}",
            svc.namespace().unwrap_or_default(),
            svc.name_any()
        ))
    };
    services.add_handler(
        HandlerFns::new()
            .on_add({
                let (queue, synced) = (queue.clone(), Arc::clone(&synced));
                move |svc: &Arc<Service>, _initial| {
                    if synced.load(Ordering::SeqCst) {
                        queue.queue().add(key_of(svc));
                    }
                }
            })
            .on_update({
                let (queue, synced) = (queue.clone(), Arc::clone(&synced));
                move |_old: &Arc<Service>, new: &Arc<Service>| {
                    if synced.load(Ordering::SeqCst) {
                        queue.queue().add(key_of(new));
                    }
                }
            })
            .on_delete({
                let (queue, synced) = (queue.clone(), Arc::clone(&synced));
                move |deleted: &Deleted<Service>| {
                    if synced.load(Ordering::SeqCst) {
                        queue.queue().add(key_of(deleted.object()));
                    }
                }
            }),
    );
    // A pool's spec changing can change every Service's answer (and every
    // pool's overlap verdict); its status changing (our own writes) cannot.
    let everything = {
        let (ctx, synced) = (Arc::clone(&ctx), Arc::clone(&synced));
        move || {
            if !synced.load(Ordering::SeqCst) {
                return;
            }
            for svc in ctx.services.store().list() {
                ctx.queue.queue().add(key_of(&svc));
            }
            for pool in ctx.pools.store().list() {
                ctx.queue.queue().add(Key::Pool(pool.name_any()));
            }
        }
    };
    pools.add_handler(
        HandlerFns::new()
            .on_add({
                let everything = everything.clone();
                move |_: &Arc<IPPool>, _initial| everything()
            })
            .on_update({
                let everything = everything.clone();
                move |old: &Arc<IPPool>, new: &Arc<IPPool>| {
                    if old.spec != new.spec {
                        everything();
                    }
                }
            })
            .on_delete({
                let (everything, queue) = (everything.clone(), queue.clone());
                move |deleted: &Deleted<IPPool>| {
                    queue.queue().add(Key::Pool(deleted.object().name_any()));
                    everything();
                }
            }),
    );
    // Namespace labels matter to pools with a namespaceSelector.
    namespaces.add_handler(HandlerFns::new().on_update({
        let everything = everything.clone();
        move |old: &Arc<Namespace>, new: &Arc<Namespace>| {
            if old.metadata.labels != new.metadata.labels {
                everything();
            }
        }
    }));

    factory.start();
    factory
        .wait_for_cache_sync(Duration::from_secs(120))
        .await
        .context("waiting for the Service, IPPool and Namespace caches")?;
    let seeded = ctx.seed();
    synced.store(true, Ordering::SeqCst);
    telemetry.ready.store(true, Ordering::SeqCst);
    tracing::info!(
        services = ctx.services.store().len(),
        pools = ctx.pools.store().len(),
        seeded,
        "caches synced; allocator seeded from Service status"
    );
    everything();

    Controller::new(queue, move |key: Key| {
        reconcile::reconcile(key, Arc::clone(&ctx))
    })
    .metrics(telemetry.reconciles)
    .workers(options.workers)
    .timeout(Duration::from_secs(30))
    .run_until(async move {
        let _ = stop.wait_for(|s| *s).await;
    })
    .await;
    factory.shutdown();
    Ok(())
}
