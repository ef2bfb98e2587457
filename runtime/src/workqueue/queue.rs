//! The queue: dirty and processing sets, FIFO order, delayed keys and shutdown.

use std::collections::hash_map::Entry as MapEntry;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::Hash;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::delay::DelaySet;
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
            .field("delayed", &st.delayed.len())
            .field("shutting_down", &st.shutting_down)
            .finish()
    }
}

struct Inner<K> {
    state: Mutex<State<K>>,
    /// Wakes idle getters: `notify_one` per queued key, `notify_waiters` when `get`
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
    /// Keys waiting to be handed out, oldest first. A key is here iff its entry is
    /// dirty and not processing.
    queue: VecDeque<K>,
    /// Every key that is dirty, processing, or both.
    entries: HashMap<K, Entry>,
    /// Number of entries that are processing.
    processing: usize,
    /// Number of entries that are processing and dirty: they will be queued again at
    /// `done`, so a draining queue is not finished while this is non-zero.
    dirty_in_flight: usize,
    delayed: DelaySet<K>,
    /// Whether a getter is sleeping until `delayed`'s earliest ready time.
    timer_claimed: bool,
    shutting_down: bool,
    /// Shutting down, but still handing out queued keys.
    draining: bool,
}

#[derive(Debug)]
struct Entry {
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
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    entries: HashMap::new(),
                    processing: 0,
                    dirty_in_flight: 0,
                    delayed: DelaySet::new(),
                    timer_claimed: false,
                    shutting_down: false,
                    draining: false,
                }),
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
        let mut st = inner.lock();
        if st.shutting_down {
            return;
        }
        // Keys that became due before this add go first, to keep ready-time order.
        inner.promote_due(&mut st);
        let now = inner.metrics.as_ref().map(|_| Instant::now());
        inner.add_locked(&mut st, key, now);
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
            inner.add_locked(&mut st, key, inner.metrics.as_ref().map(|_| now));
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
            // No getter sleeps on the timer: wake an idle one so it takes the job.
            inner.item_ready.notify_one();
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
        let inner = &*self.inner;
        // Fast path: registering with the notifiers costs more than the rest of `get`,
        // so only do it when there is nothing to take.
        let mut timer = TimerClaim {
            inner,
            owned: false,
        };
        if let Next::Return(key) = inner.next(&mut inner.lock(), &mut timer.owned) {
            return key;
        }
        loop {
            // Register before looking at the state, so a wake-up sent between the look
            // and the await is not missed.
            let mut item_ready = pin!(inner.item_ready.notified());
            item_ready.as_mut().enable();
            let mut timer_changed = pin!(inner.timer_changed.notified());
            timer_changed.as_mut().enable();
            let next = inner.next(&mut inner.lock(), &mut timer.owned);
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
        let mut st = inner.lock();
        let st = &mut *st;
        let Some(entry) = st.entries.get_mut(key) else {
            return;
        };
        if !entry.processing {
            return;
        }
        entry.processing = false;
        st.processing -= 1;
        if let (Some(metrics), Some(started)) = (&inner.metrics, entry.started_at.take()) {
            metrics.done(started.elapsed());
        }
        if entry.dirty {
            st.dirty_in_flight -= 1;
            st.queue.push_back(key.clone());
            inner.item_ready.notify_one();
        } else {
            st.entries.remove(key);
        }
        if st.shutting_down && st.processing == 0 && st.queue.is_empty() {
            inner.drained.notify_waiters();
        }
    }

    /// Number of keys waiting to be handed out (not counting delayed keys that are
    /// not yet due, nor keys being processed).
    pub fn len(&self) -> usize {
        let mut st = self.inner.lock();
        self.inner.promote_due(&mut st);
        st.queue.len()
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
            for key in st.queue.drain(..) {
                st.entries.remove(&key);
            }
            for entry in st.entries.values_mut() {
                entry.dirty = false;
            }
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
        let st = self.inner.lock();
        let queued: std::collections::HashSet<&K> = st.queue.iter().collect();
        assert_eq!(queued.len(), st.queue.len(), "a key is queued twice");
        let mut processing = 0;
        let mut dirty_in_flight = 0;
        for (key, entry) in &st.entries {
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
        assert!(queued.iter().all(|k| st.entries.contains_key(*k)));
        assert_eq!(processing, st.processing);
        assert_eq!(dirty_in_flight, st.dirty_in_flight);
        if st.shutting_down && !st.draining {
            assert!(st.queue.is_empty() && st.delayed.is_empty());
        }
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
        st.entries
            .values()
            .any(|e| e.queued_at.is_some() || e.started_at.is_some())
    }
}

impl<K: Key> Inner<K> {
    fn lock(&self) -> MutexGuard<'_, State<K>> {
        // No code under this lock leaves the state half-updated on panic except a
        // panicking `Hash`/`Eq` of the key, so recovering beats cascading panics.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks `key` dirty and queues it unless it is already dirty (stingy) or being
    /// processed (it is queued again at `done`).
    fn add_locked(&self, st: &mut State<K>, key: K, now: Option<Instant>) {
        match st.entries.entry(key) {
            MapEntry::Occupied(mut occupied) => {
                let entry = occupied.get_mut();
                if entry.dirty {
                    return;
                }
                // Not dirty, so processing: `done` will queue it.
                entry.dirty = true;
                entry.queued_at = now;
                st.dirty_in_flight += 1;
            }
            MapEntry::Vacant(vacant) => {
                st.queue.push_back(vacant.key().clone());
                vacant.insert(Entry {
                    dirty: true,
                    processing: false,
                    queued_at: now,
                    started_at: None,
                });
                self.item_ready.notify_one();
            }
        }
        if let Some(metrics) = &self.metrics {
            metrics.added();
        }
    }

    /// Adds every delayed key whose ready time has passed, earliest first.
    fn promote_due(&self, st: &mut State<K>) {
        if st.delayed.is_empty() {
            return;
        }
        let now = Instant::now();
        while let Some((key, ready_at)) = st.delayed.pop_due(now) {
            // The key has been waiting in the queue's sense since its ready time.
            let queued_at = self.metrics.as_ref().map(|_| ready_at);
            self.add_locked(st, key, queued_at);
        }
    }

    /// Takes the next key for a getter, or says how to wait. `owns_timer` is whether
    /// this getter sleeps until the earliest delayed key; it is claimed and released
    /// here.
    fn next(&self, st: &mut State<K>, owns_timer: &mut bool) -> Next<K> {
        self.promote_due(st);
        if st.shutting_down && !st.draining {
            return Next::Return(None);
        }
        if let Some(key) = st.queue.pop_front() {
            let entry = st
                .entries
                .get_mut(&key)
                .expect("every queued key has an entry");
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

/// A getter's claim on sleeping until the earliest delayed key. Released when the
/// getter returns or its future is dropped, handing the job to another idle getter.
struct TimerClaim<'a, K: Key> {
    inner: &'a Inner<K>,
    owned: bool,
}

impl<K: Key> Drop for TimerClaim<'_, K> {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let mut st = self.inner.lock();
        st.timer_claimed = false;
        if !st.delayed.is_empty() {
            self.inner.item_ready.notify_one();
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
        for started in st.entries.values().filter_map(|e| e.started_at) {
            let age = now.saturating_duration_since(started).as_secs_f64();
            total += age;
            longest = longest.max(age);
        }
        (total, longest)
    }
}
