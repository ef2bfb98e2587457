//! What the User controller needs to run: its permissions and Deployment,
//! rendered by `cargo xtask gen` into `generated/deploy/user-controller/`.
//!
//! The declaration lives beside the API, not in the controller crate, so
//! that generating manifests compiles no Kubernetes client. It is the single
//! source of the controller's permissions: the end-to-end tests run the
//! controller under exactly these rules, so a call the list does not allow
//! fails CI.

use crdforge_gen::rbac::{ControllerManifest, Permission};

/// Name of the controller's ServiceAccount, roles and Deployment.
pub const NAME: &str = "user-controller";
/// Namespace the controller runs in.
pub const NAMESPACE: &str = "user-controller-system";

/// The controller's manifest.
pub fn controller_manifest() -> ControllerManifest {
    let p = |group, resources, verbs| Permission {
        group,
        resources,
        verbs,
        resource_names: &[],
    };
    ControllerManifest {
        name: NAME,
        namespace: NAMESPACE,
        image: "ghcr.io/crdforge/user-controller:0.1.0",
        cluster_rules: vec![
            // Read Users; add and release the finalizer (merge patches).
            p(
                "example.com",
                &["users"],
                &["get", "list", "watch", "patch"],
            ),
            p("example.com", &["users/status"], &["patch"]),
            // ownerReferences with blockOwnerDeletion to a User need this
            // where OwnerReferencesPermissionEnforcement is on.
            p("example.com", &["users/finalizers"], &["update"]),
            // Namespaces are created, repaired by apply, never deleted: the
            // garbage collector removes them.
            p(
                "",
                &["namespaces"],
                &["get", "list", "watch", "create", "patch"],
            ),
            // A changed role means deleting the binding (roleRef is immutable).
            p(
                "rbac.authorization.k8s.io",
                &["rolebindings"],
                &["get", "list", "watch", "create", "patch", "delete"],
            ),
            // Granting a role the controller itself does not hold needs `bind`.
            Permission {
                group: "rbac.authorization.k8s.io",
                resources: &["clusterroles"],
                verbs: &["bind"],
                resource_names: &["admin", "edit", "view"],
            },
            p(
                "",
                &["resourcequotas"],
                &["get", "list", "watch", "create", "patch", "delete"],
            ),
            p("", &["events"], &["create"]),
        ],
        namespace_rules: vec![p(
            "coordination.k8s.io",
            &["leases"],
            &["get", "create", "update"],
        )],
        replicas: 2,
        args: vec!["--leader-elect", "--directory=/var/lib/user-controller"],
        metrics_port: 8080,
    }
}
