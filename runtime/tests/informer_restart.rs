//! Informers across an apiserver crash and a lost watch: objects deleted
//! while the informer was cut off arrive as tombstones, and the cache and its
//! indexes end up equal to what the server holds.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crdforge_envtest::{Component, Instance};
use crdforge_runtime::cache::{OWNER_UID_INDEX, label_index};
use crdforge_runtime::informer::{HandlerFns, InformerOptions, SharedInformerFactory};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

const NS: &str = "informer-restart";

fn config_map(name: &str, app: &str, owner: Option<&ConfigMap>) -> ConfigMap {
    let owners: Vec<_> = owner
        .map(|o| json!({"apiVersion": "v1", "kind": "ConfigMap", "name": o.name_any(), "uid": o.uid().unwrap()}))
        .into_iter()
        .collect();
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": app}, "ownerReferences": owners},
    }))
    .unwrap()
}

#[tokio::test]
async fn caches_and_indexes_match_the_server_after_an_apiserver_crash_and_tombstones_arrive() {
    let direct = crdforge_envtest::client()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap();
    Api::<Namespace>::all(direct.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(direct.clone(), NS);
    let owner = cms
        .create(&PostParams::default(), &config_map("owner", "root", None))
        .await
        .unwrap();
    for i in 0..6 {
        let app = if i % 2 == 0 { "web" } else { "db" };
        cms.create(
            &PostParams::default(),
            &config_map(&format!("cm-{i}"), app, Some(&owner)),
        )
        .await
        .unwrap();
    }

    // The informer reaches the apiserver only through a proxy we can cut.
    let (proxy, via_proxy) = crdforge_envtest::proxied_client()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let factory = SharedInformerFactory::new(
        via_proxy,
        InformerOptions {
            namespace: Some(NS.into()),
            ..Default::default()
        },
    );
    let informer = factory.informer::<ConfigMap>();
    informer.store().add_indexer(
        &label_index("app"),
        Arc::new(|c: &ConfigMap| c.labels().get("app").cloned().into_iter().collect()),
    );
    let tombstones = Arc::new(Mutex::new(BTreeSet::new()));
    let seen = Arc::clone(&tombstones);
    informer.add_handler(HandlerFns::new().on_delete(
        move |d: &crdforge_runtime::informer::Deleted<ConfigMap>| {
            if d.is_final_state_unknown() {
                seen.lock().unwrap().insert(d.object().name_any());
            }
        },
    ));
    factory.start();
    factory
        .wait_for_cache_sync(Duration::from_secs(30))
        .await
        .unwrap();

    // Cut off, the informer misses deletes, an update and a create; the
    // apiserver crash empties its watch cache, so the informer's old
    // resourceVersion is too old to resume from and it must relist.
    proxy.cut().await;
    for name in ["cm-0", "cm-1"] {
        cms.delete(name, &DeleteParams::default()).await.unwrap();
    }
    cms.patch(
        "cm-2",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "db"}}})),
    )
    .await
    .unwrap();
    cms.create(
        &PostParams::default(),
        &config_map("cm-new", "web", Some(&owner)),
    )
    .await
    .unwrap();
    Instance::from_env()
        .restart(Component::KubeApiserver, true)
        .unwrap_or_else(|e| panic!("{e:#}"));
    proxy.restore();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let got = tombstones.lock().unwrap().clone();
        if got == BTreeSet::from(["cm-0".to_string(), "cm-1".to_string()]) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "tombstones after 90 s: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let server = cms.list(&ListParams::default()).await.unwrap().items;
    let server_names: BTreeSet<String> = server.iter().map(|c| c.name_any()).collect();
    let store = informer.store();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let cached: BTreeSet<String> = store.list().iter().map(|c| c.name_any()).collect();
        if cached == server_names {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "cache {cached:?} != server {server_names:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for app in ["web", "db", "root"] {
        let expected: BTreeSet<String> = server
            .iter()
            .filter(|c| c.labels().get("app").map(String::as_str) == Some(app))
            .map(|c| c.name_any())
            .collect();
        let indexed: BTreeSet<String> = store
            .by_index(&label_index("app"), app)
            .unwrap()
            .iter()
            .map(|c| c.name_any())
            .collect();
        assert_eq!(indexed, expected, "label index for app={app}");
    }
    let children: BTreeSet<String> = store
        .by_index(OWNER_UID_INDEX, &owner.uid().unwrap())
        .unwrap()
        .iter()
        .map(|c| c.name_any())
        .collect();
    let expected: BTreeSet<String> = ["cm-2", "cm-3", "cm-4", "cm-5", "cm-new"]
        .map(String::from)
        .into();
    assert_eq!(children, expected);
    factory.shutdown();
}
