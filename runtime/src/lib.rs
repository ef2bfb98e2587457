//! Run-time support that crdforge's generated code calls: the shared informer
//! factory, indexed listers, the work queue and leader election, on kube-rs.
#![warn(missing_docs)]

#[cfg(feature = "client")]
pub mod cache;
#[cfg(feature = "client")]
pub mod client;
pub mod controller;
pub mod deep_copy;
#[cfg(feature = "client")]
pub mod informer;
#[cfg(feature = "client")]
pub mod leader;
#[cfg(feature = "client")]
pub mod lister;
pub mod workqueue;

// The CRD generator's run-time half. `#[derive(CustomResource)]` and
// `#[derive(KubeSchema)]` generate code that calls into these paths.
pub mod apply;
mod kube_schema;
pub use apply::{ApplyConfiguration, ObjectConfiguration};
pub use crdforge_derive::{CustomResource, KubeSchema};
pub use deep_copy::DeepCopy;
pub use kube_schema::{CustomResource, KubeSchema, KubeSchemaFloat};
/// The neutral schema model and its builders (from crdforge-codegen).
pub mod schema {
    pub use crdforge_codegen::schema::*;
}
pub use crdforge_codegen::{crd, generate, passes, rbac, validate};

/// Paths the derives' generated code uses; not a public API.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
