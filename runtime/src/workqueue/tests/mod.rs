//! Tests of the work queue, named after the guarantees they prove.

mod contended;
mod delay;
mod done_hint;
mod guarantees;
mod metrics;
mod model;
mod rate_limiter;
mod stress;
mod wake_ups;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Polls `future` once and returns its output if it is ready at once. A pending
/// future is dropped, which also exercises the queue's cancel safety.
fn now_or_never<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

/// Lets every spawned task run until it blocks, on a current-thread runtime.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

/// Awaits `future`, failing the test instead of hanging if it never completes (a lost
/// wake-up). On tokio's paused clock the hour passes at once when every task is idle.
async fn soon<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(std::time::Duration::from_secs(3600), future)
        .await
        .expect("still waiting after an hour: a lost wake-up")
}
