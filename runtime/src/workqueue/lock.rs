//! The lock around the queue's state: a test-and-test-and-set spin lock whose waiters
//! back off exponentially, then yield the thread when the holder does not let go.
//!
//! Why not `std::sync::Mutex` (or parking_lot's): every queue operation takes the
//! lock once for a few table and deque steps, so an uncontended lock and unlock are a
//! large part of its cost. Both of those mutexes release with an atomic
//! read-modify-write (to learn whether a thread sleeps on the lock and must be woken);
//! a spin lock never puts a thread to sleep, so it releases with a plain store, which
//! on x86 is an ordinary move instead of a locked instruction.
//!
//! Why back off: under contention (producers and workers on two cores), what costs is
//! not the wait but the lock changing cores. Every acquisition by the other core moves
//! the lock word, the state's fields and the table's and deque's slots across, and the
//! lock is held while they move; the same work on one core runs several times as fast
//! (the `concurrent` workload of the work-queue benchmark with both runtime threads
//! pinned to one CPU). A waiter that re-reads the lock every spin takes it the moment
//! it is released, so the lock, and every line it guards, crossed cores on about every
//! operation. A waiter that waits twice as long after each failed attempt (`1 <<
//! attempt` spin-loop hints) leaves the holder's core to take the lock again and again
//! with its lines in cache, and takes it itself in the holder's gaps. Counted over that
//! workload with both threads running (2,000,000 adds): contended acquisitions fell
//! from about 290,000 to 175,000, the runtime's thread unparks from about 8,000 to
//! under 40, and the CPU time by about 30%, while the workers kept up with more of
//! the adds. The benchmark's ratios measure the speed; longer back-off kept helping
//! there, with diminishing returns, and 8,191 hints in all (up to 4,096 at once, some
//! 40 µs where a hint takes 10 ns) bounds how long a waiter can miss a free lock.
//! After the last attempt the waiter yields its thread to the OS scheduler between
//! attempts, so that a holder that was preempted gets the CPU back. An uncontended
//! lock never reaches any of this. The `spin` crate's `SpinMutex` is the lock; what
//! this module adds is that strategy, which `spin` does not offer (its strategies spin
//! forever or yield on every attempt).

use std::cell::Cell;
use std::hint::spin_loop;

use spin::RelaxStrategy;
use spin::mutex::{SpinMutex, SpinMutexGuard};

/// Failed attempts before a waiter yields its thread; after attempt `n` it pauses for
/// `1 << n` spin-loop hints, 8,191 in all (the module docs say why so many). The
/// queue's critical sections are a few dozen instructions (except a rare table or
/// deque growth), so a holder that is running lets go well within that.
const SPINS_BEFORE_YIELD: u32 = 13;

thread_local! {
    /// Failed attempts this thread has made at the lock it is acquiring; reset once it
    /// holds it. `RelaxStrategy::relax` has no state of its own.
    static SPINS: Cell<u32> = const { Cell::new(0) };
}

/// Pauses for twice as many spin-loop hints on each call, `SPINS_BEFORE_YIELD` times,
/// then yields the thread on every further call.
pub(super) struct SpinThenYield;

impl RelaxStrategy for SpinThenYield {
    #[inline]
    fn relax() {
        let spins = SPINS.get();
        if spins < SPINS_BEFORE_YIELD {
            SPINS.set(spins + 1);
            for _ in 0..1u32 << spins {
                spin_loop();
            }
        } else {
            std::thread::yield_now();
        }
    }
}

/// A mutex over the queue's state; see the module docs. Not poisoned by a panic.
pub(super) struct QueueLock<T>(SpinMutex<T, SpinThenYield>);

/// Its guard; dropping it unlocks.
pub(super) type QueueGuard<'a, T> = SpinMutexGuard<'a, T, SpinThenYield>;

impl<T> QueueLock<T> {
    pub(super) const fn new(value: T) -> Self {
        Self(SpinMutex::new(value))
    }

    #[inline]
    pub(super) fn lock(&self) -> QueueGuard<'_, T> {
        if let Some(guard) = self.0.try_lock_weak() {
            return guard;
        }
        self.lock_contended()
    }

    /// The lock if it is free now, without waiting: for a `get` that has something
    /// better to do than wait (let its thread's other tasks run).
    #[inline]
    pub(super) fn try_lock(&self) -> Option<QueueGuard<'_, T>> {
        self.0.try_lock()
    }

    #[cold]
    fn lock_contended(&self) -> QueueGuard<'_, T> {
        let guard = self.0.lock();
        SPINS.set(0);
        guard
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::sync::Arc;
    use std::thread;

    use super::QueueLock;

    /// Threads increment a counter that is not atomic (a `Cell`, which is not `Sync`
    /// on its own) under the lock, with a read and a write apart; a lock that let two
    /// holders in would lose increments. Bounded: a fixed number of increments.
    #[test]
    fn the_spin_lock_admits_one_holder_at_a_time() {
        const THREADS: usize = 4;
        const ROUNDS: usize = 20_000;
        let counter = Arc::new(QueueLock::new(Cell::new(0usize)));
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let counter = Arc::clone(&counter);
                thread::spawn(move || {
                    for i in 0..ROUNDS {
                        let held = counter.lock();
                        let seen = held.get();
                        if i % 64 == 0 {
                            // Hold the lock across a yield now and then, so waiters
                            // reach the yielding branch too.
                            thread::yield_now();
                        }
                        held.set(seen + 1);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(counter.lock().get(), THREADS * ROUNDS);
    }

    /// Backing off lets a holder take the lock again and again while a waiter pauses;
    /// the waiter must still get it in the holder's gaps, not be starved. The holder
    /// re-takes the lock in a loop with short gaps (like a thread of queue operations)
    /// until the waiter has had it. Bounded: the holder gives up after 5 s.
    #[test]
    fn a_waiter_gets_the_lock_from_a_holder_that_keeps_taking_it() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::time::{Duration, Instant};

        let lock = QueueLock::new(0u64);
        let waiter_done = AtomicBool::new(false);
        let waited = thread::scope(|s| {
            let holder = s.spawn(|| {
                let start = Instant::now();
                while !waiter_done.load(Ordering::Relaxed)
                    && start.elapsed() < Duration::from_secs(5)
                {
                    let mut held = lock.lock();
                    for _ in 0..32 {
                        *held = std::hint::black_box(*held + 1);
                    }
                    drop(held);
                    for _ in 0..16 {
                        std::hint::spin_loop();
                    }
                }
            });
            // Let the holder get going first.
            thread::sleep(Duration::from_millis(5));
            let start = Instant::now();
            drop(lock.lock());
            let waited = start.elapsed();
            waiter_done.store(true, Ordering::Relaxed);
            holder.join().unwrap();
            waited
        });
        assert!(
            waited < Duration::from_secs(4),
            "the waiter waited {waited:?} for a lock its holder kept re-taking"
        );
    }

    #[test]
    fn a_waiter_that_yielded_spins_again_next_time() {
        let lock = Arc::new(QueueLock::new(()));
        let held = lock.lock();
        let waiter = thread::spawn({
            let lock = Arc::clone(&lock);
            move || {
                drop(lock.lock());
                super::SPINS.get()
            }
        });
        // Long enough for the waiter to spin out and yield at least once.
        thread::sleep(std::time::Duration::from_millis(20));
        drop(held);
        assert_eq!(waiter.join().unwrap(), 0, "the spin count was not reset");
    }
}
