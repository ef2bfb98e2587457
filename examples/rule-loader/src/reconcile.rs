//! The two kinds of work: checking one ConfigMap (its status annotation and
//! Warning Event), and syncing the rule directory with every ConfigMap
//! (then reloading Prometheus once). Both read only the informer cache, are
//! idempotent, and write only what differs, so a restart with nothing
//! changed writes nothing and reloads nothing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crdforge_runtime::client::TypedClient;
use crdforge_runtime::controller::Action;
use crdforge_runtime::lister::Lister;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::Patch;
use serde_json::json;
use tokio::time::Instant;

use crate::api::STATUS_ANNOTATION;
use crate::events::Recorder;
use crate::metrics::LoaderMetrics;
use crate::reload::{ReloadError, Reloader};
use crate::render::{self, RenderOptions};
use crate::rulesdir::RulesDir;

/// A unit of work in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// Check the ConfigMap `namespace/name` and report its problems on it.
    ConfigMap(String),
    /// Write the rule directory from every ConfigMap, then reload.
    Sync,
    /// The ConfigMap `namespace/name` left the loader's view (deleted, or
    /// its label removed) while it carried a status: remove the annotation,
    /// if the ConfigMap is still there, and its Warning Event.
    Released(String),
}

/// Trailing-edge debounce of the sync: it runs once changes have been quiet
/// for `quiet`, or `max_delay` after the first of a burst that never goes
/// quiet, so a burst of changes costs one reload.
#[derive(Debug)]
pub struct Debounce {
    quiet: Duration,
    max_delay: Duration,
    /// The first and the last change not yet synced.
    pending: Mutex<Option<(Instant, Instant)>>,
}

impl Debounce {
    /// A debounce waiting for `quiet`, never longer than `max_delay`.
    pub fn new(quiet: Duration, max_delay: Duration) -> Self {
        Self {
            quiet,
            max_delay,
            pending: Mutex::new(None),
        }
    }

    /// The quiet period: how long after a change to look again.
    pub fn quiet(&self) -> Duration {
        self.quiet
    }

    /// Records a change.
    pub fn touch(&self) {
        let now = Instant::now();
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let first = pending.map_or(now, |(first, _)| first);
        *pending = Some((first, now));
    }

    /// `None` when the sync may run now (and the burst is taken), else how
    /// long to wait.
    pub fn wait(&self) -> Option<Duration> {
        let now = Instant::now();
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let (first, last) = (*pending)?;
        let due = (last + self.quiet).min(first + self.max_delay);
        if now < due {
            return Some(due - now);
        }
        *pending = None;
        None
    }
}

/// Everything the work needs: the cache to read, clients and files to write.
pub struct Context {
    /// Labelled ConfigMaps.
    pub configmaps: Lister<ConfigMap>,
    /// Writes the status annotation.
    pub configmap_client: TypedClient<ConfigMap>,
    /// Warning Events.
    pub recorder: Recorder,
    /// How ConfigMaps become files.
    pub render: RenderOptions,
    /// Where the files go.
    pub rules_dir: RulesDir,
    /// Tells Prometheus.
    pub reloader: Reloader,
    /// Coalesces bursts of changes.
    pub debounce: Debounce,
    /// What `/metrics` reports.
    pub metrics: LoaderMetrics,
}

/// Why a piece of work failed. Every variant is transient: the key goes
/// back to the rate-limited queue.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The apiserver refused or failed a request.
    #[error("{action}: {source}")]
    Kube {
        /// What was being done.
        action: &'static str,
        /// The error.
        source: kube::Error,
    },
    /// The rule directory could not be written.
    #[error("writing the rule directory {dir}: {source}")]
    Io {
        /// The directory.
        dir: String,
        /// The error.
        source: std::io::Error,
    },
    /// Prometheus did not reload.
    #[error(transparent)]
    Reload(#[from] ReloadError),
}

/// Does the work of one key.
pub async fn reconcile(key: Key, ctx: Arc<Context>) -> Result<Action, Error> {
    match key {
        Key::ConfigMap(key) => check_configmap(&key, &ctx).await,
        Key::Sync => sync(&ctx).await,
        Key::Released(key) => release(&key, &ctx).await,
    }
}

/// Takes back what the loader wrote on a ConfigMap it no longer reads.
async fn release(key: &str, ctx: &Context) -> Result<Action, Error> {
    let Some((namespace, name)) = key.split_once('/') else {
        return Ok(Action::Done);
    };
    if ctx.configmaps.namespace(namespace).get(name).is_some() {
        // Labelled again: checking it reports whatever is true now.
        return Ok(Action::Done);
    }
    ctx.recorder
        .clear_named(namespace, name)
        .await
        .map_err(|source| Error::Kube {
            action: "removing the Warning Event",
            source,
        })?;
    // No precondition: the annotation is the loader's alone, and if the
    // ConfigMap is labelled again meanwhile, the update this patch causes
    // brings it back to be checked.
    let patch = json!({"metadata": {"annotations": {STATUS_ANNOTATION: null}}});
    match ctx
        .configmap_client
        .namespace(namespace)
        .patch(name, &Patch::Merge(patch))
        .await
    {
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(Action::Done),
        Err(source) => Err(Error::Kube {
            action: "removing the status annotation",
            source,
        }),
        Ok(_) => Ok(Action::Done),
    }
}

/// Reports the problems of one ConfigMap on it: the status annotation and
/// the Warning Event, written only when the problems changed.
async fn check_configmap(key: &str, ctx: &Context) -> Result<Action, Error> {
    let Some((namespace, name)) = key.split_once('/') else {
        return Ok(Action::Done);
    };
    let Some(cm) = ctx.configmaps.namespace(namespace).get(name) else {
        // Gone, or no longer labelled: the sync removes its files.
        return Ok(Action::Done);
    };
    let rendered = render::render(&cm, &ctx.render);
    let desired = render::status_text(&rendered.problems);
    let current = cm.annotations().get(STATUS_ANNOTATION).cloned();
    if desired == current {
        return Ok(Action::Done);
    }
    // The Event first: if the annotation write then fails, the retry still
    // sees a difference and writes both.
    match &desired {
        Some(text) => {
            tracing::warn!(configmap = %key, problems = %text, "invalid rule files");
            ctx.recorder
                .warn(&cm, text)
                .await
                .map_err(|source| Error::Kube {
                    action: "publishing the Warning Event",
                    source,
                })?;
        }
        None => {
            tracing::info!(configmap = %key, "rule files fixed");
            ctx.recorder
                .clear(&cm)
                .await
                .map_err(|source| Error::Kube {
                    action: "removing the Warning Event",
                    source,
                })?;
        }
    }
    // A merge patch with a resourceVersion precondition: it fails with 409
    // rather than write a status about data it has not seen, and, unlike
    // an apply, cannot re-create a ConfigMap deleted meanwhile.
    let patch = json!({"metadata": {
        "resourceVersion": cm.resource_version(),
        "annotations": {STATUS_ANNOTATION: desired},
    }});
    ctx.configmap_client
        .namespace(namespace)
        .patch(name, &Patch::Merge(patch))
        .await
        .map_err(|source| Error::Kube {
            action: "writing the status annotation",
            source,
        })?;
    Ok(Action::Done)
}

/// Makes the rule directory match the cache, then reloads Prometheus if the
/// files changed now or since its last confirmed reload.
async fn sync(ctx: &Context) -> Result<Action, Error> {
    if let Some(wait) = ctx.debounce.wait() {
        return Ok(Action::RequeueAfter(wait));
    }
    let mut desired = BTreeMap::new();
    let (mut groups, mut rules, mut invalid) = (0, 0, 0);
    for cm in ctx.configmaps.store().list() {
        let rendered = render::render(&cm, &ctx.render);
        groups += rendered.groups;
        rules += rendered.rules;
        invalid += rendered.invalid_files;
        desired.extend(rendered.files);
    }
    let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    ctx.metrics.rules.set(gauge(rules));
    ctx.metrics.groups.set(gauge(groups));
    ctx.metrics.files.set(gauge(desired.len()));
    ctx.metrics.invalid_files.set(gauge(invalid));

    let io_error = |source| Error::Io {
        dir: ctx.rules_dir.path().display().to_string(),
        source,
    };
    let changes = ctx.rules_dir.sync(&desired).map_err(io_error)?;
    if !changes.is_empty() {
        tracing::info!(
            written = changes.written.len(),
            removed = changes.removed.len(),
            files = desired.len(),
            "rule directory updated"
        );
    }
    if !ctx.rules_dir.reload_pending() {
        return Ok(Action::Done);
    }
    match ctx.reloader.reload().await {
        Ok(()) => {
            // The marker goes before the count rises, so whoever sees the
            // reload counted also sees it no longer owed.
            ctx.rules_dir.clear_pending().map_err(io_error)?;
            ctx.metrics.reloads.inc();
            tracing::info!(files = desired.len(), rules, "Prometheus reloaded");
            Ok(Action::Done)
        }
        Err(err) => {
            ctx.metrics.reload_failures.inc();
            Err(err.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_is_synced_once_it_is_quiet_or_has_waited_long_enough() {
        let debounce = Debounce::new(Duration::from_secs(1), Duration::from_secs(5));
        assert_eq!(debounce.wait(), None, "nothing pending: sync at once");

        debounce.touch();
        tokio::time::advance(Duration::from_millis(400)).await;
        debounce.touch();
        assert_eq!(debounce.wait(), Some(Duration::from_secs(1)));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(debounce.wait(), None);
        assert_eq!(debounce.wait(), None, "the burst was taken");

        // Changes every 500 ms never go quiet; the sync runs after 5 s.
        debounce.touch();
        for _ in 0..9 {
            tokio::time::advance(Duration::from_millis(500)).await;
            debounce.touch();
            assert!(debounce.wait().is_some());
        }
        tokio::time::advance(Duration::from_millis(500)).await;
        debounce.touch();
        assert_eq!(debounce.wait(), None);
    }
}
