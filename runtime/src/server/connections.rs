//! The table of open connections, and which one to shed when it is full.
//!
//! A controller's HTTP port must keep answering its probes while someone
//! holds thousands of connections open without sending a request. Refusing
//! new connections at the cap would refuse the probe too; instead the
//! connection that has waited longest without a request in progress is
//! closed, so a flood of idle connections evicts itself and a probe, which
//! sends its request at once, is served.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::oneshot;

/// `idle_since` of a connection with a request in progress.
const BUSY: u64 = u64::MAX;

/// A connection's place in the table; dropping it removes the entry.
pub(super) struct Slot {
    id: u64,
    state: Arc<AtomicU64>,
    table: Arc<Table>,
}

impl Slot {
    /// A request arrived: not a candidate for eviction until it is answered.
    pub(super) fn busy(&self) -> BusyGuard {
        self.state.store(BUSY, Ordering::Relaxed);
        BusyGuard {
            state: self.state.clone(),
            epoch: self.table.epoch,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.table.entries.lock().unwrap().remove(&self.id);
    }
}

/// Marks the connection idle again when the request's handling ends.
pub(super) struct BusyGuard {
    state: Arc<AtomicU64>,
    epoch: Instant,
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.state
            .store(micros_since(self.epoch), Ordering::Relaxed);
    }
}

struct Entry {
    state: Arc<AtomicU64>,
    evict: oneshot::Sender<()>,
}

pub(super) struct Table {
    epoch: Instant,
    capacity: usize,
    next: AtomicU64,
    entries: Mutex<HashMap<u64, Entry>>,
}

/// What `admit` decided for a new connection.
pub(super) enum Admission {
    /// Serve it (another connection may have been evicted for it) until the
    /// receiver fires: then it is evicted.
    Serve(Slot, oneshot::Receiver<()>),
    /// The table is full of connections with requests in progress.
    Refuse,
}

impl Table {
    pub(super) fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            epoch: Instant::now(),
            capacity: capacity.max(1),
            next: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
        })
    }

    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(super) fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }

    /// Registers a new connection, evicting the longest-idle one when the
    /// table is full.
    pub(super) fn admit(self: &Arc<Self>) -> Admission {
        let mut entries = self.entries.lock().unwrap();
        if entries.len() >= self.capacity && !self.evict_locked(&mut entries) {
            return Admission::Refuse;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(AtomicU64::new(micros_since(self.epoch)));
        let (evict, evicted) = oneshot::channel();
        entries.insert(
            id,
            Entry {
                state: state.clone(),
                evict,
            },
        );
        let slot = Slot {
            id,
            state,
            table: self.clone(),
        };
        Admission::Serve(slot, evicted)
    }

    /// Evicts the longest-idle connection, if any is idle. Used at the cap,
    /// and when the process runs out of file descriptors.
    pub(super) fn evict_one(&self) -> bool {
        self.evict_locked(&mut self.entries.lock().unwrap())
    }

    fn evict_locked(&self, entries: &mut HashMap<u64, Entry>) -> bool {
        // O(n) at the cap only; n is bounded by the capacity and a scan of
        // ten thousand entries takes microseconds.
        let oldest = entries
            .iter()
            .map(|(id, e)| (e.state.load(Ordering::Relaxed), *id))
            .filter(|(since, _)| *since != BUSY)
            .min();
        let Some((_, id)) = oldest else {
            return false;
        };
        // Out of the table at once, so it no longer counts against the
        // capacity while its task winds down.
        let entry = entries.remove(&id).expect("found above");
        let _ = entry.evict.send(());
        true
    }
}

fn micros_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_micros()).unwrap_or(BUSY - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Served {
        slot: Slot,
        evicted: oneshot::Receiver<()>,
    }

    fn serve(table: &Arc<Table>) -> Served {
        match table.admit() {
            Admission::Serve(slot, evicted) => Served { slot, evicted },
            Admission::Refuse => panic!("refused"),
        }
    }

    #[test]
    fn the_longest_idle_connection_is_evicted_at_the_cap() {
        let table = Table::new(2);
        let mut first = serve(&table);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let mut second = serve(&table);
        let mut third = serve(&table);
        assert!(first.evicted.try_recv().is_ok(), "oldest idle goes");
        assert!(second.evicted.try_recv().is_err());
        assert!(third.evicted.try_recv().is_err());
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn a_connection_with_a_request_in_progress_is_never_evicted() {
        let table = Table::new(2);
        let first = serve(&table);
        let _busy = first.slot.busy();
        let mut second = serve(&table);
        let _third = serve(&table);
        assert!(second.evicted.try_recv().is_ok(), "the idle one goes");
        let busy_too = second.slot.busy();
        drop(busy_too);
        let table_full_of_busy = Table::new(1);
        let only = serve(&table_full_of_busy);
        let _guard = only.slot.busy();
        assert!(matches!(table_full_of_busy.admit(), Admission::Refuse));
    }

    #[test]
    fn a_closed_connection_frees_its_place() {
        let table = Table::new(1);
        let first = serve(&table);
        drop(first);
        assert_eq!(table.len(), 0);
        let mut second = serve(&table);
        assert!(second.evicted.try_recv().is_err());
    }
}
