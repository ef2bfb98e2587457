//! The limit client and the kube-runtime peer must not use crdforge's
//! generated code, so `src/user.rs` keeps its own copy of the objects the
//! User controller writes. The benchmark is only fair while the copy makes
//! exactly the controller's objects: this test compares both, field for
//! field, on generated Users.

use crdforge_bench::user;
use proptest::prelude::*;
use serde_json::{Value, json};
use user_controller::reconcile;

fn users() -> impl Strategy<Value = Value> {
    (
        "[a-z][a-z0-9-]{0,20}",
        "[0-9a-f]{8}",
        prop::sample::select(vec!["admin", "edit", "view"]),
        prop::collection::vec("[a-z]{1,8}", 0..3),
        prop::option::of(prop::collection::btree_map(
            prop::sample::select(vec!["pods", "requests.cpu", "limits.memory"]),
            prop::sample::select(vec!["1", "500m", "2Gi"]),
            1..3,
        )),
    )
        .prop_map(|(name, uid, role, groups, quota)| {
            let mut spec = json!({
                "displayName": name,
                "email": format!("{name}@example.com"),
                "role": role,
            });
            if !groups.is_empty() {
                spec["groups"] = json!(groups);
            }
            if let Some(quota) = quota {
                spec["quota"] = json!(quota);
            }
            json!({
                "apiVersion": "example.com/v1",
                "kind": "User",
                "metadata": {"name": name, "uid": uid, "generation": 1},
                "spec": spec,
            })
        })
}

fn value<T: serde::Serialize>(object: &T) -> Value {
    serde_json::to_value(object).unwrap()
}

proptest! {
    #[test]
    fn the_peers_make_the_controllers_objects(object in users()) {
        let theirs: user::User = serde_json::from_value(object.clone()).unwrap();
        let ours: user_api::User = serde_json::from_value(object).unwrap();
        prop_assert_eq!(value(&user::namespace(&theirs)), value(&reconcile::desired_namespace(&ours)));
        prop_assert_eq!(value(&user::role_binding(&theirs)), value(&reconcile::desired_role_binding(&ours)));
        prop_assert_eq!(value(&user::quota(&theirs)), value(&reconcile::desired_quota(&ours)));
    }
}
