//! What Leifur's IPAM controller needs to run: its permissions and
//! Deployment, rendered by `cargo xtask gen` into
//! `generated/deploy/leifur-controller/`.
//!
//! The declaration is the single source of the controller's permissions:
//! its end-to-end tests run it under exactly the generated role, and its
//! `rbac_minimality` test compares the granted verbs with what the
//! apiserver's audit log shows it used.

use crdforge_gen::pod::{Mount, Pod, Port, Source, Volume, WebhookServing};
use crdforge_gen::rbac::{ControllerManifest, Op, Probes, Uses};

/// Where the controller's container mounts the webhook's serving
/// certificate: the Secret of cert-manager's `Certificate`
/// [`super::WEBHOOK_SERVICE`], whose CA the webhook configuration trusts.
pub const TLS_DIR: &str = "/etc/leifur-controller/tls";

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
        args: vec![
            "--leader-elect".into(),
            format!("--webhook-addr=0.0.0.0:{}", super::WEBHOOK_PORT),
            format!("--tls-cert={TLS_DIR}/tls.crt"),
            format!("--tls-key={TLS_DIR}/tls.key"),
        ],
        metrics_port: 8080,
        probes: Some(Probes::HEALTHZ_READYZ),
        pod: Pod {
            volumes: vec![Volume {
                name: "webhook-tls",
                source: Source::Secret {
                    secret_name: super::WEBHOOK_SERVICE,
                    items: vec![("tls.crt", "tls.crt"), ("tls.key", "tls.key")],
                },
            }],
            mounts: vec![Mount::read_only("webhook-tls", TLS_DIR)],
            ports: vec![Port {
                name: "webhook",
                port: super::WEBHOOK_PORT,
            }],
            webhooks: Some(WebhookServing {
                webhooks: super::webhooks(super::in_cluster()),
                port: "webhook",
                cert_volume: "webhook-tls",
            }),
            ..Pod::default()
        },
    }
}
