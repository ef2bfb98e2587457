//! On a real control plane: a Backup gets its ConfigMap and a Ready status.
//! Run with `crdforge-envtest run -- cargo test -p backup-controller --features e2e`.

use std::time::Duration;

use backup_api::Backup;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::CustomResourceExt;
use kube::api::{Api, PostParams};
use serde_json::json;

#[tokio::test]
async fn a_backup_gets_its_config_map_and_a_ready_condition() {
    let client = crdforge_envtest::client()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    crdforge_envtest::apply_crd(&client, "backup-e2e", &Backup::crd())
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(backup_controller::run(client.clone(), 1, async {
        let _ = stopped.await;
    }));

    let backups: Api<Backup> = Api::namespaced(client.clone(), "default");
    let backup: Backup = serde_json::from_value(json!({
        "apiVersion": "example.org/v1", "kind": "Backup",
        "metadata": { "name": "nightly" },
        "spec": { "schedule": "0 3 * * *", "keep": 7 },
    }))
    .unwrap();
    backups
        .create(&PostParams::default(), &backup)
        .await
        .unwrap();

    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    // Bounded: 150 polls 200 ms apart.
    let mut done = None;
    for _ in 0..150 {
        let ready = backups
            .get("nightly")
            .await
            .unwrap()
            .status
            .is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
            });
        if let (true, Some(cm)) = (ready, config_maps.get_opt("backup-nightly").await.unwrap()) {
            done = Some(cm);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let cm = done.expect("nightly Ready with its ConfigMap within 30 s");
    let data = cm.data.unwrap();
    assert_eq!(data["schedule"], "0 3 * * *");
    assert_eq!(data["keep"], "7");
    assert_eq!(cm.metadata.owner_references.unwrap()[0].name, "nightly");
    stop.send(()).unwrap();
    controller.await.unwrap().unwrap();
}
