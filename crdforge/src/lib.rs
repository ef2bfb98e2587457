#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod apply;
pub mod conversion;
pub mod crd;
mod dates;
pub mod deep_copy;
mod kube_schema;
mod reach;
pub mod serde_helpers;
#[cfg(feature = "testing")]
pub mod testing;
pub mod webhook;

pub use apply::{ApplyConfiguration, ObjectConfiguration};
pub use crdforge_derive::{CustomResource, KubeSchema};
pub use deep_copy::DeepCopy;
pub use kube_schema::{CustomResource, KubeSchema, KubeSchemaFloat};

/// The neutral schema model and its builders (crate `crdforge-schema`).
pub mod schema {
    pub use crdforge_schema::*;
}
/// The schema passes that make a schema structural (from `crdforge-schema`).
pub use crdforge_schema::passes;

/// Paths the derives' generated code uses; not a public API.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
