//! A `get` that finds the lock held lets its thread's other tasks run instead of
//! waiting for the lock, and still hands out the key once the lock is free.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::workqueue::WorkQueue;

/// Bounded: were the getter to wait for the lock, the holder lets go after 2 s and
/// the test fails on the getter's answer.
#[test]
fn a_get_that_finds_the_lock_held_yields_then_takes_the_key() {
    let q = WorkQueue::new();
    q.add("a");
    let mut get = pin!(q.get());
    let mut cx = Context::from_waker(Waker::noop());
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|s| {
        let q = &q;
        s.spawn(move || {
            let held = q.hold_lock();
            locked_tx.send(()).unwrap();
            let _ = release_rx.recv_timeout(Duration::from_secs(2));
            drop(held);
        });
        locked_rx.recv().unwrap();
        let first = get.as_mut().poll(&mut cx);
        // The holder may have let go already (after 2 s), if `poll` waited for it.
        let _ = release_tx.send(());
        assert_eq!(
            first,
            Poll::Pending,
            "the getter waited for the lock instead of yielding"
        );
    });
    assert_eq!(get.as_mut().poll(&mut cx), Poll::Ready(Some("a")));
    assert_eq!(q.waiting_getters(), 0);
    q.check_invariants();
}

/// The lock is held by another thread while a task's `get` is polled: the getter
/// yields, then waits for the lock on its next poll, and gets the key once the other
/// thread lets go. Bounded: the holder lets go after 20 ms.
#[test]
fn a_getter_gets_the_key_once_another_thread_lets_go_of_the_lock() {
    let q = Arc::new(WorkQueue::new());
    q.add(1u32);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    std::thread::scope(|s| {
        let (locked_tx, locked_rx) = std::sync::mpsc::channel();
        let holder = s.spawn({
            let q = Arc::clone(&q);
            move || {
                let held = q.hold_lock();
                locked_tx.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(20));
                drop(held);
            }
        });
        locked_rx.recv().unwrap();
        let got = runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), q.get()).await });
        assert_eq!(got, Ok(Some(1)));
        holder.join().unwrap();
    });
    q.check_invariants();
}
