//! controller-runtime's `controller_runtime_reconcile_*` metrics, counted by the
//! controller loop itself, so that a panic or a timeout — which the work function never
//! sees return — is counted like any other failure.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The label of the per-controller series.
type ControllerLabel = [(&'static str, String); 1];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    controller: String,
    result: &'static str,
}

type HistogramFamily = Family<ControllerLabel, Histogram, fn() -> Histogram>;

/// controller-runtime's reconcile-time buckets: 5 ms to about 80 s.
fn reconcile_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

/// How one work call ended, as the metrics see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    Success,
    RequeueAfter,
    Error,
    Panic,
    Timeout,
}

/// The reconcile metric families, shared by every controller built with them.
///
/// Register them once with [`ControllerMetrics::register`], then give each controller
/// the handle of [`ControllerMetrics::controller`] through
/// [`Controller::metrics`](super::Controller::metrics). Every series carries
/// `controller="<name>"`:
///
/// | metric | type |
/// |---|---|
/// | `controller_runtime_reconcile_total` | counter, by `result`: `success`, `requeue_after`, `error` (errors, panics and timeouts) |
/// | `controller_runtime_reconcile_errors_total` | counter: errors, panics and timeouts |
/// | `controller_runtime_reconcile_panics_total` | counter: panics |
/// | `controller_runtime_reconcile_timeouts_total` | counter: calls cancelled by the timeout |
/// | `controller_runtime_reconcile_time_seconds` | histogram: length of each call, however it ended |
///
/// Every series of a controller exists, at zero, from the moment its handle is made, so
/// a reader can tell "nothing failed" from "not exported".
#[derive(Clone, Debug)]
pub struct ControllerMetrics {
    total: Family<ResultLabels, Counter>,
    errors: Family<ControllerLabel, Counter>,
    panics: Family<ControllerLabel, Counter>,
    timeouts: Family<ControllerLabel, Counter>,
    time: HistogramFamily,
}

impl Default for ControllerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ControllerMetrics {
    /// Creates the metric families without registering them anywhere.
    pub fn new() -> Self {
        Self {
            total: Family::default(),
            errors: Family::default(),
            panics: Family::default(),
            timeouts: Family::default(),
            time: Family::new_with_constructor(reconcile_histogram),
        }
    }

    /// Registers every family in `registry` (`prometheus-client` appends `_total` to
    /// counter names and a full stop to help texts).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "controller_runtime_reconcile",
            "Total number of reconciliations per controller",
            self.total.clone(),
        );
        registry.register(
            "controller_runtime_reconcile_errors",
            "Total number of reconciliation errors per controller, panics and timeouts included",
            self.errors.clone(),
        );
        registry.register(
            "controller_runtime_reconcile_panics",
            "Total number of reconciliation panics per controller",
            self.panics.clone(),
        );
        registry.register(
            "controller_runtime_reconcile_timeouts",
            "Total number of reconciliations per controller cancelled by the timeout",
            self.timeouts.clone(),
        );
        registry.register(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller",
            self.time.clone(),
        );
    }

    /// The handle a controller named `name` updates; creates all its series at zero.
    pub fn controller(&self, name: impl Into<String>) -> ReconcileMetrics {
        let name = name.into();
        let label = [("controller", name.clone())];
        let result = |result| {
            self.total
                .get_or_create(&ResultLabels {
                    controller: name.clone(),
                    result,
                })
                .clone()
        };
        ReconcileMetrics {
            success: result("success"),
            requeue_after: result("requeue_after"),
            error: result("error"),
            errors: self.errors.get_or_create(&label).clone(),
            panics: self.panics.get_or_create(&label).clone(),
            timeouts: self.timeouts.get_or_create(&label).clone(),
            time: self.time.get_or_create(&label).clone(),
        }
    }
}

/// One controller's series, resolved once so that a call costs a few atomic operations.
#[derive(Clone, Debug)]
pub struct ReconcileMetrics {
    success: Counter,
    requeue_after: Counter,
    error: Counter,
    errors: Counter,
    panics: Counter,
    timeouts: Counter,
    time: Histogram,
}

impl ReconcileMetrics {
    pub(super) fn observe(&self, outcome: Outcome, seconds: f64) {
        self.time.observe(seconds);
        // A panic and a timeout are failed reconciles, as in controller-runtime (whose
        // recovered panics become errors).
        let total = match outcome {
            Outcome::Success => &self.success,
            Outcome::RequeueAfter => &self.requeue_after,
            Outcome::Error | Outcome::Panic | Outcome::Timeout => {
                self.errors.inc();
                &self.error
            }
        };
        total.inc();
        match outcome {
            Outcome::Panic => self.panics.inc(),
            Outcome::Timeout => self.timeouts.inc(),
            Outcome::Success | Outcome::RequeueAfter | Outcome::Error => 0,
        };
    }
}
