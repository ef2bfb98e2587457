//! The lock around the queue's state: a test-and-test-and-set spin lock that yields
//! the thread when the holder does not let go quickly.
//!
//! Why not `std::sync::Mutex` (or parking_lot's): every queue operation takes the
//! lock once for a few table and deque steps, so an uncontended lock and unlock are a
//! large part of its cost. Both of those mutexes release with an atomic
//! read-modify-write (to learn whether a thread sleeps on the lock and must be woken);
//! a spin lock never puts a thread to sleep, so it releases with a plain store, which
//! on x86 is an ordinary move instead of a locked instruction. Under contention the
//! holder is never more than a few hundred nanoseconds from releasing, so a waiter
//! spins briefly (reading, not writing, the shared line) and then yields its thread
//! to the OS scheduler between attempts, so that a holder that was preempted gets the
//! CPU back. The `spin` crate's `SpinMutex` is the lock; what this module adds is
//! that spin-then-yield strategy, which `spin` does not offer (its strategies spin
//! forever or yield on every attempt).

use std::cell::Cell;
use std::hint::spin_loop;

use spin::RelaxStrategy;
use spin::mutex::{SpinMutex, SpinMutexGuard};

/// Spins of the test loop before a waiter yields its thread. The queue's critical
/// sections are a few dozen instructions (except a rare table or deque growth), so
/// a holder that is running lets go well within this many spins.
const SPINS_BEFORE_YIELD: u32 = 128;

thread_local! {
    /// Spins this thread has made waiting for the lock it is acquiring; reset once
    /// it holds it. `RelaxStrategy::relax` has no state of its own.
    static SPINS: Cell<u32> = const { Cell::new(0) };
}

/// Spins `SPINS_BEFORE_YIELD` times, then yields the thread on every further call.
pub(super) struct SpinThenYield;

impl RelaxStrategy for SpinThenYield {
    #[inline]
    fn relax() {
        let spins = SPINS.get();
        if spins < SPINS_BEFORE_YIELD {
            SPINS.set(spins + 1);
            spin_loop();
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
