//! Every verb of the typed client on a real apiserver, for a kind declared
//! with crdforge's own derive (so the generated code and the client are
//! proved together) and for a built-in cluster-scoped kind.

use std::time::Duration;

use crdforge::{CustomResource, KubeSchema};
use crdforge_runtime::client::TypedClient;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, WatchEvent, WatchParams};
use kube::runtime::wait::{await_condition, conditions};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A tiny namespaced kind with a status subresource.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[crd(
    group = "client.crdforge.dev",
    version = "v1",
    kind = "Gizmo",
    namespaced,
    status = "GizmoStatus"
)]
pub struct GizmoSpec {
    /// How many.
    #[crd(minimum = 0)]
    pub size: i32,
    /// A label to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<String>,
}

/// What the gizmo reports.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct GizmoStatus {
    /// Whether it works.
    pub ok: bool,
}

async fn setup() -> kube::Client {
    let client = crdforge_envtest::client()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let crd = crdforge_gen::checked_crd::<Gizmo>().unwrap_or_else(|e| panic!("{e}"));
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.patch(
        "gizmos.client.crdforge.dev",
        &PatchParams::apply("client-e2e").force(),
        &Patch::Apply(&crd),
    )
    .await
    .unwrap();
    tokio::time::timeout(
        Duration::from_secs(30),
        await_condition(
            crds,
            "gizmos.client.crdforge.dev",
            conditions::is_crd_established(),
        ),
    )
    .await
    .unwrap()
    .unwrap();
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": "typed-client"}})).unwrap();
    let _ = Api::<Namespace>::all(client.clone())
        .create(&Default::default(), &ns)
        .await;
    client
}

#[tokio::test]
async fn every_verb_of_a_namespaced_kind_with_status() {
    let client = setup().await;
    let gizmos = TypedClient::<Gizmo>::new(client.clone(), "typed-client-e2e");
    let verbs = gizmos.namespace("typed-client");
    // A clean slate, whatever an earlier run against this instance left.
    verbs
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await
        .unwrap();

    // create, get, get_opt, list
    let created = verbs
        .create(&Gizmo::new(
            "g1",
            GizmoSpec {
                size: 1,
                colour: None,
            },
        ))
        .await
        .unwrap();
    assert_eq!(verbs.get("g1").await.unwrap().spec.size, 1);
    assert!(verbs.get_opt("missing").await.unwrap().is_none());
    assert_eq!(
        verbs
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let everywhere = gizmos
        .all_namespaces()
        .list(&ListParams::default())
        .await
        .unwrap();
    assert!(everywhere.items.iter().any(|g| g.name_any() == "g1"));

    // watch from the creation's resourceVersion sees the next change
    let stream = verbs
        .watch(
            &WatchParams::default().timeout(20),
            &created.resource_version().unwrap(),
        )
        .await
        .unwrap();
    let mut stream = Box::pin(stream);

    // update with the current resourceVersion works; with a stale one, 409
    let mut current = verbs.get("g1").await.unwrap();
    current.spec.size = 2;
    let updated = verbs.update(&current).await.unwrap();
    assert_eq!(updated.spec.size, 2);
    current.spec.size = 3;
    match verbs.update(&current).await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 409),
        other => panic!("a stale update must conflict, got {other:?}"),
    }
    match tokio::time::timeout(Duration::from_secs(20), stream.try_next())
        .await
        .unwrap()
        .unwrap()
    {
        Some(WatchEvent::Modified(g)) => assert_eq!(g.spec.size, 2),
        other => panic!("expected the update on the watch, got {other:?}"),
    }

    // status: update_status, patch_status, apply_status
    let mut with_status = verbs.get("g1").await.unwrap();
    with_status.status = Some(GizmoStatus { ok: true });
    let stored = verbs.update_status(&with_status).await.unwrap();
    assert_eq!(stored.status, Some(GizmoStatus { ok: true }));
    assert_eq!(stored.spec.size, 2, "a status write leaves the spec alone");
    let patched = verbs
        .patch_status("g1", &Patch::Merge(json!({"status": {"ok": false}})))
        .await
        .unwrap();
    assert_eq!(patched.status, Some(GizmoStatus { ok: false }));
    let applied = verbs
        .apply_status(&json!({"status": {"ok": true}}), "g1", true)
        .await
        .unwrap();
    assert_eq!(applied.status, Some(GizmoStatus { ok: true }));

    // patch, then server-side apply: the field manager owns what it applied,
    // another manager's apply of the same field conflicts unless forced
    verbs
        .patch("g1", &Patch::Merge(json!({"spec": {"colour": "red"}})))
        .await
        .unwrap();
    // To server-side apply, the earlier update (a PUT) and an apply are
    // different owners even under one manager name: unforced, it conflicts.
    match verbs
        .apply(
            &json!({"metadata": {"name": "g1"}, "spec": {"size": 5}}),
            "g1",
            false,
        )
        .await
    {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 409, "{s:?}"),
        other => panic!("applying a field an update owns must conflict, got {other:?}"),
    }
    let applied = verbs
        .apply(
            &json!({"metadata": {"name": "g1"}, "spec": {"size": 5}}),
            "g1",
            true,
        )
        .await
        .unwrap();
    assert_eq!(applied.spec.size, 5);
    assert!(
        applied
            .managed_fields()
            .iter()
            .any(|f| f.manager.as_deref() == Some("typed-client-e2e")
                && f.operation.as_deref() == Some("Apply"))
    );
    let rival = TypedClient::<Gizmo>::new(client.clone(), "rival");
    let rival = rival.namespace("typed-client");
    match rival
        .apply(
            &json!({"metadata": {"name": "g1"}, "spec": {"size": 6}}),
            "g1",
            false,
        )
        .await
    {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 409, "{s:?}"),
        other => panic!("an unforced apply of an owned field must conflict, got {other:?}"),
    }
    assert_eq!(
        rival
            .apply(
                &json!({"metadata": {"name": "g1"}, "spec": {"size": 6}}),
                "g1",
                true
            )
            .await
            .unwrap()
            .spec
            .size,
        6
    );

    // the schema from the derive is enforced
    match verbs
        .create(&Gizmo::new(
            "negative",
            GizmoSpec {
                size: -1,
                colour: None,
            },
        ))
        .await
    {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 422),
        other => panic!("size -1 violates minimum 0, got {other:?}"),
    }

    // delete, delete_collection
    verbs
        .create(&Gizmo::new(
            "g2",
            GizmoSpec {
                size: 1,
                colour: None,
            },
        ))
        .await
        .unwrap();
    verbs
        .create(&Gizmo::new(
            "g3",
            GizmoSpec {
                size: 1,
                colour: None,
            },
        ))
        .await
        .unwrap();
    verbs.delete("g1", &DeleteParams::default()).await.unwrap();
    assert!(verbs.get_opt("g1").await.unwrap().is_none());
    verbs
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await
        .unwrap();
    assert!(
        verbs
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    drop(stream.next());
}

#[tokio::test]
async fn cluster_scoped_kinds_use_the_cluster_verbs() {
    let client = setup().await;
    let namespaces = TypedClient::<Namespace>::new(client, "typed-client-e2e");
    // Namespaces take a while to go, so each run uses a name of its own.
    let name = format!("typed-client-{}", std::process::id());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    namespaces.cluster().create(&ns).await.unwrap();
    let applied = namespaces
        .cluster()
        .apply(
            &json!({"metadata": {"name": name, "labels": {"owner": "e2e"}}}),
            &name,
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        applied.labels().get("owner").map(String::as_str),
        Some("e2e")
    );
    let deleted = namespaces
        .cluster()
        .delete(&name, &DeleteParams::default())
        .await
        .unwrap();
    // A namespace is not gone at once: the namespace controller empties it.
    assert!(
        deleted
            .left()
            .is_some_and(|ns| ns.metadata.deletion_timestamp.is_some())
    );
}
