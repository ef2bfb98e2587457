//! A controller runtime for crdforge's types, on kube-rs: what a controller
//! needs between the apiserver and its reconcile function.
//!
//! - [`client`]: typed clients for every verb, with server-side apply of
//!   derived apply configurations; a namespaced call on a cluster-scoped
//!   kind does not compile.
//! - [`informer`], [`cache`] and [`lister`]: one watch per kind shared by
//!   every consumer, an indexed store (namespace, owner UID, labels, your
//!   own indexes) that stays right across relists, event handlers with
//!   tombstones, and listers over it.
//! - [`workqueue`]: client-go's queue with its guarantees (fair, stingy,
//!   never two workers on one key), delays, rate limiters and metrics.
//! - [`controller`]: N workers over the queue with requeue on error, timeout
//!   or panic, and graceful drain.
//! - [`leader`]: Lease-based leader election with client-go's rules.
//!
//! API types come from the `crdforge` crate, which this one builds on.
//!
//! ```
//! use crdforge_runtime::workqueue::{RateLimitingQueue, default_controller_rate_limiter};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let queue = RateLimitingQueue::new(default_controller_rate_limiter());
//! queue.add("default/ada".to_owned());
//! queue.add("default/ada".to_owned()); // stingy: still one item
//! assert_eq!(queue.len(), 1);
//! let key = queue.get().await.expect("not shut down");
//! // ... reconcile `key`; on success forget its back-off, then mark it done.
//! queue.forget(&key);
//! queue.done(&key);
//! assert_eq!(queue.len(), 0);
//! # }
//! ```
#![warn(missing_docs)]

pub mod cache;
pub mod client;
pub mod controller;
pub mod informer;
pub mod leader;
pub mod lister;
pub mod workqueue;
