//! The queue: dirty and processing sets, FIFO order, delayed keys and shutdown.

use std::cell::Cell;
use std::collections::VecDeque;
use std::fmt;
use std::hash::Hash;
use std::ops::{Deref, DerefMut};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use ahash::RandomState;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry as TableEntry;
use slab::Slab;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::delay::DelaySet;
use super::lock::{QueueGuard, QueueLock};
use super::metrics::{InFlight, QueueMetrics, WorkQueueMetrics};

/// What a queue key must be: cheap to clone (an `Arc<str>`, an object reference, an
/// integer), hashable, and shareable across tasks. Implemented for every such type.
pub trait Key: Clone + Eq + Hash + Send + Sync + 'static {}

impl<T: Clone + Eq + Hash + Send + Sync + 'static> Key for T {}

/// A fair, stingy, async work queue; see the [module docs](super) for its guarantees.
///
/// Cloning is cheap and every clone is the same queue.
pub struct WorkQueue<K> {
    inner: Arc<Inner<K>>,
}

impl<K> Clone for WorkQueue<K> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K: Key> Default for WorkQueue<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Key> fmt::Debug for WorkQueue<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.lock();
        f.debug_struct("WorkQueue")
            .field("name", &self.inner.metrics.as_ref().map(QueueMetrics::name))
            .field("queued", &st.queue.len())
            .field("processing", &st.processing)
            .field("keys", &st.slots.len())
            .field("delayed", &st.delayed.len())
            .field("shutting_down", &st.shutting_down)
            .finish()
    }
}

struct Inner<K> {
    state: QueueLock<State<K>>,
    /// The number of queued keys as of the last unlock, or `UNKNOWN_LEN` while keys
    /// wait for a ready time (one may be due, and only a locked `len` moves it to the
    /// queue). Stored by every unlock, so `len` (which a worker loop may call before
    /// every `get`) reads it without taking the lock.
    published_len: AtomicUsize,
    /// Hashes keys before the lock is taken, so that no hashing happens while other
    /// threads wait for the lock. Randomly seeded per queue, like Go's map hash.
    /// ahash (the informer cache's hasher too) rather than foldhash: counted with
    /// cachegrind, it takes about 28 fewer instructions to hash a `namespace/name`
    /// key.
    hasher: RandomState,
    /// Wakes idle getters: `notify_one` when a key is queued while a getter waits
    /// and no wake-up is on its way (`State::waking`), `notify_waiters` when `get`
    /// should return `None`.
    item_ready: Notify,
    /// Wakes the getter sleeping until the earliest delayed key when that time moves
    /// earlier.
    timer_changed: Notify,
    /// Wakes `shut_down_with_drain` callers.
    drained: Notify,
    metrics: Option<QueueMetrics>,
}

struct State<K> {
    /// Every key that is dirty, processing, or both, with its state, one slot per key.
    /// A slot's index stays put while its key is in the queue, so the FIFO and the
    /// hash table refer to keys by index: `get` takes the FIFO's front slot without
    /// hashing, looking up or comparing the key, and the queue holds one copy of each
    /// key (`get` hands out a clone of it; nothing is cloned into the FIFO).
    slots: Slab<Entry<K>>,
    /// Indices of the slots waiting to be handed out, oldest first. A slot is here iff
    /// it is dirty and not processing.
    queue: VecDeque<u32>,
    /// The index of every slot, found by the hash `Inner::hash` gives; the slot keeps
    /// that hash, so growing the table rehashes no key.
    entries: HashTable<u32>,
    /// Number of entries that are processing.
    processing: usize,
    /// Number of entries that are processing and dirty: they will be queued again at
    /// `done`, so a draining queue is not finished while this is non-zero.
    dirty_in_flight: usize,
    delayed: DelaySet<K>,
    /// Whether a getter is sleeping until `delayed`'s earliest ready time.
    timer_claimed: bool,
    /// Getters that found nothing to take and wait (or were woken and have not yet
    /// looked again). While it is zero a new key wakes no one: the next `get` finds
    /// the key itself, and `Notify::notify_one` would cost an atomic read-modify-write
    /// per add for nothing.
    waiters: usize,
    /// A wake-up was sent and no waiting getter has looked at the state since. While
    /// it is set, adds send no further wake-up: the woken getter takes a key and, if
    /// keys are left and getters still wait, wakes the next one (see `needs_wake`).
    /// One wake-up per burst of adds instead of one per add keeps producers from
    /// paying for wake-ups (and the runtime from unparking threads) that the getter
    /// already on its way makes unnecessary.
    waking: bool,
    /// Wake-ups sent through `needs_wake`; for tests.
    #[cfg(test)]
    wake_ups: usize,
    /// `done` calls whose key was not where `HANDED_OUT` pointed; for tests.
    #[cfg(test)]
    done_hint_misses: usize,
    shutting_down: bool,
    /// Shutting down, but still handing out queued keys.
    draining: bool,
}

/// A key with its hash.
struct Hashed<K> {
    hash: u64,
    key: K,
}

#[derive(Debug)]
struct Entry<K> {
    key: K,
    hash: u64,
    /// Added and not yet handed out since.
    dirty: bool,
    /// Handed out and not yet `done`.
    processing: bool,
    /// When the key became dirty; only recorded when the queue has metrics.
    queued_at: Option<Instant>,
    /// When the key was handed out; only recorded when the queue has metrics.
    started_at: Option<Instant>,
}

/// What a getter should do next.
enum Next<K> {
    /// Return this (a key, or `None` for shutdown).
    Return(Option<K>),
    /// Wait for a key, or until this deadline if the getter owns the timer.
    Wait(Option<Instant>),
}

impl<K: Key> WorkQueue<K> {
    /// Creates a queue without metrics.
    pub fn new() -> Self {
        Self::build(None)
    }

    /// Creates a queue that reports to `metrics` under the label `name="<name>"`.
    pub fn with_metrics(name: impl Into<String>, metrics: &WorkQueueMetrics) -> Self {
        let queue = Self::build(Some(metrics.for_queue(name.into())));
        let weak = Arc::downgrade(&queue.inner);
        metrics.track(weak as Weak<dyn InFlight>);
        queue
    }

    fn build(metrics: Option<QueueMetrics>) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: QueueLock::new(State {
                    slots: Slab::new(),
                    queue: VecDeque::new(),
                    entries: HashTable::new(),
                    processing: 0,
                    dirty_in_flight: 0,
                    delayed: DelaySet::new(),
                    timer_claimed: false,
                    waiters: 0,
                    waking: false,
                    #[cfg(test)]
                    wake_ups: 0,
                    #[cfg(test)]
                    done_hint_misses: 0,
                    shutting_down: false,
                    draining: false,
                }),
                published_len: AtomicUsize::new(0),
                hasher: RandomState::default(),
                item_ready: Notify::new(),
                timer_changed: Notify::new(),
                drained: Notify::new(),
                metrics,
            }),
        }
    }

    /// Marks `key` as needing processing. Does nothing if the key is already waiting
    /// (stingy) or the queue is shutting down; if a worker is processing the key, it
    /// is queued again when that worker calls [`done`](Self::done).
    pub fn add(&self, key: K) {
        let inner = &*self.inner;
        let hash = inner.hash(&key);
        let mut st = inner.lock();
        if st.shutting_down {
            drop(st);
            return;
        }
        // Keys that became due before this add go first, to keep ready-time order.
        inner.promote_due(&mut st);
        let now = inner.metrics.as_ref().map(|_| Instant::now());
        let unused = inner.add_locked(&mut st, Hashed { hash, key }, now);
        let wake = needs_wake(&mut st);
        drop(st);
        // Dropped and woken after unlocking: neither needs the state, and both can
        // touch memory other threads own (a shared key's reference count, a waker).
        drop(unused);
        if wake {
            inner.item_ready.notify_one();
        }
    }

    /// Adds `key` once `delay` has passed. If the key is already waiting for a ready
    /// time, the earlier of the two wins. A zero delay adds at once. Ignored while
    /// shutting down; keys still waiting at shutdown are dropped.
    pub fn add_after(&self, key: K, delay: Duration) {
        let inner = &*self.inner;
        let mut st = inner.lock();
        if st.shutting_down {
            return;
        }
        if let Some(metrics) = &inner.metrics {
            metrics.retried();
        }
        let now = Instant::now();
        if delay.is_zero() {
            inner.promote_due(&mut st);
            let hash = inner.hash(&key);
            let unused = inner.add_locked(
                &mut st,
                Hashed { hash, key },
                inner.metrics.as_ref().map(|_| now),
            );
            let wake = needs_wake(&mut st);
            drop(st);
            drop(unused);
            if wake {
                inner.item_ready.notify_one();
            }
            return;
        }
        // A delay too large for the clock is a delay of "practically never"; tokio's
        // timer clamps far deadlines the same way.
        let at = now
            .checked_add(delay)
            .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 30));
        let earliest = st.delayed.next_deadline();
        if !st.delayed.insert(key, at) {
            return;
        }
        if !st.timer_claimed {
            // No getter sleeps on the timer: wake an idle one so it takes the job. With
            // none idle, the next getter to find the queue empty takes it.
            if st.waiters > 0 {
                inner.item_ready.notify_one();
            }
        } else if earliest.is_none_or(|e| at < e) {
            inner.timer_changed.notify_waiters();
        }
    }

    /// Waits for a key and marks it as being processed. Returns `None` once the queue
    /// is shut down (after a drain: once nothing is left to hand out).
    ///
    /// The caller must call [`done`](Self::done) with the key when it has finished.
    /// Cancel-safe: dropping the future never loses a key.
    pub async fn get(&self) -> Option<K> {
        // Fast path: registering with the notifiers costs more than the rest of `get`,
        // so only do it when there is nothing to take; the waiting is a future of its
        // own, so that a `get` that finds a key sets up and drops none of its state.
        // A getter that finds the lock held does not wait for it here but goes the
        // slow way, which first lets the other tasks of its thread run: the holder is
        // on another thread, and every acquisition by a second thread moves the lock
        // and the state it guards between cores (`workqueue::lock` says why that is
        // what contention costs), while the producers and workers of this thread
        // would find the state where they left it.
        let mut owns_timer = false;
        if let Some(key) = self.inner.try_next_unwaited(&mut owns_timer) {
            return key;
        }
        self.wait_for_key(owns_timer).await
    }

    /// The rest of `get`, for a getter that found nothing to take; `owns_timer` is
    /// whether that look claimed the timer.
    async fn wait_for_key(&self, owns_timer: bool) -> Option<K> {
        let inner = &*self.inner;
        let mut getter = Getter {
            inner,
            owns_timer,
            waiting: false,
        };
        // Nothing yet: let the other tasks of this thread run once before waiting, the
        // async form of spinning before parking. A producer that runs meanwhile adds
        // its key without a wake-up, and this getter takes it without registering with
        // the notifiers or being scheduled again from another thread.
        tokio::task::yield_now().await;
        if let Some(key) = inner.next_unwaited(&mut getter.owns_timer) {
            return key;
        }
        loop {
            // Register before looking at the state, so a wake-up sent between the look
            // and the await is not missed.
            let mut item_ready = pin!(inner.item_ready.notified());
            item_ready.as_mut().enable();
            let mut timer_changed = pin!(inner.timer_changed.notified());
            timer_changed.as_mut().enable();
            let (next, wake) = {
                let mut st = inner.lock();
                if getter.waiting {
                    // Looking again, so whatever wake-up was on its way has done its
                    // job: this getter takes a key (and passes the wake-up on if keys
                    // are left), or there is no key to wake anyone for.
                    st.waiters -= 1;
                    st.waking = false;
                    getter.waiting = false;
                }
                let next = inner.next(&mut st, &mut getter.owns_timer);
                // Counted as waiting from here until it looks again, so that a key
                // queued meanwhile sends a wake-up (it was registered above).
                if matches!(next, Next::Wait(_)) {
                    st.waiters += 1;
                    getter.waiting = true;
                }
                (next, needs_wake(&mut st))
            };
            if wake {
                inner.item_ready.notify_one();
            }
            match next {
                Next::Return(key) => return key,
                Next::Wait(None) => item_ready.await,
                Next::Wait(Some(at)) => {
                    tokio::select! {
                        () = item_ready => {}
                        () = timer_changed => {}
                        () = tokio::time::sleep_until(at) => {}
                    }
                }
            }
        }
    }

    /// Marks `key` as finished. If it was added while being processed, it is queued
    /// again now. Ignored for a key that is not being processed.
    pub fn done(&self, key: &K) {
        let inner = &*self.inner;
        let hinted = HANDED_OUT.get();
        let (wake, removed) = {
            let mut st = inner.lock();
            let st = &mut *st;
            let slots = &mut st.slots;
            // The key this thread was handed last is, in a worker loop, the one it
            // finishes: one comparison finds its slot, where hashing the key and
            // probing the table cost several times as much.
            let index = if hinted.0 == inner.address()
                && slots
                    .get(hinted.1 as usize)
                    .is_some_and(|e| e.processing && e.key == *key)
            {
                hinted.1
            } else {
                // Hashed under the lock, unlike in `add`: only a worker that finishes
                // keys out of order (or on another thread) gets here.
                #[cfg(test)]
                {
                    st.done_hint_misses += 1;
                }
                let hash = inner.hash(key);
                let Some(&index) = st.entries.find(hash, |&i| slots[i as usize].key == *key) else {
                    return;
                };
                index
            };
            let entry = &mut slots[index as usize];
            if !entry.processing {
                return;
            }
            entry.processing = false;
            st.processing -= 1;
            if let (Some(metrics), Some(started)) = (&inner.metrics, entry.started_at.take()) {
                metrics.done(started.elapsed());
            }
            let removed = if entry.dirty {
                st.dirty_in_flight -= 1;
                st.queue.push_back(index);
                None
            } else {
                let hash = entry.hash;
                st.entries
                    .find_entry(hash, |&i| i == index)
                    .expect("every slot is in the table")
                    .remove();
                Some(slots.remove(index as usize).key)
            };
            if st.shutting_down && st.processing == 0 && st.queue.is_empty() {
                inner.drained.notify_waiters();
            }
            (needs_wake(st), removed)
        };
        // Dropped and woken after unlocking, as in `add`.
        drop(removed);
        if wake {
            inner.item_ready.notify_one();
        }
    }

    /// Number of keys waiting to be handed out (not counting delayed keys that are
    /// not yet due, nor keys being processed).
    pub fn len(&self) -> usize {
        let inner = &*self.inner;
        // Acquire pairs with the release store of the unlock that published it.
        let published = inner.published_len.load(Ordering::Acquire);
        if published != UNKNOWN_LEN {
            return published;
        }
        let mut st = inner.lock();
        inner.promote_due(&mut st);
        let (len, wake) = (st.queue.len(), needs_wake(&mut st));
        drop(st);
        if wake {
            inner.item_ready.notify_one();
        }
        len
    }

    /// Whether no key is waiting to be handed out.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether [`shut_down`](Self::shut_down) or
    /// [`shut_down_with_drain`](Self::shut_down_with_drain) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.lock().shutting_down
    }

    /// Stops the queue: later adds are ignored, queued and delayed keys are dropped and
    /// every `get` returns `None`. Workers may still call `done` for keys they hold.
    /// Also ends a [`shut_down_with_drain`](Self::shut_down_with_drain) in progress.
    pub fn shut_down(&self) {
        let inner = &*self.inner;
        {
            let mut st = inner.lock();
            let st = &mut *st;
            st.shutting_down = true;
            st.draining = false;
            st.delayed.clear();
            // Keys still queued will never be handed out; keys dirty while processing
            // will not be queued again at `done`.
            let discarded = st.queue.len() + st.dirty_in_flight;
            // Queued keys are exactly the entries that are not processing.
            st.queue.clear();
            let slots = &mut st.slots;
            st.entries.retain(|&mut i| {
                let entry = &mut slots[i as usize];
                entry.dirty = false;
                if !entry.processing {
                    slots.remove(i as usize);
                    return false;
                }
                true
            });
            st.dirty_in_flight = 0;
            if let Some(metrics) = &inner.metrics {
                metrics.discarded(discarded);
            }
        }
        inner.wake_all();
    }

    /// Stops accepting keys, lets workers finish every key still queued (and every key
    /// re-added while processing), and returns once nothing is queued or being
    /// processed. Delayed keys are dropped. Workers' `get` returns `None` once nothing
    /// is left to hand out. Returns at once if the queue was already shut down.
    pub async fn shut_down_with_drain(&self) {
        let inner = &*self.inner;
        {
            let mut st = inner.lock();
            if !st.shutting_down {
                st.shutting_down = true;
                st.draining = true;
                st.delayed.clear();
            }
        }
        inner.wake_all();
        loop {
            let mut drained = pin!(inner.drained.notified());
            drained.as_mut().enable();
            {
                let st = inner.lock();
                if !st.draining || (st.processing == 0 && st.queue.is_empty()) {
                    return;
                }
            }
            drained.await;
        }
    }

    /// Checks the relations between the fields of the state; used by the model and
    /// stress tests after every step.
    #[cfg(test)]
    pub(super) fn check_invariants(&self) {
        let inner = &*self.inner;
        let st = inner.lock();
        assert_eq!(
            inner.published_len.load(Ordering::Relaxed),
            published_len(&st),
            "the published length is stale"
        );
        let queued: std::collections::HashSet<&K> = st
            .queue
            .iter()
            .map(|&i| {
                &st.slots
                    .get(i as usize)
                    .expect("a queued slot is vacant")
                    .key
            })
            .collect();
        assert_eq!(queued.len(), st.queue.len(), "a key is queued twice");
        assert_eq!(
            st.entries.len(),
            st.slots.len(),
            "the table and the slots disagree"
        );
        let mut processing = 0;
        let mut dirty_in_flight = 0;
        let mut distinct = std::collections::HashSet::new();
        for &i in &st.entries {
            let entry = st.slots.get(i as usize).expect("an indexed slot is vacant");
            let key = &entry.key;
            assert!(
                st.entries.find(entry.hash, |&j| j == i).is_some(),
                "a slot is not found by its hash"
            );
            assert_eq!(entry.hash, inner.hash(key), "an entry has a stale hash");
            assert!(distinct.insert(key), "a key has two entries");
            assert!(
                entry.dirty || entry.processing,
                "an entry is neither dirty nor processing"
            );
            assert_eq!(
                queued.contains(key),
                entry.dirty && !entry.processing,
                "queued iff dirty and not processing"
            );
            processing += usize::from(entry.processing);
            dirty_in_flight += usize::from(entry.dirty && entry.processing);
        }
        assert!(queued.iter().all(|k| distinct.contains(*k)));
        assert_eq!(processing, st.processing);
        assert_eq!(dirty_in_flight, st.dirty_in_flight);
        if st.shutting_down && !st.draining {
            assert!(st.queue.is_empty() && st.delayed.is_empty());
        }
    }

    /// Number of getters counted as waiting for a key; for tests.
    #[cfg(test)]
    pub(super) fn waiting_getters(&self) -> usize {
        self.inner.lock().waiters
    }

    /// Number of wake-ups `add`, `done`, `len` and `get` have sent to waiting getters
    /// for queued keys; for tests.
    #[cfg(test)]
    pub(super) fn wake_ups_sent(&self) -> usize {
        self.inner.lock().wake_ups
    }

    /// Number of `done` calls that had to hash their key to find it; for tests.
    #[cfg(test)]
    pub(super) fn done_hint_misses(&self) -> usize {
        self.inner.lock().done_hint_misses
    }

    /// Holds the queue's lock until the result is dropped; for tests.
    #[cfg(test)]
    pub(super) fn hold_lock(&self) -> impl Sized + '_ {
        self.inner.lock()
    }

    /// Number of keys waiting for a ready time; for tests.
    #[cfg(test)]
    pub(super) fn delayed_len(&self) -> usize {
        self.inner.lock().delayed.len()
    }

    /// Whether the queue records timestamps (it does only with metrics); for tests.
    #[cfg(test)]
    pub(super) fn records_timestamps(&self) -> bool {
        let st = self.inner.lock();
        st.slots
            .iter()
            .any(|(_, e)| e.queued_at.is_some() || e.started_at.is_some())
    }
}

impl<K: Key> Inner<K> {
    fn lock(&self) -> StateGuard<'_, K> {
        // The lock is not poisoned by a panic: no code under it leaves the state
        // half-updated on panic except a panicking `Eq` of the key (keys are hashed
        // before locking), so going on beats cascading panics.
        StateGuard {
            state: self.state.lock(),
            published_len: &self.published_len,
        }
    }

    /// Identifies this queue in `HANDED_OUT`.
    fn address(&self) -> usize {
        std::ptr::from_ref(self).addr()
    }

    /// Hashes a key for `entries`; done before taking the lock.
    fn hash(&self, key: &K) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Marks `key` dirty and queues it unless it is already dirty (stingy) or being
    /// processed (it is queued again at `done`). The caller wakes a getter if
    /// `needs_wake` says so, and drops the key it gets back (a duplicate) once it has
    /// unlocked.
    fn add_locked(&self, st: &mut State<K>, added: Hashed<K>, now: Option<Instant>) -> Option<K> {
        let Hashed { hash, key } = added;
        let mut unused = None;
        let slots = &mut st.slots;
        match st.entries.entry(
            hash,
            |&i| slots[i as usize].key == key,
            |&i| slots[i as usize].hash,
        ) {
            TableEntry::Occupied(occupied) => {
                let entry = &mut slots[*occupied.get() as usize];
                if entry.dirty {
                    return Some(key);
                }
                // Not dirty, so processing: `done` will queue it.
                entry.dirty = true;
                entry.queued_at = now;
                st.dirty_in_flight += 1;
                unused = Some(key);
            }
            TableEntry::Vacant(vacant) => {
                let index = slots.insert(Entry {
                    key,
                    hash,
                    dirty: true,
                    processing: false,
                    queued_at: now,
                    started_at: None,
                });
                let index = u32::try_from(index).expect("fewer than 2^32 keys in a queue");
                vacant.insert(index);
                st.queue.push_back(index);
            }
        }
        if let Some(metrics) = &self.metrics {
            metrics.added();
        }
        unused
    }

    /// Adds every delayed key whose ready time has passed, earliest first. The caller
    /// wakes a getter for them if `needs_wake` says so.
    #[inline]
    fn promote_due(&self, st: &mut State<K>) {
        // Every add and get checks; keys are rarely delayed, so keep the check inline
        // and the work out of line.
        if !st.delayed.is_empty() {
            self.promote_due_slow(st);
        }
    }

    #[cold]
    fn promote_due_slow(&self, st: &mut State<K>) {
        let now = Instant::now();
        while let Some((key, ready_at)) = st.delayed.pop_due(now) {
            // The key has been waiting in the queue's sense since its ready time.
            let queued_at = self.metrics.as_ref().map(|_| ready_at);
            let hash = self.hash(&key);
            // Keys are dropped under the lock here; delayed keys are rare.
            drop(self.add_locked(st, Hashed { hash, key }, queued_at));
        }
    }

    /// `next` for a getter that is not counted as waiting, from taking the lock to
    /// sending the wake-up it leaves to do: a key (or `None` for shutdown), or
    /// nothing if the getter must wait.
    #[inline]
    fn next_unwaited(&self, owns_timer: &mut bool) -> Option<Option<K>> {
        self.next_from(self.lock(), owns_timer)
    }

    /// `next_unwaited` if the lock is free; nothing if it is held.
    #[inline]
    fn try_next_unwaited(&self, owns_timer: &mut bool) -> Option<Option<K>> {
        let state = self.state.try_lock()?;
        self.next_from(
            StateGuard {
                state,
                published_len: &self.published_len,
            },
            owns_timer,
        )
    }

    /// `next_unwaited` once the lock is taken.
    #[inline]
    fn next_from(&self, mut st: StateGuard<'_, K>, owns_timer: &mut bool) -> Option<Option<K>> {
        let next = self.next(&mut st, owns_timer);
        let wake = needs_wake(&mut st);
        drop(st);
        if wake {
            self.item_ready.notify_one();
        }
        match next {
            Next::Return(key) => Some(key),
            Next::Wait(_) => None,
        }
    }

    /// Takes the next key for a getter, or says how to wait. `owns_timer` is whether
    /// this getter sleeps until the earliest delayed key; it is claimed and released
    /// here.
    /// The caller then calls `needs_wake`: keys may be left for another waiting getter.
    fn next(&self, st: &mut State<K>, owns_timer: &mut bool) -> Next<K> {
        self.promote_due(st);
        if st.shutting_down && !st.draining {
            return Next::Return(None);
        }
        if let Some(index) = st.queue.pop_front() {
            HANDED_OUT.set((self.address(), index));
            let entry = &mut st.slots[index as usize];
            let key = entry.key.clone();
            entry.dirty = false;
            entry.processing = true;
            st.processing += 1;
            if let Some(metrics) = &self.metrics {
                let now = Instant::now();
                let waited = entry.queued_at.take().map_or(Duration::ZERO, |t| now - t);
                metrics.got(waited);
                entry.started_at = Some(now);
            }
            if st.shutting_down && st.queue.is_empty() && st.dirty_in_flight == 0 {
                // Draining and that was the last key: the other getters can stop.
                self.item_ready.notify_waiters();
            }
            return Next::Return(Some(key));
        }
        if st.shutting_down && st.dirty_in_flight == 0 {
            return Next::Return(None);
        }
        match st.delayed.next_deadline() {
            Some(at) if *owns_timer || !st.timer_claimed => {
                st.timer_claimed = true;
                *owns_timer = true;
                Next::Wait(Some(at))
            }
            Some(_) => Next::Wait(None),
            None => {
                if *owns_timer {
                    st.timer_claimed = false;
                    *owns_timer = false;
                }
                Next::Wait(None)
            }
        }
    }

    fn wake_all(&self) {
        self.item_ready.notify_waiters();
        self.timer_changed.notify_waiters();
        self.drained.notify_waiters();
    }
}

thread_local! {
    /// The queue (`Inner::address`) and slot of the key this thread's last `get`
    /// handed out, which `done` tries before hashing. Only a hint: `done` checks that
    /// the slot holds an equal key being processed, so a stale or foreign hint (a
    /// queue dropped and another built at its address, a slot reused) just misses.
    static HANDED_OUT: Cell<(usize, u32)> = const { Cell::new((0, u32::MAX)) };
}

/// `Inner::published_len` while keys wait for a ready time.
const UNKNOWN_LEN: usize = usize::MAX;

/// The locked state; publishes the queue's length (`Inner::published_len`) when it
/// unlocks.
struct StateGuard<'a, K: Key> {
    state: QueueGuard<'a, State<K>>,
    published_len: &'a AtomicUsize,
}

impl<K: Key> Drop for StateGuard<'_, K> {
    #[inline]
    fn drop(&mut self) {
        // Runs before the field `state` is dropped, so still under the lock.
        self.published_len
            .store(published_len(&self.state), Ordering::Release);
    }
}

impl<K: Key> Deref for StateGuard<'_, K> {
    type Target = State<K>;

    fn deref(&self) -> &State<K> {
        &self.state
    }
}

impl<K: Key> DerefMut for StateGuard<'_, K> {
    fn deref_mut(&mut self) -> &mut State<K> {
        &mut self.state
    }
}

/// What `Inner::published_len` must hold for this state.
#[inline]
fn published_len<K: Key>(st: &State<K>) -> usize {
    if st.delayed.is_empty() {
        st.queue.len()
    } else {
        UNKNOWN_LEN
    }
}

/// Whether the caller must wake a waiting getter (with `item_ready.notify_one`, once
/// it has unlocked): keys are queued, a getter waits, and no wake-up is on its way.
/// Called after every step that can queue a key or take one, so that whenever keys
/// are queued and getters wait, a wake-up is on its way (`State::waking`) to a getter
/// that will look again; that getter, having taken a key, calls this again and so
/// passes the wake-up on while keys are left.
#[inline]
fn needs_wake<K>(st: &mut State<K>) -> bool {
    if st.waiters == 0 || st.waking || st.queue.is_empty() {
        return false;
    }
    st.waking = true;
    #[cfg(test)]
    {
        st.wake_ups += 1;
    }
    true
}

/// What a `get` holds in the state while it waits: its count in `State::waiters`, and
/// possibly the claim on sleeping until the earliest delayed key. Both are released
/// when the getter returns or its future is dropped; a released timer claim is handed
/// to another waiting getter.
struct Getter<'a, K: Key> {
    inner: &'a Inner<K>,
    owns_timer: bool,
    /// Counted in `State::waiters`.
    waiting: bool,
}

impl<K: Key> Drop for Getter<'_, K> {
    fn drop(&mut self) {
        if !self.owns_timer && !self.waiting {
            return;
        }
        let mut st = self.inner.lock();
        if self.waiting {
            st.waiters -= 1;
        }
        if self.owns_timer {
            st.timer_claimed = false;
            if !st.delayed.is_empty() && st.waiters > 0 {
                self.inner.item_ready.notify_one();
            }
        }
    }
}

impl<K: Key> InFlight for Inner<K> {
    fn name(&self) -> &str {
        self.metrics.as_ref().map_or("", QueueMetrics::name)
    }

    fn in_flight_seconds(&self, now: Instant) -> (f64, f64) {
        let st = self.lock();
        let mut total = 0.0;
        let mut longest = 0.0f64;
        for started in st.slots.iter().filter_map(|(_, e)| e.started_at) {
            let age = now.saturating_duration_since(started).as_secs_f64();
            total += age;
            longest = longest.max(age);
        }
        (total, longest)
    }
}
