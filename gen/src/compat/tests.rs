//! The detector on hand-made pairs (one per breaking class, and the
//! widening changes that must not be findings), then properties over
//! generated schemas: nothing is a finding against itself or against a
//! widened copy, every removed field and every constraint added is one.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as api;
use proptest::prelude::*;
use serde_json::json;

use crdforge::crd::to_props;
use crdforge::schema::{Rule, Schema};

use super::*;

/// A root schema whose spec is `spec`.
fn root(spec: Schema) -> Schema {
    let mut root = Schema::typed("object");
    root.properties.insert("spec".into(), spec);
    root
}

fn object(fields: &[(&str, Schema)]) -> Schema {
    let mut s = Schema::typed("object");
    for (name, field) in fields {
        s.properties.insert((*name).into(), field.clone());
    }
    s
}

/// A CRD `things.example.com` with these versions: (name, served,
/// storage, spec).
fn crd(versions: &[(&str, bool, bool, Schema)]) -> api::CustomResourceDefinition {
    let mut crd = api::CustomResourceDefinition::default();
    crd.metadata.name = Some("things.example.com".into());
    crd.spec.group = "example.com".into();
    crd.spec.scope = "Namespaced".into();
    crd.spec.versions = versions
        .iter()
        .map(
            |(name, served, storage, spec)| api::CustomResourceDefinitionVersion {
                name: (*name).into(),
                served: *served,
                storage: *storage,
                schema: Some(api::CustomResourceValidation {
                    open_api_v3_schema: Some(to_props(&root(spec.clone()))),
                }),
                ..Default::default()
            },
        )
        .collect();
    crd
}

fn v1(spec: Schema) -> api::CustomResourceDefinition {
    crd(&[("v1", true, true, spec)])
}

/// (change, path) of every finding from `old` to `new` specs.
fn found(old: Schema, new: Schema) -> Vec<(Change, String)> {
    detect(&v1(old), Some(&v1(new)))
        .into_iter()
        .map(|f| (f.change, f.path))
        .collect()
}

fn string() -> Schema {
    Schema::typed("string")
}

fn int() -> Schema {
    Schema::typed("integer")
}

#[test]
fn a_removed_field_is_found_and_a_rename_is_suggested() {
    let old = object(&[("name", string()), ("size", int())]);
    let new = object(&[("title", string()), ("size", int())]);
    let findings = detect(&v1(old), Some(&v1(new)));
    assert_eq!(findings.len(), 1, "{findings:?}");
    let f = &findings[0];
    assert_eq!(
        (f.change, f.path.as_str(), f.version.as_str()),
        (Change::FieldRemoved, ".spec.name", "v1")
    );
    assert!(f.detail.contains("renamed to `title`?"), "{f}");
    assert!(f.why.contains("prunes it"), "{f}");
}

#[test]
fn a_removed_field_under_preserved_unknown_fields_is_kept_so_not_found() {
    let old = object(&[("name", string())]);
    let mut new = object(&[]);
    new.preserve_unknown_fields = true;
    assert_eq!(found(old, new), []);
}

#[test]
fn narrowed_types_are_found_and_widened_ones_are_not() {
    let f = |old: Schema, new: Schema| found(object(&[("x", old)]), object(&[("x", new)]));
    assert_eq!(
        f(string(), int()),
        [(Change::TypeNarrowed, ".spec.x".into())]
    );
    assert_eq!(
        f(Schema::typed("number"), int()),
        [(Change::TypeNarrowed, ".spec.x".into())]
    );
    assert_eq!(
        f(Schema::int_or_string(), int()),
        [(Change::TypeNarrowed, ".spec.x".into())]
    );
    assert_eq!(
        f(Schema::any(), string()),
        [(Change::TypeNarrowed, ".spec.x".into())]
    );
    assert_eq!(f(int(), Schema::typed("number")), []);
    assert_eq!(f(int(), Schema::int_or_string()), []);
    assert_eq!(f(string(), Schema::any()), []);
}

#[test]
fn newly_required_without_a_default_is_found_with_one_it_is_not() {
    let old = object(&[("mode", string())]);
    let mut new = old.clone();
    new.required = vec!["mode".into()];
    assert_eq!(
        found(old.clone(), new.clone()),
        [(Change::NewlyRequired, ".spec.mode".into())]
    );
    let mut defaulted = new.clone();
    defaulted.properties.get_mut("mode").unwrap().default = Some(json!("fast"));
    assert_eq!(found(old, defaulted.clone()), []);
    // A required field that loses its default breaks clients that relied
    // on it.
    assert_eq!(
        found(defaulted, new),
        [(Change::NewlyRequired, ".spec.mode".into())]
    );
}

#[test]
fn tightened_bounds_are_found_loosened_ones_are_not() {
    let with = |f: &dyn Fn(&mut Schema)| {
        let mut s = int();
        f(&mut s);
        object(&[("n", s)])
    };
    let tight = [
        with(&|s| s.minimum = Some(1.0)),
        with(&|s| s.maximum = Some(5.0)),
        with(&|s| s.multiple_of = Some(2.0)),
    ];
    for t in &tight {
        assert_eq!(
            found(object(&[("n", int())]), t.clone()),
            [(Change::ValidationTightened, ".spec.n".into())]
        );
        assert_eq!(found(t.clone(), object(&[("n", int())])), []);
    }
    let exclusive = with(&|s| {
        s.minimum = Some(1.0);
        s.exclusive_minimum = true;
    });
    assert_eq!(found(tight[0].clone(), exclusive.clone()).len(), 1);
    assert_eq!(found(exclusive, tight[0].clone()), []);
    // multipleOf 4 → 2 loosens (every multiple of 4 is one of 2).
    let m = |m: f64| with(&|s| s.multiple_of = Some(m));
    assert_eq!(found(m(4.0), m(2.0)), []);
    assert_eq!(found(m(2.0), m(4.0)).len(), 1);
}

#[test]
fn lengths_counts_patterns_formats_nullable_and_list_types_are_found() {
    let s = |f: &dyn Fn(&mut Schema)| {
        let mut s = string();
        f(&mut s);
        object(&[("s", s)])
    };
    let plain = s(&|_| {});
    for tight in [
        s(&|s| s.max_length = Some(3)),
        s(&|s| s.min_length = Some(1)),
        s(&|s| s.pattern = Some("^[a-z]+$".into())),
        s(&|s| s.format = Some("email".into())),
    ] {
        assert_eq!(found(plain.clone(), tight.clone()).len(), 1, "{tight:?}");
        assert_eq!(found(tight, plain.clone()), []);
    }
    let nullable = s(&|s| s.nullable = true);
    assert_eq!(found(nullable, plain.clone()).len(), 1);
    // Numeric formats are not validated by the apiserver.
    let mut i32 = int();
    i32.format = Some("int32".into());
    assert_eq!(found(object(&[("n", int())]), object(&[("n", i32)])), []);
    // Kubernetes' Quantity spells its int-or-string out again as anyOf;
    // that refuses nothing.
    let mut quantity = Schema::int_or_string();
    quantity.any_of = vec![int(), string()];
    assert_eq!(
        found(
            object(&[("q", Schema::int_or_string())]),
            object(&[("q", quantity.clone())])
        ),
        []
    );
    let mut narrower = quantity.clone();
    narrower.any_of[1].max_length = Some(3);
    assert_eq!(
        found(
            object(&[("q", Schema::int_or_string())]),
            object(&[("q", narrower)])
        )
        .len(),
        1
    );
    let list = |t: Option<&str>| {
        let mut l = Schema::array(string());
        l.list_type = t.map(Into::into);
        l.max_items = None;
        object(&[("l", l)])
    };
    let f = found(list(None), list(Some("set")));
    assert_eq!(f, [(Change::ValidationTightened, ".spec.l".into())]);
    assert_eq!(found(list(Some("set")), list(None)), []);
}

#[test]
fn enum_values_removed_and_new_rules_are_found() {
    let e = |values: &[&str]| {
        let mut s = string();
        s.enum_ = values.iter().map(|v| json!(v)).collect();
        object(&[("mode", s)])
    };
    assert_eq!(
        found(e(&["a", "b"]), e(&["a"])),
        [(Change::EnumValueRemoved, ".spec.mode".into())]
    );
    assert_eq!(found(e(&["a"]), e(&["a", "b"])), []);
    assert_eq!(found(object(&[("mode", string())]), e(&["a"])).len(), 1);
    let ruled = |rule: &str| {
        let mut s = object(&[("n", int())]);
        s.validations = vec![Rule {
            rule: rule.into(),
            ..Rule::default()
        }];
        s
    };
    let findings = detect(&v1(object(&[("n", int())])), Some(&v1(ruled("self.n > 0"))));
    assert_eq!(findings.len(), 1);
    assert!(findings[0].why.contains("is ratcheted"), "{}", findings[0]);
    let findings = detect(
        &v1(object(&[("n", int())])),
        Some(&v1(ruled("self.n >= oldSelf.n"))),
    );
    assert!(findings[0].why.contains("not ratcheted"), "{}", findings[0]);
    assert_eq!(found(ruled("self.n > 0"), ruled("self.n > 0")), []);
}

#[test]
fn versions_storage_scope_and_removal_are_found() {
    let spec = object(&[("a", string())]);
    let both = crd(&[
        ("v2", true, true, spec.clone()),
        ("v1", true, false, spec.clone()),
    ]);
    let only_v2 = crd(&[("v2", true, true, spec.clone())]);
    let changes = |old: &api::CustomResourceDefinition, new: &api::CustomResourceDefinition| {
        detect(old, Some(new))
            .into_iter()
            .map(|f| (f.change, f.version))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        changes(&both, &only_v2),
        [(Change::ServedVersionRemoved, "v1".into())]
    );
    let mut unserved = both.clone();
    unserved.spec.versions[1].served = false;
    assert_eq!(
        changes(&both, &unserved),
        [(Change::ServedVersionRemoved, "v1".into())]
    );
    let v1_storage = crd(&[
        ("v2", true, false, spec.clone()),
        ("v1", true, true, spec.clone()),
    ]);
    assert_eq!(
        changes(&v1_storage, &both),
        [(Change::StorageVersionChanged, "v1".into())]
    );
    let found = changes(&v1_storage, &only_v2);
    assert!(
        found.contains(&(Change::StorageVersionRemoved, "v1".into())),
        "{found:?}"
    );
    assert!(
        found.contains(&(Change::ServedVersionRemoved, "v1".into())),
        "{found:?}"
    );
    // With the storage version changed, what v2 lacks of v1 is pruned
    // from every stored object.
    let v1_more = crd(&[
        ("v2", true, false, spec.clone()),
        (
            "v1",
            true,
            true,
            object(&[("a", string()), ("b", string())]),
        ),
    ]);
    let found = detect(&v1_more, Some(&both));
    assert!(
        found.iter().any(|f| f.change == Change::FieldRemoved
            && f.path == ".spec.b"
            && f.version == "v2 (objects stored as v1)"),
        "{found:?}"
    );
    let mut cluster = both.clone();
    cluster.spec.scope = "Cluster".into();
    assert_eq!(
        changes(&both, &cluster),
        [(Change::ScopeChanged, String::new())]
    );
    assert_eq!(detect(&both, None)[0].change, Change::CrdRemoved);
}

#[test]
fn the_allow_list_accepts_exactly_what_it_names() {
    let findings = detect(
        &v1(object(&[("a", string()), ("b", string())])),
        Some(&v1(object(&[]))),
    );
    let text = "# reviewed\n- crd: things.example.com\n  version: v1\n  path: .spec.a\n  change: field-removed\n  reason: never released\n";
    let list = allow::AllowList::parse("allow.yaml", text).unwrap();
    let allowed: Vec<bool> = findings.iter().map(|f| list.allows(f).is_some()).collect();
    assert_eq!(allowed, [true, false]);
    let bad = "- crd: x\n  change: field-gone\n  reason: ''\n";
    let err = allow::AllowList::parse("allow.yaml", bad).unwrap_err();
    assert!(err.contains("unknown change `field-gone`"), "{err}");
    assert!(err.contains("`reason` is empty"), "{err}");
    assert_eq!(
        allow::AllowList::parse("a", "# nothing yet\n").unwrap(),
        Default::default()
    );
    // The entry printed for a finding parses and accepts it.
    let entry =
        allow::AllowList::entry_for(&findings[1]).replace("<why this break is acceptable>", "ok");
    let list = allow::AllowList::parse("a", &entry).unwrap();
    assert!(list.allows(&findings[1]).is_some());
}

// ---- properties ----

/// Schemas of the shapes derived types give: scalars with constraints,
/// objects, arrays and maps, three levels deep.
fn schema() -> impl Strategy<Value = Schema> {
    let scalar = prop_oneof![
        (
            proptest::option::of(1i64..5),
            proptest::option::of(5i64..50),
            proptest::option::of("[a-z]{1,3}")
        )
            .prop_map(|(min, max, pattern)| Schema {
                min_length: min,
                max_length: max,
                pattern: pattern.map(|p| format!("^{p}")),
                ..string()
            }),
        (
            proptest::option::of(-5i32..5),
            proptest::option::of(5i32..100)
        )
            .prop_map(|(min, max)| Schema {
                minimum: min.map(f64::from),
                maximum: max.map(f64::from),
                ..int()
            }),
        proptest::collection::vec("[a-z]{1,4}", 1..4).prop_map(|values| Schema {
            enum_: values.into_iter().map(|v| json!(v)).collect(),
            ..string()
        }),
        Just(Schema::typed("boolean")),
    ];
    scalar.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            (
                proptest::collection::btree_map("[a-z]{1,6}", inner.clone(), 0..4),
                any::<u8>()
            )
                .prop_map(|(properties, mask)| {
                    let required = properties
                        .keys()
                        .enumerate()
                        .filter(|(i, _)| mask & (1 << (i % 8)) != 0)
                        .map(|(_, k)| k.clone())
                        .collect();
                    Schema {
                        properties,
                        required,
                        ..Schema::typed("object")
                    }
                }),
            (inner.clone(), proptest::option::of(1i64..10)).prop_map(|(items, max)| Schema {
                max_items: max,
                ..Schema::array(items)
            }),
            inner.prop_map(Schema::map),
        ]
    })
}

/// `s` with every constraint dropped, every field optional and a new
/// optional field in every object: accepts everything `s` accepts.
fn widened(s: &Schema) -> Schema {
    let mut w = s.clone();
    w.walk_mut("", &mut |_, node| {
        node.minimum = None;
        node.maximum = None;
        node.min_length = None;
        node.max_length = None;
        node.min_items = None;
        node.max_items = None;
        node.pattern = None;
        node.enum_.clear();
        node.required.clear();
        if node.type_name() == "object" && node.additional_properties.is_none() {
            node.properties
                .insert("addedLater".into(), Schema::typed("string"));
        }
    });
    w
}

/// The paths of every property below `s` (at `path`).
fn field_paths(s: &Schema, path: &str, out: &mut Vec<String>) {
    for (name, child) in &s.properties {
        let p = format!("{path}.{name}");
        out.push(p.clone());
        field_paths(child, &p, out);
    }
    if let Some(items) = &s.items {
        field_paths(items, &format!("{path}[*]"), out);
    }
    if let Some(values) = &s.additional_properties {
        field_paths(values, &format!("{path}[*]"), out);
    }
}

/// `s` without the property at `path` (relative, `.a.b`).
fn without(s: &Schema, path: &str) -> Schema {
    let mut s = s.clone();
    let (parent, name) = path.rsplit_once('.').unwrap();
    s.walk_mut("", &mut |p, node| {
        if p == parent {
            node.properties.remove(name);
            node.required.retain(|r| r != name);
        }
    });
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn nothing_breaks_against_itself(spec in schema()) {
        prop_assert_eq!(found(spec.clone(), spec), vec![]);
    }

    #[test]
    fn widening_never_breaks_and_narrowing_back_always_does(spec in schema()) {
        let wide = widened(&spec);
        let spec_is_object = spec.type_name() == "object" && spec.additional_properties.is_none();
        prop_assert_eq!(found(spec.clone(), wide.clone()), vec![]);
        let mut constrained = false;
        spec.walk("", &mut |_, n| {
            constrained |= n.minimum.is_some() || n.maximum.is_some() || n.min_length.is_some()
                || n.max_length.is_some() || n.max_items.is_some() || n.pattern.is_some()
                || !n.enum_.is_empty()
                || n.required.iter().any(|r| n.properties[r].default.is_none());
        });
        let back = found(wide, spec);
        // Narrowing back removes `addedLater` wherever it was added, and
        // tightens every constraint `spec` has.
        if spec_is_object {
            prop_assert!(back.iter().any(|(c, p)| *c == Change::FieldRemoved && p.ends_with(".addedLater")), "{:?}", back);
        }
        if constrained {
            prop_assert!(back.iter().any(|(c, _)| matches!(c, Change::ValidationTightened | Change::NewlyRequired)), "{:?}", back);
        }
    }

    #[test]
    fn every_removed_field_is_found_at_its_path(spec in schema(), pick in any::<prop::sample::Index>()) {
        let mut paths = Vec::new();
        field_paths(&spec, "", &mut paths);
        // Only properties of objects (not of map values) can be removed by
        // name; `[*]` paths are inside arrays or maps and removable too.
        prop_assume!(!paths.is_empty());
        let path = pick.get(&paths).clone();
        let smaller = without(&spec, &path);
        let findings = found(spec, smaller);
        let expected = format!(".spec{path}");
        prop_assert!(
            findings.iter().any(|(c, p)| *c == Change::FieldRemoved && *p == expected),
            "{expected} not in {findings:?}"
        );
    }
}
