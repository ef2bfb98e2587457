//! Streaming lists and cache transforms on a real apiserver: every request
//! the informers send is counted by a layer on the client.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crdforge_runtime::informer::{InformerOptions, LAST_APPLIED_ANNOTATION, SharedInformerFactory};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::client::{Body, ClientBuilder};
use serde_json::json;

const NS: &str = "streaming-list";

/// A client that records the method and URI of every request it sends.
async fn counting_client() -> (kube::Client, Arc<Mutex<Vec<String>>>) {
    let config = crdforge_envtest::config()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&seen);
    let layer = tower::ServiceBuilder::new().map_request(move |req: http::Request<Body>| {
        log.lock()
            .unwrap()
            .push(format!("{} {}", req.method(), req.uri()));
        req
    });
    let client = ClientBuilder::try_from(config)
        .unwrap()
        .with_layer(&layer)
        .build();
    (client, seen)
}

fn options(list_then_watch: bool) -> InformerOptions {
    InformerOptions {
        namespace: Some(NS.into()),
        list_then_watch,
        ..InformerOptions::default()
    }
}

/// Waits (at most 10 s) until `seen` holds `n` requests, then 1 s more to
/// catch any beyond `n`; returns them.
async fn requests(seen: &Arc<Mutex<Vec<String>>>, n: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen.lock().unwrap().len() < n && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    seen.lock().unwrap().clone()
}

#[tokio::test]
async fn informers_sync_with_one_streaming_watch_each_and_transforms_shape_the_cache() {
    let admin = crdforge_envtest::client()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap();
    Api::<Namespace>::all(admin.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    // As `kubectl apply` (client-side) writes them: with the last-applied
    // annotation, and managedFields the apiserver adds to every object.
    let cms: Api<ConfigMap> = Api::namespaced(admin.clone(), NS);
    for i in 0..3 {
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {
                "name": format!("cm-{i}"),
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "team": "a"},
            },
            "data": {"k": "v"},
        }))
        .unwrap();
        cms.create(&PostParams::default(), &cm).await.unwrap();
    }

    // Three informers (full, lean and metadata-only) on the streaming path.
    let (client, seen) = counting_client().await;
    let factory = SharedInformerFactory::new(client, options(false));
    let full = factory.informer::<ConfigMap>();
    let lean = factory.informer_with::<ConfigMap>(InformerOptions {
        drop_managed_fields: true,
        ..options(false)
    });
    let meta = factory.metadata_informer::<ConfigMap>();
    factory.start();
    factory
        .wait_for_cache_sync(Duration::from_secs(30))
        .await
        .unwrap();
    let sent = requests(&seen, 3).await;
    assert_eq!(sent.len(), 3, "one request per informer: {sent:#?}");
    for request in &sent {
        assert!(
            request.starts_with("GET ")
                && request.contains("watch=true")
                && request.contains("sendInitialEvents=true")
                && request.contains("resourceVersionMatch=NotOlderThan")
                && request.contains("allowWatchBookmarks=true"),
            "not a streaming list: {request}"
        );
    }

    let names = |mut v: Vec<String>| {
        v.retain(|n| n.starts_with("cm-"));
        v.sort();
        v
    };
    let expected = ["cm-0", "cm-1", "cm-2"];
    assert_eq!(
        names(full.store().list().iter().map(|c| c.name_any()).collect()),
        expected
    );
    assert_eq!(
        names(meta.store().list().iter().map(|c| c.name_any()).collect()),
        expected
    );
    assert_eq!(
        names(lean.store().list().iter().map(|c| c.name_any()).collect()),
        expected
    );
    let ours = |c: &Arc<ConfigMap>| c.name_any().starts_with("cm-");
    for cm in full.store().list().into_iter().filter(ours) {
        assert!(
            cm.metadata.managed_fields.is_some(),
            "the apiserver sends managedFields"
        );
        assert!(
            cm.annotations().contains_key(LAST_APPLIED_ANNOTATION),
            "{cm:?}"
        );
    }
    for cm in lean.store().list().into_iter().filter(ours) {
        assert_eq!(cm.metadata.managed_fields, None, "{cm:?}");
        assert_eq!(cm.annotations().keys().collect::<Vec<_>>(), ["team"]);
        assert_eq!(cm.data.as_ref().unwrap()["k"], "v");
    }

    // The same connection carries the changes, transformed too.
    cms.patch(
        "cm-0",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "changed"}})),
    )
    .await
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let cm = lean.store().get(&format!("{NS}/cm-0")).unwrap();
        if cm.data.as_ref().unwrap()["k"] == "changed" {
            assert_eq!(cm.metadata.managed_fields, None);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the change did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        seen.lock().unwrap().len(),
        3,
        "no request more for the change"
    );
    factory.shutdown();

    // Asked for list-then-watch, the same informers take two requests each.
    let (client, seen) = counting_client().await;
    let factory = SharedInformerFactory::new(client, options(true));
    let full = factory.informer::<ConfigMap>();
    factory.informer_with::<ConfigMap>(InformerOptions {
        drop_managed_fields: true,
        ..options(true)
    });
    factory.metadata_informer::<ConfigMap>();
    factory.start();
    factory
        .wait_for_cache_sync(Duration::from_secs(30))
        .await
        .unwrap();
    let sent = requests(&seen, 6).await;
    let lists = sent.iter().filter(|r| !r.contains("watch=true")).count();
    let watches = sent
        .iter()
        .filter(|r| r.contains("watch=true") && !r.contains("sendInitialEvents"))
        .count();
    assert_eq!((lists, watches, sent.len()), (3, 3, 6), "{sent:#?}");
    assert_eq!(
        names(full.store().list().iter().map(|c| c.name_any()).collect()),
        expected
    );
    factory.shutdown();
}
