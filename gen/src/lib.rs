//! crdforge's generator, used at build or `gen` time and never by a
//! controller at run time:
//! - [`crd`]: CRDs checked offline, refused with every reason the
//!   apiserver would give, each naming the version and field path;
//! - [`validate`]: that offline apiserver-equivalent check (structural
//!   rules, CEL rules parsed and typed against their schema, printer-column
//!   and scale paths) and the check of values against a schema;
//! - [`generate`] and [`rbac`]: CRD YAML, RBAC and Deployment manifests, as
//!   [`generate::GeneratedFile`]s, a pure function of the types;
//! - [`drift`]: writing them, or checking checked-in copies with a diff.
//!
//! ```
//! use crdforge::CustomResource;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
//! #[crd(group = "example.com", version = "v1", kind = "Backup",
//!       validation(rule = "self.spec.keep > 0", message = "keep at least one"))]
//! pub struct BackupSpec {
//!     pub keep: i32,
//! }
//!
//! let crd = crdforge_gen::checked_crd::<Backup>().expect("the apiserver accepts it");
//! assert_eq!(crd.spec.names.kind, "Backup");
//! ```
#![warn(missing_docs)]

pub mod crd;
pub mod drift;
pub mod generate;
pub mod rbac;
pub mod validate;

pub use crd::checked_crd;
