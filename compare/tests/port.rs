//! kube-derive 5 code moved over by one import (`crdforge_compare::port`):
//! every kind's CRD passes crdforge's checks (structural, apiserver rules),
//! the nested types' schemas are schemars' own (their `#[schemars(...)]`
//! validation kept), their apply configurations are the values whole, and
//! deep copy goes through `Clone`.

use std::collections::BTreeMap;

use crdforge::DeepCopy;
use crdforge_compare::port::{with_crdforge as port, with_kube};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt as _;
use serde_json::{Value, json};

fn checked<K: crdforge::CustomResource>() -> CustomResourceDefinition {
    crdforge_gen::checked_crd::<K>().unwrap_or_else(|e| {
        panic!("{}: {e}", std::any::type_name::<K>());
    })
}

/// Every kind, checked by crdforge, next to kube-derive's CRD of the same source.
fn both() -> Vec<(CustomResourceDefinition, CustomResourceDefinition)> {
    vec![
        (checked::<port::Database>(), with_kube::Database::crd()),
        (checked::<port::Cache>(), with_kube::Cache::crd()),
        (checked::<port::Website>(), with_kube::Website::crd()),
        (checked::<port::Queue>(), with_kube::Queue::crd()),
        (checked::<port::Schedule>(), with_kube::Schedule::crd()),
        (
            checked::<port::Certificate>(),
            with_kube::Certificate::crd(),
        ),
        (checked::<port::Budget>(), with_kube::Budget::crd()),
        (checked::<port::AlertGroup>(), with_kube::AlertGroup::crd()),
        (checked::<port::Mirror>(), with_kube::Mirror::crd()),
        (checked::<port::Tenant>(), with_kube::Tenant::crd()),
    ]
}

fn spec_schema(crd: &CustomResourceDefinition) -> Value {
    let schema = crd.spec.versions[0].schema.as_ref().unwrap();
    let root = serde_json::to_value(schema.open_api_v3_schema.as_ref().unwrap()).unwrap();
    root["properties"]["spec"].clone()
}

#[test]
fn every_kind_passes_crdforges_checks_with_kube_derives_names() {
    for (ours, theirs) in both() {
        assert_eq!(ours.metadata.name, theirs.metadata.name);
        assert_eq!(ours.spec.scope, theirs.spec.scope);
        assert_eq!(ours.spec.names.kind, theirs.spec.names.kind);
        // The same fields, required alike.
        let (ours, theirs) = (spec_schema(&ours), spec_schema(&theirs));
        let keys = |v: &Value| -> Vec<String> {
            v["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        assert_eq!(keys(&ours), keys(&theirs));
        let required = |v: &Value| -> Vec<String> {
            let mut names: Vec<String> = v["required"]
                .as_array()
                .map(|a| a.iter().map(|n| n.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default();
            names.sort();
            names
        };
        assert_eq!(required(&ours), required(&theirs), "{ours}");
    }
}

#[test]
fn nested_types_keep_schemars_validation_and_docs() {
    let spec = spec_schema(&checked::<port::Database>());
    let storage = &spec["properties"]["storage"];
    assert_eq!(storage["properties"]["size"]["minLength"], 1);
    assert_eq!(
        storage["properties"]["size"]["description"],
        "A size such as `10Gi`."
    );
    assert_eq!(storage["required"], json!(["size"]));
    let backup = &spec["properties"]["backup"];
    assert_eq!(backup["properties"]["retentionDays"]["minimum"], 1.0);
    assert_eq!(backup["properties"]["retentionDays"]["maximum"], 365.0);
    // An `Option` is optional, as for crdforge's own types.
    assert!(
        !spec["required"]
            .as_array()
            .unwrap()
            .contains(&json!("backup"))
    );
    assert_eq!(
        spec["properties"]["users"]["items"]["properties"]["privileges"]["items"]["enum"],
        json!(["read", "write", "admin"])
    );
    let queue = spec_schema(&checked::<port::Queue>());
    assert_eq!(
        queue["properties"]["topics"]["additionalProperties"]["properties"]["retention"]["required"],
        json!(["hours"])
    );
}

#[test]
fn native_types_keep_crdforges_impls() {
    // `Condition` implements both: crdforge's own schema wins (its
    // patterns and descriptions), inside a schemars-only status.
    let crd = checked::<port::Tenant>();
    let schema = crd.spec.versions[0].schema.as_ref().unwrap();
    let root = serde_json::to_value(schema.open_api_v3_schema.as_ref().unwrap()).unwrap();
    let status = &root["properties"]["status"];
    assert_eq!(status["properties"]["namespaces"]["type"], "array");
    // The status type is schemars-only: schemars describes it whole,
    // `Condition` included (schemars has its own impl for it).
    assert!(status["properties"]["conditions"]["items"]["properties"]["type"].is_object());
}

#[test]
fn schemars_types_are_applied_whole_and_copied_by_clone() {
    let storage = port::Storage {
        size: "10Gi".into(),
        class_name: None,
    };
    // The configuration of a schemars-only field is the value itself.
    let spec = port::DatabaseSpecApply::default()
        .with_engine(port::Engine::Postgres)
        .with_storage(storage.clone());
    let apply = port::DatabaseApply::new("db", "default").with_spec(spec);
    assert_eq!(
        serde_json::to_value(&apply).unwrap()["spec"],
        json!({"engine": "Postgres", "storage": {"size": "10Gi"}})
    );
    let backup = port::BackupPolicy {
        schedule: "@daily".into(),
        retention_days: 7,
    };
    let with_backup = port::DatabaseSpecApply::default().with_backup(backup.clone());
    assert_eq!(with_backup.backup, Some(backup));
    // Deep copy of the whole object, nested schemars values included.
    let mut db = port::Database::new(
        "db",
        port::DatabaseSpec {
            engine: port::Engine::Mysql,
            replicas: 2,
            storage,
            backup: None,
            users: vec![port::DatabaseUser {
                name: "app".into(),
                privileges: vec![port::Privilege::Read],
            }],
            parameters: BTreeMap::from([("max_connections".into(), "100".into())]),
        },
    );
    db.status = Some(port::DatabaseStatus {
        ready_replicas: 1,
        ..Default::default()
    });
    let copy = db.deep_copy();
    assert_eq!(copy.spec, db.spec);
    assert_eq!(copy.status, db.status);
}
