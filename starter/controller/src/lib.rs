//! The Backup controller: for every Backup, a ConfigMap `backup-<name>` in
//! its namespace holding the schedule (what a CronJob would read), owned by
//! the Backup so the garbage collector removes it with it, and a `Ready`
//! condition in the Backup's status.
//!
//! The wiring is the whole of a crdforge controller: informers (one watch
//! per kind, shared), an owner mapping from child events to the parent's
//! key, a rate-limited work queue, and a reconcile function that reads the
//! caches and applies only what differs.

use std::sync::Arc;
use std::time::Duration;

use backup_api::Backup;
use crdforge_runtime::client::TypedClient;
use crdforge_runtime::controller::{Action, Controller};
use crdforge_runtime::informer::{HandlerFns, InformerOptions, SharedInformerFactory};
use crdforge_runtime::lister::Lister;
use crdforge_runtime::workqueue::{RateLimitingQueue, default_controller_rate_limiter};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;

/// The field manager of every write.
pub const MANAGER: &str = "backup-controller";

/// What can go wrong in one reconcile; every variant is retried through
/// the queue's back-off, never inline.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The apiserver refused or failed a request.
    #[error("{0}")]
    Kube(#[from] kube::Error),
}

/// What reconcile reads and writes through.
pub struct Context {
    /// Backups, from the informer's cache.
    pub backups: Lister<Backup>,
    /// ConfigMaps, from the informer's cache.
    pub config_maps: Lister<ConfigMap>,
    /// Writes to Backups' status.
    pub backup_client: TypedClient<Backup>,
    /// Writes to ConfigMaps.
    pub config_map_client: TypedClient<ConfigMap>,
}

// ANCHOR: reconcile
/// Reconciles the Backup `namespace/name`: level-triggered and idempotent,
/// so a call for an unchanged Backup makes no request at all.
pub async fn reconcile(key: String, ctx: Arc<Context>) -> Result<Action, Error> {
    let Some((namespace, name)) = key.split_once('/') else {
        return Ok(Action::Done);
    };
    // Gone: its ConfigMap goes with it through the garbage collector.
    let Some(backup) = ctx.backups.namespace(namespace).get(name) else {
        return Ok(Action::Done);
    };
    let child = format!("backup-{name}");
    let data = json!({ "schedule": backup.spec.schedule, "keep": backup.spec.keep.to_string() });
    let current = ctx.config_maps.namespace(namespace).get(&child);
    if current
        .as_ref()
        .and_then(|cm| cm.data.as_ref())
        .map(|d| json!(d))
        != Some(data.clone())
    {
        let owner = backup
            .controller_owner_ref(&())
            .expect("a Backup read from the apiserver has a uid");
        let config_map = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": child, "namespace": namespace, "ownerReferences": [owner] },
            "data": data,
        });
        ctx.config_map_client
            .namespace(namespace)
            .apply(&config_map, &child, true)
            .await?;
    }
    let generation = backup.meta().generation;
    let status = backup.status.clone().unwrap_or_default();
    let ready = status
        .conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    if !ready || status.observed_generation != generation {
        let status = json!({
            "apiVersion": "example.org/v1", "kind": "Backup",
            "metadata": { "name": name, "namespace": namespace },
            "status": {
                "observedGeneration": generation,
                "conditions": [{
                    "type": "Ready", "status": "True", "reason": "Scheduled",
                    "message": format!("schedule in ConfigMap {child}"),
                    "observedGeneration": generation,
                    "lastTransitionTime": Time(k8s_openapi::jiff::Timestamp::now()),
                }],
            },
        });
        ctx.backup_client
            .namespace(namespace)
            .apply_status(&status, name, true)
            .await?;
    }
    Ok(Action::Done)
}
// ANCHOR_END: reconcile

// ANCHOR: run
/// Runs the controller until `stop` resolves.
pub async fn run(
    client: Client,
    workers: usize,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let factory = SharedInformerFactory::new(client.clone(), InformerOptions::default());
    let backups = factory.informer::<Backup>();
    let config_maps = factory.informer::<ConfigMap>();
    let queue: RateLimitingQueue<String> =
        RateLimitingQueue::new(default_controller_rate_limiter());

    // A Backup's own events, and its ConfigMap's, all mean "look at that Backup".
    backups.add_handler(HandlerFns::on_any({
        let queue = queue.clone();
        move |backup: &Arc<Backup>| queue.queue().add(key(backup.meta()))
    }));
    config_maps.add_handler(HandlerFns::on_any({
        let queue = queue.clone();
        move |cm: &Arc<ConfigMap>| {
            let owner = cm
                .owner_references()
                .iter()
                .find(|o| o.controller == Some(true) && o.kind == "Backup");
            if let (Some(owner), Some(ns)) = (owner, cm.namespace()) {
                queue.queue().add(format!("{ns}/{}", owner.name));
            }
        }
    }));

    factory.start();
    factory.wait_for_cache_sync(Duration::from_secs(60)).await?;
    let ctx = Arc::new(Context {
        backups: Lister::new(backups.store()),
        config_maps: Lister::new(config_maps.store()),
        backup_client: TypedClient::new(client.clone(), MANAGER),
        config_map_client: TypedClient::new(client, MANAGER),
    });
    Controller::new(queue, move |key: String| reconcile(key, Arc::clone(&ctx)))
        .workers(workers)
        .run_until(stop)
        .await;
    factory.shutdown();
    Ok(())
}
// ANCHOR_END: run

fn key(meta: &ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
    )
}
