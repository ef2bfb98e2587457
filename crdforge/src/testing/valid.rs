//! Valid values of a schema: every keyword the apiserver enforces on a value
//! is honoured — types, `nullable`, `enum`, bounds, `multipleOf`, lengths,
//! `pattern`, the formats it checks, item and property counts, set and
//! list-map uniqueness, `oneOf`/`anyOf` branches, required properties,
//! `x-kubernetes-int-or-string` and embedded resources. CEL rules are not
//! evaluated here (this crate has no CEL interpreter); filter with one.
//!
//! A *forced path* asks for a value in which one node is present and not
//! null (for example `spec.ports[0].name`), so an invalid variant can be
//! planted there.

use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::Options;
use super::hints::{self, Group};
use super::pattern;
use crate::schema::Schema;

/// One step of a path into a value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// A named property.
    Prop(String),
    /// The first element of a list.
    Item,
    /// The first entry of a map (`additionalProperties`).
    Entry,
    /// The `oneOf`/`anyOf` branch (by index) the object must take; no part
    /// of the value's path.
    Branch(usize),
}

/// Builds strategies from schemas with fixed options.
#[derive(Clone, Copy, Debug)]
pub(super) struct Gen<'a> {
    pub(super) options: &'a Options,
}

impl Gen<'_> {
    /// A valid value of `schema`, maybe `null` when it is nullable; with the
    /// node at `force` present.
    pub(super) fn value(self, schema: &Schema, force: &[Step]) -> BoxedStrategy<Value> {
        let present = self.present(schema, force);
        if schema.nullable && force.is_empty() {
            prop_oneof![1 => Just(Value::Null), 4 => present].boxed()
        } else {
            present
        }
    }

    /// A valid value of `schema` that is not `null`.
    pub(super) fn present(self, schema: &Schema, force: &[Step]) -> BoxedStrategy<Value> {
        if !schema.enum_.is_empty() {
            return proptest::sample::select(schema.enum_.clone()).boxed();
        }
        if schema.int_or_string {
            // The node's bounds are the integer's (a string passes them).
            return prop_oneof![self.integer(schema), self.string(schema)].boxed();
        }
        match schema.type_name() {
            "object" => self.object(schema, force),
            "array" => self.array(schema, force),
            "string" => self.string(schema),
            "integer" => self.integer(schema),
            "number" => number(schema),
            "boolean" => any::<bool>().prop_map(Value::Bool).boxed(),
            _ if schema.preserve_unknown_fields => any_json(self.options.max_depth),
            // A node without a type is refused by the structural check;
            // nothing but `null` fits it.
            _ => Just(Value::Null).boxed(),
        }
    }

    fn object(self, schema: &Schema, force: &[Step]) -> BoxedStrategy<Value> {
        let branches: Vec<&Schema> = schema.one_of.iter().chain(&schema.any_of).collect();
        if branches.is_empty() {
            return self.object_in_branch(schema, None, &[], force);
        }
        if let Some(Step::Branch(i)) = force.first()
            && let Some(branch) = branches.get(*i)
        {
            let others: Vec<&Schema> = branches
                .iter()
                .enumerate()
                .filter(|(j, _)| j != i)
                .map(|(_, b)| *b)
                .collect();
            return self.object_in_branch(schema, Some(branch), &others, &force[1..]);
        }
        // A property that only some branches require may be forced; only
        // those branches can carry it.
        let wanted = match force.first() {
            Some(Step::Prop(name)) => Some(name.as_str()),
            _ => None,
        };
        let owned = |b: &Schema, name: &str| b.required.iter().any(|r| r == name);
        let choices: Vec<BoxedStrategy<Value>> = branches
            .iter()
            .enumerate()
            .filter(|(i, branch)| {
                wanted.is_none_or(|name| {
                    owned(branch, name)
                        || schema.required.iter().any(|r| r == name)
                        || !branches
                            .iter()
                            .enumerate()
                            .any(|(j, other)| j != *i && owned(other, name))
                })
            })
            .map(|(i, branch)| {
                let others: Vec<&Schema> = branches
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, b)| *b)
                    .collect();
                self.object_in_branch(schema, Some(branch), &others, force)
            })
            .collect();
        if choices.is_empty() {
            return Just(Value::Null)
                .prop_filter("no branch can hold the forced property", |_| false)
                .boxed();
        }
        proptest::strategy::Union::new(choices).boxed()
    }

    /// An object of `schema` that satisfies `branch` and leaves out the
    /// properties only the `others` require (the variant tags and payloads
    /// of an enum).
    fn object_in_branch(
        self,
        schema: &Schema,
        branch: Option<&Schema>,
        others: &[&Schema],
        force: &[Step],
    ) -> BoxedStrategy<Value> {
        let merged = match branch {
            Some(branch) => overlay(schema, branch),
            None => schema.clone(),
        };
        let excluded: BTreeSet<&str> = others
            .iter()
            .flat_map(|b| b.required.iter().map(String::as_str))
            .filter(|name| !merged.required.iter().any(|r| r == name))
            .collect();
        let forced_prop = match force.first() {
            Some(Step::Prop(name)) => Some(name.as_str()),
            _ => None,
        };
        // Field groups are met by construction: every property a group
        // names is generated, and a choice per group removes the others.
        let groups = hints::groups(&merged);
        let grouped: BTreeSet<&str> = groups
            .iter()
            .flat_map(|(_, names)| names.iter().map(String::as_str))
            .collect();
        let mut keep: BTreeSet<String> = merged.required.iter().cloned().collect();
        keep.extend(forced_prop.map(str::to_owned));
        let orders: Vec<(String, String, Schema, Schema)> = hints::orders(&merged)
            .into_iter()
            .map(|(a, b)| {
                let (sa, sb) = (merged.properties[&a].clone(), merged.properties[&b].clone());
                (a, b, sa, sb)
            })
            .collect();
        let mut fields: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
        if merged.embedded_resource {
            for (name, value) in [
                ("apiVersion", Value::from("v1")),
                ("kind", Value::from("ConfigMap")),
                ("metadata", serde_json::json!({"name": "embedded"})),
            ] {
                if !merged.properties.contains_key(name) {
                    fields.push(Just(Some((name.to_owned(), value))).boxed());
                }
            }
        }
        // A tagged enum's branch forbids the other variants' fields
        // (`not`), so every other property is the variant's own. Without
        // that, the schema knows of a variant only what it requires; a
        // property no branch requires but the node declares may belong to
        // another variant, so only the node's and the branch's own are
        // generated.
        let foreign = branch.map(forbidden).unwrap_or_default();
        let in_branch = |name: &str| {
            branch.is_none_or(|b| {
                if b.not.is_some() {
                    return !foreign.contains(name);
                }
                schema.required.iter().any(|r| r == name)
                    || b.required.iter().any(|r| r == name)
                    || b.properties.contains_key(name)
            })
        };
        for (name, property) in &merged.properties {
            if excluded.contains(name.as_str()) || !in_branch(name) {
                continue;
            }
            let key = name.clone();
            if forced_prop == Some(name.as_str()) {
                fields.push(
                    self.present(property, &force[1..])
                        .prop_map(move |v| Some((key.clone(), v)))
                        .boxed(),
                );
            } else if grouped.contains(name.as_str()) {
                fields.push(
                    self.present(property, &[])
                        .prop_map(move |v| Some((key.clone(), v)))
                        .boxed(),
                );
            } else if merged.required.contains(name) {
                fields.push(
                    self.value(property, &[])
                        .prop_map(move |v| Some((key.clone(), v)))
                        .boxed(),
                );
            } else {
                fields.push(
                    proptest::option::weighted(0.5, self.value(property, &[]))
                        .prop_map(move |v| v.map(|v| (key.clone(), v)))
                        .boxed(),
                );
            }
        }
        let extra: BoxedStrategy<Map<String, Value>> =
            if let Some(values) = &merged.additional_properties {
                let min = merged.min_properties.unwrap_or(0).max(0) as usize;
                let min = if matches!(force.first(), Some(Step::Entry)) {
                    min.max(1)
                } else {
                    min
                };
                let max = capped(min, merged.max_properties, self.options.max_items);
                let rest = if matches!(force.first(), Some(Step::Entry)) {
                    &force[1..]
                } else {
                    &[]
                };
                let forced = matches!(force.first(), Some(Step::Entry));
                let first = self.present(values, rest);
                let others = self.value(values, &[]);
                (
                    first,
                    proptest::collection::btree_map(key(), others, min..=max),
                )
                    .prop_map(move |(first, mut map)| {
                        // The forced value goes under the first key, where an
                        // invalid variant is planted.
                        if forced {
                            let k = map.keys().next().cloned().unwrap_or_else(|| "k".into());
                            map.insert(k, first);
                        }
                        map.into_iter().collect()
                    })
                    .prop_filter(
                        "within minProperties/maxProperties",
                        move |m: &Map<String, Value>| m.len() >= min && m.len() <= max,
                    )
                    .boxed()
            } else if merged.preserve_unknown_fields && self.options.unknown_fields {
                let known: BTreeSet<String> = merged.properties.keys().cloned().collect();
                proptest::collection::btree_map(
                    key().prop_filter("not a declared property", move |k| !known.contains(k)),
                    any_json(self.options.max_depth),
                    0..=2,
                )
                .prop_map(|m| m.into_iter().collect())
                .boxed()
            } else {
                Just(Map::new()).boxed()
            };
        let choices = proptest::collection::vec(any::<u64>(), groups.len());
        (fields, extra, choices)
            .prop_map(move |(fields, mut map, choices)| {
                map.extend(fields.into_iter().flatten());
                for ((group, names), choice) in groups.iter().zip(choices) {
                    choose(&mut map, *group, names, &keep, choice);
                }
                for (a, b, sa, sb) in &orders {
                    order(&mut map, a, b, sa, sb);
                }
                Value::Object(map)
            })
            .boxed()
    }

    fn array(self, schema: &Schema, force: &[Step]) -> BoxedStrategy<Value> {
        let forced = matches!(force.first(), Some(Step::Item));
        let items = match &schema.items {
            Some(items) if forced => self.present(items, &force[1..]),
            Some(items) => self.value(items, &[]),
            None => any_json(self.options.max_depth),
        };
        let min = schema.min_items.unwrap_or(0).max(0) as usize;
        let min = if forced { min.max(1) } else { min };
        let max = capped(min, schema.max_items, self.options.max_items);
        // Sets and map lists get more candidates than they need, so that
        // removing duplicates rarely leaves too few.
        let list_type = schema.list_type.clone();
        let keys = schema.list_map_keys.clone();
        proptest::collection::vec(items, min..=max)
            .prop_map(move |items| match list_type.as_deref() {
                Some("set") => unique_by(items, |v| v.clone()),
                Some("map") => unique_by(items, |v| map_key(&keys, v)),
                _ => items,
            })
            .prop_filter("enough unique items", move |items| items.len() >= min)
            .prop_map(Value::Array)
            .boxed()
    }

    pub(super) fn string(self, schema: &Schema) -> BoxedStrategy<Value> {
        let min = schema.min_length.unwrap_or(0).max(0) as usize;
        let max = capped(min, schema.max_length, self.options.max_string);
        let hard_max = schema.max_length.map(|m| m.max(0) as usize);
        let within = move |s: &String| {
            let n = s.chars().count();
            n >= min && hard_max.is_none_or(|max| n <= max)
        };
        let strategy = if let Some(p) = &schema.pattern
            && let Some(strategy) = pattern::matching_within(p, hard_max)
        {
            strategy.prop_filter("within the lengths", within).boxed()
        } else if let Some(f) = schema.format.as_deref()
            && let Some(strategy) = format(f)
        {
            strategy.prop_filter("within the lengths", within).boxed()
        } else {
            chars(min, max)
        };
        match hints::prefix(schema) {
            // `self.startsWith('https://')`: the prefix, then as much of the
            // generated string as the maxLength leaves room for.
            Some(prefix) if schema.pattern.is_none() => strategy
                .prop_map(move |s| {
                    let room =
                        hard_max.map_or(usize::MAX, |m| m.saturating_sub(prefix.chars().count()));
                    Value::String(format!(
                        "{prefix}{}",
                        s.chars().take(room).collect::<String>()
                    ))
                })
                .boxed(),
            _ => strategy.prop_map(Value::String).boxed(),
        }
    }

    pub(super) fn integer(self, schema: &Schema) -> BoxedStrategy<Value> {
        let (lo, hi) = integer_bounds(schema);
        let step = schema
            .multiple_of
            .filter(|m| *m >= 1.0 && m.fract() == 0.0)
            .map(|m| m as i64)
            .unwrap_or(1);
        let (klo, khi) = (div_ceil(lo, step), lo.max(hi).div_euclid(step));
        if klo > khi {
            return Just(Value::Null)
                .prop_filter("no integer within the bounds", |_| false)
                .boxed();
        }
        prop_oneof![
            1 => Just(klo),
            1 => Just(khi),
            1 => Just(0i64.clamp(klo, khi)),
            6 => klo..=khi,
        ]
        .prop_map(move |k| Value::from(k * step))
        .boxed()
    }
}

/// The properties a branch's `not` forbids: `not: {required: [a]}` or
/// `not: {anyOf: [{required: [a]}, {required: [b]}]}`.
fn forbidden(branch: &Schema) -> BTreeSet<String> {
    let Some(not) = &branch.not else {
        return BTreeSet::new();
    };
    not.required
        .iter()
        .chain(not.any_of.iter().flat_map(|b| b.required.iter()))
        .cloned()
        .collect()
}

/// `schema` with the keywords of `branch` laid over it: the branch's
/// required names join the node's, and its property constraints (an enum
/// tag, a bound) join the property's.
pub(super) fn overlay(schema: &Schema, branch: &Schema) -> Schema {
    let mut merged = schema.clone();
    merged.one_of.clear();
    merged.any_of.clear();
    for name in &branch.required {
        if !merged.required.contains(name) {
            merged.required.push(name.clone());
        }
    }
    for (name, extra) in &branch.properties {
        if let Some(property) = merged.properties.get_mut(name) {
            *property = overlay(property, extra);
        }
    }
    // The content of an adjacently tagged variant: the node's properties are
    // the union of every variant's; the branch forbids the others' (`not`),
    // or else names this variant's.
    if branch.not.is_some() {
        let foreign = forbidden(branch);
        merged
            .properties
            .retain(|k, _| !foreign.contains(k.as_str()));
    } else if !branch.properties.is_empty() || !branch.required.is_empty() {
        let named = |k: &String| branch.properties.contains_key(k) || branch.required.contains(k);
        if !schema.properties.keys().all(&named)
            && schema.one_of.is_empty()
            && schema.any_of.is_empty()
        {
            merged.properties.retain(|k, _| named(k));
        }
    }
    macro_rules! take {
        ($($field:ident),*) => {$(
            if branch.$field.is_some() {
                merged.$field = branch.$field.clone();
            }
        )*};
    }
    take!(
        minimum,
        maximum,
        min_length,
        max_length,
        pattern,
        min_items,
        max_items,
        min_properties,
        max_properties,
        multiple_of
    );
    if !branch.enum_.is_empty() {
        merged.enum_ = branch.enum_.clone();
    }
    merged
}

/// Removes the properties of a field group the choice leaves out: one of
/// them for `exactly_one_of`, one or none for `at_most_one_of`, a non-empty
/// subset for `at_least_one_of`. Required and forced properties stay.
fn choose(
    map: &mut Map<String, Value>,
    group: Group,
    names: &[String],
    keep: &BTreeSet<String>,
    choice: u64,
) {
    let n = names.len().min(63);
    let kept: Vec<bool> = match group {
        Group::Exactly | Group::AtMost => {
            let pinned = names.iter().position(|name| keep.contains(name));
            let picked = pinned.or_else(|| {
                let options = if group == Group::AtMost { n + 1 } else { n };
                let i = (choice % options as u64) as usize;
                (i < n).then_some(i)
            });
            (0..names.len()).map(|i| Some(i) == picked).collect()
        }
        Group::AtLeast => {
            let mask = choice % ((1u64 << n) - 1) + 1;
            (0..names.len())
                .map(|i| i < n && (mask >> i) & 1 == 1)
                .collect()
        }
    };
    for (name, kept) in names.iter().zip(kept) {
        if !kept && !keep.contains(name) {
            map.remove(name);
        }
    }
}

/// Puts two integer properties in the order a `self.a <= self.b` rule
/// asks: swapped, or one set to the other, whichever stays within both
/// schemas; else left for the filter.
fn order(map: &mut Map<String, Value>, a: &str, b: &str, sa: &Schema, sb: &Schema) {
    let (Some(x), Some(y)) = (
        map.get(a).and_then(Value::as_i64),
        map.get(b).and_then(Value::as_i64),
    ) else {
        return;
    };
    if x <= y {
        return;
    }
    let fits = |s: &Schema, v: i64| {
        let (lo, hi) = integer_bounds(s);
        let step = s.multiple_of.filter(|m| *m >= 1.0 && m.fract() == 0.0);
        s.enum_.is_empty() && lo <= v && v <= hi && step.is_none_or(|m| v % (m as i64) == 0)
    };
    if fits(sa, y) && fits(sb, x) {
        map.insert(a.into(), y.into());
        map.insert(b.into(), x.into());
    } else if fits(sa, y) {
        map.insert(a.into(), y.into());
    } else if fits(sb, x) {
        map.insert(b.into(), x.into());
    }
}

/// The upper end of a size range: the schema's maximum, or `cap` more than
/// the minimum when there is none (and never above the maximum).
fn capped(min: usize, max: Option<i64>, cap: usize) -> usize {
    let soft = min + cap;
    match max {
        Some(max) => (max.max(0) as usize).min(soft).max(min),
        None => soft,
    }
}

fn unique_by<K: PartialEq>(items: Vec<Value>, key: impl Fn(&Value) -> K) -> Vec<Value> {
    let mut seen: Vec<K> = Vec::new();
    let mut kept = Vec::new();
    for item in items {
        let k = key(&item);
        if !seen.contains(&k) {
            seen.push(k);
            kept.push(item);
        }
    }
    kept
}

/// The key of a list-map element: its key fields.
pub(super) fn map_key(keys: &[String], item: &Value) -> Vec<Option<Value>> {
    keys.iter().map(|k| item.get(k).cloned()).collect()
}

fn div_ceil(a: i64, b: i64) -> i64 {
    -((-(a as i128)).div_euclid(b as i128)) as i64
}

/// The inclusive integer range a schema admits: its format's range,
/// narrowed by `minimum`/`maximum` (exclusive ones by one).
pub(super) fn integer_bounds(schema: &Schema) -> (i64, i64) {
    let (mut lo, mut hi) = format_range(schema.format.as_deref());
    if let Some(min) = schema.minimum {
        let m = to_i64(min.ceil());
        lo = lo.max(if schema.exclusive_minimum && min.fract() == 0.0 {
            m.saturating_add(1)
        } else {
            m
        });
    }
    if let Some(max) = schema.maximum {
        let m = to_i64(max.floor());
        hi = hi.min(if schema.exclusive_maximum && max.fract() == 0.0 {
            m.saturating_sub(1)
        } else {
            m
        });
    }
    (lo, hi)
}

/// The range of an integer `format`: a Rust field of that width cannot
/// read a value outside it (kube-apiserver 1.36 checks `int32` itself).
pub(super) fn format_range(format: Option<&str>) -> (i64, i64) {
    match format {
        Some("int8") => (i8::MIN.into(), i8::MAX.into()),
        Some("int16") => (i16::MIN.into(), i16::MAX.into()),
        Some("int32") => (i32::MIN.into(), i32::MAX.into()),
        Some("uint8") => (0, u8::MAX.into()),
        Some("uint16") => (0, u16::MAX.into()),
        Some("uint32") => (0, u32::MAX.into()),
        Some("uint64") | Some("uint") => (0, i64::MAX),
        _ => (i64::MIN, i64::MAX),
    }
}

fn to_i64(x: f64) -> i64 {
    if x <= i64::MIN as f64 {
        i64::MIN
    } else if x >= i64::MAX as f64 {
        i64::MAX
    } else {
        x as i64
    }
}

fn number(schema: &Schema) -> BoxedStrategy<Value> {
    let lo = schema.minimum.unwrap_or(-1e9);
    let hi = schema.maximum.unwrap_or(1e9).max(lo);
    let (xlo, xhi) = (schema.exclusive_minimum, schema.exclusive_maximum);
    let single = schema.format.as_deref() == Some("float");
    prop_oneof![
        1 => Just(lo),
        1 => Just(hi),
        6 => lo..=hi,
    ]
    .prop_map(move |x| if single { f64::from(x as f32) } else { x })
    .prop_filter("within the bounds", move |x| {
        *x >= lo && *x <= hi && !(xlo && *x == lo) && !(xhi && *x == hi)
    })
    .prop_filter_map("a finite number", |x| {
        serde_json::Number::from_f64(x).map(Value::Number)
    })
    .boxed()
}

/// Strings of `min..=max` characters: mostly ASCII letters and digits,
/// sometimes any character at all.
pub(super) fn chars(min: usize, max: usize) -> BoxedStrategy<String> {
    let c = prop_oneof![
        6 => proptest::char::range('a', 'z'),
        2 => proptest::char::range('0', '9'),
        1 => proptest::char::ranges(vec!['A'..='Z', '-'..='/', '_'..='_'].into()),
        1 => proptest::char::any(),
    ];
    proptest::collection::vec(c, min..=max)
        .prop_map(|cs| cs.into_iter().collect())
        .boxed()
}

/// Map keys: short, mostly tame, sometimes empty or unusual.
pub(super) fn key() -> BoxedStrategy<String> {
    chars(0, 8)
}

/// Strings of the formats the apiserver checks, as RFC 3339 and the rest
/// spell them. `date-time` without fractional seconds is what a
/// k8s-openapi `Time` writes.
pub(super) fn format(format: &str) -> Option<BoxedStrategy<String>> {
    Some(match format {
        "date-time" | "datetime" => (
            1970u32..2100,
            1u32..=12,
            1u32..=28,
            0u32..24,
            0u32..60,
            0u32..60,
        )
            .prop_map(|(y, mo, d, h, mi, s)| {
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
            })
            .boxed(),
        "date" => (1970u32..2100, 1u32..=12, 1u32..=28)
            .prop_map(|(y, mo, d)| format!("{y:04}-{mo:02}-{d:02}"))
            .boxed(),
        "email" => "[a-z0-9]{1,10}@[a-z]{1,10}\\.[a-z]{2,4}".boxed(),
        "uuid" => "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}".boxed(),
        "ipv4" => (0u8.., 0u8.., 0u8.., 0u8..)
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}"))
            .boxed(),
        _ => return None,
    })
}

/// Any JSON value, nested at most `depth` levels. Floats have a fractional
/// part: the apiserver writes an integral float as an integer, so `2.0` in a
/// `serde_json::Value` reads back as `2` (see docs/property-tests.md).
pub(super) fn any_json(depth: u32) -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6)
            .prop_filter("fractional", |x| x.fract() != 0.0)
            .prop_map(Value::from),
        chars(0, 8).prop_map(Value::String),
    ];
    leaf.prop_recursive(depth, 16, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            proptest::collection::btree_map(key(), inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}
