//! Index functions: what values an object is found under.

use std::sync::Arc;

use kube::Resource;

/// A function from an object to the values it is indexed under. It may
/// return several values (an object with two owners is found under both) or
/// none (it is then in no bucket of that index).
pub type IndexFn<K> = Arc<dyn Fn(&K) -> Vec<String> + Send + Sync>;

/// The name of the namespace index, registered by default.
pub const NAMESPACE_INDEX: &str = "namespace";
/// The name of the owner-UID index, registered by default.
pub const OWNER_UID_INDEX: &str = "owner-uid";

/// The name of the index over one label's values.
pub fn label_index(label: &str) -> String {
    format!("label:{label}")
}

/// The indexers a store starts with.
pub struct Indexers<K> {
    list: Vec<(Arc<str>, IndexFn<K>)>,
}

impl<K: Resource> Default for Indexers<K> {
    /// The namespace and owner-UID indexes: what controllers look up most
    /// (objects of a namespace; children of an owner).
    fn default() -> Self {
        Self::none().namespace().owner_uid()
    }
}

impl<K: Resource> Indexers<K> {
    /// No index at all.
    pub fn none() -> Self {
        Self { list: Vec::new() }
    }

    /// Adds an index of objects by namespace; cluster-scoped objects are in
    /// no bucket.
    pub fn namespace(self) -> Self {
        self.with(NAMESPACE_INDEX, |obj: &K| {
            obj.meta().namespace.iter().cloned().collect()
        })
    }

    /// Adds an index of objects by the UID of each of their owners.
    pub fn owner_uid(self) -> Self {
        self.with(OWNER_UID_INDEX, |obj: &K| {
            obj.meta()
                .owner_references
                .iter()
                .flatten()
                .map(|o| o.uid.clone())
                .collect()
        })
    }

    /// Adds an index over the values of one label (named `label:<label>`).
    pub fn label(self, label: &str) -> Self {
        let key = label.to_string();
        self.with(&label_index(label), move |obj: &K| {
            obj.meta()
                .labels
                .as_ref()
                .and_then(|l| l.get(&key))
                .cloned()
                .into_iter()
                .collect()
        })
    }

    /// Adds a user index function under `name`; a later one of the same
    /// name replaces it.
    pub fn with(
        mut self,
        name: &str,
        f: impl Fn(&K) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.list.retain(|(n, _)| &**n != name);
        self.list.push((Arc::from(name), Arc::new(f)));
        self
    }

    /// The names registered, in order.
    pub fn names(&self) -> Vec<&str> {
        self.list.iter().map(|(n, _)| &**n).collect()
    }

    pub(crate) fn into_vec(self) -> Vec<(Arc<str>, IndexFn<K>)> {
        self.list
    }
}
