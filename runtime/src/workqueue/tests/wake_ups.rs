//! The bookkeeping that lets `add` and `done` skip `Notify::notify_one` when no getter
//! waits: every getter that waits is counted until it returns or is dropped, so a key
//! queued while one waits always sends a wake-up, and a wake-up that reaches a getter
//! which is then cancelled is passed on.

use super::{settle, soon};
use crate::workqueue::WorkQueue;

#[tokio::test(start_paused = true)]
async fn waiting_getters_are_counted_until_they_return_or_are_cancelled() {
    let q = WorkQueue::new();
    let getters: Vec<_> = (0..3)
        .map(|_| {
            let q = q.clone();
            tokio::spawn(async move { q.get().await })
        })
        .collect();
    settle().await;
    assert_eq!(q.waiting_getters(), 3);

    q.add("a");
    settle().await;
    assert_eq!(
        q.waiting_getters(),
        2,
        "the getter that took `a` is still counted"
    );
    let finished: Vec<_> = getters.iter().filter(|g| g.is_finished()).collect();
    assert_eq!(finished.len(), 1);

    let mut waiting = getters.into_iter().filter(|g| !g.is_finished());
    let cancelled = waiting.next().unwrap();
    cancelled.abort();
    assert!(cancelled.await.unwrap_err().is_cancelled());
    assert_eq!(
        q.waiting_getters(),
        1,
        "a cancelled getter is still counted"
    );

    q.add("b");
    let last = waiting.next().unwrap();
    assert_eq!(soon(last).await.unwrap(), Some("b"));
    assert_eq!(q.waiting_getters(), 0);
    q.check_invariants();
}

#[tokio::test(start_paused = true)]
async fn a_wake_up_sent_to_a_cancelled_getter_reaches_another() {
    let q = WorkQueue::new();
    let first = tokio::spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    settle().await;
    let second = tokio::spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    settle().await;
    assert_eq!(q.waiting_getters(), 2);
    // `notify_one` picks one of the two; cancel the first before either runs again.
    // Whichever was picked, the survivor must get the key.
    q.add("a");
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    assert_eq!(soon(second).await.unwrap(), Some("a"));
    assert_eq!(q.waiting_getters(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_getter_that_finds_a_key_is_never_counted() {
    let q = WorkQueue::new();
    q.add("a");
    assert_eq!(soon(q.get()).await, Some("a"));
    assert_eq!(q.waiting_getters(), 0);
    // `done` re-queues nothing here, and the queue is left without a waiter, so a
    // later getter still finds what is added in between.
    q.done(&"a");
    q.add("b");
    assert_eq!(soon(q.get()).await, Some("b"));
    assert_eq!(q.waiting_getters(), 0);
}

/// While a wake-up is on its way, adds send no other: the woken getter passes it on to
/// the next waiting getter if keys are left. Every key is still processed.
#[tokio::test(start_paused = true)]
async fn a_burst_of_adds_sends_one_wake_up_which_is_passed_on() {
    let q = WorkQueue::new();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let q = q.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(key) = q.get().await {
                    got.push(key);
                    q.done(&key);
                    // Let the other worker run between keys, as a reconcile would.
                    tokio::task::yield_now().await;
                }
                got
            })
        })
        .collect();
    settle().await;
    assert_eq!(q.waiting_getters(), 2);
    for key in 0..50 {
        q.add(key);
    }
    assert_eq!(q.wake_ups_sent(), 1, "one wake-up for the whole burst");
    settle().await;
    // The woken worker took a key and, with keys left, woke the other.
    assert_eq!(q.wake_ups_sent(), 2);
    soon(q.shut_down_with_drain()).await;
    let mut got: Vec<i32> = Vec::new();
    for worker in workers {
        let mine = soon(worker).await.unwrap();
        assert!(!mine.is_empty(), "a worker was never woken");
        got.extend(mine);
    }
    got.sort_unstable();
    assert_eq!(got, (0..50).collect::<Vec<_>>());
    q.check_invariants();
}

/// A key re-queued at `done` while a getter waits wakes it (the wake-up goes through
/// the same bookkeeping as an add's).
#[tokio::test(start_paused = true)]
async fn a_key_queued_again_at_done_wakes_a_waiting_getter() {
    let q = WorkQueue::new();
    q.add("a");
    let held = soon(q.get()).await.unwrap();
    q.add("a");
    let waiter = tokio::spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    settle().await;
    assert_eq!(q.waiting_getters(), 1);
    assert_eq!(q.wake_ups_sent(), 0, "nothing was queued for the waiter");
    q.done(&held);
    assert_eq!(q.wake_ups_sent(), 1);
    assert_eq!(soon(waiter).await.unwrap(), Some("a"));
    assert_eq!(q.waiting_getters(), 0);
}
