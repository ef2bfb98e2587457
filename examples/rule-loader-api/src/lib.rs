//! The Rule Loader's contract with the teams that use it, in one place for
//! the controller, its tests and its generated manifests: which ConfigMaps
//! it reads, what it writes back on them, and (feature `deploy`) what it
//! needs to run.
//!
//! The Rule Loader has no CRD of its own: teams commit ConfigMaps labelled
//! [`RULES_LABEL`], each data key a Prometheus rule file.
#![warn(missing_docs)]

#[cfg(feature = "deploy")]
pub mod deploy;

/// Name of the controller: field manager, ServiceAccount, Lease, Deployment.
pub const NAME: &str = "rule-loader";
/// Namespace the controller runs in.
pub const NAMESPACE: &str = "rule-loader-system";

/// The label that makes a ConfigMap a source of rule files.
pub const RULES_LABEL: (&str, &str) = ("prometheus.example.com/rules", "true");

/// The label selector of [`RULES_LABEL`], as the watch sends it.
pub fn rules_selector() -> String {
    format!("{}={}", RULES_LABEL.0, RULES_LABEL.1)
}

/// The annotation that names every problem of an invalid ConfigMap (file,
/// group, rule and error, one per line). Absent when every file is valid.
pub const STATUS_ANNOTATION: &str = "prometheus.example.com/rules-status";

/// The reason of the Warning Event on a ConfigMap with invalid rule files.
pub const INVALID_REASON: &str = "InvalidRules";

/// The name of the one Warning Event kept per invalid ConfigMap (updated as
/// its problems change, deleted when they are fixed).
pub fn event_name(configmap: &str) -> String {
    format!("{configmap}.rule-loader-invalid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selector_is_the_label() {
        assert_eq!(rules_selector(), "prometheus.example.com/rules=true");
        assert_eq!(event_name("team-a"), "team-a.rule-loader-invalid");
    }
}
