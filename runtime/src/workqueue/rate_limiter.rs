//! Rate limiters: how long a key waits before it is retried.
//!
//! The limiters and their defaults follow client-go's `workqueue` rate limiters. Time is
//! `tokio::time::Instant`, so they run on tokio's paused clock in tests.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::Key;

/// Decides how long a key waits before its next retry.
pub trait RateLimiter<K>: Send + Sync {
    /// Records a failure of `item` and returns how long it should wait before it is
    /// retried.
    fn when(&self, item: &K) -> Duration;
    /// Stops tracking `item`, typically after it was processed successfully: its
    /// back-off starts again from the beginning.
    fn forget(&self, item: &K);
    /// How many times `item` has failed since it was last forgotten.
    fn num_requeues(&self, item: &K) -> u32;
}

impl<K, R: RateLimiter<K> + ?Sized> RateLimiter<K> for Arc<R> {
    fn when(&self, item: &K) -> Duration {
        (**self).when(item)
    }
    fn forget(&self, item: &K) {
        (**self).forget(item);
    }
    fn num_requeues(&self, item: &K) -> u32 {
        (**self).num_requeues(item)
    }
}

impl<K, R: RateLimiter<K> + ?Sized> RateLimiter<K> for Box<R> {
    fn when(&self, item: &K) -> Duration {
        (**self).when(item)
    }
    fn forget(&self, item: &K) {
        (**self).forget(item);
    }
    fn num_requeues(&self, item: &K) -> u32 {
        (**self).num_requeues(item)
    }
}

/// client-go's `DefaultControllerRateLimiter`: the larger of a per-key exponential
/// back-off (5 ms doubling up to 1000 s) and an overall token bucket (10 per second,
/// bursts of 100).
pub fn default_controller_rate_limiter<K: Key>() -> MaxOf<K> {
    MaxOf::new(vec![
        Box::new(ItemExponentialBackoff::default()),
        Box::new(TokenBucket::default()),
    ])
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Failure counts stay valid whatever panicked while holding the lock.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Failure counts per key, shared by the per-key limiters.
struct Failures<K>(Mutex<HashMap<K, u32>>);

impl<K: Key> Failures<K> {
    fn new() -> Self {
        Self(Mutex::new(HashMap::new()))
    }

    /// Counts one more failure and returns the count before it.
    fn record(&self, item: &K) -> u32 {
        let mut failures = lock(&self.0);
        let count = failures.entry(item.clone()).or_insert(0);
        let before = *count;
        *count = count.saturating_add(1);
        before
    }

    fn get(&self, item: &K) -> u32 {
        lock(&self.0).get(item).copied().unwrap_or(0)
    }

    fn forget(&self, item: &K) {
        lock(&self.0).remove(item);
    }
}

/// Per-key exponential back-off: `base × 2^failures`, at most `max`.
pub struct ItemExponentialBackoff<K> {
    base: Duration,
    max: Duration,
    failures: Failures<K>,
}

impl<K: Key> Default for ItemExponentialBackoff<K> {
    /// 5 ms, doubling, up to 1000 s: client-go's controller default.
    fn default() -> Self {
        Self::new(Duration::from_millis(5), Duration::from_secs(1000))
    }
}

impl<K: Key> ItemExponentialBackoff<K> {
    /// Waits `base` after the first failure, doubling after each further one, never
    /// more than `max`.
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max,
            failures: Failures::new(),
        }
    }
}

impl<K: Key> RateLimiter<K> for ItemExponentialBackoff<K> {
    fn when(&self, item: &K) -> Duration {
        let exponent = self.failures.record(item);
        // Computed in u128 nanoseconds so that neither the shift nor the product can
        // overflow before the comparison with `max`.
        let max = self.max.as_nanos();
        let backoff = if exponent >= 64 {
            max
        } else {
            (self.base.as_nanos() << exponent).min(max)
        };
        Duration::from_nanos(u64::try_from(backoff).unwrap_or(u64::MAX))
    }

    fn forget(&self, item: &K) {
        self.failures.forget(item);
    }

    fn num_requeues(&self, item: &K) -> u32 {
        self.failures.get(item)
    }
}

impl<K> fmt::Debug for ItemExponentialBackoff<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemExponentialBackoff")
            .field("base", &self.base)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

/// Per-key: `fast` for the first `max_fast_attempts` failures, `slow` after that.
pub struct ItemFastSlow<K> {
    fast: Duration,
    slow: Duration,
    max_fast_attempts: u32,
    failures: Failures<K>,
}

impl<K: Key> ItemFastSlow<K> {
    /// Waits `fast` for the first `max_fast_attempts` failures of a key, then `slow`.
    pub fn new(fast: Duration, slow: Duration, max_fast_attempts: u32) -> Self {
        Self {
            fast,
            slow,
            max_fast_attempts,
            failures: Failures::new(),
        }
    }
}

impl<K: Key> RateLimiter<K> for ItemFastSlow<K> {
    fn when(&self, item: &K) -> Duration {
        let attempt = self.failures.record(item).saturating_add(1);
        if attempt <= self.max_fast_attempts {
            self.fast
        } else {
            self.slow
        }
    }

    fn forget(&self, item: &K) {
        self.failures.forget(item);
    }

    fn num_requeues(&self, item: &K) -> u32 {
        self.failures.get(item)
    }
}

impl<K> fmt::Debug for ItemFastSlow<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemFastSlow")
            .field("fast", &self.fast)
            .field("slow", &self.slow)
            .field("max_fast_attempts", &self.max_fast_attempts)
            .finish_non_exhaustive()
    }
}

/// An overall token bucket, shared by all keys: `burst` retries at once, then `rate`
/// per second. Like Go's `rate.Limiter.Reserve`, a retry always gets a slot; when the
/// bucket is empty the slot is in the future and `when` is the wait until it.
/// It tracks no keys, so `forget` does nothing and `num_requeues` is always 0.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// Tokens left at `at`; negative when slots in the future are already taken.
    tokens: f64,
    at: Instant,
}

impl Default for TokenBucket {
    /// 10 per second with bursts of 100: client-go's controller default.
    fn default() -> Self {
        Self::new(10.0, 100)
    }
}

impl TokenBucket {
    /// A full bucket of `burst` tokens, refilled at `rate` tokens per second.
    ///
    /// # Panics
    ///
    /// If `rate` is not a positive finite number.
    pub fn new(rate: f64, burst: u32) -> Self {
        assert!(
            rate.is_finite() && rate > 0.0,
            "token bucket rate must be positive and finite, got {rate}"
        );
        Self {
            rate,
            burst: f64::from(burst),
            bucket: Mutex::new(Bucket {
                tokens: f64::from(burst),
                at: Instant::now(),
            }),
        }
    }
}

impl<K> RateLimiter<K> for TokenBucket {
    fn when(&self, _item: &K) -> Duration {
        let mut bucket = lock(&self.bucket);
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.at = now;
        bucket.tokens -= 1.0;
        if bucket.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.tokens / self.rate)
        }
    }

    fn forget(&self, _item: &K) {}

    fn num_requeues(&self, _item: &K) -> u32 {
        0
    }
}

/// The longest wait of several limiters. Every limiter records every failure, and
/// `forget` reaches them all.
pub struct MaxOf<K> {
    limiters: Vec<Box<dyn RateLimiter<K>>>,
}

impl<K> MaxOf<K> {
    /// Combines `limiters`; with none, every wait is zero.
    pub fn new(limiters: Vec<Box<dyn RateLimiter<K>>>) -> Self {
        Self { limiters }
    }
}

impl<K> RateLimiter<K> for MaxOf<K> {
    fn when(&self, item: &K) -> Duration {
        // Not short-circuited: each limiter must count the failure.
        self.limiters
            .iter()
            .map(|l| l.when(item))
            .max()
            .unwrap_or(Duration::ZERO)
    }

    fn forget(&self, item: &K) {
        for limiter in &self.limiters {
            limiter.forget(item);
        }
    }

    fn num_requeues(&self, item: &K) -> u32 {
        self.limiters
            .iter()
            .map(|l| l.num_requeues(item))
            .max()
            .unwrap_or(0)
    }
}

impl<K> fmt::Debug for MaxOf<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaxOf")
            .field("limiters", &self.limiters.len())
            .finish()
    }
}

/// Caps another limiter's wait at `max` (client-go's `WithMaxWaitRateLimiter`).
#[derive(Debug)]
pub struct MaxWait<R> {
    limiter: R,
    max: Duration,
}

impl<R> MaxWait<R> {
    /// Waits as `limiter` says, but never longer than `max`.
    pub fn new(limiter: R, max: Duration) -> Self {
        Self { limiter, max }
    }
}

impl<K, R: RateLimiter<K>> RateLimiter<K> for MaxWait<R> {
    fn when(&self, item: &K) -> Duration {
        self.limiter.when(item).min(self.max)
    }

    fn forget(&self, item: &K) {
        self.limiter.forget(item);
    }

    fn num_requeues(&self, item: &K) -> u32 {
        self.limiter.num_requeues(item)
    }
}
