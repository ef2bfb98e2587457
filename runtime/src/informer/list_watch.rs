//! The stream that feeds an informer: the initial state of a kind, then its
//! changes, as [`watcher::Event`]s.
//!
//! The initial state comes by the **streaming list** (Kubernetes' WatchList,
//! KEP-3157) where the server supports it: one watch with
//! `sendInitialEvents=true`, `resourceVersionMatch=NotOlderThan` and
//! bookmarks, which sends every existing object as an `ADDED` event and then
//! a BOOKMARK annotated `k8s.io/initial-events-end: "true"`; the same
//! connection then carries the changes. That is one request per (re)sync
//! instead of a list plus a watch, and the objects arrive one by one rather
//! than as one large list body.
//!
//! Where the server does not support it, this falls back to a paged list
//! and then a watch from the list's resourceVersion, for the rest of the
//! stream's life:
//! - the watch is refused as a bad request (400 or 422): the WatchList
//!   feature gate is off, or the server predates `resourceVersionMatch` on
//!   watches;
//! - the watch starts but the end bookmark does not come: no initial event
//!   for [`ListWatchConfig::initial_events_timeout`], or the watch ends before
//!   the bookmark (a server that ignored `sendInitialEvents`).
//!
//! Transport errors and 403s are not taken as "unsupported": they are
//! reported and the same strategy is retried (the caller's backoff paces it).
//!
//! kube-runtime's `watcher` with `streaming_lists()` has no such fallback (a
//! refused streaming watch is retried forever) and asks for the initial
//! events at resourceVersion "0", which the apiserver may serve from a stale
//! watch cache; here the initial events are asked for at the latest state
//! (resourceVersion unset), as client-go does.
//!
//! A 410 Gone (the watch fell too far behind) restarts from the initial
//! state by the same path, so a relist after 410 costs one request too.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, Stream, StreamExt};
use kube::api::{Api, ListParams, ObjectList, WatchEvent, WatchParams};
use kube::core::Status;
use kube::runtime::watcher::{self, Event};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;

/// The annotation of the BOOKMARK that ends a streaming list's initial events.
pub const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// A watch's events, boxed.
pub type WatchStream<K> = BoxStream<'static, kube::Result<WatchEvent<K>>>;

/// Lists and watches one kind: client-go's `ListerWatcher`. Implemented for
/// [`kube::Api`] (full objects, or metadata only for
/// `Api<PartialObjectMeta<K>>`); tests implement it with a fake API.
pub trait ListerWatcher<K: Clone>: Send + Sync + 'static {
    /// One page of a list.
    fn list<'a>(&'a self, params: &'a ListParams) -> BoxFuture<'a, kube::Result<ObjectList<K>>>;
    /// A watch from `resource_version` ("" for the latest state).
    fn watch<'a>(
        &'a self,
        params: &'a WatchParams,
        resource_version: &'a str,
    ) -> BoxFuture<'a, kube::Result<WatchStream<K>>>;
}

impl<K> ListerWatcher<K> for Api<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    fn list<'a>(&'a self, params: &'a ListParams) -> BoxFuture<'a, kube::Result<ObjectList<K>>> {
        Api::list(self, params).boxed()
    }
    fn watch<'a>(
        &'a self,
        params: &'a WatchParams,
        resource_version: &'a str,
    ) -> BoxFuture<'a, kube::Result<WatchStream<K>>> {
        async move {
            let stream = Api::watch(self, params, resource_version).await?;
            Ok(stream.boxed())
        }
        .boxed()
    }
}

/// How the stream lists and watches.
#[derive(Debug, Clone)]
pub struct ListWatchConfig {
    /// Only objects matching this label selector.
    pub label_selector: Option<String>,
    /// Only objects matching this field selector.
    pub field_selector: Option<String>,
    /// Try the streaming list first (falling back when unsupported).
    pub streaming_list: bool,
    /// How long to wait for the next initial event (or the end bookmark) of
    /// a streaming list before taking the server as not supporting it.
    pub initial_events_timeout: Duration,
    /// Objects per page of a plain list.
    pub page_size: u32,
}

impl Default for ListWatchConfig {
    fn default() -> Self {
        Self {
            label_selector: None,
            field_selector: None,
            streaming_list: true,
            // Generous: the apiserver may first wait (up to 3 s) for its watch
            // cache to catch up with etcd, and a loaded one is slower still.
            initial_events_timeout: Duration::from_secs(30),
            // kube-runtime's watcher and client-go's reflector use 500 too.
            page_size: 500,
        }
    }
}

impl ListWatchConfig {
    fn watch_params(&self, initial_events: bool) -> WatchParams {
        WatchParams {
            label_selector: self.label_selector.clone(),
            field_selector: self.field_selector.clone(),
            bookmarks: true,
            // Also sets resourceVersionMatch=NotOlderThan (kube-core ties them).
            send_initial_events: initial_events,
            ..WatchParams::default()
        }
    }

    fn list_params(&self, continue_token: Option<String>) -> ListParams {
        // resourceVersion unset, not "0" (any cached state): a relist after
        // 410 must not go back in time, and the first list should be as
        // fresh as a streaming one.
        ListParams {
            label_selector: self.label_selector.clone(),
            field_selector: self.field_selector.clone(),
            limit: Some(self.page_size),
            continue_token,
            ..ListParams::default()
        }
    }
}

/// The informer's event stream from `source`; see the module docs. It never
/// ends by itself; errors are items, so wrap it in a backoff
/// (`kube::runtime::WatchStreamExt::default_backoff`).
pub fn list_watch<K, L>(
    source: L,
    config: ListWatchConfig,
) -> impl Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static
where
    K: Resource + Clone + Send + Sync + 'static,
    L: ListerWatcher<K>,
{
    let machine = Machine {
        streaming: config.streaming_list,
        source,
        config,
        phase: Phase::Start,
        pending: VecDeque::new(),
    };
    futures::stream::unfold(machine, |mut machine| async move {
        let item = machine.next().await;
        Some((item, machine))
    })
}

enum Phase<K> {
    /// Get the initial state (again).
    Start,
    /// Receiving a streaming list's initial events.
    Initial(WatchStream<K>),
    /// Paging through a plain list.
    Listing {
        continue_token: Option<String>,
        resource_version: Option<String>,
    },
    /// Start a watch from this resourceVersion.
    Resume(String),
    Watching(String, WatchStream<K>),
}

struct Machine<K, L> {
    source: L,
    config: ListWatchConfig,
    /// Whether the streaming list is still to be used: false once the
    /// server showed it does not support it.
    streaming: bool,
    phase: Phase<K>,
    /// Events decided but not yet handed out (a list page's objects).
    pending: VecDeque<Result<Event<K>, watcher::Error>>,
}

type Item<K> = Result<Event<K>, watcher::Error>;

impl<K, L> Machine<K, L>
where
    K: Resource + Clone + Send + Sync + 'static,
    L: ListerWatcher<K>,
{
    /// The next item. Every arm either yields or moves the phase on, and
    /// each move that can repeat without yielding waits on the server (a
    /// request or the next event), so the loop never spins.
    async fn next(&mut self) -> Item<K> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return item;
            }
            match std::mem::replace(&mut self.phase, Phase::Start) {
                Phase::Start if self.streaming => {
                    let params = self.config.watch_params(true);
                    match self.source.watch(&params, "").await {
                        Ok(stream) => {
                            self.phase = Phase::Initial(stream);
                            return Ok(Event::Init);
                        }
                        Err(err) if unsupported(&err) => {
                            self.fall_back(&format!("the streaming watch was refused: {err}"));
                        }
                        Err(err) => return Err(watcher::Error::WatchStartFailed(err)),
                    }
                }
                Phase::Start => {
                    self.phase = Phase::Listing {
                        continue_token: None,
                        resource_version: None,
                    };
                    return Ok(Event::Init);
                }
                Phase::Initial(mut stream) => {
                    let timeout = self.config.initial_events_timeout;
                    match tokio::time::timeout(timeout, stream.next()).await {
                        Err(_elapsed) => self.fall_back(&format!(
                            "no initial event nor the end bookmark for {timeout:?}"
                        )),
                        Ok(None) => self.fall_back("the watch ended before the end bookmark"),
                        Ok(Some(Ok(WatchEvent::Added(obj) | WatchEvent::Modified(obj)))) => {
                            self.phase = Phase::Initial(stream);
                            return Ok(Event::InitApply(obj));
                        }
                        Ok(Some(Ok(WatchEvent::Deleted(_)))) => {
                            // The apiserver sends none before the bookmark.
                            tracing::warn!(
                                kind = std::any::type_name::<K>(),
                                "a DELETED event among initial events; ignored"
                            );
                            self.phase = Phase::Initial(stream);
                        }
                        Ok(Some(Ok(WatchEvent::Bookmark(mark)))) => {
                            if mark
                                .metadata
                                .annotations
                                .get(INITIAL_EVENTS_END)
                                .map(String::as_str)
                                == Some("true")
                            {
                                self.phase =
                                    Phase::Watching(mark.metadata.resource_version, stream);
                                return Ok(Event::InitDone);
                            }
                            self.phase = Phase::Initial(stream);
                        }
                        Ok(Some(Ok(WatchEvent::Error(status)))) => {
                            // 410 or otherwise, the initial state is
                            // incomplete: start it over.
                            return Err(watcher::Error::WatchError(status));
                        }
                        Ok(Some(Err(err))) => return Err(watcher::Error::WatchFailed(err)),
                    }
                }
                Phase::Listing {
                    continue_token,
                    resource_version,
                } => {
                    let params = self.config.list_params(continue_token);
                    let page = match self.source.list(&params).await {
                        Ok(page) => page,
                        Err(err) => return Err(watcher::Error::InitialListFailed(err)),
                    };
                    let next = page.metadata.continue_.filter(|c| !c.is_empty());
                    // Every page carries the list's resourceVersion; the
                    // first one's is the snapshot's.
                    let version = resource_version
                        .or(page.metadata.resource_version)
                        .filter(|v| !v.is_empty());
                    self.pending
                        .extend(page.items.into_iter().map(|obj| Ok(Event::InitApply(obj))));
                    match (next, version) {
                        (Some(token), version) => {
                            self.phase = Phase::Listing {
                                continue_token: Some(token),
                                resource_version: version,
                            }
                        }
                        (None, Some(version)) => {
                            self.pending.push_back(Ok(Event::InitDone));
                            self.phase = Phase::Resume(version);
                        }
                        (None, None) => {
                            self.pending.clear();
                            return Err(watcher::Error::NoResourceVersion);
                        }
                    }
                }
                Phase::Resume(version) => {
                    let params = self.config.watch_params(false);
                    match self.source.watch(&params, &version).await {
                        Ok(stream) => self.phase = Phase::Watching(version, stream),
                        Err(kube::Error::Api(status)) if status.code == 410 => {
                            return Err(watcher::Error::WatchStartFailed(kube::Error::Api(status)));
                        }
                        Err(err) => {
                            self.phase = Phase::Resume(version);
                            return Err(watcher::Error::WatchStartFailed(err));
                        }
                    }
                }
                Phase::Watching(version, mut stream) => match stream.next().await {
                    // The server ends every watch after its timeout: resume.
                    None => self.phase = Phase::Resume(version),
                    Some(Ok(WatchEvent::Added(obj) | WatchEvent::Modified(obj))) => {
                        self.phase = Phase::Watching(newer(&obj, version), stream);
                        return Ok(Event::Apply(obj));
                    }
                    Some(Ok(WatchEvent::Deleted(obj))) => {
                        self.phase = Phase::Watching(newer(&obj, version), stream);
                        return Ok(Event::Delete(obj));
                    }
                    Some(Ok(WatchEvent::Bookmark(mark))) => {
                        self.phase = Phase::Watching(mark.metadata.resource_version, stream);
                    }
                    Some(Ok(WatchEvent::Error(status))) => {
                        // 410 Gone: this resourceVersion is compacted away;
                        // start over from the initial state (phase Start).
                        // Any other error event ends this watch too; resume.
                        if status.code != 410 {
                            self.phase = Phase::Resume(version);
                        }
                        return Err(watcher::Error::WatchError(status));
                    }
                    Some(Err(err)) => {
                        self.phase = Phase::Resume(version);
                        return Err(watcher::Error::WatchFailed(err));
                    }
                },
            }
        }
    }

    /// Uses list + watch from now on. The next phase is `Start`, which
    /// then lists.
    fn fall_back(&mut self, why: &str) {
        tracing::info!(
            kind = std::any::type_name::<K>(),
            why,
            "the server does not support streaming lists; listing, then watching"
        );
        self.streaming = false;
        self.phase = Phase::Start;
    }
}

/// The resourceVersion to resume from after `obj`.
fn newer<K: Resource>(obj: &K, current: String) -> String {
    obj.resource_version()
        .filter(|v| !v.is_empty())
        .unwrap_or(current)
}

/// Whether a refused watch means the server does not know the streaming
/// list's parameters (rather than a passing failure or a missing permission).
fn unsupported(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if is_bad_request(status))
}

fn is_bad_request(status: &Status) -> bool {
    status.code == 400 || status.is_invalid()
}

#[cfg(test)]
mod tests;
