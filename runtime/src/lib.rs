//! Run-time support that crdforge's generated code calls: the shared informer
//! factory, indexed listers, the work queue and leader election, on kube-rs.
#![warn(missing_docs)]

#[cfg(feature = "client")]
pub mod cache;
#[cfg(feature = "client")]
pub mod informer;
pub mod workqueue;
