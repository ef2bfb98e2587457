//! The informer cache: an indexed [`Store`] of shared objects.
//!
//! kube-runtime's reflector store has no indexes (kube-rs PR #1918 was
//! closed), so a controller that needs "all children of this owner" scans
//! every object. Here a store carries any number of inverted indexes — by
//! namespace and owner UID by default, by label, or by any user function
//! returning several values — kept right on every add, update, delete and
//! relist.

mod index;
mod key;
mod store;

pub use index::{IndexFn, Indexers, NAMESPACE_INDEX, OWNER_UID_INDEX, label_index};
pub use key::ObjectKey;
pub use store::{ReplaceDiff, Store, UnknownIndex};

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
    use kube::core::{Expression, Selector};
    use std::sync::Arc;

    /// A ConfigMap fixture, built up by chained calls.
    struct Cm(ConfigMap);

    fn cm(ns: &str, name: &str) -> Cm {
        let mut c = ConfigMap::default();
        c.metadata.namespace = Some(ns.into());
        c.metadata.name = Some(name.into());
        c.metadata.resource_version = Some("1".into());
        Cm(c)
    }

    impl Cm {
        fn rv(mut self, rv: &str) -> Self {
            self.0.metadata.resource_version = Some(rv.into());
            self
        }
        fn label(mut self, k: &str, v: &str) -> Self {
            self.0
                .metadata
                .labels
                .get_or_insert_with(Default::default)
                .insert(k.into(), v.into());
            self
        }
        fn owner(mut self, uid: &str) -> Self {
            self.0
                .metadata
                .owner_references
                .get_or_insert_with(Vec::new)
                .push(OwnerReference {
                    uid: uid.into(),
                    ..Default::default()
                });
            self
        }
        fn build(self) -> ConfigMap {
            self.0
        }
    }

    fn names(objs: Vec<Arc<ConfigMap>>) -> Vec<String> {
        let mut n: Vec<String> = objs
            .iter()
            .map(|o| o.metadata.name.clone().unwrap())
            .collect();
        n.sort();
        n
    }

    fn store() -> Store<ConfigMap> {
        Store::new(Indexers::default().label("app"))
    }

    #[test]
    fn keys_follow_client_go_namespace_name_format() {
        let key = ObjectKey::of(&cm("ns1", "a").build());
        assert_eq!(key.as_str(), "ns1/a");
        assert_eq!(key.namespace(), Some("ns1"));
        assert_eq!(key.name(), "a");
        let mut cluster = ConfigMap::default();
        cluster.metadata.name = Some("c".into());
        let key = ObjectKey::of(&cluster);
        assert_eq!(
            (key.as_str(), key.namespace(), key.name()),
            ("c", None, "c")
        );
    }

    #[test]
    fn reads_share_objects_instead_of_copying() {
        let s = store();
        s.apply(cm("ns", "a").build());
        let first = s.get("ns/a").unwrap();
        let second = s.get_named(Some("ns"), "a").unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        assert!(Arc::ptr_eq(&first, &s.list()[0]));
    }

    #[test]
    fn namespace_index_is_registered_by_default() {
        let s = store();
        s.apply(cm("ns1", "a").build());
        s.apply(cm("ns1", "b").build());
        s.apply(cm("ns2", "c").build());
        assert_eq!(
            names(s.by_index(NAMESPACE_INDEX, "ns1").unwrap()),
            ["a", "b"]
        );
        assert_eq!(names(s.list_namespace("ns2")), ["c"]);
        assert_eq!(s.index_values(NAMESPACE_INDEX).unwrap(), ["ns1", "ns2"]);
    }

    #[test]
    fn owner_index_finds_children_of_every_owner() {
        let s = store();
        s.apply(cm("ns", "both").owner("u1").owner("u2").build());
        s.apply(cm("ns", "one").owner("u1").build());
        s.apply(cm("ns", "orphan").build());
        assert_eq!(
            names(s.by_index(OWNER_UID_INDEX, "u1").unwrap()),
            ["both", "one"]
        );
        assert_eq!(names(s.by_index(OWNER_UID_INDEX, "u2").unwrap()), ["both"]);
        assert!(s.by_index(OWNER_UID_INDEX, "u3").unwrap().is_empty());
    }

    #[test]
    fn updates_move_objects_between_index_buckets() {
        let s = store();
        let idx = label_index("app");
        s.apply(cm("ns", "a").label("app", "web").build());
        assert_eq!(names(s.by_index(&idx, "web").unwrap()), ["a"]);
        let old = s.apply(cm("ns", "a").rv("2").label("app", "db").build());
        assert_eq!(old.unwrap().metadata.resource_version.as_deref(), Some("1"));
        assert!(s.by_index(&idx, "web").unwrap().is_empty());
        assert_eq!(names(s.by_index(&idx, "db").unwrap()), ["a"]);
        // An emptied bucket disappears rather than lingering as a value.
        assert_eq!(s.index_values(&idx).unwrap(), ["db"]);
    }

    #[test]
    fn deletes_remove_index_entries() {
        let s = store();
        let obj = cm("ns", "a").label("app", "web").owner("u1").build();
        s.apply(obj.clone());
        assert!(s.delete(&obj).is_some());
        assert!(s.is_empty());
        assert!(s.index_values(&label_index("app")).unwrap().is_empty());
        assert!(s.index_values(OWNER_UID_INDEX).unwrap().is_empty());
        assert!(s.index_values(NAMESPACE_INDEX).unwrap().is_empty());
        assert!(s.delete(&obj).is_none());
    }

    #[test]
    fn user_index_functions_may_return_several_values() {
        let s = Store::new(Indexers::none().with("data-keys", |c: &ConfigMap| {
            c.data.iter().flatten().map(|(k, _)| k.clone()).collect()
        }));
        let mut obj = cm("ns", "a").build();
        obj.data = Some([("x".into(), "1".into()), ("y".into(), "2".into())].into());
        s.apply(obj);
        assert_eq!(names(s.by_index("data-keys", "x").unwrap()), ["a"]);
        assert_eq!(names(s.by_index("data-keys", "y").unwrap()), ["a"]);
    }

    #[test]
    fn unknown_index_is_an_error_naming_the_registered_ones() {
        let err = store().by_index("colour", "red").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no index named `colour` (registered: label:app, namespace, owner-uid)"
        );
    }

    #[test]
    fn replace_reports_adds_updates_and_deletes_and_keeps_indexes_right() {
        let s = store();
        s.apply(cm("ns", "same").label("app", "web").build());
        s.apply(cm("ns", "changed").label("app", "web").build());
        s.apply(cm("ns", "gone").label("app", "web").owner("u1").build());
        let same_before = s.get("ns/same").unwrap();

        let diff = s.replace(vec![
            cm("ns", "same").label("app", "web").build(),
            cm("ns", "changed").rv("2").label("app", "db").build(),
            cm("ns", "new").label("app", "db").build(),
        ]);
        assert_eq!(names(diff.added), ["new"]);
        assert_eq!(diff.updated.len(), 1);
        assert_eq!(
            diff.updated[0].0.metadata.resource_version.as_deref(),
            Some("1")
        );
        assert_eq!(names(diff.deleted), ["gone"]);

        // Unchanged objects keep their Arc: readers holding it see no churn.
        assert!(Arc::ptr_eq(&same_before, &s.get("ns/same").unwrap()));
        let idx = label_index("app");
        assert_eq!(names(s.by_index(&idx, "web").unwrap()), ["same"]);
        assert_eq!(names(s.by_index(&idx, "db").unwrap()), ["changed", "new"]);
        assert!(s.by_index(OWNER_UID_INDEX, "u1").unwrap().is_empty());
    }

    #[test]
    fn indexes_added_later_cover_existing_objects() {
        let s: Store<ConfigMap> = Store::new(Indexers::none());
        s.apply(cm("ns", "a").label("tier", "front").build());
        s.add_indexer(
            "tier",
            Arc::new(|c: &ConfigMap| {
                c.metadata
                    .labels
                    .iter()
                    .flatten()
                    .filter(|(k, _)| *k == "tier")
                    .map(|(_, v)| v.clone())
                    .collect()
            }),
        );
        assert_eq!(names(s.by_index("tier", "front").unwrap()), ["a"]);
    }

    #[test]
    fn label_selectors_filter_lists() {
        let s = store();
        s.apply(cm("ns", "a").label("app", "web").build());
        s.apply(cm("ns", "b").label("app", "db").build());
        s.apply(cm("ns", "c").build());
        let web: Selector = Expression::Equal("app".into(), "web".into()).into();
        assert_eq!(names(s.list_selected(&web)), ["a"]);
        let no_app: Selector = Expression::DoesNotExist("app".into()).into();
        assert_eq!(names(s.list_selected(&no_app)), ["c"]);
    }

    #[test]
    fn clones_share_contents() {
        let s = store();
        let reader = s.clone();
        s.apply(cm("ns", "a").build());
        assert_eq!(reader.len(), 1);
    }
}
