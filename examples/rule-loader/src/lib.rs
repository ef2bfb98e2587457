//! The Rule Loader: teams commit Prometheus alerting and recording rules as
//! labelled ConfigMaps; the loader validates every file, writes the valid
//! ones into the directory Prometheus loads its rules from, removes the
//! files of ConfigMaps that are gone, and asks Prometheus to reload, once
//! per burst of changes.
//!
//! It uses only crdforge's output: shared informers with a label selector,
//! listers, typed clients, the rate-limited work queue, the controller loop
//! and leader election from `crdforge-runtime`.
//!
//! It runs standalone with leader election, or as a sidecar in each
//! Prometheus pod (`--sidecar`, as `generated/deploy/rule-loader/` deploys
//! it beside two Prometheus replicas): then every replica's loader writes
//! its own pod's files with no election, and the replicas agree on the
//! status annotation and the Warning Event instead of electing a reporter;
//! [`cli`] says why that does not make them fight.
#![warn(missing_docs)]

/// The loader's contract (label, annotation, Event), from its own crate.
pub use rule_loader_api as api;
pub mod cli;
pub mod duration;
pub mod events;
pub mod metrics;
pub mod reconcile;
pub mod reload;
pub mod render;
pub mod rulefmt;
pub mod rulesdir;
pub mod run;
pub mod template;
pub mod validate;
