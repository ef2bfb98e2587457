//! No input makes the derive panic: a property test over generated type
//! definitions — structs and enums with fields of many shapes, every
//! attribute key the front end knows with values of every kind (right,
//! wrong, empty, huge), serde attributes, resource keys — run through the
//! front end and, when it accepts them, the emitter. A panic is a failure;
//! every refusal must be an error value with at least one message.
//!
//! The keys come from `keys.rs`, so a new key is fuzzed as soon as it
//! exists. `PROPTEST_CASES` sets the number of inputs (default 256).

use std::panic::{AssertUnwindSafe, catch_unwind};

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestRunner};
use syn::DeriveInput;

use super::keys::{
    FIELD_KEYS, PRINTCOLUMN_KEYS, RESOURCE_KEYS, RULE_KEYS, SCALE_KEYS, TYPE_KEYS, VALUE_KEYS,
};
use super::parse;
use crate::model::Derive;

/// Values an attribute key may be given: right for some keys, wrong for
/// the others, and edge cases for all.
const VALUES: &[&str] = &[
    "",
    " = \"\"",
    " = \"x\"",
    " = \"example.com\"",
    " = \"v1\"",
    " = \"User\"",
    " = \"self.x > 0\"",
    " = \"self.\"",
    " = \"^[a-\"",
    " = \"^[a-z]+$\"",
    " = \"Namespaced\"",
    " = \"map\"",
    " = \"set\"",
    " = \"date-time\"",
    " = \".spec.x\"",
    " = \"{\\\"name\\\": 1}\"",
    " = \"7\"",
    " = 0",
    " = -1",
    " = 1",
    " = 65535",
    " = 99999999999999999999999",
    " = 1.5",
    " = -0.0",
    " = true",
    " = false",
    " = x",
    " = a::b",
    " = 'c'",
    " = b\"x\"",
    "(x)",
    "(x, y)",
    "()",
    "(\"a\", \"b\")",
    "(rule = \"self.x > 0\", message = \"m\")",
    "(rule = \"\")",
    "(name = \"A\", type_ = \"string\", json_path = \".spec.x\")",
    "(spec_replicas_path = \".spec.x\", status_replicas_path = \".status.x\")",
    "(maximum = 3)",
    "(minimum = \"a\")",
    "(((x)))",
    " = (1, 2)",
];

const TYPES: &[&str] = &[
    "String",
    "i32",
    "u8",
    "u64",
    "i128",
    "f64",
    "bool",
    "char",
    "()",
    "(i32, String)",
    "[u8; 4]",
    "Option<String>",
    "Option<Option<i32>>",
    "Vec<String>",
    "Vec<u8>",
    "Box<Inner>",
    "Vec<Inner>",
    "Inner",
    "T",
    "std::collections::BTreeMap<String, i32>",
    "std::collections::BTreeMap<u16, String>",
    "std::collections::HashMap<String, Vec<Option<f32>>>",
    "std::collections::BTreeSet<String>",
    "serde_json::Value",
    "std::num::NonZeroI32",
    "k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition",
    "k8s_openapi::apimachinery::pkg::util::intstr::IntOrString",
    "&'static str",
    "fn()",
    "dyn Fn()",
    "impl Sized",
    "_",
];

const SERDE: &[&str] = &[
    "",
    "#[serde(rename = \"x\")]",
    "#[serde(rename = \"\")]",
    "#[serde(rename = \"apiVersion\")]",
    "#[serde(flatten)]",
    "#[serde(skip)]",
    "#[serde(default)]",
    "#[serde(default = \"f\")]",
    "#[serde(skip_serializing_if = \"Option::is_none\")]",
    "#[serde(with = \"m\")]",
    "#[serde(alias = \"y\")]",
    "#[serde(other)]",
    "#[serde(untagged)]",
    "#[serde(rename_all = \"camelCase\")]",
    "#[serde(rename_all = \"nonsense\")]",
];

const CONTAINER_SERDE: &[&str] = &[
    "",
    "#[serde(rename_all = \"camelCase\")]",
    "#[serde(tag = \"type\")]",
    "#[serde(tag = \"type\", content = \"value\")]",
    "#[serde(untagged)]",
    "#[serde(transparent)]",
    "#[serde(deny_unknown_fields)]",
    "#[serde(rename_all_fields = \"camelCase\")]",
    "#[serde(default)]",
];

/// One attribute entry: a known key (or a misspelt one) and a value.
fn entry(keys: &'static [&'static str]) -> impl Strategy<Value = String> {
    let key = prop_oneof![
        8 => select(keys).prop_map(str::to_owned),
        1 => select(keys).prop_map(|k| format!("{k}x")),
        1 => Just("r#type".to_owned()),
    ];
    (key, select(VALUES)).prop_map(|(k, v)| format!("{k}{v}"))
}

fn attr(path: &'static str, keys: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec(entry(keys), 0..4).prop_map(move |entries| {
        if entries.is_empty() {
            String::new()
        } else {
            format!("#[{path}({})]", entries.join(", "))
        }
    })
}

fn field_keys() -> &'static [&'static str] {
    // Every key a field may carry, and the nested keys too: a nested key
    // in the wrong place is an input like any other.
    static KEYS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        [
            FIELD_KEYS,
            VALUE_KEYS,
            RULE_KEYS,
            PRINTCOLUMN_KEYS,
            SCALE_KEYS,
        ]
        .concat()
    })
}

fn field(named: bool) -> impl Strategy<Value = String> {
    let name = select(
        &[
            "a", "b", "kind", "r#type", "self_", "status", "metadata", "x",
        ][..],
    );
    (
        name,
        select(TYPES),
        attr("crd", field_keys()),
        select(SERDE),
        select(&["", "/// A doc.", "/// "][..]),
    )
        .prop_map(move |(name, ty, crd, serde, doc)| {
            if named {
                format!("{doc} {crd} {serde} pub {name}: {ty}")
            } else {
                format!("{crd} {serde} pub {ty}")
            }
        })
}

fn fields() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(field(true), 0..4).prop_map(|f| format!("{{ {} }}", f.join(", "))),
        1 => prop::collection::vec(field(false), 0..3).prop_map(|f| format!("({});", f.join(", "))),
        1 => Just(";".to_owned()),
    ]
}

fn variant() -> impl Strategy<Value = String> {
    (
        select(&["A", "B", "Other", "C"][..]),
        prop_oneof![
            Just(String::new()),
            field(false).prop_map(|f| format!("({f})")),
            prop::collection::vec(field(true), 0..3)
                .prop_map(|f| format!("{{ {} }}", f.join(", "))),
        ],
        select(SERDE),
        attr("crd", VALUE_KEYS),
    )
        .prop_map(|(name, body, serde, crd)| format!("{serde} {crd} {name} {body}"))
}

/// A whole derive input, as source text.
fn input() -> impl Strategy<Value = String> {
    let structure = (fields(), select(&["", "<T>", "<'a>"][..]))
        .prop_map(|(fields, generics)| format!("struct Spec{generics} {fields}"));
    let enumeration = prop::collection::vec(variant(), 0..4)
        .prop_map(|variants| format!("enum Spec {{ {} }}", variants.join(", ")));
    (
        attr("kube", RESOURCE_KEYS),
        attr("crd", RESOURCE_KEYS),
        attr("crd", TYPE_KEYS),
        select(CONTAINER_SERDE),
        prop_oneof![3 => structure, 1 => enumeration],
    )
        .prop_map(|(kube, crd_resource, crd_type, serde, item)| {
            format!("{kube} {crd_resource} {crd_type} {serde} pub {item}")
        })
}

#[test]
fn no_input_makes_the_front_end_or_the_emitter_panic() {
    // proptest's default reads PROPTEST_CASES (256 without it).
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    let cases = config.cases;
    let mut runner = TestRunner::new(config);
    let parsed = std::sync::atomic::AtomicUsize::new(0);
    let result = runner.run(&input(), |source| {
        // Text that is not Rust is rustc's to refuse, not ours.
        let Ok(input) = syn::parse_str::<DeriveInput>(&source) else {
            return Ok(());
        };
        parsed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for derive in [Derive::CustomResource, Derive::Schema] {
            let outcome = catch_unwind(AssertUnwindSafe(|| match parse(&input, derive) {
                Ok(model) => {
                    let _ = crate::emit::emit(&model);
                    None
                }
                Err(errors) => Some(errors.into_vec().len()),
            }));
            match outcome {
                Err(_) => {
                    return Err(TestCaseError::fail(format!(
                        "{derive:?} panicked on:\n{source}"
                    )));
                }
                Ok(Some(0)) => {
                    return Err(TestCaseError::fail(format!(
                        "{derive:?} refused without a message:\n{source}"
                    )));
                }
                Ok(_) => {}
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // Most generated inputs are Rust; if none were, the test proved nothing.
    let parsed = parsed.into_inner();
    assert!(
        parsed * 2 > cases as usize,
        "only {parsed} of {cases} inputs parsed as Rust"
    );
}
