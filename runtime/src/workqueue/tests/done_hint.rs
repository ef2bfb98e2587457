//! `done` finds the key its thread was handed last without hashing it (the
//! `HANDED_OUT` hint); every other `done` hashes and still finds the right key, or
//! ignores a key that is not being processed.

use std::sync::Arc;

use super::{now_or_never, soon};
use crate::workqueue::WorkQueue;

#[tokio::test(start_paused = true)]
async fn a_worker_loop_finishes_every_key_without_hashing_it() {
    let q = WorkQueue::new();
    for round in 0..3 {
        for key in ["a", "b", "c"] {
            q.add(key);
        }
        while let Some(key) = now_or_never(q.get()).flatten() {
            q.done(&key);
        }
        assert_eq!(q.done_hint_misses(), 0, "round {round}");
    }
    q.check_invariants();
}

#[tokio::test(start_paused = true)]
async fn keys_finished_out_of_order_are_found_by_their_hash() {
    let q = WorkQueue::new();
    for key in ["a", "b", "c"] {
        q.add(key);
    }
    let got: Vec<_> = [(); 3]
        .map(|()| now_or_never(q.get()).flatten().unwrap())
        .into();
    assert_eq!(got, ["a", "b", "c"]);
    // `c` was handed out last: finishing `a` first misses the hint.
    q.done(&"a");
    assert_eq!(q.done_hint_misses(), 1);
    q.check_invariants();
    q.add("a");
    q.add("b"); // processing: queued again at `done`
    q.done(&"b");
    q.done(&"c");
    q.check_invariants();
    assert_eq!(soon(q.get()).await, Some("a"));
    assert_eq!(soon(q.get()).await, Some("b"));
    assert_eq!(q.len(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_hint_for_a_reused_slot_does_not_finish_another_key() {
    let q = WorkQueue::new();
    q.add("a");
    let a = soon(q.get()).await.unwrap();
    q.done(&a);
    // `b` takes the slot `a` had; the hint points at it.
    q.add("b");
    assert_eq!(soon(q.get()).await, Some("b"));
    q.done(&"a"); // not being processed: ignored
    q.add("b");
    assert_eq!(now_or_never(q.get()), None, "`b` was finished by `done(a)`");
    q.done(&"b");
    assert_eq!(soon(q.get()).await, Some("b"));
    q.check_invariants();
}

#[tokio::test(start_paused = true)]
async fn a_hint_from_another_queue_is_not_taken() {
    let (p, q) = (WorkQueue::new(), WorkQueue::new());
    p.add("a");
    q.add("a");
    assert_eq!(soon(p.get()).await, Some("a"));
    assert_eq!(soon(q.get()).await, Some("a"));
    // The hint names `q`'s slot 0; `p`'s `done` must find its own.
    p.done(&"a");
    p.add("a");
    assert_eq!(soon(p.get()).await, Some("a"));
    q.add("a");
    assert_eq!(now_or_never(q.get()), None, "`q`'s `a` was finished by `p`");
    p.check_invariants();
    q.check_invariants();
}

/// Keys taken on one thread and finished on another: the finishing thread's hint is
/// of no use and every `done` hashes. Bounded: 1,000 keys.
#[test]
fn keys_finished_on_another_thread_are_found() {
    let q = Arc::new(WorkQueue::new());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let keys: Vec<u32> = (0..1_000).collect();
    for &key in &keys {
        q.add(key);
    }
    let got: Vec<u32> = runtime.block_on(async {
        let mut got = Vec::new();
        while let Some(key) = now_or_never(q.get()).flatten() {
            got.push(key);
        }
        got
    });
    assert_eq!(got, keys);
    std::thread::scope(|s| {
        s.spawn(|| {
            for key in &got {
                q.done(key);
            }
        });
    });
    q.check_invariants();
    assert_eq!(q.done_hint_misses(), keys.len());
    q.add(7);
    assert_eq!(
        now_or_never(q.get()),
        Some(Some(7)),
        "7 is still processing"
    );
}
