//! Wiring: the ConfigMap informer feeds the work queue, workers check
//! ConfigMaps and sync the rule directory, and with leader election only
//! the leader does any of it.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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
use k8s_openapi::api::core::v1::ConfigMap;
use kube::{Client, ResourceExt};
use prometheus_client::registry::Registry;

use crate::api::{NAME, STATUS_ANNOTATION, rules_selector};
use crate::events::Recorder;
use crate::metrics::LoaderMetrics;
use crate::reconcile::{self, Context, Debounce, Key};
use crate::reload::Reloader;
use crate::render::RenderOptions;
use crate::rulesdir::RulesDir;

/// How the loader runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The directory Prometheus loads `*.yaml` rule files from.
    pub rules_dir: PathBuf,
    /// Prometheus' base URL, `http://host:port`.
    pub prometheus_url: String,
    /// Bound on one reload call.
    pub reload_timeout: Duration,
    /// How ConfigMaps become rule files.
    pub render: RenderOptions,
    /// Quiet period before a sync.
    pub debounce: Duration,
    /// Longest a sync waits for a burst to go quiet.
    pub max_debounce: Duration,
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
    loader: LoaderMetrics,
    ready: Arc<AtomicBool>,
}

/// Runs until `shutdown` completes (then drains and returns `Ok`) or
/// leadership is lost (then returns the error, and the process should exit
/// and start over as a candidate).
pub async fn run(
    client: Client,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // Checked before anything runs, so a bad flag fails at once.
    let reloader = Reloader::new(&options.prometheus_url, options.reload_timeout)
        .map_err(anyhow::Error::msg)?;
    let rules_dir = RulesDir::open(&options.rules_dir)
        .with_context(|| format!("opening the rule directory {}", options.rules_dir.display()))?;

    let mut registry = Registry::default();
    let reconciles = ControllerMetrics::new();
    reconciles.register(&mut registry);
    let telemetry = Telemetry {
        queue: WorkQueueMetrics::new(),
        reconciles: reconciles.controller(NAME),
        loader: LoaderMetrics::default(),
        ready: Arc::new(AtomicBool::new(false)),
    };
    telemetry.queue.register(&mut registry);
    telemetry.loader.register(&mut registry);
    let server = Server::new()
        .health(Arc::clone(&telemetry.ready))
        .metrics(Arc::new(registry))
        .bind(options.metrics_addr)
        .await
        .with_context(|| format!("serving metrics on {}", options.metrics_addr))?;
    let addr = server.local_addr();
    tracing::info!(%addr, "serving /metrics, /healthz and /readyz");

    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });

    let parts = Parts {
        client: client.clone(),
        options: options.clone(),
        telemetry: telemetry.clone(),
        reloader,
        rules_dir,
    };
    let result = match options.leader_election.clone() {
        None => work_loop(parts, stop).await,
        Some(lease) => {
            telemetry.ready.store(true, Ordering::SeqCst);
            let elector = LeaderElector::new(client, lease)?;
            let mut waiting = stop.clone();
            tokio::select! {
                led = elector.run(|_leadership| work_loop(parts, stop)) => led?,
                _ = waiting.wait_for(|s| *s) => Ok(()),
            }
        }
    };
    server.shutdown();
    result
}

struct Parts {
    client: Client,
    options: Options,
    telemetry: Telemetry,
    reloader: Reloader,
    rules_dir: RulesDir,
}

/// Whether an update changed what the rule files are made of (not only
/// metadata such as the status annotation this loader writes).
fn content_changed(old: &ConfigMap, new: &ConfigMap) -> bool {
    old.data != new.data || old.binary_data != new.binary_data
}

async fn work_loop(
    parts: Parts,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let Parts {
        client,
        options,
        telemetry,
        reloader,
        rules_dir,
    } = parts;
    let factory = SharedInformerFactory::new(client.clone(), InformerOptions::default());
    let configmaps = factory.informer_with::<ConfigMap>(InformerOptions {
        label_selector: Some(rules_selector()),
        ..InformerOptions::default()
    });

    // Retries back off from 200 ms to 5 s, not client-go's 1000 s: the one
    // retried call that matters is the reload, and a Prometheus restart
    // takes seconds; waiting a quarter of an hour after one helps nobody.
    let limiter: MaxOf<Key> = MaxOf::new(vec![
        Box::new(ItemExponentialBackoff::new(
            Duration::from_millis(200),
            Duration::from_secs(5),
        )),
        Box::new(TokenBucket::default()),
    ]);
    let queue: RateLimitingQueue<Key> =
        RateLimitingQueue::with_metrics(NAME, &telemetry.queue, limiter);
    let debounce = Debounce::new(options.debounce, options.max_debounce);
    let quiet = debounce.quiet();
    let ctx = Arc::new(Context {
        configmaps: Lister::new(configmaps.store()),
        configmap_client: TypedClient::new(client.clone(), NAME),
        recorder: Recorder::new(TypedClient::new(client, NAME), options.identity.clone()),
        render: options.render.clone(),
        rules_dir,
        reloader,
        debounce,
        metrics: telemetry.loader.clone(),
    });

    let name_of =
        |cm: &ConfigMap| format!("{}/{}", cm.namespace().unwrap_or_default(), cm.name_any());
    let key_of = move |cm: &ConfigMap| Key::ConfigMap(name_of(cm));
    let changed = {
        let queue = queue.clone();
        let ctx = Arc::clone(&ctx);
        move || {
            ctx.debounce.touch();
            queue.queue().add_after(Key::Sync, quiet);
        }
    };
    configmaps.add_handler(
        HandlerFns::new()
            .on_add({
                let (queue, changed) = (queue.clone(), changed.clone());
                move |cm: &Arc<ConfigMap>, _initial| {
                    queue.queue().add(key_of(cm));
                    changed();
                }
            })
            .on_update({
                let (queue, changed) = (queue.clone(), changed.clone());
                move |old: &Arc<ConfigMap>, new: &Arc<ConfigMap>| {
                    queue.queue().add(key_of(new));
                    if content_changed(old, new) {
                        changed();
                    }
                }
            })
            // Deleted, or no longer labelled (the watch reports that as a
            // deletion): its files go at the next sync, and what the loader
            // wrote on it is taken back.
            .on_delete({
                let queue = queue.clone();
                move |deleted: &Deleted<ConfigMap>| {
                    let cm = deleted.object();
                    if cm.annotations().contains_key(STATUS_ANNOTATION) {
                        queue.queue().add(Key::Released(name_of(cm)));
                    }
                    changed();
                }
            }),
    );

    factory.start();
    factory
        .wait_for_cache_sync(Duration::from_secs(120))
        .await
        .context("waiting for the ConfigMap cache")?;
    telemetry.ready.store(true, Ordering::SeqCst);
    tracing::info!(
        configmaps = configmaps.store().len(),
        dir = %options.rules_dir.display(),
        prometheus = %options.prometheus_url,
        "cache synced; loading rules"
    );
    // One sync at start even with no ConfigMaps, so files of ConfigMaps
    // deleted while the loader was down are removed, and a reload owed
    // from before a crash is made.
    queue.queue().add(Key::Sync);

    Controller::new(queue, move |key: Key| {
        reconcile::reconcile(key, Arc::clone(&ctx))
    })
    .metrics(telemetry.reconciles)
    .workers(options.workers)
    .timeout(Duration::from_secs(60))
    .run_until(async move {
        let _ = stop.wait_for(|s| *s).await;
    })
    .await;
    factory.shutdown();
    Ok(())
}
