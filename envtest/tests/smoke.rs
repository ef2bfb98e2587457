//! Smoke tests that can only pass on a real control plane: the apiserver
//! enforces a CRD's schema, the garbage collector follows ownerReferences, the
//! namespace controller finishes namespace deletion, and the kubectl built
//! here applies server-side.
//!
//! Run with `cargo xtask envtest run -- cargo test -p crdforge-envtest --features e2e`
//! (or let `cargo xtask ci` do it).

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams,
};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, ResourceExt};
use serde_json::json;

async fn client() -> Client {
    crdforge_envtest::client()
        .await
        .unwrap_or_else(|err| panic!("{err:#}"))
}

/// A small CRD whose schema the server must enforce.
fn crd(group: &str, kind: &str, plural: &str, scope: &str) -> CustomResourceDefinition {
    let yaml = format!(
        r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.{group}
spec:
  group: {group}
  scope: {scope}
  names:
    kind: {kind}
    plural: {plural}
    singular: {singular}
    listKind: {kind}List
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size:
                type: integer
                format: int32
                minimum: 1
              color:
                type: string
                enum: [red, green]
"#,
        singular = kind.to_lowercase()
    );
    serde_saphyr::from_str(&yaml).expect("the test CRD is valid YAML")
}

async fn apply_crd(client: &Client, crd: &CustomResourceDefinition) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = crd.name_any();
    crds.patch(
        &name,
        &PatchParams::apply("crdforge-smoke").force(),
        &Patch::Apply(crd),
    )
    .await
    .expect("the apiserver accepts the CRD");
    tokio::time::timeout(
        Duration::from_secs(30),
        await_condition(crds, &name, conditions::is_crd_established()),
    )
    .await
    .expect("the CRD becomes Established within 30 s")
    .expect("watching the CRD");
}

fn resource(group: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", kind), plural)
}

fn object(ar: &ApiResource, name: &str, spec: serde_json::Value) -> DynamicObject {
    DynamicObject::new(name, ar).data(json!({ "spec": spec }))
}

#[tokio::test]
async fn apiserver_reports_the_release_it_was_built_from() {
    let info = client().await.apiserver_version().await.unwrap();
    // `envtest run` tells its command which release it started.
    let release = crdforge_envtest::assets::Release::selected().unwrap();
    assert_eq!(info.git_version, release.kubernetes);
}

#[tokio::test]
async fn custom_objects_round_trip_and_schema_violations_get_422() {
    let client = client().await;
    let (group, kind, plural) = ("smoke.crdforge.dev", "Widget", "widgets");
    apply_crd(&client, &crd(group, kind, plural, "Namespaced")).await;
    let ar = resource(group, kind, plural);
    let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);

    let created = widgets
        .create(
            &PostParams::default(),
            &object(&ar, "w1", json!({"size": 3, "color": "red"})),
        )
        .await
        .expect("a valid object is accepted");
    assert!(created.uid().is_some());

    let fetched = widgets.get("w1").await.unwrap();
    assert_eq!(fetched.data["spec"]["size"], 3);
    let listed = widgets.list(&ListParams::default()).await.unwrap();
    assert_eq!(
        listed
            .items
            .iter()
            .map(|o| o.name_any())
            .collect::<Vec<_>>(),
        ["w1"]
    );

    for (bad, why) in [
        (json!({"size": 0}), "below the minimum"),
        (json!({"size": 2, "color": "blue"}), "not in the enum"),
        (json!({"size": "two"}), "wrong type"),
        (json!({"color": "red"}), "required field missing"),
    ] {
        let err = widgets
            .create(&PostParams::default(), &object(&ar, "bad", bad.clone()))
            .await
            .expect_err(&format!("{bad} ({why}) must be rejected"));
        match err {
            kube::Error::Api(status) => {
                assert_eq!(status.code, 422, "{why}: {status:?}");
                assert_eq!(status.reason, "Invalid", "{why}");
            }
            other => panic!("{why}: expected a 422 from the apiserver, got {other:?}"),
        }
    }

    widgets
        .delete("w1", &DeleteParams::default())
        .await
        .unwrap();
    let gone = widgets.get_opt("w1").await.unwrap();
    assert!(
        gone.is_none(),
        "w1 has no finalizers, so delete removes it at once"
    );
}

/// An ownerReference from a Namespace to a cluster-scoped custom object: the
/// garbage collector deletes the namespace when the owner goes, and the
/// namespace controller then empties it and removes it. The collector learns
/// about new CRDs by re-reading discovery every 30 s, hence the long bound.
#[tokio::test]
async fn namespace_owned_by_a_custom_object_is_collected_and_removed() {
    let client = client().await;
    let (group, kind, plural) = ("gc.crdforge.dev", "Owner", "owners");
    apply_crd(&client, &crd(group, kind, plural, "Cluster")).await;
    let ar = resource(group, kind, plural);
    let owners: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    let owner = owners
        .create(
            &PostParams::default(),
            &object(&ar, "alice", json!({"size": 1})),
        )
        .await
        .unwrap();

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({
        "metadata": {
            "name": "owned-by-alice",
            "ownerReferences": [{
                "apiVersion": format!("{group}/v1"),
                "kind": kind,
                "name": "alice",
                "uid": owner.uid().unwrap(),
                "controller": true,
                "blockOwnerDeletion": true,
            }],
        },
    }))
    .unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    // Content the namespace controller has to delete before the namespace goes.
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "owned-by-alice");
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "content"}})).unwrap();
    config_maps
        .create(&PostParams::default(), &cm)
        .await
        .unwrap();

    owners
        .delete("alice", &DeleteParams::default())
        .await
        .unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    loop {
        match namespaces.get_opt("owned-by-alice").await.unwrap() {
            None => break,
            Some(ns) => assert!(
                tokio::time::Instant::now() < deadline,
                "namespace still there after 180 s: phase {:?}, deletion timestamp {:?}",
                ns.status.and_then(|s| s.phase),
                ns.metadata.deletion_timestamp
            ),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(owners.get_opt("alice").await.unwrap().is_none());
}

/// `wait_until_gc_watches` returns once the garbage collector watches a
/// new kind, and from then on an owner's deletion takes its dependents at
/// once: the bound after it is seconds, not the 30 s discovery resync.
#[tokio::test]
async fn once_the_gc_watches_a_new_kind_dependents_go_with_their_owner_at_once() {
    let client = client().await;
    let (group, kind, plural) = ("gcprobe.crdforge.dev", "Probe", "probes");
    let crd_applied = std::time::Instant::now();
    apply_crd(&client, &crd(group, kind, plural, "Namespaced")).await;
    let ar = resource(group, kind, plural);
    let watched = crdforge_envtest::wait_until_gc_watches(
        &client,
        &ar,
        Some("default"),
        &object(&ar, "probe", json!({"size": 1})),
        Duration::from_secs(150),
    )
    .await
    .unwrap_or_else(|err| panic!("{err:#}"));
    println!(
        "the garbage collector watched {kind} {:.1} s after the probe ({:.1} s after the CRD was applied)",
        watched.as_secs_f64(),
        crd_applied.elapsed().as_secs_f64()
    );

    let ar = resource(group, kind, plural);
    let owners: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
    let owner = owners
        .create(
            &PostParams::default(),
            &object(&ar, "bob", json!({"size": 2})),
        )
        .await
        .unwrap();
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let dependent: ConfigMap = serde_json::from_value(json!({
        "metadata": {
            "name": "owned-by-bob",
            "ownerReferences": [{
                "apiVersion": format!("{group}/v1"),
                "kind": kind,
                "name": "bob",
                "uid": owner.uid().unwrap(),
            }],
        },
    }))
    .unwrap();
    config_maps
        .create(&PostParams::default(), &dependent)
        .await
        .unwrap();
    owners
        .delete("bob", &DeleteParams::default())
        .await
        .unwrap();
    let deleted = std::time::Instant::now();
    // Seconds, not the resync: the collector already knows the kind.
    let bound = Duration::from_secs(3);
    while config_maps.get_opt("owned-by-bob").await.unwrap().is_some() {
        assert!(
            deleted.elapsed() < bound,
            "the dependent outlived its owner by {bound:?} after the collector knew the kind"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "dependent collected {:.2} s after its owner's deletion",
        deleted.elapsed().as_secs_f64()
    );
}

#[tokio::test]
async fn kubectl_built_here_applies_a_crd_server_side() {
    let client = client().await;
    let instance = crdforge_envtest::Instance::from_env();
    let state = instance
        .state()
        .unwrap()
        .expect("a running instance has state");
    let crd = crd("kubectl.crdforge.dev", "Gadget", "gadgets", "Namespaced");
    let path = instance.dir().join("gadgets-crd.json");
    std::fs::write(&path, serde_json::to_vec(&crd).unwrap()).unwrap();

    let out = std::process::Command::new(state.binaries.join("kubectl"))
        .arg("--kubeconfig")
        .arg(instance.kubeconfig())
        .args([
            "apply",
            "--server-side",
            "--field-manager=smoke-kubectl",
            "-f",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl apply --server-side failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("serverside-applied"));

    let stored = Api::<CustomResourceDefinition>::all(client)
        .get("gadgets.kubectl.crdforge.dev")
        .await
        .unwrap();
    let managers: Vec<_> = stored
        .managed_fields()
        .iter()
        .filter(|f| f.operation.as_deref() == Some("Apply"))
        .filter_map(|f| f.manager.clone())
        .collect();
    assert_eq!(managers, ["smoke-kubectl"]);
}
