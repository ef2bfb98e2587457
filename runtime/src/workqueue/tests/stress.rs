//! Many producers and workers on a multi-threaded runtime, bounded in count and time.
//!
//! Checks, under real thread interleavings, that no key is processed by two workers at
//! once and that every add is followed by a processing of its key that starts after
//! it (nothing lost, including adds made while the key was being processed).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::workqueue::{RateLimitingQueue, TokenBucket, WorkQueue};

const KEYS: usize = 32;
const PRODUCERS: usize = 4;
const ADDS_PER_PRODUCER: usize = 3_000;
const WORKERS: usize = 6;

struct Ledger {
    /// Bumped by a producer just before it adds the key.
    added: Vec<AtomicU64>,
    /// The highest `added` value a worker saw after getting the key.
    seen: Vec<AtomicU64>,
    in_progress: Mutex<HashSet<usize>>,
    /// Keys a worker got while another worker held them. Counted, not
    /// asserted in the worker: a panicking worker would leave its key in
    /// processing, and the test would end in a misleading drain timeout.
    overlaps: AtomicUsize,
    processed: AtomicUsize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stress_many_producers_and_workers_keep_the_guarantees() {
    stress(KEYS, true).await;
}

/// Workers that finish each key without awaiting in between (so `done` mostly finds
/// it through its thread's hint, and getters mostly find the lock held by the other
/// thread), over more keys than the first test (so slots are reused at random).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stress_workers_that_finish_at_once_keep_the_guarantees() {
    stress(500, false).await;
}

/// `keys` distinct keys; a worker yields between `get` and `done` if
/// `yield_while_processing`.
async fn stress(keys: usize, yield_while_processing: bool) {
    let run = async {
        let q: WorkQueue<usize> = WorkQueue::new();
        let ledger = Arc::new(Ledger {
            added: (0..keys).map(|_| AtomicU64::new(0)).collect(),
            seen: (0..keys).map(|_| AtomicU64::new(0)).collect(),
            in_progress: Mutex::new(HashSet::new()),
            overlaps: AtomicUsize::new(0),
            processed: AtomicUsize::new(0),
        });

        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let (q, ledger) = (q.clone(), Arc::clone(&ledger));
                tokio::spawn(async move {
                    while let Some(key) = q.get().await {
                        let alone = ledger.in_progress.lock().unwrap().insert(key);
                        if !alone {
                            ledger.overlaps.fetch_add(1, Ordering::SeqCst);
                        }
                        let generation = ledger.added[key].load(Ordering::SeqCst);
                        ledger.seen[key].fetch_max(generation, Ordering::SeqCst);
                        if yield_while_processing {
                            tokio::task::yield_now().await;
                        }
                        ledger.processed.fetch_add(1, Ordering::Relaxed);
                        if alone {
                            ledger.in_progress.lock().unwrap().remove(&key);
                        }
                        q.done(&key);
                    }
                })
            })
            .collect();

        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let (q, ledger) = (q.clone(), Arc::clone(&ledger));
                tokio::spawn(async move {
                    for i in 0..ADDS_PER_PRODUCER {
                        let key = (i * 7 + p * 13) % keys;
                        ledger.added[key].fetch_add(1, Ordering::SeqCst);
                        q.add(key);
                        if i % 64 == 0 {
                            tokio::task::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        for producer in producers {
            producer.await.unwrap();
        }
        q.shut_down_with_drain().await;
        for worker in workers {
            worker.await.unwrap();
        }
        assert_eq!(
            ledger.overlaps.load(Ordering::SeqCst),
            0,
            "keys processed by two workers at once"
        );
        q.check_invariants();
        assert_eq!(q.waiting_getters(), 0, "a returned getter is still counted");
        for key in 0..keys {
            assert_eq!(
                ledger.seen[key].load(Ordering::SeqCst),
                ledger.added[key].load(Ordering::SeqCst),
                "key {key}: an add was not followed by a processing"
            );
        }
        let processed = ledger.processed.load(Ordering::Relaxed);
        assert!(processed >= keys, "only {processed} processings");
        // Stingy: far fewer processings than adds is the point of the queue, but
        // contention decides how many, so only the upper bound is certain.
        assert!(processed <= PRODUCERS * ADDS_PER_PRODUCER);
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("stress test took over 30 s: a lost wake-up?");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stress_rate_limited_retries_all_complete() {
    let run = async {
        // A fast bucket, so real time is spent but little of it.
        let q: RateLimitingQueue<usize> = RateLimitingQueue::new(TokenBucket::new(50_000.0, 10));
        const FAILURES: usize = 3;
        let attempts: Arc<Vec<AtomicUsize>> =
            Arc::new((0..KEYS).map(|_| AtomicUsize::new(0)).collect());
        let finished = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let (q, attempts, finished) =
                    (q.clone(), Arc::clone(&attempts), Arc::clone(&finished));
                tokio::spawn(async move {
                    while let Some(key) = q.get().await {
                        // Fail each key a few times, then succeed.
                        if attempts[key].fetch_add(1, Ordering::SeqCst) < FAILURES {
                            q.add_rate_limited(key);
                        } else {
                            q.forget(&key);
                            if finished.fetch_add(1, Ordering::SeqCst) + 1 == KEYS {
                                q.shut_down();
                            }
                        }
                        q.done(&key);
                    }
                })
            })
            .collect();
        for key in 0..KEYS {
            q.add(key);
        }
        for worker in workers {
            worker.await.unwrap();
        }
        for (key, n) in attempts.iter().enumerate() {
            assert_eq!(n.load(Ordering::SeqCst), FAILURES + 1, "key {key}");
        }
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("rate-limited stress test took over 30 s: a lost wake-up?");
}
