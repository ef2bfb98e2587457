//! The User controller: "we want a namespace for every developer on the
//! cluster". For each `User` it maintains a Namespace of the same name, a
//! RoleBinding there granting the user's role, and an optional
//! ResourceQuota, and it registers the user in an external account directory
//! that a finalizer keeps in step with deletions.
//!
//! It uses only crdforge's output: the `User` CRD and types from the derive,
//! typed clients, shared informers, listers and the rate-limited work queue
//! from `crdforge`. It also serves the User CRD's conversion webhook (v1,
//! the storage version, and v2) and its admission webhooks
//! ([`admission`]), when given a certificate.
#![warn(missing_docs)]

pub mod admission;
pub mod cli;
/// The User API, from its own crate.
pub use user_api as api;
pub mod directory;
pub mod events;
pub mod reconcile;
pub mod run;
