//! Listers: typed, read-only views of an informer's cache, with the kind's
//! scope right by construction (as in [`crate::client`]). Reads never reach
//! the apiserver and never copy objects.
//!
//! ```no_run
//! # use crdforge_runtime::informer::{InformerOptions, SharedInformerFactory};
//! # use crdforge_runtime::lister::Lister;
//! # use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
//! # fn f(factory: SharedInformerFactory) {
//! let namespaces = Lister::new(factory.informer::<Namespace>().store());
//! let _ = namespaces.get("default");
//! let config_maps = Lister::new(factory.informer::<ConfigMap>().store());
//! let _ = config_maps.namespace("default").get("settings");
//! # }
//! ```

use std::sync::Arc;

use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope};
use kube::Resource;
use kube::core::Selector;

use crate::cache::{Store, UnknownIndex};

/// A lister over a store of `K`.
pub struct Lister<K> {
    store: Store<K>,
}

impl<K> Clone for Lister<K> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
        }
    }
}

impl<K: Resource + Send + Sync + 'static> Lister<K> {
    /// A lister reading `store`.
    pub fn new(store: Store<K>) -> Self {
        Self { store }
    }

    /// Every cached object the selector matches (in every namespace).
    pub fn list(&self, selector: &Selector) -> Vec<Arc<K>> {
        self.store.list_selected(selector)
    }

    /// Objects an index maps `value` to.
    pub fn by_index(&self, index: &str, value: &str) -> Result<Vec<Arc<K>>, UnknownIndex> {
        self.store.by_index(index, value)
    }

    /// The store, for what this type does not wrap.
    pub fn store(&self) -> &Store<K> {
        &self.store
    }
}

impl<K: Resource + Send + Sync + 'static> Lister<K> {
    /// The cached object of a cluster-scoped kind. On a namespaced kind this
    /// does not compile, and the error says to call
    /// [`namespace`](Lister::namespace) first.
    pub fn get(&self, name: &str) -> Option<Arc<K>>
    where
        K::Scope: ClusterWide,
    {
        self.store.get(name)
    }
}

/// The scope of kinds whose lister reads by name alone: cluster-scoped
/// ones. A bound on the scope rather than `Scope = ClusterResourceScope`
/// so that a namespaced kind meets this message instead of a wall of
/// unsatisfied bounds.
#[diagnostic::on_unimplemented(
    message = "this kind is namespaced: a lister of it has no cluster-wide `get`",
    label = "needs a namespace",
    note = "read it in its namespace: `lister.namespace(ns).get(name)`"
)]
pub trait ClusterWide {}

impl ClusterWide for ClusterResourceScope {}

impl<K: Resource<Scope = NamespaceResourceScope> + Send + Sync + 'static> Lister<K> {
    /// A view of one namespace.
    pub fn namespace<'a>(&'a self, namespace: &'a str) -> NamespaceLister<'a, K> {
        NamespaceLister {
            store: &self.store,
            namespace,
        }
    }
}

/// A lister limited to one namespace.
pub struct NamespaceLister<'a, K> {
    store: &'a Store<K>,
    namespace: &'a str,
}

impl<K: Resource + Send + Sync + 'static> NamespaceLister<'_, K> {
    /// The cached object with this name in the namespace.
    pub fn get(&self, name: &str) -> Option<Arc<K>> {
        self.store.get_named(Some(self.namespace), name)
    }

    /// Cached objects of the namespace that the selector matches.
    pub fn list(&self, selector: &Selector) -> Vec<Arc<K>> {
        self.store
            .list_namespace(self.namespace)
            .into_iter()
            .filter(|o| match &o.meta().labels {
                Some(labels) => kube::core::SelectorExt::matches(selector, labels),
                None => kube::core::SelectorExt::matches(selector, &Default::default()),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::Indexers;
    use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
    use kube::core::Expression;

    #[test]
    fn namespaced_and_cluster_listers_read_the_cache() {
        let store: Store<ConfigMap> = Store::new(Indexers::default());
        for (ns, name, app) in [("a", "x", "web"), ("a", "y", "db"), ("b", "x", "web")] {
            let mut cm = ConfigMap::default();
            cm.metadata.namespace = Some(ns.into());
            cm.metadata.name = Some(name.into());
            cm.metadata.labels = Some([("app".to_string(), app.to_string())].into());
            store.apply(cm);
        }
        let lister = Lister::new(store);
        assert!(lister.namespace("a").get("x").is_some());
        assert!(lister.namespace("c").get("x").is_none());
        let web: Selector = Expression::Equal("app".into(), "web".into()).into();
        assert_eq!(lister.namespace("a").list(&web).len(), 1);
        assert_eq!(lister.list(&web).len(), 2);

        let namespaces: Store<Namespace> = Store::new(Indexers::default());
        let mut ns = Namespace::default();
        ns.metadata.name = Some("a".into());
        namespaces.apply(ns);
        assert!(Lister::new(namespaces).get("a").is_some());
    }
}
