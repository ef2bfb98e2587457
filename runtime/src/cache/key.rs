//! Object keys: `namespace/name`, or `name` for cluster-scoped objects, as
//! client-go's `MetaNamespaceKeyFunc` makes them.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

use kube::Resource;

/// The key of a cached object. One allocation shared by the object map and
/// every index that lists the object, so an index entry costs a pointer.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(Arc<str>);

impl ObjectKey {
    /// The key of `obj`. An object without a name (never the case for
    /// objects read from the apiserver) gets the empty name.
    pub fn of<K: Resource>(obj: &K) -> Self {
        let meta = obj.meta();
        let name = meta.name.as_deref().unwrap_or_default();
        match meta.namespace.as_deref() {
            Some(ns) if !ns.is_empty() => Self::new(Some(ns), name),
            _ => Self::new(None, name),
        }
    }

    /// The key for a namespace and name.
    pub fn new(namespace: Option<&str>, name: &str) -> Self {
        match namespace {
            Some(ns) => Self(Arc::from(format!("{ns}/{name}"))),
            None => Self(Arc::from(name)),
        }
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The namespace part, if any.
    pub fn namespace(&self) -> Option<&str> {
        self.0.split_once('/').map(|(ns, _)| ns)
    }

    /// The name part.
    pub fn name(&self) -> &str {
        self.0.split_once('/').map_or(&self.0, |(_, name)| name)
    }
}

impl Borrow<str> for ObjectKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

impl From<&str> for ObjectKey {
    fn from(s: &str) -> Self {
        Self(Arc::from(s))
    }
}
