//! Each impl, the contract (`b == a` after `a.deep_copy_into(&mut b)`) for
//! arbitrary pairs, and the reuse of the destination's buffers.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::rc::Rc;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    Condition, FieldsV1, LabelSelector, LabelSelectorRequirement, ManagedFieldsEntry, MicroTime,
    ObjectMeta, OwnerReference, Time,
};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use proptest::prelude::*;
use serde_json::json;

use super::DeepCopy;

/// Copies `a` into `b` and checks the contract both ways.
fn check<T: DeepCopy + PartialEq + std::fmt::Debug>(a: &T, mut b: T) {
    a.deep_copy_into(&mut b);
    assert_eq!(&b, a);
    assert_eq!(&a.deep_copy(), a);
}

fn time(secs: i64) -> Time {
    Time(Timestamp::from_second(secs).unwrap())
}

fn meta(name: &str, labels: usize) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some("default".into()),
        uid: Some(format!("uid-{name}")),
        resource_version: Some("42".into()),
        generation: Some(3),
        creation_timestamp: Some(time(1_700_000_000)),
        labels: Some(
            (0..labels)
                .map(|i| (format!("label-{i}"), format!("value-{i}")))
                .collect(),
        ),
        annotations: Some(BTreeMap::from([("note".into(), name.repeat(3))])),
        finalizers: Some(vec!["example.com/cleanup".into()]),
        owner_references: Some(vec![OwnerReference {
            api_version: "example.com/v1".into(),
            kind: "User".into(),
            name: name.into(),
            uid: "owner".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }]),
        managed_fields: Some(vec![ManagedFieldsEntry {
            manager: Some("controller".into()),
            operation: Some("Apply".into()),
            api_version: Some("example.com/v1".into()),
            fields_type: Some("FieldsV1".into()),
            fields_v1: Some(FieldsV1(json!({"f:spec": {"f:email": {}}}))),
            time: Some(time(1_700_000_100)),
            subresource: None,
        }]),
        ..ObjectMeta::default()
    }
}

#[test]
fn scalars_and_strings() {
    check(&7u8, 0);
    check(&-7i64, 1);
    check(&1.5f64, 0.0);
    check(&true, false);
    check(&'x', 'y');
    check(&"static", "other");
    check(&(), ());
    check(
        &String::from("hello"),
        String::from("a much longer destination"),
    );
    check(&String::new(), String::from("gone"));
}

#[test]
fn options_boxes_and_tuples() {
    check(&Some(String::from("a")), None);
    check(&None::<String>, Some(String::from("b")));
    check(&Some(String::from("a")), Some(String::from("b")));
    check(&Box::new(vec![1, 2]), Box::new(vec![]));
    check(
        &(1u8, String::from("x"), Some(2i32)),
        (0, String::new(), None),
    );
    check(
        &[String::from("a"), String::from("b")],
        [String::new(), String::new()],
    );
}

#[test]
fn sequences_grow_and_shrink() {
    check(&vec![1, 2, 3], vec![]);
    check(&vec![1], vec![9, 9, 9, 9]);
    check(
        &vec![String::from("a"), String::from("b")],
        vec![String::from("z")],
    );
    check(&VecDeque::from([1, 2, 3]), VecDeque::from([7]));
    check(&VecDeque::from([1]), VecDeque::from([7, 8, 9]));
}

#[test]
fn maps_and_sets_keep_matching_entries() {
    let a = BTreeMap::from([("a".to_owned(), vec![1]), ("b".to_owned(), vec![2])]);
    check(&a, BTreeMap::new());
    check(
        &a,
        BTreeMap::from([("b".to_owned(), vec![]), ("c".to_owned(), vec![3])]),
    );
    check(&a, a.clone());
    let h: HashMap<String, String> = HashMap::from([("k".into(), "v".into())]);
    check(&h, HashMap::from([("x".into(), "y".into())]));
    check(&BTreeSet::from([1, 2]), BTreeSet::from([2, 3, 4]));
    check(
        &HashSet::from(["a".to_owned()]),
        HashSet::from(["b".to_owned()]),
    );
}

#[test]
fn json_values_by_variant() {
    let a = json!({"a": [1, "two", {"three": null}], "b": true});
    check(&a, json!(null));
    check(&a, json!({"a": [], "c": 1}));
    check(&json!("text"), json!("other"));
    check(&json!(1.5), json!([1]));
}

#[test]
fn kubernetes_types() {
    check(&meta("alice", 3), ObjectMeta::default());
    check(&meta("alice", 3), meta("bob", 5));
    check(&ObjectMeta::default(), meta("bob", 5));
    check(
        &Condition {
            type_: "Ready".into(),
            status: "True".into(),
            reason: "Provisioned".into(),
            message: "namespace exists".into(),
            observed_generation: Some(2),
            last_transition_time: time(5),
        },
        Condition {
            type_: "Old".into(),
            status: "False".into(),
            reason: String::new(),
            message: String::new(),
            observed_generation: None,
            last_transition_time: time(1),
        },
    );
    check(&Quantity("1Gi".into()), Quantity("500m".into()));
    check(&IntOrString::String("http".into()), IntOrString::Int(80));
    check(&IntOrString::Int(80), IntOrString::String("http".into()));
    check(
        &IntOrString::String("a".into()),
        IntOrString::String("b".into()),
    );
    check(&time(10), time(20));
    check(
        &MicroTime(Timestamp::from_second(10).unwrap()),
        MicroTime(Timestamp::UNIX_EPOCH),
    );
    check(&RawExtension(json!({"x": 1})), RawExtension(json!(null)));
    check(
        &LabelSelector {
            match_labels: Some(BTreeMap::from([("app".into(), "web".into())])),
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "tier".into(),
                operator: "In".into(),
                values: Some(vec!["a".into()]),
            }]),
        },
        LabelSelector::default(),
    );
}

#[test]
fn arc_copies_are_independent() {
    let a = Arc::new(String::from("shared"));
    let copy = a.deep_copy();
    assert_eq!(copy, a);
    assert!(!Arc::ptr_eq(&copy, &a), "a deep copy has its own value");

    // A destination that is the only owner is copied into in place.
    let mut unique = Arc::new(String::with_capacity(64));
    let before = Arc::as_ptr(&unique);
    a.deep_copy_into(&mut unique);
    assert_eq!(unique, a);
    assert_eq!(Arc::as_ptr(&unique), before);

    // A shared destination is replaced, never written through.
    let mut shared = Arc::new(String::from("other"));
    let witness = Arc::clone(&shared);
    a.deep_copy_into(&mut shared);
    assert_eq!(shared, a);
    assert_eq!(*witness, "other");

    // A destination sharing the source's value gets its own.
    let mut same = Arc::clone(&a);
    a.deep_copy_into(&mut same);
    assert!(!Arc::ptr_eq(&same, &a));

    let r = Rc::new(vec![1]);
    let mut out = Rc::new(vec![]);
    r.deep_copy_into(&mut out);
    assert_eq!(out, r);
    assert!(!Rc::ptr_eq(&r.deep_copy(), &r));
}

#[test]
fn string_and_vec_buffers_are_reused() {
    let a = String::from("short");
    let mut b = String::with_capacity(100);
    let (ptr, cap) = (b.as_ptr(), b.capacity());
    a.deep_copy_into(&mut b);
    assert_eq!((b.as_ptr(), b.capacity()), (ptr, cap));

    let a = vec![String::from("x"), String::from("y")];
    let mut b = vec![
        String::with_capacity(10),
        String::with_capacity(10),
        String::new(),
    ];
    let outer = b.as_ptr();
    let inner = b[0].as_ptr();
    a.deep_copy_into(&mut b);
    assert_eq!(b, a);
    assert_eq!(b.as_ptr(), outer);
    assert_eq!(b[0].as_ptr(), inner);
}

#[test]
fn box_and_map_values_are_reused() {
    let a = Box::new(String::from("v"));
    let mut b = Box::new(String::with_capacity(8));
    let (boxed, buf) = (&*b as *const String, b.as_ptr());
    a.deep_copy_into(&mut b);
    assert_eq!((&*b as *const String, b.as_ptr()), (boxed, buf));

    let a = BTreeMap::from([
        ("k".to_owned(), String::from("v")),
        ("n".to_owned(), String::new()),
    ]);
    let mut b = BTreeMap::from([
        ("k".to_owned(), String::with_capacity(8)),
        ("z".to_owned(), String::new()),
    ]);
    let buf = b["k"].as_ptr();
    a.deep_copy_into(&mut b);
    assert_eq!(b, a);
    assert_eq!(
        b["k"].as_ptr(),
        buf,
        "the value under a kept key is copied into"
    );
}

#[test]
fn via_clone_macro() {
    #[derive(Clone, Debug, PartialEq)]
    struct Local(Vec<u8>);
    crate::deep_copy_via_clone!(Local);
    check(&Local(vec![1, 2]), Local(vec![]));
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[a-c]{0,4}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map("[a-c]{1,2}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn object_meta() -> impl Strategy<Value = ObjectMeta> {
    let small = "[a-d]{0,6}";
    (
        prop::option::of(small),
        prop::option::of(prop::collection::btree_map("[a-c]{1,2}", small, 0..4)),
        prop::option::of(prop::collection::vec(small, 0..3)),
        prop::option::of(prop::collection::vec(
            (small, prop::option::of(any::<bool>())),
            0..3,
        )),
        prop::option::of(any::<i64>()),
        prop::option::of(0i64..2_000_000_000),
        prop::option::of(json_value()),
    )
        .prop_map(
            |(name, labels, finalizers, owners, generation, created, fields)| ObjectMeta {
                name,
                labels,
                finalizers,
                owner_references: owners.map(|o| {
                    o.into_iter()
                        .map(|(name, controller)| OwnerReference {
                            name,
                            controller,
                            ..OwnerReference::default()
                        })
                        .collect()
                }),
                generation,
                creation_timestamp: created.map(time),
                managed_fields: fields.map(|f| {
                    vec![ManagedFieldsEntry {
                        fields_v1: Some(FieldsV1(f)),
                        ..ManagedFieldsEntry::default()
                    }]
                }),
                ..ObjectMeta::default()
            },
        )
}

type Mixed = (
    Vec<Option<String>>,
    BTreeMap<String, Vec<u8>>,
    HashMap<u8, String>,
    VecDeque<i32>,
    Option<Box<BTreeSet<u16>>>,
);

fn mixed() -> impl Strategy<Value = Mixed> {
    (
        prop::collection::vec(prop::option::of("[a-z]{0,8}"), 0..6),
        prop::collection::btree_map("[a-c]{1,2}", prop::collection::vec(any::<u8>(), 0..4), 0..5),
        prop::collection::hash_map(any::<u8>(), "[a-z]{0,4}", 0..5),
        prop::collection::vec_deque(any::<i32>(), 0..5),
        prop::option::of(prop::collection::btree_set(any::<u16>(), 0..5).prop_map(Box::new)),
    )
}

proptest! {
    #[test]
    fn copy_into_any_destination_is_equal(a in mixed(), b in mixed()) {
        check(&a, b);
    }

    #[test]
    fn json_copy_into_any_destination_is_equal(a in json_value(), b in json_value()) {
        check(&a, b);
    }

    #[test]
    fn object_meta_copy_into_any_destination_is_equal(a in object_meta(), b in object_meta()) {
        check(&a, b);
    }
}
