//! Shared informers on a real apiserver: events, caches, indexes, one watch
//! per kind.

use std::sync::Arc;
use std::time::Duration;

use crdforge_runtime::cache::{NAMESPACE_INDEX, label_index};
use crdforge_runtime::informer::{HandlerFns, InformerOptions, SharedInformerFactory};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::core::PartialObjectMeta;
use serde_json::json;
use tokio::sync::mpsc;

async fn client() -> kube::Client {
    crdforge_envtest::client()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
}

async fn namespace(client: &kube::Client, name: &str) {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
}

fn config_map(name: &str, app: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": app}},
        "data": {"k": "v"},
    }))
    .unwrap()
}

async fn next(rx: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("an event within 20 s")
        .expect("channel open")
}

#[tokio::test]
async fn informer_sees_add_update_and_delete_and_caches_them() {
    let client = client().await;
    namespace(&client, "informer-events").await;
    let factory = SharedInformerFactory::new(
        client.clone(),
        InformerOptions {
            namespace: Some("informer-events".into()),
            ..Default::default()
        },
    );
    let informer = factory.informer::<ConfigMap>();
    informer.store().add_indexer(
        &label_index("app"),
        Arc::new(|c: &ConfigMap| {
            c.metadata
                .labels
                .iter()
                .flatten()
                .filter(|(k, _)| *k == "app")
                .map(|(_, v)| v.clone())
                .collect()
        }),
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (t1, t2, t3) = (tx.clone(), tx.clone(), tx);
    informer.add_handler(
        HandlerFns::new()
            .on_add(move |c: &Arc<ConfigMap>, _| {
                let _ = t1.send(format!("add {}", c.metadata.name.as_deref().unwrap()));
            })
            .on_update(move |_, c| {
                let _ = t2.send(format!("update {}", c.metadata.name.as_deref().unwrap()));
            })
            .on_delete(move |d| {
                let _ = t3.send(format!(
                    "delete {}",
                    d.object().metadata.name.as_deref().unwrap()
                ));
            }),
    );
    factory.start();
    factory
        .wait_for_cache_sync(Duration::from_secs(30))
        .await
        .unwrap();
    // The namespace controller's root-CA publisher may add its config map;
    // skip whatever the initial list held.
    while tokio::time::timeout(Duration::from_millis(300), rx.recv())
        .await
        .is_ok()
    {}

    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "informer-events");
    cms.create(&PostParams::default(), &config_map("one", "web"))
        .await
        .unwrap();
    assert_eq!(next(&mut rx).await, "add one");
    assert_eq!(
        informer
            .store()
            .by_index(&label_index("app"), "web")
            .unwrap()
            .len(),
        1
    );

    cms.patch(
        "one",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "db"}}})),
    )
    .await
    .unwrap();
    assert_eq!(next(&mut rx).await, "update one");
    assert!(
        informer
            .store()
            .by_index(&label_index("app"), "web")
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        informer
            .store()
            .by_index(&label_index("app"), "db")
            .unwrap()
            .len(),
        1
    );

    cms.delete("one", &DeleteParams::default()).await.unwrap();
    assert_eq!(next(&mut rx).await, "delete one");
    assert!(informer.store().get("informer-events/one").is_none());
    factory.shutdown();
}

#[tokio::test]
async fn one_informer_per_kind_and_options_and_metadata_only_informers() {
    let client = client().await;
    namespace(&client, "informer-shared").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "informer-shared");
    for i in 0..3 {
        cms.create(&PostParams::default(), &config_map(&format!("cm-{i}"), "x"))
            .await
            .unwrap();
    }
    let factory = SharedInformerFactory::new(
        client.clone(),
        InformerOptions {
            namespace: Some("informer-shared".into()),
            ..Default::default()
        },
    );
    let a = factory.informer::<ConfigMap>();
    let b = factory.informer::<ConfigMap>();
    a.store()
        .add_indexer("probe", Arc::new(|_: &ConfigMap| vec!["all".into()]));
    // Same informer: b sees the index registered through a.
    assert!(b.store().index_values("probe").is_ok());
    let selected = factory.informer_with::<ConfigMap>(InformerOptions {
        namespace: Some("informer-shared".into()),
        label_selector: Some("app=nothing".into()),
        ..Default::default()
    });
    let meta = factory.metadata_informer::<ConfigMap>();
    factory.start();
    factory
        .wait_for_cache_sync(Duration::from_secs(30))
        .await
        .unwrap();

    let names = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let full: Vec<String> = a
        .store()
        .by_index(NAMESPACE_INDEX, "informer-shared")
        .unwrap()
        .iter()
        .map(|c| c.metadata.name.clone().unwrap())
        .filter(|n| n.starts_with("cm-"))
        .collect();
    assert_eq!(names(full), ["cm-0", "cm-1", "cm-2"]);
    assert!(
        selected.store().is_empty(),
        "the label selector reaches the server"
    );
    let metas: Vec<Arc<PartialObjectMeta<ConfigMap>>> = meta.store().list();
    assert!(
        metas
            .iter()
            .any(|m| m.metadata.name.as_deref() == Some("cm-0"))
    );
    factory.shutdown();
}
