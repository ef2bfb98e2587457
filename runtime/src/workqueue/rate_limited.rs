//! A work queue that delays retries with a rate limiter.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use super::{Key, RateLimiter, WorkQueue, WorkQueueMetrics, default_controller_rate_limiter};

/// A [`WorkQueue`] plus a [`RateLimiter`] deciding how long a failed key waits.
///
/// It dereferences to its [`WorkQueue`], so `get`, `done`, `add`, `add_after` and the
/// shutdown methods are the queue's own. Cloning is cheap and every clone shares both
/// the queue and the limiter.
pub struct RateLimitingQueue<K> {
    queue: WorkQueue<K>,
    limiter: Arc<dyn RateLimiter<K>>,
}

impl<K> Clone for RateLimitingQueue<K> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
            limiter: Arc::clone(&self.limiter),
        }
    }
}

impl<K: Key> Default for RateLimitingQueue<K> {
    /// A queue without metrics and with [`default_controller_rate_limiter`].
    fn default() -> Self {
        Self::new(default_controller_rate_limiter())
    }
}

impl<K: Key> fmt::Debug for RateLimitingQueue<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitingQueue")
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl<K: Key> RateLimitingQueue<K> {
    /// A queue without metrics, limited by `limiter`.
    pub fn new(limiter: impl RateLimiter<K> + 'static) -> Self {
        Self::from_queue(WorkQueue::new(), limiter)
    }

    /// A queue reporting to `metrics` as `name`, limited by `limiter`.
    pub fn with_metrics(
        name: impl Into<String>,
        metrics: &WorkQueueMetrics,
        limiter: impl RateLimiter<K> + 'static,
    ) -> Self {
        Self::from_queue(WorkQueue::with_metrics(name, metrics), limiter)
    }

    /// Limits an existing `queue` by `limiter`.
    pub fn from_queue(queue: WorkQueue<K>, limiter: impl RateLimiter<K> + 'static) -> Self {
        Self {
            queue,
            limiter: Arc::new(limiter),
        }
    }

    /// Adds `key` after the wait the rate limiter gives it (which also counts a
    /// failure of `key`).
    pub fn add_rate_limited(&self, key: K) {
        let delay = self.limiter.when(&key);
        self.queue.add_after(key, delay);
    }

    /// Resets `key`'s back-off, typically after it was processed successfully. It does
    /// not remove the key from the queue.
    pub fn forget(&self, key: &K) {
        self.limiter.forget(key);
    }

    /// How many times `key` was rate-limited since it was last forgotten.
    pub fn num_requeues(&self, key: &K) -> u32 {
        self.limiter.num_requeues(key)
    }

    /// The underlying queue.
    pub fn queue(&self) -> &WorkQueue<K> {
        &self.queue
    }
}

impl<K> Deref for RateLimitingQueue<K> {
    type Target = WorkQueue<K>;

    fn deref(&self) -> &WorkQueue<K> {
        &self.queue
    }
}
