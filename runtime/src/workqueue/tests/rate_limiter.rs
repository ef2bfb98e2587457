//! The rate limiters and the rate-limiting queue, on tokio's paused clock.

use std::time::Duration;

use tokio::time::{Instant, advance};

use super::{now_or_never, soon};
use crate::workqueue::{
    ItemExponentialBackoff, ItemFastSlow, MaxOf, MaxWait, RateLimiter, RateLimitingQueue,
    TokenBucket, default_controller_rate_limiter,
};

const MS: Duration = Duration::from_millis(1);

#[test]
fn item_exponential_doubles_per_failure_up_to_max() {
    let limiter = ItemExponentialBackoff::new(MS, Duration::from_secs(1));
    let waits: Vec<_> = (0..12).map(|_| limiter.when(&"a")).collect();
    let expected: Vec<_> = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1000]
        .into_iter()
        .map(|ms| ms * MS)
        .collect();
    assert_eq!(waits, expected);
    assert_eq!(limiter.num_requeues(&"a"), 12);
    // Keys back off independently.
    assert_eq!(limiter.when(&"b"), MS);
    limiter.forget(&"a");
    assert_eq!(limiter.num_requeues(&"a"), 0);
    assert_eq!(limiter.when(&"a"), MS);
}

#[test]
fn item_exponential_default_is_5ms_to_1000s() {
    let limiter = ItemExponentialBackoff::default();
    assert_eq!(limiter.when(&1), 5 * MS);
    assert_eq!(limiter.when(&1), 10 * MS);
    for _ in 0..200 {
        limiter.when(&1);
    }
    // Far past the point where 5 ms × 2^n overflows 64 bits.
    assert_eq!(limiter.when(&1), Duration::from_secs(1000));
}

#[test]
fn item_fast_slow_switches_after_max_fast_attempts() {
    let limiter = ItemFastSlow::new(5 * MS, Duration::from_secs(10), 3);
    let waits: Vec<_> = (0..5).map(|_| limiter.when(&"a")).collect();
    assert_eq!(
        waits,
        [
            5 * MS,
            5 * MS,
            5 * MS,
            Duration::from_secs(10),
            Duration::from_secs(10)
        ]
    );
    assert_eq!(limiter.num_requeues(&"a"), 5);
    limiter.forget(&"a");
    assert_eq!(limiter.num_requeues(&"a"), 0);
    assert_eq!(limiter.when(&"a"), 5 * MS);
}

#[tokio::test(start_paused = true)]
async fn token_bucket_allows_a_burst_then_spaces_retries_at_the_rate() {
    let limiter = TokenBucket::new(10.0, 3);
    let waits: Vec<Duration> = (0..6).map(|i| limiter.when(&i)).collect();
    assert_eq!(
        waits,
        [
            Duration::ZERO,
            Duration::ZERO,
            Duration::ZERO,
            100 * MS,
            200 * MS,
            300 * MS
        ]
    );
    // The bucket tracks no keys.
    assert_eq!(RateLimiter::<i32>::num_requeues(&limiter, &0), 0);
    // After the reserved slots pass and the bucket refills, a burst is possible again.
    advance(Duration::from_secs(1)).await;
    assert_eq!(limiter.when(&0), Duration::ZERO);
    assert_eq!(limiter.when(&0), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn token_bucket_default_is_10_per_second_with_burst_100() {
    let limiter = TokenBucket::default();
    for i in 0..100 {
        assert_eq!(
            limiter.when(&i),
            Duration::ZERO,
            "retry {i} is within the burst"
        );
    }
    assert_eq!(limiter.when(&100), 100 * MS);
    assert_eq!(limiter.when(&101), 200 * MS);
}

#[test]
#[should_panic(expected = "rate must be positive")]
fn token_bucket_rejects_a_zero_rate() {
    let _ = TokenBucket::new(0.0, 1);
}

#[test]
fn max_of_takes_the_longest_wait_and_forgets_in_all() {
    let limiter: MaxOf<&str> = MaxOf::new(vec![
        Box::new(ItemExponentialBackoff::new(MS, Duration::from_secs(1))),
        Box::new(ItemFastSlow::new(3 * MS, Duration::from_secs(5), 2)),
    ]);
    let waits: Vec<_> = (0..3).map(|_| limiter.when(&"a")).collect();
    assert_eq!(waits, [3 * MS, 3 * MS, Duration::from_secs(5)]);
    assert_eq!(limiter.num_requeues(&"a"), 3);
    limiter.forget(&"a");
    assert_eq!(limiter.num_requeues(&"a"), 0);
    assert_eq!(limiter.when(&"a"), 3 * MS);
    assert_eq!(MaxOf::<u8>::new(Vec::new()).when(&0), Duration::ZERO);
}

#[test]
fn max_wait_caps_the_wait() {
    let limiter = MaxWait::new(
        ItemExponentialBackoff::new(Duration::from_secs(1), Duration::from_secs(1000)),
        Duration::from_secs(3),
    );
    let waits: Vec<_> = (0..4).map(|_| limiter.when(&"a").as_secs()).collect();
    assert_eq!(waits, [1, 2, 3, 3]);
    assert_eq!(limiter.num_requeues(&"a"), 4);
    limiter.forget(&"a");
    assert_eq!(limiter.when(&"a"), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn default_controller_rate_limiter_is_max_of_exponential_and_bucket() {
    let limiter = default_controller_rate_limiter::<u32>();
    assert_eq!(limiter.when(&1000), 5 * MS);
    assert_eq!(limiter.when(&1000), 10 * MS);
    // Use up the rest of the burst of 100 on other keys: the bucket now dominates.
    for key in 0..98 {
        limiter.when(&key);
    }
    assert_eq!(limiter.when(&2000), 100 * MS);
    assert_eq!(limiter.num_requeues(&1000), 2);
}

#[tokio::test(start_paused = true)]
async fn add_rate_limited_backs_off_per_key_until_forgotten() {
    let q = RateLimitingQueue::new(ItemExponentialBackoff::new(10 * MS, Duration::from_secs(1)));
    for expected in [10, 20, 40] {
        let start = Instant::now();
        q.add_rate_limited("a");
        assert_eq!(now_or_never(q.get()), None);
        let key = soon(q.get()).await.unwrap();
        assert_eq!(start.elapsed(), expected * MS);
        q.done(&key);
    }
    assert_eq!(q.num_requeues(&"a"), 3);
    q.forget(&"a");
    assert_eq!(q.num_requeues(&"a"), 0);
    let start = Instant::now();
    q.add_rate_limited("a");
    assert_eq!(soon(q.get()).await, Some("a"));
    assert_eq!(start.elapsed(), 10 * MS);
}

#[tokio::test(start_paused = true)]
async fn add_rate_limited_uses_the_earlier_ready_time() {
    let q = RateLimitingQueue::new(ItemExponentialBackoff::new(10 * MS, Duration::from_secs(1)));
    let start = Instant::now();
    q.add_rate_limited("a"); // 10 ms
    q.add_rate_limited("a"); // 20 ms, later: the 10 ms one stays
    assert_eq!(soon(q.get()).await, Some("a"));
    assert_eq!(start.elapsed(), 10 * MS);
}

#[tokio::test(start_paused = true)]
async fn default_rate_limiting_queue_uses_the_controller_defaults() {
    let q = RateLimitingQueue::default();
    let start = Instant::now();
    q.add_rate_limited(7u32);
    assert_eq!(soon(q.get()).await, Some(7));
    assert_eq!(start.elapsed(), 5 * MS);
    assert_eq!(q.num_requeues(&7), 1);
}
