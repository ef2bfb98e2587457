//! End-to-end tests of the User controller on the real control plane, with
//! the controller running as its own process. Run by `cargo xtask ci`, or
//! `cargo xtask envtest run -- cargo test -p user-controller --features e2e`.

mod chaos;
mod fence;
mod harness;
mod operations;
mod webhooks;

use std::time::Duration;

use harness::*;
use k8s_openapi::api::core::v1::{Event, Namespace, ResourceQuota};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use user_controller::api::User;

#[tokio::test]
async fn provisions_namespace_binding_quota_status_and_events() {
    let _serial = SERIAL.lock().await;
    let client = client().await;
    let users: Api<User> = Api::all(client.clone());
    let dir = test_dir("provision");
    let controller = ControllerProcess::start(&dir, &Default::default());
    controller.wait_ready().await;

    users
        .create(
            &PostParams::default(),
            &user("prov-alice")
                .groups(&["devs", "oncall"])
                .quota(&[("pods", "10")])
                .build(),
        )
        .await
        .unwrap();
    let alice = wait_ready(&users, "prov-alice", "True", "Provisioned").await;
    let status = alice.status.clone().unwrap();
    assert_eq!(status.namespace.as_deref(), Some("prov-alice"));
    assert_eq!(status.observed_generation, alice.metadata.generation);
    assert!(
        alice
            .finalizers()
            .contains(&"example.com/account-directory".to_string())
    );

    let ns = Api::<Namespace>::all(client.clone())
        .get("prov-alice")
        .await
        .unwrap();
    assert_eq!(
        ns.labels()
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("user-controller")
    );
    let owner = &ns.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("User", alice.uid().unwrap().as_str())
    );
    assert_eq!(
        (owner.controller, owner.block_owner_deletion),
        (Some(true), Some(true))
    );

    let rb = Api::<RoleBinding>::namespaced(client.clone(), "prov-alice")
        .get("user-access")
        .await
        .unwrap();
    assert_eq!(rb.role_ref.name, "admin");
    let subjects: Vec<(String, String)> = rb
        .subjects
        .unwrap()
        .into_iter()
        .map(|s| (s.kind, s.name))
        .collect();
    assert_eq!(
        subjects,
        [
            ("User".into(), "prov-alice".into()),
            ("Group".into(), "devs".into()),
            ("Group".into(), "oncall".into())
        ]
    );
    let quota = Api::<ResourceQuota>::namespaced(client.clone(), "prov-alice")
        .get("user-quota")
        .await
        .unwrap();
    assert_eq!(quota.spec.unwrap().hard.unwrap()["pods"].0, "10");
    assert_eq!(journal_count(&dir, "created", &alice), 1);

    let events = Api::<Event>::namespaced(client.clone(), "default")
        .list(&ListParams::default().fields("involvedObject.name=prov-alice"))
        .await
        .unwrap();
    assert!(
        events
            .items
            .iter()
            .any(|e| e.reason.as_deref() == Some("Created"))
    );

    // Nothing changes, so nothing more is written: no-op reconciles are free.
    let generation_writes = controller
        .metric("controller_runtime_reconcile_total")
        .await;
    let rv = users.get("prov-alice").await.unwrap().resource_version();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        users.get("prov-alice").await.unwrap().resource_version(),
        rv
    );
    assert!(generation_writes > 0.0);

    delete_users(&users, &["prov-alice"]).await;
}

#[tokio::test]
async fn spec_changes_are_followed_and_hand_edits_repaired() {
    let _serial = SERIAL.lock().await;
    let client = client().await;
    let users: Api<User> = Api::all(client.clone());
    let dir = test_dir("edits");
    let controller = ControllerProcess::start(&dir, &Default::default());
    controller.wait_ready().await;
    users
        .create(
            &PostParams::default(),
            &user("edit-bob").quota(&[("pods", "5")]).build(),
        )
        .await
        .unwrap();
    wait_ready(&users, "edit-bob", "True", "Provisioned").await;
    let rbs: Api<RoleBinding> = Api::namespaced(client.clone(), "edit-bob");
    let quotas: Api<ResourceQuota> = Api::namespaced(client.clone(), "edit-bob");

    // A new role replaces the binding (roleRef is immutable); no quota
    // removes the quota.
    users
        .patch(
            "edit-bob",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"role": "view", "quota": null}})),
        )
        .await
        .unwrap();
    eventually("binding to view", Duration::from_secs(30), || async {
        (rbs.get("user-access").await.ok()?.role_ref.name == "view").then_some(())
    })
    .await;
    eventually("quota removed", Duration::from_secs(30), || async {
        quotas
            .get_opt("user-quota")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    let bob = wait_ready(&users, "edit-bob", "True", "Provisioned").await;
    assert_eq!(
        bob.status.unwrap().observed_generation,
        bob.metadata.generation
    );

    // Hand edits: subjects replaced, then the binding deleted; the label
    // stripped from the namespace.
    rbs.patch("user-access", &PatchParams::default(), &Patch::Merge(json!({"subjects": [{"kind": "User", "name": "mallory", "apiGroup": "rbac.authorization.k8s.io"}]})))
        .await
        .unwrap();
    eventually("subjects repaired", Duration::from_secs(30), || async {
        let rb = rbs.get("user-access").await.ok()?;
        (rb.subjects?
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            == ["edit-bob"])
        .then_some(())
    })
    .await;
    rbs.delete("user-access", &DeleteParams::default())
        .await
        .unwrap();
    eventually("binding recreated", Duration::from_secs(30), || async {
        rbs.get_opt("user-access").await.ok()?.map(|_| ())
    })
    .await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    // The user label, not the managed-by one: a namespace stripped of
    // managed-by is out of the controller's reach by design of the fence
    // (see the fence tests).
    namespaces
        .patch(
            "edit-bob",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"example.com/user": null}}})),
        )
        .await
        .unwrap();
    eventually(
        "namespace label repaired",
        Duration::from_secs(30),
        || async {
            let ns = namespaces.get("edit-bob").await.ok()?;
            (ns.labels().get("example.com/user").map(String::as_str) == Some("edit-bob"))
                .then_some(())
        },
    )
    .await;
    drop(controller);
    delete_users_with_controller(&dir, &users, &["edit-bob"]).await;
}

/// Deletes users with a controller running (to release finalizers).
async fn delete_users_with_controller(dir: &std::path::Path, users: &Api<User>, names: &[&str]) {
    let controller = ControllerProcess::start(dir, &Default::default());
    controller.wait_ready().await;
    delete_users(users, names).await;
}

#[tokio::test]
async fn a_foreign_namespace_is_never_adopted_and_bad_names_get_a_condition() {
    let _serial = SERIAL.lock().await;
    let client = client().await;
    let users: Api<User> = Api::all(client.clone());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let foreign: Namespace = serde_json::from_value(
        json!({"metadata": {"name": "conflict-carol", "labels": {"team": "other"}}}),
    )
    .unwrap();
    namespaces
        .create(&PostParams::default(), &foreign)
        .await
        .unwrap();
    let before = namespaces.get("conflict-carol").await.unwrap();

    let dir = test_dir("conflict");
    let controller = ControllerProcess::start(&dir, &Default::default());
    controller.wait_ready().await;
    users
        .create(&PostParams::default(), &user("conflict-carol").build())
        .await
        .unwrap();
    users
        .create(&PostParams::default(), &user("dotted.dave").build())
        .await
        .unwrap();
    wait_ready(&users, "conflict-carol", "False", "NamespaceConflict").await;
    let dave = wait_ready(&users, "dotted.dave", "False", "InvalidName").await;
    assert!(
        dave.status.unwrap().conditions[0]
            .message
            .contains("cannot name a namespace")
    );

    // Nothing about the foreign namespace changed, and nothing was made in it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = namespaces.get("conflict-carol").await.unwrap();
    assert_eq!(after.resource_version(), before.resource_version());
    assert!(after.owner_references().is_empty());
    assert!(
        Api::<RoleBinding>::namespaced(client.clone(), "conflict-carol")
            .get_opt("user-access")
            .await
            .unwrap()
            .is_none()
    );
    // Conditions, not a retry storm: no reconcile failed.
    assert_eq!(
        controller
            .metric("controller_runtime_reconcile_total{controller=\"user\",result=\"error\"}")
            .await,
        0.0
    );

    // When the foreign namespace goes, the user gets its own. The two waits
    // are apart because they measure different parts: how long
    // kube-controller-manager's namespace controller takes to empty and
    // remove a namespace (discovery of every served kind, then a delete per
    // kind; tens of seconds on a loaded two-core machine), and how long the
    // controller then takes to notice and provision, which is ours.
    namespaces
        .delete("conflict-carol", &DeleteParams::default())
        .await
        .unwrap();
    let deleted = std::time::Instant::now();
    eventually(
        "the foreign namespace conflict-carol removed by the namespace controller",
        Duration::from_secs(180),
        || async {
            // Gone, or already replaced by the controller's own.
            match namespaces.get_opt("conflict-carol").await.ok()? {
                None => Some(()),
                Some(ns) if ns.uid() != before.uid() => Some(()),
                Some(_) => None,
            }
        },
    )
    .await;
    let gone = deleted.elapsed();
    let carol = wait_ready(&users, "conflict-carol", "True", "Provisioned").await;
    println!(
        "conflict-carol: foreign namespace removed {:.1} s after its deletion, Provisioned {:.1} s after that",
        gone.as_secs_f64(),
        (deleted.elapsed() - gone).as_secs_f64()
    );
    let ns = namespaces.get("conflict-carol").await.unwrap();
    assert_eq!(ns.owner_references()[0].uid, carol.uid().unwrap());
    delete_users(&users, &["conflict-carol", "dotted.dave"]).await;
}

#[tokio::test]
async fn the_schema_rejects_a_bad_email_and_an_unknown_role_with_the_apiservers_message() {
    let _serial = SERIAL.lock().await;
    // Applied the CRD; the requests go through kubectl as a user's would,
    // since the typed client cannot even express an unknown role.
    client().await;
    let raw = kubectl_create(&json!({
        "apiVersion": "example.com/v1", "kind": "User", "metadata": {"name": "invalid-eve"},
        "spec": {"displayName": "Eve", "email": "not-an-email", "role": "root"},
    }));
    assert!(raw.contains("spec.role: Unsupported value: \"root\": supported values: \"admin\", \"edit\", \"view\""), "{raw}");
    assert!(
        raw.contains("spec.email in body must be of type email: \"not-an-email\""),
        "{raw}"
    );
    let empty = kubectl_create(&json!({
        "apiVersion": "example.com/v1", "kind": "User", "metadata": {"name": "invalid-eve"},
        "spec": {"displayName": "", "email": "eve@example.com"},
    }));
    assert!(
        empty.contains("spec.displayName in body should be at least 1 chars long"),
        "{empty}"
    );
}

/// `kubectl create -f -` of a raw object; returns stderr.
fn kubectl_create(object: &serde_json::Value) -> String {
    let path = test_dir("raw").join("object.json");
    std::fs::write(&path, object.to_string()).unwrap();
    let out = kubectl(&["create", "-f", path.to_str().unwrap()]);
    assert!(!out.status.success(), "the apiserver accepted {object}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn deletion_removes_the_account_exactly_once_and_the_namespace_is_collected() {
    let _serial = SERIAL.lock().await;
    let client = client().await;
    let users: Api<User> = Api::all(client.clone());
    let dir = test_dir("deletion");
    let mut controller = ControllerProcess::start(&dir, &Default::default());
    controller.wait_ready().await;
    users
        .create(&PostParams::default(), &user("del-frank").build())
        .await
        .unwrap();
    users
        .create(&PostParams::default(), &user("del-grace").build())
        .await
        .unwrap();
    let frank = wait_ready(&users, "del-frank", "True", "Provisioned").await;
    let grace = wait_ready(&users, "del-grace", "True", "Provisioned").await;

    // Deleted while running.
    delete_users(&users, &["del-frank"]).await;
    assert_eq!(journal_count(&dir, "removed", &frank), 1);

    // Deleted while the controller is down: the finalizer holds the User
    // until the controller is back and has removed the account.
    controller.kill();
    users
        .delete("del-grace", &DeleteParams::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        users
            .get("del-grace")
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_some()
    );
    assert_eq!(journal_count(&dir, "removed", &grace), 0);
    let controller = ControllerProcess::start(&dir, &Default::default());
    controller.wait_ready().await;
    eventually("del-grace gone", Duration::from_secs(30), || async {
        users
            .get_opt("del-grace")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    assert_eq!(journal_count(&dir, "removed", &grace), 1);
    assert_eq!(journal_count(&dir, "created", &grace), 1);

    // The garbage collector and the namespace controller remove the
    // namespaces; the controller has no code for it. The collector learns
    // of new CRDs every 30 s, hence the bound.
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for ns in ["del-frank", "del-grace"] {
        eventually(
            &format!("namespace {ns} removed"),
            Duration::from_secs(150),
            || async { namespaces.get_opt(ns).await.ok()?.is_none().then_some(()) },
        )
        .await;
    }
}
