//! The loader's own metrics, beside the work queue's and the controller
//! loop's from `crdforge-runtime`.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// What `/metrics` reports about rules and reloads.
#[derive(Clone, Debug, Default)]
pub struct LoaderMetrics {
    /// Rules in the files written, all ConfigMaps together.
    pub rules: Gauge,
    /// Rule groups in the files written.
    pub groups: Gauge,
    /// Rule files written.
    pub files: Gauge,
    /// ConfigMap keys refused as invalid.
    pub invalid_files: Gauge,
    /// Reloads Prometheus confirmed.
    pub reloads: Counter,
    /// Reloads that failed (Prometheus down or refusing).
    pub reload_failures: Counter,
}

impl LoaderMetrics {
    /// Registers every series (at zero until something happens).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "rule_loader_rules_loaded",
            "Rules in the rule files written for Prometheus",
            self.rules.clone(),
        );
        registry.register(
            "rule_loader_groups_loaded",
            "Rule groups in the rule files written for Prometheus",
            self.groups.clone(),
        );
        registry.register(
            "rule_loader_files_loaded",
            "Rule files written for Prometheus",
            self.files.clone(),
        );
        registry.register(
            "rule_loader_invalid_files",
            "ConfigMap keys refused as invalid rule files",
            self.invalid_files.clone(),
        );
        registry.register(
            "rule_loader_reloads",
            "Reloads Prometheus confirmed",
            self.reloads.clone(),
        );
        registry.register(
            "rule_loader_reload_failures",
            "Reloads that failed: Prometheus unreachable or refusing",
            self.reload_failures.clone(),
        );
    }
}
