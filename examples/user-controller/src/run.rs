//! Wiring: informers feed the work queue, workers reconcile, and with leader
//! election only the leader does any of it. The webhooks (conversion between
//! v1 and v2, admission) are served by every replica, leader or not: the
//! apiserver calls whichever the Service picks.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use crdforge_runtime::client::TypedClient;
use crdforge_runtime::controller::{Controller, ControllerMetrics, ReconcileMetrics};
use crdforge_runtime::informer::{HandlerFns, InformerOptions, SharedInformerFactory};
use crdforge_runtime::leader::{LeaderElector, LeaseConfig};
use crdforge_runtime::lister::Lister;
use crdforge_runtime::server::{Running, Server, Tls};
use crdforge_runtime::workqueue::{
    RateLimitingQueue, WorkQueueMetrics, default_controller_rate_limiter,
};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ResourceQuota};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::core::PartialObjectMeta;
use kube::{Client, Resource};
use prometheus_client::registry::Registry;

use crate::admission::{self, POLICY_CONFIGMAP, PolicySource};
use crate::api::User;
use crate::api::webhooks::{CONVERT_PATH, DEFAULT_PATH, VALIDATE_PATH};
use crate::directory::FileDirectory;
use crate::events::Recorder;
use crate::reconcile::{self, Context, MANAGED_BY, MANAGER};

/// How the controller runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the file-backed account directory lives.
    pub directory: PathBuf,
    /// Concurrent reconciles.
    pub workers: usize,
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    pub metrics_addr: SocketAddr,
    /// Leader election, when several replicas run.
    pub leader_election: Option<LeaseConfig>,
    /// This replica's name, for events and the lease.
    pub identity: String,
    /// The webhooks' HTTPS server; none serves no webhook.
    pub webhook: Option<WebhookOptions>,
}

/// The webhooks' HTTPS server.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// Address of the server.
    pub addr: SocketAddr,
    /// The serving certificate (PEM; a mounted Secret's `tls.crt`), read
    /// again when it changes.
    pub cert: PathBuf,
    /// Its key (PEM; `tls.key`).
    pub key: PathBuf,
    /// How often the certificate files are read for a change.
    pub cert_poll: Duration,
    /// The namespace of the policy ConfigMap (the controller's own).
    pub policy_namespace: String,
}

/// Metrics and readiness shared by the parts of one run.
#[derive(Clone)]
struct Telemetry {
    queue: WorkQueueMetrics,
    /// Counted by the controller loop, so panics and timeouts are failures too.
    reconciles: ReconcileMetrics,
    ready: Arc<AtomicBool>,
}

/// Runs the controller until `shutdown` completes (then drains the queue,
/// releases the lease and returns `Ok`) or leadership is lost (then returns
/// the error: the process should exit and start over as a candidate, as
/// client-go controllers do).
pub async fn run(
    client: Client,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut registry = Registry::default();
    let reconciles = ControllerMetrics::new();
    reconciles.register(&mut registry);
    // Made now, so that a standby exports its zeros too.
    let telemetry = Telemetry {
        queue: WorkQueueMetrics::new(),
        reconciles: reconciles.controller("user"),
        ready: Arc::new(AtomicBool::new(false)),
    };
    telemetry.queue.register(&mut registry);
    // The webhooks first, so that readiness can wait for their certificate:
    // a replica that cannot answer the apiserver gets no traffic.
    let webhooks = match &options.webhook {
        Some(w) => Some(serve_webhooks(client.clone(), w).await?),
        None => None,
    };
    let tls = webhooks.as_ref().map(|w| w.tls.clone());
    let ready = Arc::clone(&telemetry.ready);
    let server = Server::new()
        .health_with(move || {
            ready.load(Ordering::SeqCst) && tls.as_ref().is_none_or(Tls::is_loaded)
        })
        .metrics(Arc::new(registry))
        .bind(options.metrics_addr)
        .await
        .with_context(|| format!("serving metrics on {}", options.metrics_addr))?;
    let addr = server.local_addr();
    tracing::info!(%addr, "serving /metrics, /healthz and /readyz");

    // One stop signal for every part: waiting for the lease, and the loop.
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });

    let result = match options.leader_election.clone() {
        None => reconcile_loop(client, options, telemetry, stop).await,
        Some(lease) => {
            // A standby is ready: it has nothing to serve until it leads.
            telemetry.ready.store(true, Ordering::SeqCst);
            let elector = LeaderElector::new(client.clone(), lease)?;
            let mut waiting = stop.clone();
            tokio::select! {
                led = elector.run(|_leadership| reconcile_loop(client, options, telemetry, stop)) => led?,
                _ = waiting.wait_for(|s| *s) => Ok(()),
            }
        }
    };
    server.shutdown();
    if let Some(webhooks) = webhooks {
        webhooks.server.shutdown();
        webhooks.factory.shutdown();
    }
    result
}

/// Adds the User webhooks to `server` at the paths the declaration in
/// `user_api::webhooks` registers: the conversion between v1 and v2, and
/// the validator and defaulter reading the policy from `policy`.
pub fn webhook_routes(server: Server, policy: PolicySource) -> Server {
    let validating = policy.clone();
    server
        .conversion(CONVERT_PATH, crate::api::conversion::converter())
        .validating(VALIDATE_PATH, move |new: &User, old: Option<&User>, ctx| {
            admission::validate(&validating, new, old, ctx)
        })
        .defaulting(DEFAULT_PATH, move |user: &mut User, ctx| {
            admission::default(&policy, user, ctx)
        })
}

/// The running webhook server and what it reads.
struct Webhooks {
    server: Running,
    factory: SharedInformerFactory,
    tls: Tls,
}

/// Serves the conversion webhook and the admission webhooks over TLS, with
/// the policy ConfigMap watched by an informer of its own (one object, by
/// name, in the controller's namespace: a Role there suffices).
async fn serve_webhooks(client: Client, options: &WebhookOptions) -> anyhow::Result<Webhooks> {
    let factory = SharedInformerFactory::new(
        client,
        InformerOptions {
            namespace: Some(options.policy_namespace.clone()),
            field_selector: Some(format!("metadata.name={POLICY_CONFIGMAP}")),
            drop_managed_fields: true,
            ..InformerOptions::default()
        },
    );
    let config_maps = factory.informer::<ConfigMap>();
    factory.start();
    let policy = PolicySource::new(
        config_maps.store(),
        move || config_maps.has_synced(),
        &options.policy_namespace,
    );
    let tls = Tls::from_files(&options.cert, &options.key, options.cert_poll);
    let server = webhook_routes(Server::new(), policy)
        .tls(tls.clone())
        .bind(options.addr)
        .await
        .with_context(|| format!("serving the webhooks on {}", options.addr))?;
    tracing::info!(addr = %server.local_addr(), "serving the conversion and admission webhooks");
    Ok(Webhooks {
        server,
        factory,
        tls,
    })
}

async fn reconcile_loop(
    client: Client,
    options: Options,
    telemetry: Telemetry,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    // Cached objects go without managedFields and the last-applied
    // annotation: nothing here reads them, and every write is an apply or a
    // patch built from scratch (never a cached object sent back whole), so
    // nothing can lose them. On objects written by server-side apply they
    // are the larger part of the metadata.
    let lean = InformerOptions {
        drop_managed_fields: true,
        ..InformerOptions::default()
    };
    let factory = SharedInformerFactory::new(client.clone(), lean.clone());
    let users = factory.informer::<User>();
    // Only a Namespace's metadata is read (owner, labels, deletion): the
    // metadata-only informer neither receives nor caches spec and status.
    let namespaces = factory.metadata_informer::<Namespace>();
    // Only our own RoleBindings and quotas are cached.
    let ours = InformerOptions {
        label_selector: Some(format!("{MANAGED_BY}={MANAGER}")),
        ..lean
    };
    let role_bindings = factory.informer_with::<RoleBinding>(ours.clone());
    let quotas = factory.informer_with::<ResourceQuota>(ours);

    let queue: RateLimitingQueue<String> = RateLimitingQueue::with_metrics(
        "user",
        &telemetry.queue,
        default_controller_rate_limiter(),
    );
    users.add_handler(HandlerFns::on_any({
        let queue = queue.clone();
        move |user: &Arc<User>| {
            queue
                .queue()
                .add(user.meta().name.clone().unwrap_or_default())
        }
    }));
    // A namespace event concerns the User that owns it, or — for a namespace
    // that is not ours — a User of the same name, whose conflict may be over.
    namespaces.add_handler(HandlerFns::on_any({
        let queue = queue.clone();
        let users = users.store();
        move |ns: &Arc<PartialObjectMeta<Namespace>>| {
            if let Some(owner) = controlling_user(ns.meta()) {
                queue.queue().add(owner);
            } else if let Some(name) = &ns.meta().name
                && users.get(name).is_some()
            {
                queue.queue().add(name.clone());
            }
        }
    }));
    role_bindings.add_handler(HandlerFns::on_any({
        let queue = queue.clone();
        move |rb: &Arc<RoleBinding>| {
            if let Some(owner) = controlling_user(rb.meta()) {
                queue.queue().add(owner);
            }
        }
    }));
    quotas.add_handler(HandlerFns::on_any({
        let queue = queue.clone();
        move |q: &Arc<ResourceQuota>| {
            if let Some(owner) = controlling_user(q.meta()) {
                queue.queue().add(owner);
            }
        }
    }));

    factory.start();
    factory
        .wait_for_cache_sync(Duration::from_secs(120))
        .await
        .context("waiting for the informer caches")?;
    telemetry.ready.store(true, Ordering::SeqCst);
    tracing::info!(users = users.store().len(), "caches synced; reconciling");

    let ctx = Arc::new(Context {
        users: Lister::new(users.store()),
        namespaces: Lister::new(namespaces.store()),
        role_bindings: Lister::new(role_bindings.store()),
        quotas: Lister::new(quotas.store()),
        user_client: TypedClient::new(client.clone(), MANAGER),
        namespace_client: TypedClient::new(client.clone(), MANAGER),
        role_binding_client: TypedClient::new(client.clone(), MANAGER),
        quota_client: TypedClient::new(client.clone(), MANAGER),
        directory: Arc::new(FileDirectory::new(&options.directory)?),
        recorder: Recorder::new(TypedClient::new(client, MANAGER), options.identity.clone()),
    });
    Controller::new(queue, move |name: String| {
        reconcile::reconcile(name, Arc::clone(&ctx))
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

/// The name of the User that is the controller owner of an object.
fn controlling_user(meta: &kube::api::ObjectMeta) -> Option<String> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|o| {
            o.controller == Some(true) && o.kind == "User" && o.api_version == "example.com/v1"
        })
        .map(|o| o.name.clone())
}
