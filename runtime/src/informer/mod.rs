//! Shared informers: one watch per kind feeding an indexed [`Store`] and any
//! number of [`EventHandler`]s.
//!
//! Guarantees:
//! - **one watch per kind**: a [`SharedInformerFactory`] hands every consumer
//!   of a kind (with the same namespace and selectors) the same informer;
//! - **cache before handlers**: when a handler is called, the store already
//!   holds the state the event describes;
//! - **ordered delivery**: handlers see each object's events in the order the
//!   apiserver produced them, one call at a time;
//! - **late handlers catch up**: a handler added to a running informer first
//!   gets an add for every cached object, atomically with respect to events;
//! - **relists are diffs**: after a watch is lost and the kind relisted, new
//!   objects arrive as adds, changed ones as updates, and objects deleted
//!   meanwhile as [`Deleted::FinalStateUnknown`] tombstones;
//! - **resync without the apiserver**: with a resync period, cached objects
//!   are re-delivered as updates (old and new the same `Arc`) from memory;
//! - **one request per sync**: the factory's informers start with a
//!   streaming list where the server supports it ([`list_watch`]);
//! - **transforms before the cache**: [`Informer::add_transform`] changes
//!   every object (initial list, watch event, relist, delete) before it is
//!   stored or handed to a handler, as client-go's `SetTransform` does; the
//!   usual one is [`drop_managed_fields`].

mod factory;
mod handler;
mod list_watch;

pub use factory::{InformerOptions, NotSynced, ScopedApi, SharedInformerFactory};
pub use handler::{Deleted, EventHandler, HandlerFns};
pub use list_watch::{INITIAL_EVENTS_END, ListWatchConfig, ListerWatcher, WatchStream, list_watch};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::{Stream, StreamExt};
use kube::Resource;
use kube::runtime::watcher;
use tokio::sync::watch;

use crate::cache::{Indexers, ObjectKey, Store};

/// An informer for objects of type `K`: a cache plus event delivery. Cheap
/// to clone; clones share everything.
pub struct Informer<K> {
    shared: Arc<Shared<K>>,
}

impl<K> Clone for Informer<K> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

struct Shared<K> {
    store: Store<K>,
    handlers: RwLock<Vec<Arc<dyn EventHandler<K>>>>,
    /// Held while the store changes and handlers run, and while a new
    /// handler catches up, so that a late handler sees each object exactly
    /// once before its events.
    dispatch: Mutex<()>,
    synced: watch::Sender<bool>,
    resync: Option<Duration>,
    /// Applied in order to every object before it is cached.
    transforms: RwLock<Vec<Transform<K>>>,
    /// Set when [`Informer::run`] starts; transforms are fixed from then on.
    running: AtomicBool,
}

/// A change made to every object before an informer caches it.
pub type Transform<K> = Arc<dyn Fn(&mut K) + Send + Sync>;

/// The annotation `kubectl apply` (client-side) keeps its last input in.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// A [`Transform`] dropping what controllers rarely read and what costs most
/// memory per object: `metadata.managedFields` (server-side apply computes
/// field ownership on the server; an applier never needs them in its cache)
/// and the client-side-apply annotation holding a copy of the whole object.
///
/// Safe when the controller never reads them and never sends a cached object
/// back whole (a PUT of a transformed object would remove the annotation;
/// omitted `managedFields` are kept by the server). Patches and applies
/// built from scratch, as controllers usually write, are unaffected.
pub fn drop_managed_fields<K: Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = &mut meta.annotations {
        annotations.remove(LAST_APPLIED_ANNOTATION);
        if annotations.is_empty() {
            meta.annotations = None;
        }
    }
}

/// [`Informer::add_transform`] on an informer that is already running.
#[derive(Debug, thiserror::Error)]
#[error("the informer for {0} is already running: add transforms before it starts")]
pub struct AlreadyRunning(pub &'static str);

impl<K: Resource + Send + Sync + 'static> Informer<K> {
    /// An informer that is not yet fed; [`Informer::run`] feeds it.
    pub fn new(indexers: Indexers<K>, resync: Option<Duration>) -> Self {
        Self {
            shared: Arc::new(Shared {
                store: Store::new(indexers),
                handlers: RwLock::new(Vec::new()),
                dispatch: Mutex::new(()),
                synced: watch::channel(false).0,
                resync,
                transforms: RwLock::new(Vec::new()),
                running: AtomicBool::new(false),
            }),
        }
    }

    /// Adds a transform, applied after those added before it to every object
    /// the informer receives, before the object is cached or handled: the
    /// cache then holds only what the transforms leave. Only before the
    /// informer runs (for a factory's informer: before `start`), so that
    /// every cached object went through the same transforms.
    pub fn add_transform(
        &self,
        transform: impl Fn(&mut K) + Send + Sync + 'static,
    ) -> Result<(), AlreadyRunning> {
        let mut transforms = self
            .shared
            .transforms
            .write()
            .unwrap_or_else(|e| e.into_inner());
        // Checked under the lock `run` takes to read the transforms.
        if self.shared.running.load(Ordering::SeqCst) {
            return Err(AlreadyRunning(std::any::type_name::<K>()));
        }
        transforms.push(Arc::new(transform));
        Ok(())
    }

    /// The cache. Listers read from it.
    pub fn store(&self) -> Store<K> {
        self.shared.store.clone()
    }

    /// Adds a handler. On a running informer it first receives an add for
    /// every cached object.
    pub fn add_handler(&self, handler: impl EventHandler<K> + 'static) {
        let handler: Arc<dyn EventHandler<K>> = Arc::new(handler);
        let _guard = self.lock_dispatch();
        let synced = self.has_synced();
        for obj in self.shared.store.list() {
            handler.on_add(&obj, !synced);
        }
        self.shared
            .handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(handler);
    }

    /// Whether the first list has been cached.
    pub fn has_synced(&self) -> bool {
        *self.shared.synced.borrow()
    }

    /// Waits until the first list has been cached.
    pub async fn wait_synced(&self) {
        let mut rx = self.shared.synced.subscribe();
        // An error means the sender is gone, which cannot happen while
        // `self` holds it; either way there is nothing more to wait for.
        let _ = rx.wait_for(|synced| *synced).await;
    }

    pub(crate) fn synced_receiver(&self) -> watch::Receiver<bool> {
        self.shared.synced.subscribe()
    }

    fn lock_dispatch(&self) -> std::sync::MutexGuard<'_, ()> {
        self.shared
            .dispatch
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn handlers(&self) -> Vec<Arc<dyn EventHandler<K>>> {
        self.shared
            .handlers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Feeds the informer from a watcher stream until the stream ends.
    /// Errors are logged; the stream (with backoff) retries by itself.
    pub async fn run<S>(self, stream: S)
    where
        S: Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send,
    {
        let transforms: Vec<Transform<K>> = {
            let transforms = self
                .shared
                .transforms
                .read()
                .unwrap_or_else(|e| e.into_inner());
            self.shared.running.store(true, Ordering::SeqCst);
            transforms.clone()
        };
        // Before buffering, too: a large initial list is held whole until it
        // ends, so dropping fields early lowers the peak, not only the rest.
        let prepare = |mut obj: K| {
            for transform in &transforms {
                transform(&mut obj);
            }
            obj
        };
        let mut stream = std::pin::pin!(stream);
        let mut relist: Option<Vec<K>> = None;
        let mut resync = self.shared.resync.map(|period| {
            let mut interval =
                tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            interval
        });
        loop {
            let event = tokio::select! {
                event = stream.next() => match event {
                    Some(event) => event,
                    None => return,
                },
                _ = async { resync.as_mut().expect("guarded").tick().await }, if resync.is_some() => {
                    if self.has_synced() {
                        self.resync();
                    }
                    continue;
                }
            };
            match event {
                Ok(watcher::Event::Init) => relist = Some(Vec::new()),
                Ok(watcher::Event::InitApply(obj)) => {
                    relist.get_or_insert_with(Vec::new).push(prepare(obj))
                }
                Ok(watcher::Event::InitDone) => {
                    self.replace(relist.take().unwrap_or_default());
                    self.shared.synced.send_replace(true);
                }
                Ok(watcher::Event::Apply(obj)) => self.apply(prepare(obj)),
                Ok(watcher::Event::Delete(obj)) => self.delete(prepare(obj)),
                Err(err) => tracing::warn!(
                    kind = std::any::type_name::<K>(),
                    error = %err,
                    "watch failed; retrying with backoff"
                ),
            }
        }
    }

    fn apply(&self, obj: K) {
        let _guard = self.lock_dispatch();
        let key = ObjectKey::of(&obj);
        let old = self.shared.store.apply(obj);
        let Some(new) = self.shared.store.get(key.as_str()) else {
            return;
        };
        let handlers = self.handlers();
        match old {
            Some(old) => handlers.iter().for_each(|h| h.on_update(&old, &new)),
            None => handlers.iter().for_each(|h| h.on_add(&new, false)),
        }
    }

    fn delete(&self, obj: K) {
        let _guard = self.lock_dispatch();
        self.shared.store.delete(&obj);
        let deleted = Deleted::Object(Arc::new(obj));
        self.handlers().iter().for_each(|h| h.on_delete(&deleted));
    }

    fn replace(&self, objects: Vec<K>) {
        let _guard = self.lock_dispatch();
        let initial = !self.has_synced();
        let diff = self.shared.store.replace(objects);
        let handlers = self.handlers();
        for obj in &diff.added {
            handlers.iter().for_each(|h| h.on_add(obj, initial));
        }
        for (old, new) in &diff.updated {
            handlers.iter().for_each(|h| h.on_update(old, new));
        }
        for last_known in diff.deleted {
            let deleted = Deleted::FinalStateUnknown {
                key: ObjectKey::of(&*last_known),
                last_known,
            };
            handlers.iter().for_each(|h| h.on_delete(&deleted));
        }
    }

    fn resync(&self) {
        let _guard = self.lock_dispatch();
        let handlers = self.handlers();
        for obj in self.shared.store.list() {
            handlers.iter().for_each(|h| h.on_update(&obj, &obj));
        }
    }
}

#[cfg(test)]
mod tests;
