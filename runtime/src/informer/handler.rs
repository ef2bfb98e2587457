//! Event handlers: what an informer tells its consumers.

use std::sync::Arc;

use crate::cache::ObjectKey;

/// A deleted object as the informer knows it.
#[derive(Debug)]
pub enum Deleted<K> {
    /// The watch delivered the deletion; this is the object's final state.
    Object(Arc<K>),
    /// The object vanished between two lists (it was deleted while the watch
    /// was down, and the informer noticed on relisting). `last_known` is the
    /// last state the cache saw; the real final state is unknown. client-go
    /// calls this `DeletedFinalStateUnknown`.
    FinalStateUnknown {
        /// The object's key.
        key: ObjectKey,
        /// The last state the cache had.
        last_known: Arc<K>,
    },
}

impl<K> Deleted<K> {
    /// The object, final or last known.
    pub fn object(&self) -> &Arc<K> {
        match self {
            Deleted::Object(obj) => obj,
            Deleted::FinalStateUnknown { last_known, .. } => last_known,
        }
    }

    /// Whether this is a tombstone for a deletion the watch did not see.
    pub fn is_final_state_unknown(&self) -> bool {
        matches!(self, Deleted::FinalStateUnknown { .. })
    }
}

/// Receives an informer's events. Calls come from the informer's task, one
/// at a time and in order, so a handler must not block: the usual handler
/// only computes a key and adds it to a work queue.
pub trait EventHandler<K>: Send + Sync {
    /// An object appeared. `initial_list` is true for objects of the first
    /// list, before the cache first synced.
    fn on_add(&self, obj: &Arc<K>, initial_list: bool);
    /// An object changed, or a resync re-delivered it (then `old` and `new`
    /// are the same `Arc`).
    fn on_update(&self, old: &Arc<K>, new: &Arc<K>);
    /// An object was deleted.
    fn on_delete(&self, deleted: &Deleted<K>);
}

type AddFn<K> = Box<dyn Fn(&Arc<K>, bool) + Send + Sync>;
type UpdateFn<K> = Box<dyn Fn(&Arc<K>, &Arc<K>) + Send + Sync>;
type DeleteFn<K> = Box<dyn Fn(&Deleted<K>) + Send + Sync>;

/// An [`EventHandler`] from closures; events without a closure are ignored.
pub struct HandlerFns<K> {
    add: Option<AddFn<K>>,
    update: Option<UpdateFn<K>>,
    delete: Option<DeleteFn<K>>,
}

impl<K> Default for HandlerFns<K> {
    fn default() -> Self {
        Self {
            add: None,
            update: None,
            delete: None,
        }
    }
}

impl<K> HandlerFns<K> {
    /// No closures yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Called for adds.
    pub fn on_add(mut self, f: impl Fn(&Arc<K>, bool) + Send + Sync + 'static) -> Self {
        self.add = Some(Box::new(f));
        self
    }
    /// Called for updates and resyncs.
    pub fn on_update(mut self, f: impl Fn(&Arc<K>, &Arc<K>) + Send + Sync + 'static) -> Self {
        self.update = Some(Box::new(f));
        self
    }
    /// Called for deletes.
    pub fn on_delete(mut self, f: impl Fn(&Deleted<K>) + Send + Sync + 'static) -> Self {
        self.delete = Some(Box::new(f));
        self
    }
    /// One closure for every event, given the object concerned: the shape
    /// of a controller that only enqueues keys.
    pub fn on_any(f: impl Fn(&Arc<K>) + Send + Sync + 'static) -> Self
    where
        K: 'static,
    {
        let f = Arc::new(f);
        let (f1, f2, f3) = (Arc::clone(&f), Arc::clone(&f), f);
        Self::new()
            .on_add(move |o, _| f1(o))
            .on_update(move |_, n| f2(n))
            .on_delete(move |d| f3(d.object()))
    }
}

impl<K> EventHandler<K> for HandlerFns<K> {
    fn on_add(&self, obj: &Arc<K>, initial_list: bool) {
        if let Some(f) = &self.add {
            f(obj, initial_list);
        }
    }
    fn on_update(&self, old: &Arc<K>, new: &Arc<K>) {
        if let Some(f) = &self.update {
            f(old, new);
        }
    }
    fn on_delete(&self, deleted: &Deleted<K>) {
        if let Some(f) = &self.delete {
            f(deleted);
        }
    }
}
