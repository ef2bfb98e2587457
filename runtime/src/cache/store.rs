//! The indexed store: objects by key, plus any number of inverted indexes.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::{Arc, RwLock};

use kube::Resource;
use kube::core::{Selector, SelectorExt};

use super::index::{IndexFn, Indexers, NAMESPACE_INDEX};
use super::key::ObjectKey;

/// Hashing for the maps here. Keys are object names that the apiserver chose
/// or validated, so flooding is not a concern and a fast hasher pays off in
/// every informer event.
type Hasher = ahash::RandomState;
type Map<K, V> = HashMap<K, V, Hasher>;
type Set<K> = HashSet<K, Hasher>;

/// An index: each value an object yields, mapped to the keys of the objects
/// that yield it.
type Index = Map<Arc<str>, Set<ObjectKey>>;

/// A thread-safe, indexed cache of objects of one kind.
///
/// Readers get `Arc<K>`: a read never copies an object, and an object handed
/// out stays valid (if stale) after the store moves on. Writes come from one
/// informer; a `Store` handle is cheap to clone and every clone sees the same
/// contents.
///
/// Guarantees:
/// - every index always agrees with the objects: an index entry exists for a
///   key exactly while the object under that key yields that value;
/// - [`Store::replace`] swaps the contents as one step, so a reader never sees
///   half of a relist.
pub struct Store<K> {
    inner: Arc<RwLock<Inner<K>>>,
}

impl<K> Clone for Store<K> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Inner<K> {
    items: Map<ObjectKey, Arc<K>>,
    indexers: Vec<(Arc<str>, IndexFn<K>)>,
    indices: Map<Arc<str>, Index>,
}

/// What a [`Store::replace`] changed, for event delivery.
#[derive(Debug)]
pub struct ReplaceDiff<K> {
    /// Objects that were not in the store before.
    pub added: Vec<Arc<K>>,
    /// Objects whose resourceVersion changed: (old, new).
    pub updated: Vec<(Arc<K>, Arc<K>)>,
    /// Objects the new list no longer has; they were deleted while no watch
    /// was open, so their final state is unknown.
    pub deleted: Vec<Arc<K>>,
}

/// An index name that no indexer was registered for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no index named `{0}` (registered: {1})")]
pub struct UnknownIndex(pub String, pub String);

impl<K: Resource + Send + Sync + 'static> Default for Store<K> {
    fn default() -> Self {
        Self::new(Indexers::default())
    }
}

impl<K: Resource + Send + Sync + 'static> Store<K> {
    /// An empty store with these indexers.
    pub fn new(indexers: Indexers<K>) -> Self {
        let indexers = indexers.into_vec();
        let indices = indexers
            .iter()
            .map(|(name, _)| (Arc::clone(name), Index::default()))
            .collect();
        Self {
            inner: Arc::new(RwLock::new(Inner {
                items: Map::default(),
                indexers,
                indices,
            })),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner<K>> {
        // A writer that panicked left the maps consistent (every mutation
        // below completes before anything can panic), so poisoning is ignored.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner<K>> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The object under `key` (`namespace/name`, or `name` when cluster-scoped).
    pub fn get(&self, key: &str) -> Option<Arc<K>> {
        self.read().items.get(key).cloned()
    }

    /// The object with this namespace and name.
    pub fn get_named(&self, namespace: Option<&str>, name: &str) -> Option<Arc<K>> {
        match namespace {
            Some(ns) => self.get(&format!("{ns}/{name}")),
            None => self.get(name),
        }
    }

    /// Every object, in no particular order.
    pub fn list(&self) -> Vec<Arc<K>> {
        self.read().items.values().cloned().collect()
    }

    /// Every key, in no particular order.
    pub fn keys(&self) -> Vec<ObjectKey> {
        self.read().items.keys().cloned().collect()
    }

    /// How many objects are cached.
    pub fn len(&self) -> usize {
        self.read().items.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Objects whose labels match the selector.
    pub fn list_selected(&self, selector: &Selector) -> Vec<Arc<K>> {
        self.read()
            .items
            .values()
            .filter(|obj| match &obj.meta().labels {
                Some(labels) => selector.matches(labels),
                None => selector.matches(&Default::default()),
            })
            .cloned()
            .collect()
    }

    /// Objects in one namespace, through the namespace index when it is
    /// registered (it is by default), else by a scan.
    pub fn list_namespace(&self, namespace: &str) -> Vec<Arc<K>> {
        match self.by_index(NAMESPACE_INDEX, namespace) {
            Ok(objects) => objects,
            Err(_) => self
                .read()
                .items
                .values()
                .filter(|o| o.meta().namespace.as_deref() == Some(namespace))
                .cloned()
                .collect(),
        }
    }

    /// Objects that the index `index` maps `value` to.
    pub fn by_index(&self, index: &str, value: &str) -> Result<Vec<Arc<K>>, UnknownIndex> {
        let inner = self.read();
        let Some(idx) = inner.indices.get(index) else {
            return Err(inner.unknown(index));
        };
        Ok(idx
            .get(value)
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| inner.items.get(k).cloned())
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Keys that the index `index` maps `value` to.
    pub fn index_keys(&self, index: &str, value: &str) -> Result<Vec<ObjectKey>, UnknownIndex> {
        let inner = self.read();
        let Some(idx) = inner.indices.get(index) else {
            return Err(inner.unknown(index));
        };
        Ok(idx
            .get(value)
            .map(|keys| keys.iter().cloned().collect())
            .unwrap_or_default())
    }

    /// Every value the index holds, sorted.
    pub fn index_values(&self, index: &str) -> Result<Vec<String>, UnknownIndex> {
        let inner = self.read();
        let Some(idx) = inner.indices.get(index) else {
            return Err(inner.unknown(index));
        };
        let mut values: Vec<String> = idx.keys().map(|v| v.to_string()).collect();
        values.sort();
        Ok(values)
    }

    /// Inserts or replaces an object; returns the one it replaced.
    pub fn apply(&self, obj: K) -> Option<Arc<K>> {
        let key = ObjectKey::of(&obj);
        let obj = Arc::new(obj);
        let mut inner = self.write();
        let old = inner.items.insert(key.clone(), Arc::clone(&obj));
        inner.reindex(&key, old.as_deref(), Some(&obj));
        old
    }

    /// Removes the object with the same key as `obj`; returns what was stored.
    pub fn delete(&self, obj: &K) -> Option<Arc<K>> {
        self.delete_key(&ObjectKey::of(obj))
    }

    /// Removes the object under `key`; returns what was stored.
    pub fn delete_key(&self, key: &ObjectKey) -> Option<Arc<K>> {
        let mut inner = self.write();
        let old = inner.items.remove(key)?;
        inner.reindex(key, Some(&old), None);
        Some(old)
    }

    /// Replaces the whole contents with `objects` (a relist), keeping the
    /// `Arc` of every object whose resourceVersion did not change, and
    /// reports what changed.
    pub fn replace(&self, objects: Vec<K>) -> ReplaceDiff<K> {
        let mut diff = ReplaceDiff {
            added: Vec::new(),
            updated: Vec::new(),
            deleted: Vec::new(),
        };
        let mut inner = self.write();
        let mut seen: Set<ObjectKey> =
            Set::with_capacity_and_hasher(objects.len(), Hasher::default());
        for obj in objects {
            let key = ObjectKey::of(&obj);
            match inner.items.get(&key) {
                Some(old) if old.meta().resource_version == obj.meta().resource_version => {}
                Some(old) => {
                    let old = Arc::clone(old);
                    let new = Arc::new(obj);
                    inner.items.insert(key.clone(), Arc::clone(&new));
                    inner.reindex(&key, Some(&old), Some(&new));
                    diff.updated.push((old, new));
                }
                None => {
                    let new = Arc::new(obj);
                    inner.items.insert(key.clone(), Arc::clone(&new));
                    inner.reindex(&key, None, Some(&new));
                    diff.added.push(new);
                }
            }
            seen.insert(key);
        }
        let gone: Vec<ObjectKey> = inner
            .items
            .keys()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        for key in gone {
            if let Some(old) = inner.items.remove(&key) {
                inner.reindex(&key, Some(&old), None);
                diff.deleted.push(old);
            }
        }
        inner.items.shrink_to_fit();
        diff
    }

    /// Registers another index and builds it from the current contents.
    /// Replaces an index of the same name.
    pub fn add_indexer(&self, name: &str, f: IndexFn<K>) {
        let mut inner = self.write();
        let name: Arc<str> = Arc::from(name);
        inner.indexers.retain(|(n, _)| *n != name);
        let mut index = Index::default();
        for (key, obj) in &inner.items {
            for value in f(obj) {
                insert_value(&mut index, &value, key);
            }
        }
        inner.indexers.push((Arc::clone(&name), f));
        inner.indices.insert(name, index);
    }
}

impl<K> Inner<K> {
    fn unknown(&self, index: &str) -> UnknownIndex {
        let mut names: Vec<&str> = self.indexers.iter().map(|(n, _)| &**n).collect();
        names.sort();
        UnknownIndex(index.to_string(), names.join(", "))
    }

    /// Moves `key` from the index values of `old` to those of `new`. Values
    /// both yield are left alone, so an update that keeps a label costs two
    /// index-function calls and no map writes.
    fn reindex(&mut self, key: &ObjectKey, old: Option<&K>, new: Option<&K>) {
        let Inner {
            indexers, indices, ..
        } = self;
        for (name, f) in indexers.iter() {
            let before = old.map(|o| f(o)).unwrap_or_default();
            let after = new.map(|n| f(n)).unwrap_or_default();
            if before == after {
                continue;
            }
            let Some(index) = indices.get_mut(name) else {
                continue;
            };
            for value in before.iter().filter(|v| !after.contains(v)) {
                if let Some(keys) = index.get_mut(value.as_str()) {
                    keys.remove(key);
                    if keys.is_empty() {
                        index.remove(value.as_str());
                    }
                }
            }
            for value in after.iter().filter(|v| !before.contains(v)) {
                insert_value(index, value, key);
            }
        }
    }
}

fn insert_value<S: BuildHasher>(
    index: &mut HashMap<Arc<str>, Set<ObjectKey>, S>,
    value: &str,
    key: &ObjectKey,
) {
    match index.get_mut(value) {
        Some(keys) => {
            keys.insert(key.clone());
        }
        None => {
            let mut keys = Set::default();
            keys.insert(key.clone());
            index.insert(Arc::from(value), keys);
        }
    }
}
