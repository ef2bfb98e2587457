//! Tests of the controller loop, named after its guarantees, on tokio's paused clock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Action, Controller, ControllerMetrics};
use crate::workqueue::{ItemExponentialBackoff, RateLimitingQueue};

const MS: Duration = Duration::from_millis(1);

fn queue() -> RateLimitingQueue<&'static str> {
    RateLimitingQueue::new(ItemExponentialBackoff::new(
        10 * MS,
        Duration::from_secs(10),
    ))
}

/// Records each work call (key, time since start) and reports it on a channel.
#[derive(Clone)]
struct Calls {
    start: Instant,
    log: Arc<Mutex<Vec<(&'static str, Duration)>>>,
    tx: mpsc::UnboundedSender<&'static str>,
}

impl Calls {
    fn new() -> (Self, mpsc::UnboundedReceiver<&'static str>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let calls = Self {
            start: Instant::now(),
            log: Arc::default(),
            tx,
        };
        (calls, rx)
    }

    /// Records a call of `key` and returns how many calls of it there were before.
    fn record(&self, key: &'static str) -> usize {
        let mut log = self.log.lock().unwrap();
        let before = log.iter().filter(|(k, _)| *k == key).count();
        log.push((key, self.start.elapsed()));
        before
    }

    fn times(&self, key: &str) -> Vec<Duration> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, t)| *t)
            .collect()
    }
}

/// Waits for `n` reports, failing instead of hanging.
async fn expect_calls(rx: &mut mpsc::UnboundedReceiver<&'static str>, n: usize) {
    for _ in 0..n {
        tokio::time::timeout(Duration::from_secs(3600), rx.recv())
            .await
            .expect("work was not called")
            .expect("the channel stays open");
    }
}

#[tokio::test(start_paused = true)]
async fn success_forgets_the_key() {
    let q = queue();
    let (calls, mut rx) = Calls::new();
    let work = {
        let calls = calls.clone();
        move |key| {
            let calls = calls.clone();
            async move {
                let before = calls.record(key);
                calls.tx.send(key).unwrap();
                if before < 2 {
                    Err("not yet")
                } else {
                    Ok(Action::Done)
                }
            }
        }
    };
    let run = tokio::spawn(Controller::new(q.clone(), work).run());
    q.add("a");
    expect_calls(&mut rx, 3).await;
    tokio::task::yield_now().await;
    assert_eq!(
        q.num_requeues(&"a"),
        0,
        "success did not forget the back-off"
    );
    // Back-off restarts from the base delay.
    q.add_rate_limited("a");
    expect_calls(&mut rx, 1).await;
    let times = calls.times("a");
    assert_eq!(times[3] - times[2], 10 * MS);
    q.shut_down();
    run.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn errors_are_requeued_rate_limited() {
    let q = queue();
    let (calls, mut rx) = Calls::new();
    let work = {
        let calls = calls.clone();
        move |key| {
            let calls = calls.clone();
            async move {
                let before = calls.record(key);
                calls.tx.send(key).unwrap();
                if key == "bad" && before < 3 {
                    Err("boom")
                } else {
                    Ok(Action::Done)
                }
            }
        }
    };
    let run = tokio::spawn(Controller::new(q.clone(), work).run());
    q.add("bad");
    q.add("good");
    expect_calls(&mut rx, 5).await;
    // 10 ms, 20 ms, 40 ms apart; one worker, yet `good` was not held up behind the
    // back-off of `bad`.
    assert_eq!(
        calls.times("bad"),
        [Duration::ZERO, 10 * MS, 30 * MS, 70 * MS]
    );
    assert_eq!(calls.times("good"), [Duration::ZERO]);
    q.shut_down();
    run.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_panic_does_not_kill_the_pool() {
    let q = queue();
    let (calls, mut rx) = Calls::new();
    let work = {
        let calls = calls.clone();
        move |key| {
            let calls = calls.clone();
            async move {
                let before = calls.record(key);
                calls.tx.send(key).unwrap();
                if key == "boom" && before == 0 {
                    panic!("work function bug");
                }
                Ok::<_, String>(Action::Done)
            }
        }
    };
    // A single worker, so a killed worker would mean no further calls at all.
    let run = tokio::spawn(Controller::new(q.clone(), work).run());
    q.add("boom");
    q.add("next");
    expect_calls(&mut rx, 3).await;
    assert_eq!(calls.times("next"), [Duration::ZERO]);
    // Requeued rate limited after the panic, and `done` was called (else it could not
    // be handed out again).
    assert_eq!(calls.times("boom"), [Duration::ZERO, 10 * MS]);
    q.shut_down();
    run.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_panic_in_the_call_itself_is_caught_too() {
    let q = queue();
    let attempts = Arc::new(AtomicUsize::new(0));
    let work = {
        let attempts = Arc::clone(&attempts);
        move |_key| -> std::future::Ready<Result<Action, String>> {
            if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("panics before returning a future");
            }
            std::future::ready(Ok(Action::Done))
        }
    };
    let run = tokio::spawn(Controller::new(q.clone(), work).run());
    q.add("a");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    q.shut_down();
    run.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_timeout_counts_as_an_error() {
    let q = queue();
    let (calls, mut rx) = Calls::new();
    let finished = Arc::new(AtomicUsize::new(0));
    let work = {
        let (calls, finished) = (calls.clone(), Arc::clone(&finished));
        move |key| {
            let (calls, finished) = (calls.clone(), Arc::clone(&finished));
            async move {
                let before = calls.record(key);
                calls.tx.send(key).unwrap();
                // The first call hangs far past the timeout.
                let take = if before == 0 {
                    Duration::from_secs(60)
                } else {
                    MS
                };
                tokio::time::sleep(take).await;
                finished.fetch_add(1, Ordering::SeqCst);
                Ok::<_, String>(Action::Done)
            }
        }
    };
    let controller = Controller::new(q.clone(), work).timeout(100 * MS);
    let run = tokio::spawn(controller.run());
    q.add("slow");
    expect_calls(&mut rx, 2).await;
    // Cancelled at 100 ms, retried 10 ms later.
    assert_eq!(calls.times("slow"), [Duration::ZERO, 110 * MS]);
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(
        finished.load(Ordering::SeqCst),
        1,
        "the timed-out call was not cancelled"
    );
    assert_eq!(q.num_requeues(&"slow"), 0);
    q.shut_down();
    run.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn requeue_after_adds_the_key_again_with_its_back_off_reset() {
    let q = queue();
    let (calls, mut rx) = Calls::new();
    let work = {
        let calls = calls.clone();
        move |key| {
            let calls = calls.clone();
            async move {
                let before = calls.record(key);
                calls.tx.send(key).unwrap();
                match before {
                    0 => Err("fail once"),
                    1 => Ok(Action::RequeueAfter(Duration::from_secs(5))),
                    _ => Ok(Action::Done),
                }
            }
        }
    };
    let run = tokio::spawn(Controller::new(q.clone(), work).run());
    q.add("a");
    expect_calls(&mut rx, 3).await;
    assert_eq!(
        calls.times("a"),
        [Duration::ZERO, 10 * MS, 10 * MS + Duration::from_secs(5)]
    );
    assert_eq!(q.num_requeues(&"a"), 0);
    q.shut_down();
    run.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn graceful_shutdown_drains() {
    let q = queue();
    let (calls, mut rx) = Calls::new();
    let completed: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let work = {
        let (calls, completed) = (calls.clone(), Arc::clone(&completed));
        move |key| {
            let (calls, completed) = (calls.clone(), Arc::clone(&completed));
            async move {
                calls.record(key);
                calls.tx.send(key).unwrap();
                tokio::time::sleep(Duration::from_secs(1)).await;
                completed.lock().unwrap().push(key);
                Ok::<_, String>(Action::Done)
            }
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(
        Controller::new(q.clone(), work)
            .workers(2)
            .run_until(async {
                let _ = stop_rx.await;
            }),
    );
    for key in ["a", "b", "c", "d"] {
        q.add(key);
    }
    expect_calls(&mut rx, 2).await; // `a` and `b` in flight, `c` and `d` queued
    stop_tx.send(()).unwrap();
    tokio::task::yield_now().await;
    q.add("late"); // after the signal: not accepted
    tokio::time::timeout(Duration::from_secs(3600), run)
        .await
        .expect("run_until did not return")
        .unwrap();
    let mut done = completed.lock().unwrap().clone();
    done.sort_unstable();
    assert_eq!(done, ["a", "b", "c", "d"]);
}

#[tokio::test(start_paused = true)]
async fn workers_run_in_parallel_but_never_on_the_same_key() {
    let q: RateLimitingQueue<u32> = RateLimitingQueue::default();
    let running: Arc<Mutex<HashMap<u32, usize>>> = Arc::default();
    // Recorded here and asserted after the run: an assertion inside the work
    // future would panic into the controller, which catches it and requeues.
    let overlaps: Arc<Mutex<Vec<u32>>> = Arc::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let current = Arc::new(AtomicUsize::new(0));
    let work = {
        let (running, overlaps, calls, peak, current) = (
            Arc::clone(&running),
            Arc::clone(&overlaps),
            Arc::clone(&calls),
            Arc::clone(&peak),
            Arc::clone(&current),
        );
        move |key: u32| {
            let (running, overlaps, calls, peak, current) = (
                Arc::clone(&running),
                Arc::clone(&overlaps),
                Arc::clone(&calls),
                Arc::clone(&peak),
                Arc::clone(&current),
            );
            async move {
                let call = calls.fetch_add(1, Ordering::SeqCst) as u32;
                {
                    let mut running = running.lock().unwrap();
                    let on_key = running.entry(key).or_default();
                    *on_key += 1;
                    if *on_key > 1 {
                        overlaps.lock().unwrap().push(key);
                    }
                }
                let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                // Uneven lengths, so that workers free up while others still
                // hold a key that was added again meanwhile.
                tokio::time::sleep(MS * (2 + (key + call) % 9)).await;
                current.fetch_sub(1, Ordering::SeqCst);
                *running.lock().unwrap().get_mut(&key).unwrap() -= 1;
                Ok::<_, String>(Action::Done)
            }
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(
        Controller::new(q.clone(), work)
            .workers(4)
            .run_until(async {
                let _ = stop_rx.await;
            }),
    );
    for round in 0..20 {
        for key in 0..6 {
            q.add(key);
        }
        tokio::time::sleep(MS * (round % 7)).await;
    }
    stop_tx.send(()).unwrap();
    run.await.unwrap();
    let overlaps = overlaps.lock().unwrap();
    assert!(
        overlaps.is_empty(),
        "keys on two workers at once, {} times in {} calls: {overlaps:?}",
        overlaps.len(),
        calls.load(Ordering::SeqCst)
    );
    assert_eq!(
        peak.load(Ordering::SeqCst),
        4,
        "the four workers never overlapped"
    );
}

/// The value of the sample `series` (name and labels, exactly) in `registry`'s text
/// encoding; fails when it is not there.
fn sample(registry: &prometheus_client::registry::Registry, series: &str) -> f64 {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
    text.lines()
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().unwrap())
        })
        .unwrap_or_else(|| panic!("no series {series} in\n{text}"))
}

#[tokio::test(start_paused = true)]
async fn every_call_is_counted_however_it_ends() {
    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = ControllerMetrics::new();
    metrics.register(&mut registry);
    let handle = metrics.controller("t");
    let total = |result: &str| {
        format!("controller_runtime_reconcile_total{{controller=\"t\",result=\"{result}\"}}")
    };
    // Every series exists before the first call.
    for result in ["success", "requeue_after", "error"] {
        assert_eq!(sample(&registry, &total(result)), 0.0);
    }

    let q = queue();
    let (calls, mut rx) = Calls::new();
    let work = {
        let calls = calls.clone();
        move |key| {
            let calls = calls.clone();
            async move {
                let first = calls.record(key) == 0;
                calls.tx.send(key).unwrap();
                match key {
                    "error" if first => Err("failed".to_owned()),
                    "panic" if first => panic!("work function bug"),
                    "timeout" if first => {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        Ok(Action::Done)
                    }
                    "requeue" if first => Ok(Action::RequeueAfter(Duration::from_secs(1))),
                    _ => Ok(Action::Done),
                }
            }
        }
    };
    let run = tokio::spawn(
        Controller::new(q.clone(), work)
            .timeout(100 * MS)
            .metrics(handle)
            .run(),
    );
    for key in ["ok", "error", "panic", "timeout", "requeue"] {
        q.add(key);
    }
    // One call of `ok`, two of each other key.
    expect_calls(&mut rx, 9).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    q.shut_down();
    run.await.unwrap();

    assert_eq!(sample(&registry, &total("success")), 5.0);
    assert_eq!(sample(&registry, &total("requeue_after")), 1.0);
    assert_eq!(
        sample(&registry, &total("error")),
        3.0,
        "an error, a panic and a timeout"
    );
    let one = |name: &str| sample(&registry, &format!("{name}{{controller=\"t\"}}"));
    assert_eq!(one("controller_runtime_reconcile_errors_total"), 3.0);
    assert_eq!(one("controller_runtime_reconcile_panics_total"), 1.0);
    assert_eq!(one("controller_runtime_reconcile_timeouts_total"), 1.0);
    assert_eq!(one("controller_runtime_reconcile_time_seconds_count"), 9.0);
}
