//! What the Rule Loader needs to run: its permissions and Deployment,
//! rendered by `cargo xtask gen` into `generated/deploy/rule-loader/`.
//!
//! As for the User controller, the declaration is the single source of the
//! controller's permissions, and its end-to-end tests run it under exactly
//! the generated role.

use crdforge_gen::rbac::{ControllerManifest, Op, Probes, Uses};

/// The controller's manifest: what its code does, resource by resource.
pub fn controller_manifest() -> ControllerManifest {
    ControllerManifest {
        name: super::NAME,
        namespace: super::NAMESPACE,
        image: "ghcr.io/crdforge/rule-loader:0.1.0",
        uses: vec![
            // Labelled ConfigMaps are read through an informer; the status
            // annotation is written by a merge patch with a resourceVersion
            // precondition (never an apply, which could re-create a
            // ConfigMap deleted since the cache read). No fence: which
            // ConfigMaps it may patch is a label on the object, not on its
            // namespace, which the generated fence cannot express yet.
            Uses::new("", "configmaps", &[Op::Watch, Op::Patch]),
            // One Warning Event per invalid ConfigMap, applied under a fixed
            // name and deleted when the ConfigMap is fixed.
            Uses::new("", "events", &[Op::Apply, Op::Delete]),
        ],
        own_namespace_uses: vec![Uses::new(
            "coordination.k8s.io",
            "leases",
            &[Op::Get, Op::Create, Op::Update],
        )],
        managed_namespaces: None,
        replicas: 2,
        args: vec![
            "--leader-elect",
            "--rules-dir=/etc/prometheus/rules",
            "--prometheus-url=http://prometheus:9090",
        ],
        metrics_port: 8080,
        // The loader serves /healthz and /readyz beside /metrics.
        probes: Some(Probes::HEALTHZ_READYZ),
    }
}
