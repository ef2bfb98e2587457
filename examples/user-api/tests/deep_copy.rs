//! The derived `DeepCopy` of `User`: an object as the apiserver returns it
//! (labels, annotations, managedFields, ownerReferences, conditions) copied
//! over an older version of itself, over an empty object and the reverse.

use crdforge::DeepCopy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::json;
use user_api::{Role, User, UserSpec, UserStatus};

/// Every field of the root: `User` itself derives no `PartialEq`.
fn parts(u: &User) -> (&ObjectMeta, &UserSpec, &Option<UserStatus>) {
    (&u.metadata, &u.spec, &u.status)
}

fn user(generation: i64, groups: &[&str], ready: &str) -> User {
    serde_json::from_value(json!({
        "apiVersion": "example.com/v1",
        "kind": "User",
        "metadata": {
            "name": "alice",
            "uid": "6f1c2a9e-0d7b-4d0e-9b8a-2f3c4d5e6f70",
            "resourceVersion": (4000 + generation).to_string(),
            "generation": generation,
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"team": "platform", "tier": "gold"},
            "annotations": {"example.com/owner": "ops"},
            "finalizers": ["example.com/namespace"],
            "ownerReferences": [{
                "apiVersion": "example.com/v1", "kind": "Team", "name": "platform",
                "uid": "0a1b2c3d-0000-4000-8000-000000000001", "controller": true
            }],
            "managedFields": [{
                "manager": "kubectl", "operation": "Apply", "apiVersion": "example.com/v1",
                "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:displayName": {}, "f:email": {}, "f:groups": {}}}
            }, {
                "manager": "user-controller", "operation": "Update", "apiVersion": "example.com/v1",
                "time": "2026-01-01T00:01:00Z", "fieldsType": "FieldsV1", "subresource": "status",
                "fieldsV1": {"f:status": {"f:conditions": {}, "f:namespace": {}}}
            }]
        },
        "spec": {
            "displayName": "Alice Liddell",
            "email": "alice@example.com",
            "role": "edit",
            "groups": groups,
            "quota": {"pods": "10", "requests.cpu": "4"}
        },
        "status": {
            "namespace": "alice",
            "observedGeneration": generation,
            "conditions": [{
                "type": "Ready", "status": ready, "reason": "Provisioned",
                "message": "namespace alice is ready",
                "lastTransitionTime": "2026-01-01T00:01:00Z", "observedGeneration": generation
            }]
        }
    }))
    .expect("a User")
}

#[test]
fn a_user_copies_over_its_older_version() {
    let newer = user(3, &["devs", "oncall"], "True");
    let mut older = user(2, &["devs"], "False");
    newer.deep_copy_into(&mut older);
    assert_eq!(parts(&older), parts(&newer));
    assert_eq!(parts(&newer.deep_copy()), parts(&newer));
}

#[test]
fn a_user_copies_over_an_empty_one_and_back() {
    let full = user(1, &["devs"], "True");
    let empty = User::new(
        "bob",
        UserSpec {
            display_name: "Bob".into(),
            email: "bob@example.com".into(),
            role: Role::View,
            groups: Vec::new(),
            quota: None,
        },
    );
    let mut out = empty.clone();
    full.deep_copy_into(&mut out);
    assert_eq!(parts(&out), parts(&full));
    empty.deep_copy_into(&mut out);
    assert_eq!(parts(&out), parts(&empty));
}
