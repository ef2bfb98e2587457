//! Convergence under failure: while many Users are created, the apiserver
//! is killed and restarted twice and the controller SIGKILLed twice; the
//! final state must be exact.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crdforge_envtest::{Component, Instance};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::ResourceExt;
use kube::api::{Api, ListParams, PostParams};
use user_controller::api::User;
use user_controller::directory::FileDirectory;

use crate::harness::*;

/// How many Users; `CHAOS_USERS` overrides the default of 500.
fn count() -> usize {
    std::env::var("CHAOS_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

async fn restart_apiserver() {
    tokio::task::spawn_blocking(|| Instance::from_env().restart(Component::KubeApiserver, true))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e:#}"));
}

#[tokio::test]
async fn users_converge_exactly_through_apiserver_restarts_and_controller_kills() {
    let _serial = SERIAL.lock().await;
    let client = client().await;
    let users: Api<User> = Api::all(client.clone());
    let dir = test_dir("chaos");
    let n = count();
    let names: Vec<String> = (0..n).map(|i| format!("chaos-{i:04}")).collect();
    let mut controller = ControllerProcess::start(&dir, &Default::default());
    controller.wait_ready().await;

    // Creates retry through the apiserver's absences, as a client would.
    let creator = tokio::spawn({
        let users = users.clone();
        let names = names.clone();
        async move {
            futures::stream::iter(names)
                .for_each_concurrent(16, |name| {
                    let users = users.clone();
                    async move {
                        loop {
                            match users
                                .create(&PostParams::default(), &user(&name).build())
                                .await
                            {
                                Ok(_) => return,
                                Err(kube::Error::Api(s)) if s.code == 409 => return,
                                Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
                            }
                        }
                    }
                })
                .await
        }
    });

    tokio::time::sleep(Duration::from_secs(2)).await;
    restart_apiserver().await;
    controller.kill();
    controller = ControllerProcess::start(&dir, &Default::default());
    tokio::time::sleep(Duration::from_secs(3)).await;
    restart_apiserver().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    controller.kill();
    let controller = ControllerProcess::start(&dir, &Default::default());
    creator.await.unwrap();
    controller.wait_ready().await;

    eventually(
        &format!("all {n} users Ready"),
        Duration::from_secs(300),
        || async {
            let list = users.list(&ListParams::default()).await.ok()?;
            let ready = list
                .items
                .iter()
                .filter(|u| u.name_any().starts_with("chaos-"))
                .filter(|u| ready(u) == Some(("True".into(), "Provisioned".into())))
                .count();
            (ready == n).then_some(())
        },
    )
    .await;

    // Exactly one namespace per user, owned by it; exactly one binding in
    // each; no managed namespace without its user; one account per user.
    let list = users.list(&ListParams::default()).await.unwrap();
    let uids: BTreeMap<String, String> = list
        .items
        .iter()
        .filter(|u| u.name_any().starts_with("chaos-"))
        .map(|u| (u.name_any(), u.uid().unwrap()))
        .collect();
    assert_eq!(uids.len(), n);
    let managed = ListParams::default().labels("app.kubernetes.io/managed-by=user-controller");
    let namespaces = Api::<Namespace>::all(client.clone())
        .list(&managed)
        .await
        .unwrap();
    let owned: BTreeMap<String, String> = namespaces
        .items
        .iter()
        .filter(|ns| ns.name_any().starts_with("chaos-"))
        .map(|ns| (ns.name_any(), ns.owner_references()[0].uid.clone()))
        .collect();
    assert_eq!(owned, uids, "namespaces and their owners");
    let bindings = Api::<RoleBinding>::all(client.clone())
        .list(&managed)
        .await
        .unwrap();
    let mut per_namespace: BTreeMap<String, usize> = BTreeMap::new();
    for rb in bindings
        .items
        .iter()
        .filter(|rb| rb.namespace().unwrap_or_default().starts_with("chaos-"))
    {
        *per_namespace.entry(rb.namespace().unwrap()).or_default() += 1;
    }
    assert_eq!(per_namespace.len(), n);
    assert!(
        per_namespace.values().all(|c| *c == 1),
        "duplicate bindings"
    );
    // Only this test's users: others may exist in a shared control plane.
    let ours = |line: &&String| line.contains(" chaos-");
    let accounts: Vec<_> = FileDirectory::new(&dir)
        .unwrap()
        .accounts()
        .unwrap()
        .into_iter()
        .filter(|a| a.name.starts_with("chaos-"))
        .collect();
    let account_uids: BTreeSet<&String> = accounts.iter().map(|a| &a.uid).collect();
    assert_eq!(accounts.len(), n);
    assert_eq!(account_uids, uids.values().collect::<BTreeSet<_>>());
    let created = journal(&dir)
        .iter()
        .filter(ours)
        .filter(|l| l.starts_with("created"))
        .count();
    assert_eq!(created, n, "an account was created twice");

    let names: Vec<&str> = uids.keys().map(String::as_str).collect();
    delete_users(&users, &names).await;
    let left = FileDirectory::new(&dir).unwrap().accounts().unwrap();
    assert!(
        !left.iter().any(|a| a.name.starts_with("chaos-")),
        "accounts left behind"
    );
    let removed = journal(&dir)
        .iter()
        .filter(ours)
        .filter(|l| l.starts_with("removed"))
        .count();
    assert_eq!(removed, n, "an account was removed twice or not at all");
}
