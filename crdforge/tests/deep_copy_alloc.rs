//! `DeepCopy`'s reuse promise, counted: copying into a destination of the
//! same shape allocates nothing, where `clone` allocates every string. One
//! test in this binary, because the counting allocator sees every thread.

use std::alloc::System;
use std::collections::BTreeMap;

use crdforge::DeepCopy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    Condition, FieldsV1, ManagedFieldsEntry, ObjectMeta, OwnerReference, Time,
};
use k8s_openapi::jiff::Timestamp;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn object(generation: i64, note: &str) -> (ObjectMeta, Vec<Condition>) {
    let at = Time(Timestamp::from_second(1_700_000_000 + generation).unwrap());
    let meta = ObjectMeta {
        name: Some("alice".into()),
        namespace: Some("users".into()),
        uid: Some("0f2b6a8e-4d0c-4c53-9d1e-6f0f1a2b3c4d".into()),
        resource_version: Some(format!("{}", 1000 + generation)),
        generation: Some(generation),
        labels: Some(BTreeMap::from([
            ("app".into(), "users".into()),
            ("team".into(), "platform".into()),
        ])),
        annotations: Some(BTreeMap::from([("note".into(), note.into())])),
        owner_references: Some(vec![OwnerReference {
            api_version: "example.com/v1".into(),
            kind: "Team".into(),
            name: "platform".into(),
            uid: "owner-uid".into(),
            controller: Some(true),
            block_owner_deletion: None,
        }]),
        managed_fields: Some(vec![ManagedFieldsEntry {
            manager: Some("user-controller".into()),
            operation: Some("Apply".into()),
            api_version: Some("example.com/v1".into()),
            fields_type: Some("FieldsV1".into()),
            fields_v1: Some(FieldsV1(
                serde_json::json!({"f:status": {"f:namespace": {}}}),
            )),
            time: Some(at.clone()),
            subresource: Some("status".into()),
        }]),
        ..ObjectMeta::default()
    };
    let conditions = vec![Condition {
        type_: "Ready".into(),
        status: "True".into(),
        reason: "Provisioned".into(),
        message: note.into(),
        observed_generation: Some(generation),
        last_transition_time: at,
    }];
    (meta, conditions)
}

#[test]
fn same_shape_copies_allocate_nothing() {
    // The newer object: same keys and lengths, different contents, strings
    // no longer than the older one's.
    let newer = object(2, "second");
    let mut older = object(1, "first!");

    let region = Region::new(GLOBAL);
    newer.deep_copy_into(&mut older);
    let stats = region.change();
    assert_eq!(older, newer);
    assert_eq!(
        (stats.allocations, stats.reallocations),
        (0, 0),
        "deep_copy_into a same-shaped object allocated: {stats:?}"
    );

    // The control: clone allocates, so the counter does see these types.
    let region = Region::new(GLOBAL);
    let cloned = newer.clone();
    let stats = region.change();
    assert!(stats.allocations > 20, "clone allocated only {stats:?}");
    drop(cloned);

    // A different shape allocates only what is new: one more label.
    let mut wider = newer.clone();
    wider
        .0
        .labels
        .as_mut()
        .unwrap()
        .insert("extra".into(), "x".into());
    let region = Region::new(GLOBAL);
    wider.deep_copy_into(&mut older);
    let stats = region.change();
    assert_eq!(older, wider);
    assert!(
        stats.allocations <= 3,
        "one new map entry should cost its key, its value and at most a node: {stats:?}"
    );
}
