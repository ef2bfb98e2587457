//! Invalid variants: a valid value with exactly one declared constraint
//! broken at one node, labelled with the path the apiserver will name and
//! the keyword broken. Constraints that cannot be broken alone (a
//! `maxLength` no string of the `pattern` can exceed, an enum of integers)
//! get no variant.

use proptest::prelude::*;
use serde_json::Value;

use super::pattern::{self, Matcher, Repeats};
use super::valid::{Gen, Step, chars, format_range, integer_bounds, map_key};
use crate::schema::Schema;

/// The keyword an invalid variant breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Constraint {
    /// `type`: a value of another JSON type.
    Type,
    /// `required`: the property left out.
    Required,
    /// `enum`: a value not in the list.
    Enum,
    /// `minLength`.
    MinLength,
    /// `maxLength`.
    MaxLength,
    /// `pattern`.
    Pattern,
    /// `format` (the ones the apiserver checks).
    Format,
    /// `minimum` / `exclusiveMinimum`.
    Minimum,
    /// `maximum` / `exclusiveMaximum`.
    Maximum,
    /// `multipleOf`.
    MultipleOf,
    /// `minItems`.
    MinItems,
    /// `maxItems`.
    MaxItems,
    /// `x-kubernetes-list-type: set`: a duplicate element.
    SetUnique,
    /// `x-kubernetes-list-type: map`: two elements with the same keys.
    MapKeyUnique,
    /// `minProperties`.
    MinProperties,
    /// `maxProperties`.
    MaxProperties,
}

impl Constraint {
    /// The schema keyword, as the CRD spells it.
    pub fn keyword(self) -> &'static str {
        match self {
            Constraint::Type => "type",
            Constraint::Required => "required",
            Constraint::Enum => "enum",
            Constraint::MinLength => "minLength",
            Constraint::MaxLength => "maxLength",
            Constraint::Pattern => "pattern",
            Constraint::Format => "format",
            Constraint::Minimum => "minimum",
            Constraint::Maximum => "maximum",
            Constraint::MultipleOf => "multipleOf",
            Constraint::MinItems => "minItems",
            Constraint::MaxItems => "maxItems",
            Constraint::SetUnique => "x-kubernetes-list-type: set",
            Constraint::MapKeyUnique => "x-kubernetes-list-type: map",
            Constraint::MinProperties => "minProperties",
            Constraint::MaxProperties => "maxProperties",
        }
    }
}

impl std::fmt::Display for Constraint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.keyword())
    }
}

/// One place a constraint can be broken: the steps to the node, and the
/// node's replacement (`extra`: the property a `required` break removes).
pub(super) struct Site {
    pub(super) steps: Vec<Step>,
    pub(super) schema_path: String,
    pub(super) constraint: Constraint,
    pub(super) extra: Option<String>,
    pub(super) node: BoxedStrategy<Value>,
}

/// Every site below `schema`, reached through `steps`.
pub(super) fn sites(
    g: Gen<'_>,
    schema: &Schema,
    steps: Vec<Step>,
    path: String,
    out: &mut Vec<Site>,
) {
    let mut site = |constraint, node: BoxedStrategy<Value>, extra: Option<String>| {
        let schema_path = match &extra {
            Some(name) => format!("{path}.{name}"),
            None => path.clone(),
        };
        out.push(Site {
            steps: steps.clone(),
            schema_path,
            constraint,
            extra,
            node,
        });
    };
    if let Some(wrong) = wrong_type(schema) {
        site(Constraint::Type, Just(wrong).boxed(), None);
    }
    if !schema.enum_.is_empty() {
        if schema.enum_.iter().all(Value::is_string) {
            let bad = (0..)
                .map(|i| format!("not-in-the-enum-{i}"))
                .find(|s| !schema.enum_.contains(&Value::from(s.as_str())))
                .unwrap_or_default();
            site(Constraint::Enum, Just(Value::from(bad)).boxed(), None);
        }
    } else {
        match schema.type_name() {
            "string" if !schema.int_or_string => string_sites(schema, &mut site),
            "integer" => integer_sites(schema, &mut site),
            "number" => number_sites(schema, &mut site),
            "array" => array_sites(g, schema, &mut site),
            "object" => object_sites(g, schema, &mut site),
            // An int-or-string node's bounds are its integer's.
            _ if schema.int_or_string => integer_sites(schema, &mut site),
            _ => {}
        }
    }
    if schema.embedded_resource || (schema.type_.is_none() && schema.preserve_unknown_fields) {
        return;
    }
    let branches: Vec<&Schema> = schema.one_of.iter().chain(&schema.any_of).collect();
    for (name, property) in &schema.properties {
        // A property only branches require is reached through one of them,
        // with that branch's constraints on it.
        let owners: Vec<usize> = branches
            .iter()
            .enumerate()
            .filter(|(_, b)| b.required.contains(name))
            .map(|(i, _)| i)
            .collect();
        if owners.is_empty() || schema.required.contains(name) {
            let mut next = steps.clone();
            next.push(Step::Prop(name.clone()));
            sites(g, property, next, format!("{path}.{name}"), out);
        } else {
            for i in owners {
                let mut next = steps.clone();
                next.push(Step::Branch(i));
                next.push(Step::Prop(name.clone()));
                let child = match branches[i].properties.get(name) {
                    Some(extra) => super::valid::overlay(property, extra),
                    None => property.clone(),
                };
                sites(g, &child, next, format!("{path}.{name}"), out);
            }
        }
    }
    if let Some(items) = &schema.items {
        let mut next = steps.clone();
        next.push(Step::Item);
        sites(g, items, next, format!("{path}[*]"), out);
    }
    if let Some(values) = &schema.additional_properties {
        let mut next = steps;
        next.push(Step::Entry);
        sites(g, values, next, format!("{path}[*]"), out);
    }
}

type SiteFn<'a> = dyn FnMut(Constraint, BoxedStrategy<Value>, Option<String>) + 'a;

/// A value of another JSON type than the node's (`None`: any type fits).
fn wrong_type(schema: &Schema) -> Option<Value> {
    if schema.int_or_string {
        return Some(Value::Bool(true));
    }
    Some(match schema.type_.as_deref()? {
        "string" => Value::Bool(true),
        "integer" | "number" | "boolean" | "array" => Value::from("x"),
        "object" => Value::from("x"),
        _ => return None,
    })
}

fn string_sites(schema: &Schema, site: &mut SiteFn<'_>) {
    let min = schema.min_length.unwrap_or(0).max(0) as usize;
    let max = schema.max_length.map(|m| m.max(0) as usize);
    // A format the apiserver checks constrains the string besides its
    // lengths; breaking a length alone would need a valid value of the
    // format of the wrong length, so those get only the format break.
    let checked_format = schema
        .format
        .as_deref()
        .and_then(super::valid::format)
        .is_some();
    let pattern = schema.pattern.as_deref();
    let matcher = pattern.and_then(Matcher::new);
    let bounds = pattern.and_then(pattern::length_bounds);
    if min > 0 && !checked_format {
        let node = match (pattern, bounds) {
            (None, _) => Some(chars(0, min - 1)),
            (Some(p), Some((shortest, _))) if shortest < min => {
                pattern::matching(p, Repeats::Fewest).map(|s| {
                    s.prop_filter("shorter than minLength", move |s| s.chars().count() < min)
                        .boxed()
                })
            }
            _ => None,
        };
        if let Some(node) = node {
            site(
                Constraint::MinLength,
                node.prop_map(Value::String).boxed(),
                None,
            );
        }
    }
    if let Some(max) = max
        && !checked_format
    {
        let node = match (pattern, bounds) {
            (None, _) => Some(
                chars(max + 1, max + 3)
                    .prop_filter("not below minLength", move |s| s.chars().count() >= min)
                    .boxed(),
            ),
            (Some(p), Some((_, longest))) if longest.is_none_or(|l| l > max) => {
                pattern::matching(p, Repeats::AtLeast(max as u32 + 1)).map(|s| {
                    s.prop_filter("longer than maxLength", move |s| s.chars().count() > max)
                        .boxed()
                })
            }
            _ => None,
        };
        if let Some(node) = node {
            site(
                Constraint::MaxLength,
                node.prop_map(Value::String).boxed(),
                None,
            );
        }
    }
    if let Some(matcher) = &matcher
        && !checked_format
    {
        let fits = |s: &str| {
            let n = s.chars().count();
            n >= min && max.is_none_or(|m| n <= m)
        };
        let mut candidates: Vec<String> = [
            "", "!", " ", "A", "0", "-", "é", "a b", "a!", "UPPER", "_x", "x.",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        candidates.push("!".repeat(min.max(1)));
        let bad: Vec<Value> = candidates
            .into_iter()
            .filter(|s| fits(s) && !matcher.is_match(s))
            .map(Value::from)
            .collect();
        if !bad.is_empty() {
            site(
                Constraint::Pattern,
                proptest::sample::select(bad).boxed(),
                None,
            );
        }
    }
    if checked_format {
        let bad = "not a valid value";
        site(Constraint::Format, Just(Value::from(bad)).boxed(), None);
    }
}

fn integer_sites(schema: &Schema, site: &mut SiteFn<'_>) {
    let (lo, hi) = integer_bounds(schema);
    let step = schema
        .multiple_of
        .filter(|m| *m >= 1.0 && m.fract() == 0.0)
        .map(|m| m as i64);
    let align_down = |x: i64| step.map_or(x, |m| x.div_euclid(m) * m);
    let align_up = |x: i64| step.map_or(x, |m| -((-x).div_euclid(m)) * m);
    // Bounds are compared as float64s, so a bound beyond 2^53 cannot be
    // broken by one; only a value that differs as a float counts.
    if let Some(min) = schema.minimum
        && lo > i64::MIN
        && (align_down(lo - 1) as f64) < min
    {
        site(
            Constraint::Minimum,
            Just(Value::from(align_down(lo - 1))).boxed(),
            None,
        );
    }
    if let Some(max) = schema.maximum
        && hi < i64::MAX
        && (align_up(hi + 1) as f64) > max
    {
        site(
            Constraint::Maximum,
            Just(Value::from(align_up(hi + 1))).boxed(),
            None,
        );
    }
    if let Some(m) = step
        && m > 1
    {
        let first = align_up(lo.max(-1000));
        if first < hi {
            site(
                Constraint::MultipleOf,
                Just(Value::from(first + 1)).boxed(),
                None,
            );
        }
    }
    // `format: int32` with no stated bound inside it: kube-apiserver 1.36
    // checks the format itself (no field of its own, the path in the
    // message), so one past int32 breaks the format alone. (int64's range
    // cannot be left by an integer literal without breaking `type` too.)
    if schema.type_name() == "integer"
        && !schema.int_or_string
        && schema.format.as_deref() == Some("int32")
    {
        let (fmt_lo, fmt_hi) = format_range(Some("int32"));
        let mut beyond = Vec::new();
        if schema.maximum.is_none_or(|m| m > fmt_hi as f64) {
            beyond.push(Value::from(fmt_hi + 1));
        }
        if schema.minimum.is_none_or(|m| m < fmt_lo as f64) {
            beyond.push(Value::from(fmt_lo - 1));
        }
        // Under a multipleOf, only a multiple breaks nothing else.
        beyond.retain(|v| step.is_none_or(|m| v.as_i64().is_some_and(|x| x % m == 0)));
        if !beyond.is_empty() {
            site(
                Constraint::Format,
                proptest::sample::select(beyond).boxed(),
                None,
            );
        }
    }
}

fn number_sites(schema: &Schema, site: &mut SiteFn<'_>) {
    // `format: float`: the apiserver refuses a number float32 cannot hold.
    if schema.format.as_deref() == Some("float") && schema.maximum.is_none_or(|m| m > 3.5e38) {
        site(Constraint::Format, Just(Value::from(3.5e38)).boxed(), None);
    }
    if let Some(min) = schema.minimum {
        let bad = if schema.exclusive_minimum {
            min
        } else {
            min - 1.0
        };
        site(Constraint::Minimum, Just(Value::from(bad)).boxed(), None);
    }
    if let Some(max) = schema.maximum {
        let bad = if schema.exclusive_maximum {
            max
        } else {
            max + 1.0
        };
        site(Constraint::Maximum, Just(Value::from(bad)).boxed(), None);
    }
}

fn array_sites(g: Gen<'_>, schema: &Schema, site: &mut SiteFn<'_>) {
    let Some(items) = &schema.items else { return };
    let list_type = schema.list_type.clone();
    let keys = schema.list_map_keys.clone();
    let unique = move |list: &Vec<Value>| -> bool {
        let n = list.len();
        match list_type.as_deref() {
            Some("set") => (0..n).all(|i| !list[..i].contains(&list[i])),
            Some("map") => {
                let k: Vec<_> = list.iter().map(|v| map_key(&keys, v)).collect();
                (0..n).all(|i| !k[..i].contains(&k[i]))
            }
            _ => true,
        }
    };
    let item = g.value(items, &[]);
    if let Some(min) = schema.min_items
        && min > 0
    {
        let n = (min - 1) as usize;
        let u = unique.clone();
        site(
            Constraint::MinItems,
            proptest::collection::vec(item.clone(), n..=n)
                .prop_filter("unique", move |l| u(l))
                .prop_map(Value::Array)
                .boxed(),
            None,
        );
    }
    if let Some(max) = schema.max_items {
        let n = (max + 1) as usize;
        let u = unique.clone();
        site(
            Constraint::MaxItems,
            proptest::collection::vec(item.clone(), n..=n + 1)
                .prop_filter("unique", move |l| u(l))
                .prop_map(Value::Array)
                .boxed(),
            None,
        );
    }
    let constraint = match schema.list_type.as_deref() {
        Some("set") => Constraint::SetUnique,
        Some("map") => Constraint::MapKeyUnique,
        _ => return,
    };
    if schema.max_items.is_some_and(|m| m < 2) {
        return;
    }
    let max = schema.max_items.map(|m| m as usize);
    site(
        constraint,
        g.present(schema, &[Step::Item])
            .prop_map(move |v| {
                let Value::Array(mut list) = v else { return v };
                let first = list[0].clone();
                if max.is_some_and(|m| list.len() >= m) {
                    *list.last_mut().unwrap_or(&mut Value::Null) = first;
                } else {
                    list.push(first);
                }
                Value::Array(list)
            })
            .prop_filter("a real duplicate", |v| {
                v.as_array().is_some_and(|l| l.len() >= 2)
            })
            .boxed(),
        None,
    );
}

fn object_sites(g: Gen<'_>, schema: &Schema, site: &mut SiteFn<'_>) {
    for name in &schema.required {
        let defaulted = schema
            .properties
            .get(name)
            .is_some_and(|p| p.default.is_some());
        if defaulted || !schema.properties.contains_key(name) {
            continue;
        }
        let n = name.clone();
        site(
            Constraint::Required,
            g.present(schema, &[Step::Prop(name.clone())])
                .prop_map(move |mut v| {
                    if let Some(map) = v.as_object_mut() {
                        map.remove(&n);
                    }
                    v
                })
                .boxed(),
            Some(name.clone()),
        );
    }
    let Some(values) = &schema.additional_properties else {
        return;
    };
    let value = g.value(values, &[]);
    let entries = |n: usize| {
        proptest::collection::btree_map(super::valid::key(), value.clone(), n..=n)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
            .boxed()
    };
    if let Some(min) = schema.min_properties
        && min > 0
    {
        site(Constraint::MinProperties, entries((min - 1) as usize), None);
    }
    if let Some(max) = schema.max_properties {
        site(Constraint::MaxProperties, entries((max + 1) as usize), None);
    }
}
