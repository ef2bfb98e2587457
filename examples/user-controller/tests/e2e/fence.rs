//! Least privilege that holds: the generated ClusterRole grants nothing a
//! broader hand-written role would (checked verb by verb), the rules that no
//! request exercises are each needed by one of the controller's own writes
//! (removed one at a time), and the generated fence stops what RBAC cannot:
//! the escalation into `kube-system`, and writes to namespaces the
//! controller does not manage. Everything as the controller's
//! ServiceAccount, which the admin impersonates.

use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams, PostParams};
use user_controller::api::User;
use user_controller::reconcile::{desired_namespace, desired_quota, desired_role_binding};

use crate::harness::*;

/// kubectl's stderr, asserting the command failed.
fn refused(out: std::process::Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "{what} was allowed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

fn allowed(out: std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} was refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn can_i(args: &[&str], user: &str) -> String {
    let mut all = vec!["auth", "can-i"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--as", user]);
    String::from_utf8_lossy(&kubectl(&all).stdout)
        .trim()
        .to_string()
}

/// A merge patch of a Namespace as the controller's ServiceAccount (the
/// admin impersonating it), straight to the apiserver: kubectl's `label`
/// and `patch` read the object first, which the controller may not.
async fn patch_namespace_as_controller(name: &str, patch: serde_json::Value) -> Result<(), String> {
    let kubeconfig =
        kube::config::Kubeconfig::read_from(crdforge_envtest::Instance::from_env().kubeconfig())
            .unwrap();
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    config.auth_info.impersonate = Some(SERVICE_ACCOUNT.into());
    let client = kube::Client::try_from(config).unwrap();
    Api::<Namespace>::all(client)
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Writes `object` (with its apiVersion and kind) to a file for kubectl.
fn object_file(
    dir: &Path,
    name: &str,
    api_version: &str,
    kind: &str,
    object: impl serde::Serialize,
) -> String {
    let mut value = serde_json::to_value(object).unwrap();
    value["apiVersion"] = api_version.into();
    value["kind"] = kind.into();
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, value.to_string()).unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test]
async fn the_generated_role_grants_none_of_what_a_broader_role_would() {
    let _serial = SERIAL.lock().await;
    client().await;
    controller_kubeconfig();
    // Each was granted by the hand-written role this one replaced, or would
    // be by a role written per resource rather than per operation.
    for (args, why) in [
        (&["get", "users"][..], "Users are read through the lister"),
        (
            &["get", "namespaces"],
            "Namespaces are read through the lister",
        ),
        (
            &["get", "rolebindings", "-n", "default"],
            "read through the lister",
        ),
        (
            &["get", "resourcequotas", "-n", "default"],
            "read through the lister",
        ),
        (
            &["update", "users"],
            "finalizers are merge-patched, never PUT",
        ),
        (
            &["delete", "namespaces"],
            "the garbage collector deletes them",
        ),
        (&["delete", "users"], "Users are deleted by people"),
        (
            &["bind", "clusterroles/cluster-admin"],
            "bind is for admin, edit and view only",
        ),
        (
            &["update", "leases", "-n", "default"],
            "its Lease lives in its own namespace",
        ),
        (
            &["list", "configmaps", "-n", "default"],
            "its policy ConfigMap lives in its own namespace",
        ),
        (
            &["get", "configmaps", "-n", CONTROLLER_NAMESPACE],
            "the policy is read through an informer",
        ),
        (
            &["patch", "events", "-n", "default"],
            "events are only created",
        ),
    ] {
        assert_eq!(
            can_i(args, SERVICE_ACCOUNT),
            "no",
            "{SERVICE_ACCOUNT} may {args:?} ({why})"
        );
    }
    for args in [
        &["bind", "clusterroles/admin"][..],
        &["update", "leases", "-n", CONTROLLER_NAMESPACE],
        // What RBAC cannot narrow, and why the fence exists.
        &["create", "rolebindings", "-n", "kube-system"],
        &["delete", "resourcequotas", "-n", "kube-system"],
        &["patch", "namespaces"],
    ] {
        assert_eq!(
            can_i(args, SERVICE_ACCOUNT),
            "yes",
            "{SERVICE_ACCOUNT} may not {args:?}"
        );
    }
}

#[tokio::test]
async fn the_fence_stops_the_escalation_and_writes_outside_managed_namespaces() {
    let _serial = SERIAL.lock().await;
    client().await;
    controller_kubeconfig();
    let dir = test_dir("fence");
    let sa = SERVICE_ACCOUNT;

    let stderr = refused(
        try_escalation(false),
        "binding admin to mallory in kube-system",
    );
    assert!(
        stderr.contains("ValidatingAdmissionPolicy 'user-controller-fence'")
            && stderr.contains(FENCE_MESSAGE),
        "{stderr}"
    );
    assert!(
        !kubectl(&["get", "rolebinding", "escalate", "-n", "kube-system"])
            .status
            .success(),
        "the binding exists"
    );
    assert_eq!(
        can_i(&["list", "secrets", "-n", "kube-system"], "mallory"),
        "no"
    );

    // A namespace the controller does not manage, with a quota of its own.
    allowed(
        kubectl(&["create", "namespace", "fence-foreign"]),
        "creating fence-foreign",
    );
    allowed(
        kubectl(&[
            "create",
            "quota",
            "foreign-quota",
            "-n",
            "fence-foreign",
            "--hard=pods=1",
        ]),
        "creating foreign-quota",
    );
    let stderr = patch_namespace_as_controller(
        "fence-foreign",
        serde_json::json!({"metadata": {"labels": {"taken": "yes"}}}),
    )
    .await
    .expect_err("patching an unmanaged namespace was allowed");
    assert!(
        stderr.contains(
            "user-controller may change or delete only namespaces labelled \
             app.kubernetes.io/managed-by=user-controller"
        ),
        "{stderr}"
    );
    let stderr = refused(
        kubectl(&[
            "delete",
            "resourcequota",
            "foreign-quota",
            "-n",
            "fence-foreign",
            "--as",
            sa,
        ]),
        "deleting a quota in an unmanaged namespace",
    );
    assert!(stderr.contains(FENCE_MESSAGE), "{stderr}");
    allowed(
        kubectl(&[
            "get",
            "resourcequota",
            "foreign-quota",
            "-n",
            "fence-foreign",
        ]),
        "foreign-quota is still there",
    );
    let stderr = refused(
        kubectl(&["create", "namespace", "fence-unlabelled", "--as", sa]),
        "creating a namespace without the label",
    );
    assert!(
        stderr.contains("user-controller may create only namespaces labelled"),
        "{stderr}"
    );

    // In a namespace it makes with the label, the controller's work passes,
    // and the label stays.
    let managed = object_file(
        &dir,
        "managed",
        "v1",
        "Namespace",
        serde_json::json!({"metadata": {"name": "fence-managed",
            "labels": {"app.kubernetes.io/managed-by": "user-controller"}}}),
    );
    allowed(
        kubectl(&["create", "-f", &managed, "--as", sa]),
        "creating a managed namespace",
    );
    allowed(
        kubectl(&[
            "create",
            "quota",
            "q",
            "-n",
            "fence-managed",
            "--hard=pods=1",
            "--as",
            sa,
        ]),
        "creating a quota in a managed namespace",
    );
    let stderr = patch_namespace_as_controller(
        "fence-managed",
        serde_json::json!({"metadata": {"labels": {"app.kubernetes.io/managed-by": null}}}),
    )
    .await
    .expect_err("removing the managed-by label was allowed");
    assert!(stderr.contains("may not remove the label"), "{stderr}");
    allowed(
        kubectl(&[
            "delete",
            "resourcequota",
            "q",
            "-n",
            "fence-managed",
            "--as",
            sa,
        ]),
        "deleting a quota in a managed namespace",
    );
    for ns in ["fence-foreign", "fence-managed"] {
        allowed(
            kubectl(&["delete", "namespace", ns, "--wait=false"]),
            "cleaning up",
        );
    }
}

/// The ClusterRole rules of the generated rbac.yaml.
fn generated_cluster_rules() -> Vec<serde_json::Value> {
    let text =
        std::fs::read_to_string(workspace().join("generated/deploy/user-controller/rbac.yaml"))
            .unwrap();
    text.split("\n---\n")
        .map(|doc| serde_saphyr::from_str::<serde_json::Value>(doc).unwrap())
        .find(|o| o["kind"] == "ClusterRole")
        .expect("a ClusterRole")["rules"]
        .as_array()
        .unwrap()
        .clone()
}

/// A probe ServiceAccount holding the generated ClusterRole without the
/// rules `drop` matches; returns its username.
fn probe_with(dir: &Path, name: &str, drop: impl Fn(&serde_json::Value) -> bool) -> String {
    let rules: Vec<_> = generated_cluster_rules()
        .into_iter()
        .filter(|r| !drop(r))
        .collect();
    let objects = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": name, "namespace": CONTROLLER_NAMESPACE}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": name}, "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": name},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
         "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": CONTROLLER_NAMESPACE}]},
    ]});
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, objects.to_string()).unwrap();
    allowed(
        kubectl(&["apply", "--server-side", "-f", path.to_str().unwrap()]),
        name,
    );
    let who = format!("system:serviceaccount:{CONTROLLER_NAMESPACE}:{name}");
    // RBAC's cache learns of the new binding a moment later.
    let deadline = Instant::now() + Duration::from_secs(15);
    while can_i(&["patch", "rolebindings", "-n", "default"], &who) != "yes" {
        assert!(Instant::now() < deadline, "{who} never got its role");
        std::thread::sleep(Duration::from_millis(250));
    }
    who
}

/// Server-side apply of `file` as `who`, as the controller's field manager.
fn apply_as(file: &str, who: &str) -> std::process::Output {
    kubectl(&[
        "apply",
        "--server-side",
        "--field-manager=user-controller",
        "-f",
        file,
        "--as",
        who,
    ])
}

/// The two rules no request exercises — they are checked inside other
/// requests, so the audit log cannot show them — are each needed: without
/// it, the controller's own write of its desired object is refused; with
/// the full generated role, the same write passes.
#[tokio::test]
async fn bind_and_owner_finalizers_are_each_needed_by_a_controller_write() {
    let _serial = SERIAL.lock().await;
    let client = client().await;
    controller_kubeconfig();
    let dir = test_dir("minus");
    let users: Api<User> = Api::all(client.clone());
    // No controller runs: the objects are the controller's desired state,
    // written by hand as its identity would.
    let uma = users
        .create(
            &PostParams::default(),
            &user("minus-uma").quota(&[("pods", "2")]).build(),
        )
        .await
        .unwrap();
    let ns = object_file(&dir, "ns", "v1", "Namespace", desired_namespace(&uma));
    allowed(kubectl(&["create", "-f", &ns]), "the namespace");
    let binding = object_file(
        &dir,
        "rb",
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        desired_role_binding(&uma),
    );
    let quota = object_file(
        &dir,
        "quota",
        "v1",
        "ResourceQuota",
        desired_quota(&uma).unwrap(),
    );

    let without_bind = probe_with(&dir, "minus-bind", |r| {
        r["verbs"] == serde_json::json!(["bind"])
    });
    let stderr = refused(
        apply_as(&binding, &without_bind),
        "the role binding without `bind`",
    );
    assert!(
        stderr.contains("is attempting to grant RBAC permissions not currently held"),
        "{stderr}"
    );

    let without_finalizers = probe_with(&dir, "minus-finalizers", |r| {
        r["resources"] == serde_json::json!(["users/finalizers"])
    });
    let stderr = refused(
        apply_as(&quota, &without_finalizers),
        "the quota without users/finalizers",
    );
    assert!(stderr.contains("cannot set blockOwnerDeletion"), "{stderr}");

    // The full role: both writes pass (once RBAC's cache has the new role).
    let full = probe_with(&dir, "minus-none", |_| false);
    for file in [&binding, &quota] {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let out = apply_as(file, &full);
            if out.status.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the full generated role cannot write {file}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    let _ = users.delete("minus-uma", &Default::default()).await;
    let _ = kubectl(&["delete", "namespace", "minus-uma", "--wait=false"]);
    for name in ["minus-bind", "minus-finalizers", "minus-none"] {
        let _ = kubectl(&["delete", "clusterrolebinding,clusterrole", name]);
        let _ = kubectl(&["delete", "serviceaccount", name, "-n", CONTROLLER_NAMESPACE]);
    }
}
