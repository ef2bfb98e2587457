//! The `workqueue_*` metrics, read back from the Prometheus text exposition.

use std::time::Duration;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::registry::Registry;
use tokio::time::advance;

use super::soon;
use crate::workqueue::{ItemExponentialBackoff, RateLimitingQueue, WorkQueue, WorkQueueMetrics};

fn scrape(registry: &Registry) -> String {
    let mut text = String::new();
    prometheus_text::encode(&mut text, registry).expect("encoding to a String cannot fail");
    text
}

/// The value of the sample whose line starts with `series` (name and labels).
fn sample(text: &str, series: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| {
            l.strip_prefix(series)
                .is_some_and(|rest| rest.starts_with(' '))
        })
        .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"));
    line[series.len()..].trim().parse().unwrap()
}

#[tokio::test(start_paused = true)]
async fn metrics_use_controller_runtime_names_labelled_by_queue() {
    let mut registry = Registry::default();
    let metrics = WorkQueueMetrics::new();
    metrics.register(&mut registry);
    let q = WorkQueue::with_metrics("widgets", &metrics);

    q.add("a");
    q.add("a"); // stingy: not counted
    q.add("b");
    advance(Duration::from_secs(2)).await;
    let a = soon(q.get()).await.unwrap();
    advance(Duration::from_secs(3)).await;

    let text = scrape(&registry);
    for name in [
        "workqueue_depth",
        "workqueue_adds_total",
        "workqueue_queue_duration_seconds",
        "workqueue_work_duration_seconds",
        "workqueue_unfinished_work_seconds",
        "workqueue_longest_running_processor_seconds",
        "workqueue_retries_total",
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} missing from:\n{text}"
        );
    }
    assert!(
        !text.contains(".."),
        "a help text ends in two full stops:\n{text}"
    );
    let l = r#"{name="widgets"}"#;
    assert_eq!(sample(&text, &format!("workqueue_adds_total{l}")), 2.0);
    assert_eq!(sample(&text, &format!("workqueue_depth{l}")), 1.0);
    assert_eq!(
        sample(&text, &format!("workqueue_queue_duration_seconds_count{l}")),
        1.0
    );
    assert_eq!(
        sample(&text, &format!("workqueue_queue_duration_seconds_sum{l}")),
        2.0
    );
    assert_eq!(
        sample(&text, &format!("workqueue_unfinished_work_seconds{l}")),
        3.0
    );
    assert_eq!(
        sample(
            &text,
            &format!("workqueue_longest_running_processor_seconds{l}")
        ),
        3.0
    );

    let b = soon(q.get()).await.unwrap();
    advance(Duration::from_secs(1)).await;
    // Two in flight, for 4 s and 1 s.
    let text = scrape(&registry);
    assert_eq!(
        sample(&text, &format!("workqueue_unfinished_work_seconds{l}")),
        5.0
    );
    assert_eq!(
        sample(
            &text,
            &format!("workqueue_longest_running_processor_seconds{l}")
        ),
        4.0
    );
    q.done(&a);
    q.done(&b);
    let text = scrape(&registry);
    assert_eq!(sample(&text, &format!("workqueue_depth{l}")), 0.0);
    assert_eq!(
        sample(&text, &format!("workqueue_work_duration_seconds_count{l}")),
        2.0
    );
    assert_eq!(
        sample(&text, &format!("workqueue_work_duration_seconds_sum{l}")),
        5.0
    );
    assert_eq!(
        sample(&text, &format!("workqueue_unfinished_work_seconds{l}")),
        0.0
    );
}

#[tokio::test(start_paused = true)]
async fn retries_count_rate_limited_and_delayed_adds() {
    let mut registry = Registry::default();
    let metrics = WorkQueueMetrics::new();
    metrics.register(&mut registry);
    let q = RateLimitingQueue::with_metrics(
        "retrying",
        &metrics,
        ItemExponentialBackoff::new(Duration::from_millis(10), Duration::from_secs(1)),
    );
    q.add_rate_limited("a");
    q.add_after("b", Duration::from_millis(5));
    let l = r#"{name="retrying"}"#;
    let text = scrape(&registry);
    assert_eq!(sample(&text, &format!("workqueue_retries_total{l}")), 2.0);
    // Delayed keys are not in the queue yet.
    assert_eq!(sample(&text, &format!("workqueue_depth{l}")), 0.0);

    assert_eq!(soon(q.get()).await, Some("b"));
    assert_eq!(soon(q.get()).await, Some("a"));
    let text = scrape(&registry);
    assert_eq!(sample(&text, &format!("workqueue_adds_total{l}")), 2.0);
    // Queue time counts from the ready time, not from `add_after`.
    assert_eq!(
        sample(&text, &format!("workqueue_queue_duration_seconds_sum{l}")),
        0.0
    );
}

#[tokio::test(start_paused = true)]
async fn queues_are_labelled_separately_and_dropped_queues_stop_reporting() {
    let mut registry = Registry::default();
    let metrics = WorkQueueMetrics::new();
    metrics.register(&mut registry);
    let one = WorkQueue::with_metrics("one", &metrics);
    let two = WorkQueue::with_metrics("two", &metrics);
    one.add(1);
    two.add(1);
    two.add(2);
    let text = scrape(&registry);
    assert_eq!(sample(&text, r#"workqueue_depth{name="one"}"#), 1.0);
    assert_eq!(sample(&text, r#"workqueue_depth{name="two"}"#), 2.0);
    assert!(text.contains(r#"workqueue_unfinished_work_seconds{name="two"}"#));
    drop(two);
    let text = scrape(&registry);
    assert!(!text.contains(r#"workqueue_unfinished_work_seconds{name="two"}"#));
    assert!(text.contains(r#"workqueue_unfinished_work_seconds{name="one"}"#));
}

#[tokio::test(start_paused = true)]
async fn shutdown_removes_dropped_keys_from_depth() {
    let mut registry = Registry::default();
    let metrics = WorkQueueMetrics::new();
    metrics.register(&mut registry);
    let q = WorkQueue::with_metrics("q", &metrics);
    q.add(1);
    q.add(2);
    let held = soon(q.get()).await.unwrap();
    q.add(held); // dirty while processing
    q.shut_down();
    assert_eq!(
        sample(&scrape(&registry), r#"workqueue_depth{name="q"}"#),
        0.0
    );
}

#[tokio::test(start_paused = true)]
async fn a_queue_without_metrics_records_no_timestamps() {
    let q = WorkQueue::new();
    q.add(1);
    let held = soon(q.get()).await.unwrap();
    q.add(1);
    assert!(!q.records_timestamps());
    q.done(&held);

    // The same steps with metrics do record them, so the check above can fail.
    let metrics = WorkQueueMetrics::new();
    let q = WorkQueue::with_metrics("q", &metrics);
    q.add(1);
    assert!(q.records_timestamps());
}

#[test]
fn openmetrics_exposition_has_the_same_names() {
    let mut registry = Registry::default();
    let metrics = WorkQueueMetrics::new();
    metrics.register(&mut registry);
    let q = WorkQueue::with_metrics("om", &metrics);
    q.add(1);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.contains(r#"workqueue_adds_total{name="om"} 1"#),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"));
}

#[tokio::test(start_paused = true)]
async fn queues_sharing_a_name_share_their_series() {
    let mut registry = Registry::default();
    let metrics = WorkQueueMetrics::new();
    metrics.register(&mut registry);
    let one = WorkQueue::with_metrics("shared", &metrics);
    let two = WorkQueue::with_metrics("shared", &metrics);
    one.add(1);
    two.add(1);
    let _a = soon(one.get()).await;
    advance(Duration::from_secs(1)).await;
    let _b = soon(two.get()).await;
    advance(Duration::from_secs(1)).await;
    let text = scrape(&registry);
    let series = r#"workqueue_unfinished_work_seconds{name="shared"}"#;
    assert_eq!(text.matches(series).count(), 1, "repeated series:\n{text}");
    assert_eq!(sample(&text, series), 3.0);
    assert_eq!(
        sample(
            &text,
            r#"workqueue_longest_running_processor_seconds{name="shared"}"#
        ),
        2.0
    );
    assert_eq!(sample(&text, r#"workqueue_adds_total{name="shared"}"#), 2.0);
}
