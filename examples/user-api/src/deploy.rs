//! What the User controller needs to run: its permissions and Deployment,
//! rendered by `cargo xtask gen` into `generated/deploy/user-controller/`.
//!
//! The declaration lives beside the API, not in the controller crate, so
//! that generating manifests compiles no Kubernetes client. It is the single
//! source of the controller's permissions and of its fence: the end-to-end
//! tests run the controller under exactly these rules and that policy, so a
//! call the list does not allow fails CI, and compare the granted verbs with
//! the apiserver's audit log, so one the controller never uses fails too.

use crdforge_gen::pod::{Mount, Pod, Port, Source, Volume, WebhookServing};
use crdforge_gen::rbac::{ControllerManifest, ManagedLabel, Op, Probes, Uses};

use crate::webhooks;

/// Name of the controller's ServiceAccount, roles and Deployment.
pub const NAME: &str = "user-controller";
/// Namespace the controller runs in.
pub const NAMESPACE: &str = crate::CONTROLLER_NAMESPACE;
/// The label on every namespace (and child) the controller makes; the fence
/// lets it write only in namespaces that carry it.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "user-controller");

/// Where the controller's container mounts the webhooks' serving
/// certificate: the Secret of cert-manager's `Certificate`
/// [`webhooks::SERVICE`] (the one whose CA the webhook configurations and
/// the CRD's conversion trust), keys `tls.crt` and `tls.key`.
pub const TLS_DIR: &str = "/etc/user-controller/tls";
/// The account directory's folder (`--directory`): an `emptyDir`, so it
/// lives as long as the pod. The directory stands in for an external
/// system; a real one would be a service, not a folder.
pub const DIRECTORY: &str = "/var/lib/user-controller";

/// The controller's manifest: what its code does, resource by resource.
/// Every read goes through an informer's lister (`Watch`), so nothing needs
/// `get` but the Lease, which leader election reads directly.
pub fn controller_manifest() -> ControllerManifest {
    ControllerManifest {
        name: NAME,
        namespace: NAMESPACE,
        image: "ghcr.io/crdforge/user-controller:0.1.0",
        uses: vec![
            // Finalizers are added and released by merge patches; the status
            // is applied. Children carry blockOwnerDeletion ownerReferences.
            Uses::new(
                "example.com",
                "users",
                &[Op::Watch, Op::Patch, Op::PatchStatus, Op::OwnsChildren],
            ),
            // Namespaces are created, repaired by apply, never deleted: the
            // garbage collector removes them.
            Uses::new("", "namespaces", &[Op::Watch, Op::Create, Op::Apply])
                .in_managed_namespaces(),
            // A changed role means deleting the binding (roleRef is
            // immutable); the user's role is one the controller does not
            // hold, hence `bind` on exactly those.
            Uses::new(
                "rbac.authorization.k8s.io",
                "rolebindings",
                &[Op::Watch, Op::Apply, Op::Delete],
            )
            .in_managed_namespaces(),
            Uses::new(
                "rbac.authorization.k8s.io",
                "clusterroles",
                &[Op::Bind(&["admin", "edit", "view"])],
            ),
            Uses::new("", "resourcequotas", &[Op::Watch, Op::Apply, Op::Delete])
                .in_managed_namespaces(),
            Uses::new("", "events", &[Op::Create]),
        ],
        own_namespace_uses: vec![
            Uses::new(
                "coordination.k8s.io",
                "leases",
                &[Op::Get, Op::Create, Op::Update],
            ),
            // The admission policy (`webhooks::POLICY_CONFIGMAP`), read
            // through an informer so that a change applies without a
            // restart; only in the controller's own namespace.
            Uses::new("", "configmaps", &[Op::Watch]),
        ],
        managed_namespaces: Some(ManagedLabel {
            key: MANAGED_BY.0,
            value: MANAGED_BY.1,
        }),
        replicas: 2,
        args: vec![
            "--leader-elect".into(),
            format!("--directory={DIRECTORY}"),
            format!("--webhook-addr=0.0.0.0:{}", webhooks::PORT),
            format!("--tls-cert={TLS_DIR}/tls.crt"),
            format!("--tls-key={TLS_DIR}/tls.key"),
        ],
        metrics_port: 8080,
        probes: Some(Probes::HEALTHZ_READYZ),
        pod: Pod {
            volumes: vec![
                Volume {
                    name: "webhook-tls",
                    source: Source::Secret {
                        secret_name: webhooks::SERVICE,
                        items: vec![("tls.crt", "tls.crt"), ("tls.key", "tls.key")],
                    },
                },
                Volume {
                    name: "accounts",
                    source: Source::EmptyDir,
                },
            ],
            mounts: vec![
                Mount::read_only("webhook-tls", TLS_DIR),
                Mount::writable("accounts", DIRECTORY),
            ],
            ports: vec![Port {
                name: "webhook",
                port: webhooks::PORT,
            }],
            webhooks: Some(WebhookServing {
                webhooks: webhooks::webhooks(webhooks::in_cluster()),
                port: "webhook",
                cert_volume: "webhook-tls",
            }),
            ..Pod::default()
        },
    }
}
