//! What Leifur's IPAM controller needs to run: its permissions and
//! Deployment, rendered by `cargo xtask gen` into
//! `generated/deploy/leifur-controller/`.
//!
//! The declaration is the single source of the controller's permissions:
//! its end-to-end tests run it under exactly the generated role, and its
//! `rbac_minimality` test compares the granted verbs with what the
//! apiserver's audit log shows it used.

use crdforge_gen::rbac::{ControllerManifest, Op, Probes, Uses};

/// The controller's manifest: what its code does, resource by resource.
pub fn controller_manifest() -> ControllerManifest {
    ControllerManifest {
        name: super::CONTROLLER_NAME,
        namespace: super::SPEAKER_NAMESPACE,
        image: "ghcr.io/crdforge/leifur-controller:0.1.0",
        uses: vec![
            // Every Service is read through an informer; addresses are
            // written by merge patches of the status subresource carrying
            // the cached resourceVersion.
            Uses::new("", "services", &[Op::Watch, Op::PatchStatus]),
            Uses::new(
                "leifur.crdforge.dev",
                "ippools",
                &[Op::Watch, Op::PatchStatus],
            ),
            // Only read, for pools' namespaceSelector.
            Uses::new("", "namespaces", &[Op::Watch]),
            Uses::new("", "events", &[Op::Create]),
        ],
        own_namespace_uses: vec![Uses::new(
            "coordination.k8s.io",
            "leases",
            &[Op::Get, Op::Create, Op::Update],
        )],
        managed_namespaces: None,
        replicas: 2,
        args: vec!["--leader-elect"],
        metrics_port: 8080,
        probes: Some(Probes::HEALTHZ_READYZ),
    }
}
