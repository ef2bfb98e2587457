//! crdforge's generator: annotated Rust types become a validated model, and the
//! model becomes structural OpenAPI v3 schemas and CustomResourceDefinitions.
//! Everything here is pure and deterministic; only `xtask` writes files.
//!
//! The crate has two halves behind features, so that each user links only
//! what it runs:
//! - `frontend` (the derive): [`model`] is the validated form of a type and
//!   its attributes, [`frontend`] parses and checks `syn` input into it, and
//!   [`emit`] turns it into Rust tokens.
//! - `crd` (run time and `xtask gen`): [`schema`] and [`passes`] are always
//!   present; [`crd`] assembles CRDs, [`validate`] is the offline
//!   apiserver-equivalent check, and [`generate`] renders files.
#![warn(missing_docs)]

pub mod parts;
pub mod passes;
pub mod schema;

#[cfg(feature = "crd")]
pub mod crd;
#[cfg(feature = "crd")]
pub mod generate;
#[cfg(feature = "crd")]
pub mod rbac;
#[cfg(feature = "crd")]
pub mod validate;

#[cfg(feature = "frontend")]
pub mod emit;
#[cfg(feature = "frontend")]
pub mod frontend;
#[cfg(feature = "frontend")]
pub mod model;
