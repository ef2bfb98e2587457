//! The delaying queue: `add_after`, on tokio's paused clock.

use std::time::Duration;

use tokio::time::{Instant, advance};

use super::{now_or_never, settle, soon};
use crate::workqueue::WorkQueue;

const MS: Duration = Duration::from_millis(1);

#[tokio::test(start_paused = true)]
async fn add_after_waits_for_the_delay() {
    let q = WorkQueue::new();
    let start = Instant::now();
    q.add_after("a", 50 * MS);
    assert_eq!(q.len(), 0);
    assert_eq!(soon(q.get()).await, Some("a"));
    assert_eq!(start.elapsed(), 50 * MS);
}

#[tokio::test(start_paused = true)]
async fn earlier_ready_time_wins() {
    let q = WorkQueue::new();
    let start = Instant::now();
    q.add_after("a", 100 * MS);
    q.add_after("a", 30 * MS);
    q.add_after("a", 60 * MS); // later than the recorded 30 ms: ignored
    assert_eq!(q.delayed_len(), 1);
    assert_eq!(soon(q.get()).await, Some("a"));
    assert_eq!(start.elapsed(), 30 * MS);
    q.done(&"a");
    // Nothing else was left waiting for `a`.
    advance(200 * MS).await;
    assert_eq!(q.len(), 0);
    assert_eq!(q.delayed_len(), 0);
}

#[tokio::test(start_paused = true)]
async fn add_after_zero_adds_at_once() {
    let q = WorkQueue::new();
    q.add_after("a", Duration::ZERO);
    assert_eq!(q.len(), 1);
    assert_eq!(now_or_never(q.get()), Some(Some("a")));
}

#[tokio::test(start_paused = true)]
async fn delayed_keys_come_out_in_ready_time_order() {
    let q = WorkQueue::new();
    q.add_after("c", 30 * MS);
    q.add_after("a", 10 * MS);
    q.add_after("b", 20 * MS);
    q.add_after("b2", 20 * MS);
    advance(40 * MS).await;
    // Added after all four became due, so it comes last.
    q.add("d");
    let mut order = Vec::new();
    while let Some(key) = now_or_never(q.get()).flatten() {
        order.push(key);
    }
    assert_eq!(order, ["a", "b", "b2", "c", "d"]);
}

#[tokio::test(start_paused = true)]
async fn delayed_key_already_queued_is_handed_out_once() {
    let q = WorkQueue::new();
    q.add("a");
    q.add_after("a", 10 * MS);
    advance(20 * MS).await;
    assert_eq!(q.len(), 1, "the due key was merged with the queued one");
    assert_eq!(soon(q.get()).await, Some("a"));
    assert_eq!(now_or_never(q.get()), None);
}

#[tokio::test(start_paused = true)]
async fn delayed_key_that_is_being_processed_comes_back_after_done() {
    let q = WorkQueue::new();
    q.add("a");
    let held = soon(q.get()).await.unwrap();
    q.add_after("a", 10 * MS);
    advance(20 * MS).await;
    assert_eq!(now_or_never(q.get()), None);
    q.done(&held);
    assert_eq!(now_or_never(q.get()), Some(Some("a")));
}

#[tokio::test(start_paused = true)]
async fn idle_worker_wakes_for_a_new_earlier_ready_time() {
    let q = WorkQueue::new();
    q.add_after("late", Duration::from_secs(60));
    let worker = tokio::spawn({
        let q = q.clone();
        async move { (soon(q.get()).await, Instant::now()) }
    });
    settle().await;
    let start = Instant::now();
    q.add_after("soon", 10 * MS);
    let (key, at) = soon(worker).await.unwrap();
    assert_eq!(key, Some("soon"));
    assert_eq!(at - start, 10 * MS);
}

#[tokio::test(start_paused = true)]
async fn idle_workers_wake_for_a_delay_added_after_they_went_idle() {
    let q = WorkQueue::new();
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let q = q.clone();
            tokio::spawn(async move { soon(q.get()).await })
        })
        .collect();
    settle().await;
    // None of the idle workers was sleeping on a timer when these arrived.
    q.add_after(1, 10 * MS);
    q.add_after(2, 20 * MS);
    q.add_after(3, 30 * MS);
    let mut got = Vec::new();
    for worker in workers {
        got.push(soon(worker).await.unwrap().unwrap());
    }
    got.sort_unstable();
    assert_eq!(got, [1, 2, 3]);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_timer_sleeper_hands_the_timer_to_another_worker() {
    let q = WorkQueue::new();
    q.add_after("a", 10 * MS);
    // The first idle worker takes the timer...
    let sleeper = tokio::spawn({
        let q = q.clone();
        async move { soon(q.get()).await }
    });
    settle().await;
    let other = tokio::spawn({
        let q = q.clone();
        async move { soon(q.get()).await }
    });
    settle().await;
    // ...and is cancelled; the other worker must still wake when `a` is due.
    sleeper.abort();
    assert!(sleeper.await.unwrap_err().is_cancelled());
    assert_eq!(soon(other).await.unwrap(), Some("a"));
}

#[tokio::test(start_paused = true)]
async fn shut_down_drops_delayed_keys() {
    let q = WorkQueue::new();
    q.add_after("a", 10 * MS);
    let worker = tokio::spawn({
        let q = q.clone();
        async move { soon(q.get()).await }
    });
    settle().await;
    q.shut_down();
    assert_eq!(soon(worker).await.unwrap(), None);
    q.add_after("b", 10 * MS);
    advance(20 * MS).await;
    assert_eq!(q.len(), 0);
    assert_eq!(q.delayed_len(), 0);
}

#[tokio::test(start_paused = true)]
async fn huge_delay_does_not_panic() {
    let q = WorkQueue::new();
    q.add_after("a", Duration::MAX);
    assert_eq!(q.delayed_len(), 1);
    assert_eq!(now_or_never(q.get()), None);
    q.add_after("a", 10 * MS);
    assert_eq!(soon(q.get()).await, Some("a"));
}
