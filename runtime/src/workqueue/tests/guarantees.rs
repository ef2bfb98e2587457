//! One test per guarantee in the module docs, named after it.

use std::time::Duration;

use super::{now_or_never, settle, soon};
use crate::workqueue::WorkQueue;

#[tokio::test(start_paused = true)]
async fn fair() {
    let q = WorkQueue::new();
    for key in ["a", "b", "c", "d"] {
        q.add(key);
    }
    // Re-adding a queued key must not move it to the back.
    q.add("a");
    let mut order = Vec::new();
    while let Some(key) = now_or_never(q.get()).flatten() {
        order.push(key);
        q.done(&key);
    }
    assert_eq!(order, ["a", "b", "c", "d"]);
}

#[tokio::test(start_paused = true)]
async fn stingy() {
    let q = WorkQueue::new();
    for _ in 0..10 {
        q.add("a");
    }
    q.add("b");
    assert_eq!(q.len(), 2);
    assert_eq!(soon(q.get()).await, Some("a"));
    assert_eq!(soon(q.get()).await, Some("b"));
    assert_eq!(now_or_never(q.get()), None, "`a` was handed out twice");
}

#[tokio::test(start_paused = true)]
async fn never_processed_by_two_workers_at_once() {
    let q = WorkQueue::new();
    q.add("a");
    assert_eq!(soon(q.get()).await, Some("a"));
    q.add("a");
    // A second worker must not get `a` while the first holds it.
    assert_eq!(now_or_never(q.get()), None);
    assert_eq!(q.len(), 0);
    q.done(&"a");
    assert_eq!(now_or_never(q.get()), Some(Some("a")));
}

#[tokio::test(start_paused = true)]
async fn never_processed_by_two_workers_at_once_with_a_waiting_worker() {
    let q = WorkQueue::new();
    q.add("a");
    let held = soon(q.get()).await.unwrap();
    let waiter = tokio::spawn({
        let q = q.clone();
        async move { soon(q.get()).await }
    });
    q.add("a");
    settle().await;
    assert!(
        !waiter.is_finished(),
        "a second worker got `a` while it was held"
    );
    q.done(&held);
    assert_eq!(soon(waiter).await.unwrap(), Some("a"));
}

#[tokio::test(start_paused = true)]
async fn re_added_while_processing() {
    let q = WorkQueue::new();
    q.add("a");
    q.add("b");
    assert_eq!(soon(q.get()).await, Some("a"));
    q.add("a");
    q.add("a");
    q.done(&"a");
    // Queued again at `done`, behind `b`, and once only.
    assert_eq!(soon(q.get()).await, Some("b"));
    assert_eq!(soon(q.get()).await, Some("a"));
    q.done(&"a");
    q.done(&"b");
    assert!(q.is_empty());
    assert_eq!(now_or_never(q.get()), None);
}

#[tokio::test(start_paused = true)]
async fn shut_down() {
    let q = WorkQueue::new();
    let idle = tokio::spawn({
        let q = q.clone();
        async move { soon(q.get()).await }
    });
    settle().await;
    q.add("a");
    assert_eq!(soon(idle).await.unwrap(), Some("a"));

    let blocked = tokio::spawn({
        let q = q.clone();
        async move { soon(q.get()).await }
    });
    settle().await;
    q.add("b");
    q.add("c");
    q.shut_down();
    // The blocked getter was woken by the add but runs only after the shutdown.
    assert_eq!(soon(blocked).await.unwrap(), None);
    assert!(q.is_shutting_down());
    assert_eq!(soon(q.get()).await, None, "queued keys are dropped");
    q.add("d");
    assert_eq!(q.len(), 0, "adds after shutdown are ignored");
    assert_eq!(soon(q.get()).await, None);
    // A worker may still finish what it holds.
    q.done(&"a");
    q.check_invariants();
}

#[tokio::test(start_paused = true)]
async fn shut_down_wakes_every_idle_worker() {
    let q: WorkQueue<u32> = WorkQueue::new();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let q = q.clone();
            tokio::spawn(async move { soon(q.get()).await })
        })
        .collect();
    settle().await;
    q.shut_down();
    for worker in workers {
        assert_eq!(soon(worker).await.unwrap(), None);
    }
}

#[tokio::test(start_paused = true)]
async fn shut_down_with_drain() {
    let q = WorkQueue::new();
    q.add("a");
    q.add("b");
    let held = soon(q.get()).await.unwrap();
    q.add("a"); // re-added while processing: must still be handed out
    q.add_after("later", Duration::from_secs(1));

    let drain = tokio::spawn({
        let q = q.clone();
        async move { q.shut_down_with_drain().await }
    });
    settle().await;
    assert!(
        !drain.is_finished(),
        "returned while `a` was being processed"
    );
    q.add("c");

    assert_eq!(soon(q.get()).await, Some("b"));
    q.done(&"b");
    settle().await;
    assert!(!drain.is_finished());
    q.done(&held);
    assert_eq!(soon(q.get()).await, Some("a"));
    settle().await;
    assert!(!drain.is_finished());
    q.done(&"a");
    soon(drain).await.unwrap();
    // `c` came after shutdown and `later` was delayed: both dropped.
    assert_eq!(soon(q.get()).await, None);
    q.check_invariants();
}

#[tokio::test(start_paused = true)]
async fn shut_down_with_drain_keeps_idle_workers_until_re_added_keys_are_handed_out() {
    let q = WorkQueue::new();
    q.add("a");
    let held = soon(q.get()).await.unwrap();
    q.add("a");
    let drain = tokio::spawn({
        let q = q.clone();
        async move { q.shut_down_with_drain().await }
    });
    // An idle worker must not be told to stop while `a` still has to be processed again.
    let idle = tokio::spawn({
        let q = q.clone();
        async move { soon(q.get()).await }
    });
    settle().await;
    assert!(!idle.is_finished());
    q.done(&held);
    assert_eq!(soon(idle).await.unwrap(), Some("a"));
    assert_eq!(soon(q.get()).await, None);
    q.done(&"a");
    soon(drain).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn shut_down_ends_a_drain_in_progress() {
    let q = WorkQueue::new();
    q.add(1);
    let _held = soon(q.get()).await.unwrap();
    let drain = tokio::spawn({
        let q = q.clone();
        async move { q.shut_down_with_drain().await }
    });
    settle().await;
    assert!(!drain.is_finished());
    q.shut_down();
    soon(drain).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn shut_down_with_drain_returns_at_once_when_idle() {
    let q: WorkQueue<u8> = WorkQueue::new();
    assert_eq!(now_or_never(q.shut_down_with_drain()), Some(()));
    assert_eq!(soon(q.get()).await, None);
}

#[tokio::test(start_paused = true)]
async fn done_for_a_key_not_being_processed_is_ignored() {
    let q = WorkQueue::new();
    q.done(&"x");
    q.add("a");
    q.done(&"a"); // queued, not processing: `done` must not dequeue or duplicate it
    assert_eq!(q.len(), 1);
    assert_eq!(soon(q.get()).await, Some("a"));
    q.done(&"a");
    q.done(&"a");
    assert!(q.is_empty());
    q.check_invariants();
}

#[tokio::test(start_paused = true)]
async fn clones_share_one_queue() {
    let q = WorkQueue::new();
    let producer = q.clone();
    producer.add("a");
    producer.add("a");
    assert_eq!(q.len(), 1);
    assert_eq!(soon(q.clone().get()).await, Some("a"));
    producer.shut_down();
    assert!(q.is_shutting_down());
}

#[tokio::test(start_paused = true)]
async fn get_is_cancel_safe() {
    let q = WorkQueue::new();
    // A getter that is dropped while waiting must not swallow the key added next.
    assert_eq!(now_or_never(q.get()), None);
    let waiting = tokio::spawn({
        let q = q.clone();
        async move { soon(q.get()).await }
    });
    settle().await;
    waiting.abort();
    let _ = waiting.await;
    q.add("a");
    assert_eq!(soon(q.get()).await, Some("a"));
}

#[tokio::test(start_paused = true)]
async fn each_add_wakes_one_idle_worker() {
    let q = WorkQueue::new();
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let q = q.clone();
            tokio::spawn(async move { soon(q.get()).await })
        })
        .collect();
    settle().await;
    q.add(1);
    q.add(2);
    q.add(3);
    let mut got = Vec::new();
    for worker in workers {
        got.push(soon(worker).await.unwrap().unwrap());
    }
    got.sort_unstable();
    assert_eq!(got, [1, 2, 3]);
}
