//! The controller loop: a pool of workers draining a [`RateLimitingQueue`].
//!
//! Informers (or anything else) feed keys into the queue; each of `N` workers repeats:
//! get a key, call the work function with a timeout, then
//!
//! * `Ok(Action::Done)`: [`forget`](RateLimitingQueue::forget) the key's back-off;
//! * `Ok(Action::RequeueAfter(d))`: forget the back-off and add the key again after `d`;
//! * `Err(_)`, a timeout, or a panic: [`add_rate_limited`](RateLimitingQueue::add_rate_limited);
//!
//! and always [`done`](crate::workqueue::WorkQueue::done). Transient errors are returned
//! to the queue, never retried inline.
//!
//! # Guarantees
//!
//! Each is tested by a test of the same name in `controller::tests`.
//!
//! * **success forgets the key**: its next failure backs off from the start again.
//! * **errors are requeued rate limited**: a failing key is retried after the limiter's
//!   wait, without blocking the worker in the meantime.
//! * **a panic does not kill the pool**: the panic is caught, logged with `tracing`, and
//!   the key is requeued rate limited; the worker goes on with the next key.
//! * **a timeout counts as an error**: the work future is dropped (cancelled) and the
//!   key is requeued rate limited.
//! * **every call is counted, however it ends**: with [`Controller::metrics`], each call
//!   lands in `controller_runtime_reconcile_total` by result, a panic and a timeout as an
//!   `error` (see [`ControllerMetrics`]); the work function cannot count those itself.
//! * **graceful shutdown drains**: [`Controller::run_until`] stops accepting keys when
//!   its signal fires, lets the workers finish every queued and in-flight key, and
//!   returns once they have exited.
//!
//! The loop knows nothing of Kubernetes: the key is any [`Key`], so it is tested
//! without an apiserver.

mod metrics;
#[cfg(test)]
mod tests;

use metrics::Outcome;
pub use metrics::{ControllerMetrics, ReconcileMetrics};

use std::any::Any;
use std::fmt::{Debug, Display};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::task::JoinSet;

use crate::workqueue::{Key, RateLimitingQueue};

/// What a successful work call asks of the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The key is reconciled; nothing more until it is added again.
    Done,
    /// Process the key again after this delay (e.g. to poll an external system), with
    /// its failure back-off reset.
    RequeueAfter(Duration),
}

/// A pool of workers calling one async work function for the keys of a queue.
///
/// ```
/// use std::time::Duration;
/// use crdforge_runtime::controller::{Action, Controller};
/// use crdforge_runtime::workqueue::RateLimitingQueue;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let queue: RateLimitingQueue<String> = RateLimitingQueue::default();
/// queue.add("default/web".to_owned());
/// let controller = Controller::new(queue.clone(), |key: String| async move {
///     println!("reconciling {key}");
///     Ok::<_, std::io::Error>(Action::Done)
/// })
/// .workers(2)
/// .timeout(Duration::from_secs(30));
/// // Stop (after draining) when the signal future completes.
/// controller.run_until(tokio::time::sleep(Duration::from_millis(10))).await;
/// # });
/// ```
pub struct Controller<K, F> {
    queue: RateLimitingQueue<K>,
    work: Arc<F>,
    workers: usize,
    timeout: Option<Duration>,
    metrics: Option<ReconcileMetrics>,
}

impl<K: Key, F> Debug for Controller<K, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("queue", &self.queue)
            .field("workers", &self.workers)
            .field("timeout", &self.timeout)
            .field("metrics", &self.metrics.is_some())
            .finish_non_exhaustive()
    }
}

impl<K, F, Fut, E> Controller<K, F>
where
    K: Key + Debug,
    F: Fn(K) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Action, E>> + Send + 'static,
    E: Display + Send + 'static,
{
    /// A controller with one worker and no timeout, calling `work` for each key of
    /// `queue`.
    pub fn new(queue: RateLimitingQueue<K>, work: F) -> Self {
        Self {
            queue,
            work: Arc::new(work),
            workers: 1,
            timeout: None,
            metrics: None,
        }
    }

    /// Runs `workers` work calls at a time (at least one).
    #[must_use]
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// Cancels a work call that takes longer than `timeout` and requeues its key rate
    /// limited.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Counts every call in `metrics` (from [`ControllerMetrics::controller`]): its
    /// result, panics and timeouts included, and its length.
    #[must_use]
    pub fn metrics(mut self, metrics: ReconcileMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Runs the workers until the queue is shut down (by anyone holding it) and they
    /// have all exited.
    pub async fn run(self) {
        let mut workers = self.spawn_workers();
        join_all(&mut workers).await;
    }

    /// Runs the workers until `shutdown` completes, then drains: no new keys are
    /// accepted, the queued and in-flight keys are finished, and this returns once every
    /// worker has exited. Also returns if the queue is shut down elsewhere.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) {
        let queue = self.queue.clone();
        let mut workers = self.spawn_workers();
        tokio::select! {
            () = shutdown => {
                tracing::debug!("controller shutting down: draining the queue");
                queue.shut_down_with_drain().await;
            }
            () = join_all(&mut workers) => return,
        }
        join_all(&mut workers).await;
    }

    fn spawn_workers(&self) -> JoinSet<()> {
        let mut set = JoinSet::new();
        for _ in 0..self.workers {
            set.spawn(worker(
                self.queue.clone(),
                Arc::clone(&self.work),
                self.timeout,
                self.metrics.clone(),
            ));
        }
        set
    }
}

async fn join_all(workers: &mut JoinSet<()>) {
    while let Some(result) = workers.join_next().await {
        // Workers catch panics of the work function, so this is a bug in the loop
        // itself; the other workers carry on regardless.
        if let Err(error) = result {
            tracing::error!(%error, "controller worker task failed");
        }
    }
}

/// One worker: processes keys until the queue is shut down.
async fn worker<K, F, Fut, E>(
    queue: RateLimitingQueue<K>,
    work: Arc<F>,
    timeout: Option<Duration>,
    metrics: Option<ReconcileMetrics>,
) where
    K: Key + Debug,
    F: Fn(K) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Action, E>> + Send + 'static,
    E: Display + Send + 'static,
{
    while let Some(key) = queue.get().await {
        let call = {
            let (work, key) = (Arc::clone(&work), key.clone());
            // Calling `work` inside the future puts a panic in the call itself under
            // the same catch as a panic while polling.
            async move { work(key).await }
        };
        let started = tokio::time::Instant::now();
        let outcome = match timeout {
            Some(limit) => CatchUnwind::new(tokio::time::timeout(limit, call))
                .await
                .map(|r| r.map_err(|_| Failure::TimedOut(limit))),
            None => CatchUnwind::new(call).await.map(Ok),
        };
        let counted = match outcome {
            Ok(Ok(Ok(Action::Done))) => {
                queue.forget(&key);
                Outcome::Success
            }
            Ok(Ok(Ok(Action::RequeueAfter(delay)))) => {
                queue.forget(&key);
                queue.add_after(key.clone(), delay);
                Outcome::RequeueAfter
            }
            Ok(Ok(Err(error))) => {
                tracing::warn!(?key, %error, "work failed; requeued rate limited");
                queue.add_rate_limited(key.clone());
                Outcome::Error
            }
            Ok(Err(Failure::TimedOut(limit))) => {
                tracing::warn!(?key, timeout = ?limit, "work timed out; requeued rate limited");
                queue.add_rate_limited(key.clone());
                Outcome::Timeout
            }
            Err(payload) => {
                tracing::error!(
                    ?key,
                    panic = panic_message(payload.as_ref()),
                    "work panicked; requeued rate limited"
                );
                queue.add_rate_limited(key.clone());
                Outcome::Panic
            }
        };
        if let Some(metrics) = &metrics {
            metrics.observe(counted, started.elapsed().as_secs_f64());
        }
        queue.done(&key);
    }
}

enum Failure {
    TimedOut(Duration),
}

/// The message of a panic payload, when it is a string (as `panic!` makes it).
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("<non-string panic payload>")
}

/// Resolves to `Err(payload)` instead of unwinding when polling `inner` panics.
///
/// The future is boxed so it can be polled through a safe `Pin<&mut _>`; one
/// allocation per work call is small next to a reconcile.
struct CatchUnwind<T> {
    inner: Pin<Box<dyn Future<Output = T> + Send>>,
}

impl<T> CatchUnwind<T> {
    fn new(inner: impl Future<Output = T> + Send + 'static) -> Self {
        Self {
            inner: Box::pin(inner),
        }
    }
}

impl<T> Future for CatchUnwind<T> {
    type Output = Result<T, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A panicked future is never polled again (this future completes with the
        // payload), so no broken invariant of it can be observed.
        let inner = &mut self.inner;
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}
