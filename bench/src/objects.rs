//! The ConfigMaps of the cache suite. `go/cache.go` builds the same objects.

use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::json;

const TIERS: [&str; 3] = ["frontend", "backend", "cache"];

/// The i-th object as the apiserver would send it: 50 namespaces, three
/// labels (`app` has 20 values), a two-key data map, on every fourth
/// object a controller ownerReference (250 owners, 10 children each), and
/// the `managedFields` the apiserver keeps on every object: the applier's
/// entry, and on every other object a second manager's `Update` of one key.
pub fn config_map_json(i: usize) -> serde_json::Value {
    let mut metadata = json!({
        "name": format!("config-{i:05}"),
        "namespace": format!("ns-{:02}", i % 50),
        "uid": uid(0, i),
        "resourceVersion": (100_000 + i).to_string(),
        "creationTimestamp": "2026-01-01T00:00:00Z",
        "labels": {
            "app": format!("app-{:02}", i % 20),
            "tier": TIERS[i % 3],
            "app.kubernetes.io/managed-by": "crdforge-bench",
        },
    });
    if i.is_multiple_of(4) {
        let owner = (i / 4) % 250;
        metadata["ownerReferences"] = json!([{
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": format!("owner-{owner:03}"),
            "uid": uid(1, owner),
            "controller": true,
            "blockOwnerDeletion": true,
        }]);
    }
    let mut managed = vec![json!({
        "manager": "crdforge-bench",
        "operation": "Apply",
        "apiVersion": "v1",
        "time": "2026-01-01T00:00:00Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": parse(&applied_fields(i)),
    })];
    if i % 2 == 1 {
        managed.push(json!({
            "manager": "kubectl-edit",
            "operation": "Update",
            "apiVersion": "v1",
            "time": "2026-01-02T00:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": parse(EDITED_FIELDS),
        }));
    }
    metadata["managedFields"] = json!(managed);
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata,
        "data": {
            "config.yaml": format!("key: value-{i:05}\nmode: fast\nreplicas: 3\n"),
            "version": i.to_string(),
        },
    })
}

/// The i-th object, decoded from JSON text the way a watch event is, so its
/// allocations are those an informer really holds.
pub fn config_map(i: usize) -> ConfigMap {
    let text = config_map_json(i).to_string();
    serde_json::from_str(&text).expect("the fixture is a valid ConfigMap")
}

/// The fields the applier owns, as the apiserver writes them (`go/cache.go`
/// builds the same text): every label, the data keys, the ownerReference.
pub fn applied_fields(i: usize) -> String {
    let owner = if i.is_multiple_of(4) {
        format!(
            r#","f:ownerReferences":{{".":{{}},"k:{{\"uid\":\"{}\"}}":{{}}}}"#,
            uid(1, (i / 4) % 250)
        )
    } else {
        String::new()
    };
    format!(
        r#"{{"f:data":{{".":{{}},"f:config.yaml":{{}},"f:version":{{}}}},"f:metadata":{{"f:labels":{{".":{{}},"f:app":{{}},"f:app.kubernetes.io/managed-by":{{}},"f:tier":{{}}}}{owner}}}}}"#
    )
}

/// The fields of the second manager's edit.
pub const EDITED_FIELDS: &str = r#"{"f:data":{"f:version":{}}}"#;

fn parse(fields: &str) -> serde_json::Value {
    serde_json::from_str(fields).expect("managed fields are JSON")
}

fn uid(kind: usize, n: usize) -> String {
    format!("{kind:08}-0000-4000-8000-{n:012}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_have_the_documented_shape() {
        let cm = config_map(8);
        let meta = &cm.metadata;
        assert_eq!(meta.name.as_deref(), Some("config-00008"));
        assert_eq!(meta.namespace.as_deref(), Some("ns-08"));
        assert_eq!(
            meta.uid.as_deref(),
            Some("00000000-0000-4000-8000-000000000008")
        );
        assert_eq!(meta.labels.as_ref().unwrap()["app"], "app-08");
        assert_eq!(meta.labels.as_ref().unwrap()["tier"], "cache");
        let owners = meta.owner_references.as_ref().unwrap();
        assert_eq!(owners[0].uid, "00000001-0000-4000-8000-000000000002");
        assert_eq!(cm.data.as_ref().unwrap()["version"], "8");
        assert!(config_map(9).metadata.owner_references.is_none());
        let managed = meta.managed_fields.as_ref().unwrap();
        assert_eq!(managed.len(), 1, "one manager on even objects");
        let fields = &managed[0].fields_v1.as_ref().unwrap().0;
        assert_eq!(
            fields["f:metadata"]["f:ownerReferences"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            [".", "k:{\"uid\":\"00000001-0000-4000-8000-000000000002\"}"]
        );
        assert_eq!(config_map(9).metadata.managed_fields.unwrap().len(), 2);
    }
}
