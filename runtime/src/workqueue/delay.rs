//! The set of keys waiting for their ready time (the "delaying" part of the queue).

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};

use ahash::RandomState;
use tokio::time::Instant;

use super::Key;

/// Keys waiting to be added, each with one ready time.
///
/// A key appears once in `ready_at`; when a key gets an earlier ready time, a new heap
/// entry is pushed and the old one is left behind. Rather than searching the heap, a
/// stale entry is recognised (its sequence number no longer matches `ready_at`) and
/// discarded when it reaches the top, which keeps every operation O(log n).
pub(super) struct DelaySet<K> {
    heap: BinaryHeap<Reverse<Timer<K>>>,
    ready_at: HashMap<K, (Instant, u64), RandomState>,
    next_seq: u64,
}

/// One heap entry. Ordered by ready time, then by insertion, so keys with the same
/// ready time come out in the order they were delayed.
struct Timer<K> {
    at: Instant,
    seq: u64,
    key: K,
}

impl<K> PartialEq for Timer<K> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<K> Eq for Timer<K> {}

impl<K> PartialOrd for Timer<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<K> Ord for Timer<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

impl<K: Key> DelaySet<K> {
    pub(super) fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            ready_at: HashMap::default(),
            next_seq: 0,
        }
    }

    /// Number of distinct keys waiting.
    pub(super) fn len(&self) -> usize {
        self.ready_at.len()
    }

    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.ready_at.is_empty()
    }

    /// Records that `key` is ready at `at`, unless it already waits for an earlier (or
    /// the same) time: the earlier ready time wins. Returns whether `at` was recorded.
    pub(super) fn insert(&mut self, key: K, at: Instant) -> bool {
        let seq = self.next_seq;
        match self.ready_at.get_mut(&key) {
            Some(current) if current.0 <= at => return false,
            Some(current) => *current = (at, seq),
            None => {
                self.ready_at.insert(key.clone(), (at, seq));
            }
        }
        self.next_seq += 1;
        self.heap.push(Reverse(Timer { at, seq, key }));
        true
    }

    /// The earliest ready time, if any key waits.
    pub(super) fn next_deadline(&mut self) -> Option<Instant> {
        self.discard_stale();
        self.heap.peek().map(|Reverse(timer)| timer.at)
    }

    /// Removes and returns the earliest key whose ready time is at or before `now`,
    /// with that ready time.
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<(K, Instant)> {
        self.discard_stale();
        if self.heap.peek()?.0.at > now {
            return None;
        }
        let Reverse(timer) = self.heap.pop()?;
        self.ready_at.remove(&timer.key);
        Some((timer.key, timer.at))
    }

    /// Drops every waiting key.
    pub(super) fn clear(&mut self) {
        self.heap.clear();
        self.ready_at.clear();
    }

    /// Pops heap entries superseded by an earlier ready time for the same key, so the
    /// top of the heap is live.
    fn discard_stale(&mut self) {
        while let Some(Reverse(top)) = self.heap.peek() {
            if self.ready_at.get(&top.key) == Some(&(top.at, top.seq)) {
                return;
            }
            self.heap.pop();
        }
    }
}
