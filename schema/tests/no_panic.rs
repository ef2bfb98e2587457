//! No schema makes the passes panic: a property test over generated schema
//! trees — every keyword, in sensible and senseless combinations (a
//! `format` on an object, `items` on a string, bounds crossed, junctions
//! nested in junctions) — run through every pass and back and forth through
//! JSON. Every outcome must be a schema and a list of problems.
//! `PROPTEST_CASES` sets the number of trees (default 256).

use std::panic::{AssertUnwindSafe, catch_unwind};

use crdforge_schema::passes::{Options, run_all};
use crdforge_schema::{Context, Rule, Schema, from_json};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

const TYPES: &[Option<&str>] = &[
    None,
    Some("object"),
    Some("array"),
    Some("string"),
    Some("integer"),
    Some("number"),
    Some("boolean"),
    Some("null"),
    Some(""),
];

fn value() -> impl Strategy<Value = Value> {
    select(vec![
        Value::Null,
        json!(0),
        json!(-1),
        json!(1.5),
        json!(""),
        json!("x"),
        json!(true),
        json!([]),
        json!({}),
        json!({"a": 1}),
        json!(u64::MAX),
    ])
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        select(vec![
            "self > 0",
            "self.",
            "",
            "has(self.a)",
            "self.size() < 3",
            "oldSelf == self",
        ]),
        prop::option::of(select(vec!["m", ""])),
        prop::option::of(select(vec!["FieldValueForbidden", "Nope"])),
        prop::option::of(select(vec![".a", "", "a["])),
        prop::option::of(any::<bool>()),
    )
        .prop_map(
            |(rule, message, reason, field_path, optional_old_self)| Rule {
                rule: rule.into(),
                message: message.map(Into::into),
                reason: reason.map(Into::into),
                field_path: field_path.map(Into::into),
                optional_old_self,
                ..Rule::default()
            },
        )
}

fn bound() -> impl Strategy<Value = Option<f64>> {
    prop::option::of(select(vec![0.0, -1.0, 1.0, 1e300, f64::MAX, 9.3e18, 0.5]))
}

fn count() -> impl Strategy<Value = Option<i64>> {
    prop::option::of(select(vec![0, 1, -1, 3, i64::MAX]))
}

type Leaf = (
    (
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        bool,
        Option<Value>,
        Vec<Value>,
    ),
    (Option<f64>, Option<f64>, bool, bool, Option<f64>),
    (Option<i64>, Option<i64>, Option<&'static str>),
    (Option<i64>, Option<i64>, bool, Option<i64>, Option<i64>),
    (
        bool,
        bool,
        bool,
        Option<&'static str>,
        Vec<&'static str>,
        Option<&'static str>,
        Vec<Rule>,
    ),
);

fn leaf_schema(leaf: Leaf) -> Schema {
    let (
        (type_, format, description, nullable, default, enum_),
        (minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of),
        (min_length, max_length, pattern),
        (min_items, max_items, unique_items, min_properties, max_properties),
        (
            preserve_unknown_fields,
            embedded_resource,
            int_or_string,
            list_type,
            list_map_keys,
            map_type,
            validations,
        ),
    ) = leaf;
    Schema {
        type_: type_.map(Into::into),
        format: format.map(Into::into),
        description: description.map(Into::into),
        nullable,
        default,
        enum_,
        minimum,
        maximum,
        exclusive_minimum,
        exclusive_maximum,
        multiple_of,
        min_length,
        max_length,
        pattern: pattern.map(Into::into),
        min_items,
        max_items,
        unique_items,
        min_properties,
        max_properties,
        preserve_unknown_fields,
        embedded_resource,
        int_or_string,
        list_type: list_type.map(Into::into),
        list_map_keys: list_map_keys.into_iter().map(Into::into).collect(),
        map_type: map_type.map(Into::into),
        validations,
        ..Schema::default()
    }
}

fn leaf() -> impl Strategy<Value = Schema> {
    (
        (
            select(TYPES),
            prop::option::of(select(vec![
                "int32",
                "int64",
                "date-time",
                "",
                "byte",
                "nonsense",
            ])),
            prop::option::of(select(vec!["d", "", "a long description indeed"])),
            any::<bool>(),
            prop::option::of(value()),
            prop::collection::vec(value(), 0..3),
        ),
        (bound(), bound(), any::<bool>(), any::<bool>(), bound()),
        (
            count(),
            count(),
            prop::option::of(select(vec!["^a$", "[", ""])),
        ),
        (count(), count(), any::<bool>(), count(), count()),
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            prop::option::of(select(vec!["set", "map", "atomic", "x"])),
            prop::collection::vec(select(vec!["name", "", "port"]), 0..2),
            prop::option::of(select(vec!["granular", "atomic", "x"])),
            prop::collection::vec(rule(), 0..2),
        ),
    )
        .prop_map(leaf_schema)
}

fn tree() -> impl Strategy<Value = Schema> {
    leaf().prop_recursive(4, 32, 4, |inner| {
        let names = select(vec!["a", "b", "metadata", "apiVersion", "spec", ""]);
        (
            leaf(),
            prop::collection::btree_map(names.prop_map(String::from), inner.clone(), 0..3),
            prop::collection::vec(select(vec!["a", "b", "z"]).prop_map(String::from), 0..2),
            prop::option::of(inner.clone()),
            prop::option::of(inner.clone()),
            (
                prop::collection::vec(inner.clone(), 0..2),
                prop::collection::vec(inner.clone(), 0..2),
                prop::collection::vec(inner.clone(), 0..2),
                prop::option::of(inner),
            ),
        )
            .prop_map(
                |(mut schema, properties, required, items, additional, junctions)| {
                    let (all_of, any_of, one_of, not) = junctions;
                    schema.properties = properties;
                    schema.required = required;
                    schema.items = items.map(Box::new);
                    schema.additional_properties = additional.map(Box::new);
                    schema.all_of = all_of;
                    schema.any_of = any_of;
                    schema.one_of = one_of;
                    schema.not = not.map(Box::new);
                    schema
                },
            )
    })
}

#[test]
fn no_schema_makes_the_passes_panic() {
    // proptest's default reads PROPTEST_CASES (256 without it).
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let strategy = (tree(), prop::option::of(select(vec![0usize, 1, 10])));
    let result = runner.run(&strategy, |(schema, max_description_length)| {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let options = Options {
                max_description_length,
            };
            let mut passed = schema.clone();
            let _problems = run_all(&mut passed, &options);
            // And through JSON, as a schema read from a file would come.
            let mut again = from_json(&passed.to_json(), &mut Context::new());
            let _ = run_all(&mut again, &options);
            let _ = from_json(&schema.to_json(), &mut Context::new());
        }));
        if outcome.is_err() {
            return Err(TestCaseError::fail(format!(
                "a pass panicked on:\n{}",
                serde_json::to_string_pretty(&schema.to_json()).unwrap_or_default()
            )));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
