//! A work queue for controllers, with the guarantees of client-go's `util/workqueue`.
//!
//! Producers (informer event handlers) [`add`](WorkQueue::add) keys; workers
//! [`get`](WorkQueue::get) a key, reconcile it, and call [`done`](WorkQueue::done).
//! [`WorkQueue`] is a cheap [`Clone`] handle (one `Arc`), so any number of producers
//! and consumers can share one queue across tasks and threads.
//!
//! ```
//! use crdforge_runtime::workqueue::WorkQueue;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let queue: WorkQueue<String> = WorkQueue::new();
//! // Queued before any worker runs, so the duplicate is still waiting when it
//! // is added (a key added after a worker took it is queued again, by design).
//! queue.add("default/web".to_owned());
//! queue.add("default/web".to_owned()); // still queued: not added twice
//! queue.add("default/db".to_owned());
//! let worker = tokio::spawn({
//!     let queue = queue.clone();
//!     async move {
//!         let mut seen = Vec::new();
//!         while let Some(key) = queue.get().await {
//!             seen.push(key.clone()); // reconcile `key` here
//!             queue.done(&key);
//!         }
//!         seen
//!     }
//! });
//! queue.shut_down_with_drain().await;
//! assert_eq!(worker.await.unwrap(), ["default/web", "default/db"]);
//! # });
//! ```
//!
//! # Guarantees
//!
//! Each guarantee below is tested by a test of the same name in `workqueue::tests`.
//!
//! * **fair**: keys are handed out in the order they were added (FIFO).
//! * **stingy**: a key added many times before a worker gets it is processed once;
//!   adding it again only re-queues it if it is not already waiting.
//! * **never processed by two workers at once**: between `get` returning a key and
//!   `done` for it, no other `get` returns that key.
//! * **re-added while processing**: a key added while a worker holds it is not handed
//!   out then, but is queued again when the worker calls `done`, so the change that
//!   caused the add is never lost.
//! * **shut down**: after [`shut_down`](WorkQueue::shut_down) adds are ignored, keys
//!   still queued are dropped and every pending or later `get` returns `None`.
//! * **shut down with drain**: after [`shut_down_with_drain`](WorkQueue::shut_down_with_drain)
//!   adds are ignored, but workers still get every queued key (including keys re-added
//!   while processing); `get` returns `None` once nothing is left to hand out, and the
//!   call returns once every handed-out key is `done`.
//!
//! The queue is also a delaying queue: [`add_after`](WorkQueue::add_after) adds a key
//! once a delay has passed; if the key is already waiting, the earlier ready time wins
//! (**earlier ready time wins**). Delayed keys are dropped on shutdown.
//! [`RateLimitingQueue`] adds per-key back-off from a [`RateLimiter`]:
//! [`add_rate_limited`](RateLimitingQueue::add_rate_limited),
//! [`forget`](RateLimitingQueue::forget) and [`num_requeues`](RateLimitingQueue::num_requeues).
//!
//! # Differences from client-go
//!
//! * `shut_down` drops keys that are still queued; client-go's `Get` keeps returning
//!   them until the queue is empty, which contradicts its own documentation ("immediately
//!   instruct the worker goroutines to exit"). Use `shut_down_with_drain` to finish them.
//! * `shut_down_with_drain` also hands out keys re-added while processing, and only
//!   returns when nothing is queued or in flight.
//!
//! # Design
//!
//! All state sits behind one lock that is held only for a few table and deque
//! operations, never across an `.await`: a spin lock (the `spin` crate's) whose
//! waiters back off exponentially, so that under contention the lock stays on one core
//! for runs of operations, then yield the thread; it releases with a plain store
//! instead of the atomic read-modify-write of a sleeping mutex (`workqueue::lock` says
//! why).
//! Waiting is done on `tokio::sync::Notify`.
//! Every key that is queued or being processed has one slot (a `slab::Slab` entry)
//! holding the queue's only copy of the key, its hash and its state; a hash table
//! (hashbrown's `HashTable`, with ahash's per-queue random seed) maps keys to slot
//! indices, and the FIFO holds slot indices. `add` hashes the key before taking the
//! lock; `get` takes the front slot without hashing, probing or comparing; `done`
//! first tries the slot of the key its thread was handed last (a thread-local hint,
//! checked by comparing the key), which in a worker loop is the key it finishes, and
//! hashes only when the hint misses. Duplicate keys are dropped and waiting getters
//! woken after the lock is released. The queue counts the getters that wait,
//! so `add` and `done` skip the wake-up when none does, and it sends one wake-up at a
//! time: while a woken getter has not yet looked at the queue, further adds wake no
//! one, and that getter, once it has taken a key, wakes the next waiting getter if
//! keys are left. A burst of adds to an idle queue thus costs the producer one
//! wake-up, not one per key. A `get` that finds nothing yields to the scheduler once
//! before it waits, the async form of spinning before parking; so does a `get` that
//! finds the lock held by another thread, rather than wait for it, so that its
//! thread's other tasks run and the lock stays on one core for longer. None of this changes
//! a guarantee above: the same entry, FIFO and wake-up rules decide every result, and
//! `workqueue::tests::wake_ups` tests the bookkeeping.
//!
//! There is no background task: the delayed keys live in a heap inside the same state
//! and are moved to the queue by whichever operation next observes that they are due.
//! One idle `get` at a time sleeps until the earliest ready time, so a delayed key does
//! not wake every idle worker. All time is `tokio::time::Instant`, so tests run on
//! tokio's paused clock.
//!
//! # Metrics
//!
//! [`WorkQueueMetrics`] exports controller-runtime's `workqueue_*` metrics, labelled by
//! queue name, through a `prometheus-client` registry. A queue built without metrics
//! takes no timestamps and updates no counters.

mod delay;
mod lock;
mod metrics;
mod queue;
mod rate_limited;
mod rate_limiter;

#[cfg(test)]
mod tests;

pub use metrics::WorkQueueMetrics;
pub use queue::{Key, WorkQueue};
pub use rate_limited::RateLimitingQueue;
pub use rate_limiter::{
    ItemExponentialBackoff, ItemFastSlow, MaxOf, MaxWait, RateLimiter, TokenBucket,
    default_controller_rate_limiter,
};
