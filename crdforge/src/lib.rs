//! Kubernetes API types from annotated Rust types.
//!
//! `#[derive(CustomResource)]` on a spec struct makes the root type of a
//! custom resource (kube's `Resource`, `HasSpec`, `HasStatus` and
//! `CustomResourceExt`, serde with `apiVersion` and `kind`), and
//! `#[derive(KubeSchema)]` describes a nested type. Both derive, for every
//! annotated type, its structural schema ([`KubeSchema`]), a deep copy that
//! reuses allocations ([`DeepCopy`]) and an all-optional server-side-apply
//! configuration ([`ApplyConfiguration`]).
//!
//! This is the crate an API crate depends on: it links kube-core,
//! k8s-openapi, serde and serde_json, and nothing that talks to a cluster or
//! parses text. The offline apiserver-equivalent check and file rendering
//! are in `crdforge-gen` (build and `gen` time); informers, clients, the
//! work queue and the controller loop are in `crdforge-runtime`.
//!
//! ```
//! use crdforge::{CustomResource, KubeSchema};
//! use kube_core::CustomResourceExt;
//! use serde::{Deserialize, Serialize};
//!
//! /// A developer on the cluster.
//! #[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
//! #[crd(group = "example.com", version = "v1", kind = "User", status = "UserStatus")]
//! #[serde(rename_all = "camelCase")]
//! pub struct UserSpec {
//!     #[crd(min_length = 1, max_length = 128)]
//!     pub display_name: String,
//! }
//!
//! #[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
//! pub struct UserStatus {
//!     pub ready: bool,
//! }
//!
//! let crd = User::crd();
//! assert_eq!(crd.metadata.name.as_deref(), Some("users.example.com"));
//! let user = User::new("ada", UserSpec { display_name: "Ada".into() });
//! assert_eq!(serde_json::to_value(&user).unwrap()["kind"], "User");
//! ```
#![warn(missing_docs)]

pub mod apply;
pub mod crd;
pub mod deep_copy;
mod kube_schema;

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
