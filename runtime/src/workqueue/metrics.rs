//! controller-runtime's `workqueue_*` metrics, on a `prometheus-client` registry.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::time::Instant;

/// The one label every series carries: the queue's name.
type NameLabel = [(&'static str, String); 1];

type HistogramFamily = Family<NameLabel, Histogram, fn() -> Histogram>;

/// controller-runtime's buckets for both duration histograms: 10 ns to 1000 s, ×10.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(10e-9, 10.0, 12))
}

const UNFINISHED_WORK: &str = "workqueue_unfinished_work_seconds";
const UNFINISHED_WORK_HELP: &str = "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.";
const LONGEST_RUNNING: &str = "workqueue_longest_running_processor_seconds";
const LONGEST_RUNNING_HELP: &str =
    "How many seconds has the longest running processor for workqueue been running.";

/// The work-queue metric families, shared by every queue built with them.
///
/// Register them once with [`WorkQueueMetrics::register`], then build each queue with
/// [`WorkQueue::with_metrics`](super::WorkQueue::with_metrics) (or
/// [`RateLimitingQueue::with_metrics`](super::RateLimitingQueue::with_metrics)) and a
/// name; queues given the same name add up in the same series. Every series carries
/// the label `name="<queue name>"`:
///
/// | metric | type |
/// |---|---|
/// | `workqueue_depth` | gauge: keys waiting to be handed out |
/// | `workqueue_adds_total` | counter: adds that queued a key |
/// | `workqueue_queue_duration_seconds` | histogram: time from add to `get` |
/// | `workqueue_work_duration_seconds` | histogram: time from `get` to `done` |
/// | `workqueue_unfinished_work_seconds` | gauge: summed age of keys being processed |
/// | `workqueue_longest_running_processor_seconds` | gauge: age of the oldest key being processed |
/// | `workqueue_retries_total` | counter: `add_after` and `add_rate_limited` calls |
///
/// The two in-flight gauges are computed when the registry is encoded (client-go
/// samples them every 500 ms instead), so they are exact and need no background task.
/// Encode with `prometheus_client::encoding::text::encode` (OpenMetrics) or
/// `prometheus_client::encoding::prometheus_text::encode` (Prometheus text 0.0.4).
#[derive(Clone, Debug)]
pub struct WorkQueueMetrics {
    depth: Family<NameLabel, Gauge>,
    adds: Family<NameLabel, Counter>,
    queue_duration: HistogramFamily,
    work_duration: HistogramFamily,
    retries: Family<NameLabel, Counter>,
    in_flight: InFlightCollector,
}

impl Default for WorkQueueMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl WorkQueueMetrics {
    /// Creates the metric families without registering them anywhere.
    pub fn new() -> Self {
        Self {
            depth: Family::default(),
            adds: Family::default(),
            queue_duration: Family::new_with_constructor(duration_histogram),
            work_duration: Family::new_with_constructor(duration_histogram),
            retries: Family::default(),
            in_flight: InFlightCollector::default(),
        }
    }

    /// Registers every family in `registry`. `prometheus-client` appends `_total` to
    /// counter names, which gives controller-runtime's exact names, and a full stop to
    /// help texts, so these have none.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "workqueue_depth",
            "Current depth of workqueue",
            self.depth.clone(),
        );
        registry.register(
            "workqueue_adds",
            "Total number of adds handled by workqueue",
            self.adds.clone(),
        );
        registry.register(
            "workqueue_queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested",
            self.queue_duration.clone(),
        );
        registry.register(
            "workqueue_work_duration_seconds",
            "How long in seconds processing an item from workqueue takes",
            self.work_duration.clone(),
        );
        registry.register(
            "workqueue_retries",
            "Total number of retries handled by workqueue",
            self.retries.clone(),
        );
        registry.register_collector(Box::new(self.in_flight.clone()));
    }

    /// The handles one queue updates, resolved once so that an update is a few atomic
    /// operations rather than a family lookup.
    pub(super) fn for_queue(&self, name: String) -> QueueMetrics {
        let label = [("name", name.clone())];
        QueueMetrics {
            depth: self.depth.get_or_create_owned(&label),
            adds: self.adds.get_or_create_owned(&label),
            queue_duration: self.queue_duration.get_or_create_owned(&label),
            work_duration: self.work_duration.get_or_create_owned(&label),
            retries: self.retries.get_or_create_owned(&label),
            name,
        }
    }

    /// Reports `queue`'s in-flight work at every scrape for as long as it lives.
    pub(super) fn track(&self, queue: Weak<dyn InFlight>) {
        let mut queues = self.in_flight.lock();
        queues.retain(|q| q.strong_count() > 0);
        queues.push(queue);
    }
}

/// One queue's metric handles.
#[derive(Debug)]
pub(super) struct QueueMetrics {
    name: String,
    depth: Gauge,
    adds: Counter,
    queue_duration: Histogram,
    work_duration: Histogram,
    retries: Counter,
}

impl QueueMetrics {
    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// A key became dirty: it is waiting to be handed out (possibly once its current
    /// processing is done).
    pub(super) fn added(&self) {
        self.adds.inc();
        self.depth.inc();
    }

    /// A key was handed out after waiting `waited`.
    pub(super) fn got(&self, waited: Duration) {
        self.depth.dec();
        self.queue_duration.observe(waited.as_secs_f64());
    }

    /// A key was `done` after being processed for `worked`.
    pub(super) fn done(&self, worked: Duration) {
        self.work_duration.observe(worked.as_secs_f64());
    }

    /// Dirty keys were dropped by shutdown without being handed out.
    pub(super) fn discarded(&self, count: usize) {
        self.depth.dec_by(i64::try_from(count).unwrap_or(i64::MAX));
    }

    pub(super) fn retried(&self) {
        self.retries.inc();
    }
}

/// What the scrape-time collector asks of a live queue.
pub(super) trait InFlight: Send + Sync {
    /// The queue's name label.
    fn name(&self) -> &str;
    /// Summed and longest age, in seconds, of the keys being processed at `now`.
    fn in_flight_seconds(&self, now: Instant) -> (f64, f64);
}

/// Computes the two in-flight gauges of every live queue at scrape time.
#[derive(Clone, Default)]
struct InFlightCollector {
    queues: Arc<Mutex<Vec<Weak<dyn InFlight>>>>,
}

impl InFlightCollector {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Weak<dyn InFlight>>> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for InFlightCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlightCollector")
            .field("queues", &self.lock().len())
            .finish()
    }
}

impl Collector for InFlightCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), fmt::Error> {
        // Upgrade the live queues first so that no queue lock is taken under ours.
        let queues: Vec<Arc<dyn InFlight>> = self.lock().iter().filter_map(Weak::upgrade).collect();
        let now = Instant::now();
        // Queues that share a name share their series, like the other families; an
        // exposition must not repeat a label set, so they are summed here.
        let mut by_name: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        for queue in &queues {
            let (total, longest) = queue.in_flight_seconds(now);
            let sample = by_name.entry(queue.name()).or_default();
            sample.0 += total;
            sample.1 = sample.1.max(longest);
        }
        let gauge = ConstGauge::new(0.0f64).metric_type();
        let mut unfinished =
            encoder.encode_descriptor(UNFINISHED_WORK, UNFINISHED_WORK_HELP, None, gauge)?;
        for (name, (total, _)) in &by_name {
            let label = [("name", *name)];
            ConstGauge::new(*total).encode(unfinished.encode_family(&label)?)?;
        }
        let mut longest_running =
            encoder.encode_descriptor(LONGEST_RUNNING, LONGEST_RUNNING_HELP, None, gauge)?;
        for (name, (_, longest)) in &by_name {
            let label = [("name", *name)];
            ConstGauge::new(*longest).encode(longest_running.encode_family(&label)?)?;
        }
        Ok(())
    }
}
