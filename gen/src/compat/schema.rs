//! The field-level half of the detector: one schema node against its old
//! self, then its properties, items and map values, recursively.

use crdforge::schema::Schema;
use serde_json::Value;

use super::{Change, Findings, ratcheted};

/// Why a tightened `keyword` breaks, with ratcheting taken into account.
pub(super) fn tightened_why(keyword: &str) -> String {
    if keyword == "x-kubernetes-list-type" {
        // Seen on kube-apiserver 1.36 (compat_e2e): a list that already
        // broke the rule may change into another list that breaks it.
        return format!(
            "{keyword} is ratcheted, so a stored list with duplicates keeps saving, even when it \
             changes; but every create with duplicates — what old clients send — and every list \
             that had none gaining one is refused"
        );
    }
    if ratcheted(keyword) {
        format!(
            "{keyword} is ratcheted, so a stored object whose value the new rule refuses keeps \
             saving while that value is unchanged; but setting such a value — every create, and \
             every change an old client makes — is refused"
        )
    } else {
        format!(
            "{keyword} is not ratcheted: every stored object whose value the new rule refuses \
             fails validation on its next update, whatever the update changes, and old clients' \
             writes are refused"
        )
    }
}

/// Every breaking change from `old` to `new` at `path`, into `out`.
pub(super) fn diff(out: &mut Findings, path: &str, old: &Schema, new: &Schema) {
    if narrowed_type(out, path, old, new) {
        // The rest compares keywords of one type; a different type has
        // already said everything that breaks.
        return;
    }
    pruned(out, path, old, new);
    for (name, old_child) in &old.properties {
        let child = format!("{path}.{name}");
        match new.properties.get(name) {
            Some(new_child) => diff(out, &child, old_child, new_child),
            None if new.preserve_unknown_fields => {}
            None => {
                // A new property with the same schema (descriptions aside)
                // is most likely this one renamed; say so.
                let renamed = new
                    .properties
                    .iter()
                    .filter(|(n, _)| !old.properties.contains_key(*n))
                    .find(|(_, s)| same_shape(s, old_child))
                    .map(|(n, _)| n.clone());
                let detail = match renamed {
                    Some(to) => format!("field `{name}` is gone; renamed to `{to}`?"),
                    None => format!("field `{name}` is gone"),
                };
                out.push(
                    &child,
                    Change::FieldRemoved,
                    detail,
                    "the apiserver prunes it from every stored object on read and from every \
                     write, so its data is lost to all clients, and old clients that set it \
                     are refused (strict field validation) or lose it silently"
                        .into(),
                );
            }
        }
    }
    match (&old.additional_properties, &new.additional_properties) {
        (Some(old_values), Some(new_values)) => {
            diff(out, &format!("{path}[*]"), old_values, new_values)
        }
        (Some(_), None) if !new.preserve_unknown_fields => out.push(
            &format!("{path}[*]"),
            Change::FieldRemoved,
            "the map's free keys (additionalProperties) are gone".into(),
            "every key the new schema does not name is pruned from stored objects on read and \
             from writes"
                .into(),
        ),
        _ => {}
    }
    if let (Some(old_items), Some(new_items)) = (&old.items, &new.items) {
        diff(out, &format!("{path}[*]"), old_items, new_items);
    }
    required(out, path, old, new);
    enums(out, path, old, new);
    bounds(out, path, old, new);
    rules(out, path, old, new);
}

/// The type accepts fewer values: another type, int-or-string narrowed to
/// one of them, any value narrowed to a type, or an embedded resource. True
/// when the types differ, so nothing else is compared.
fn narrowed_type(out: &mut Findings, path: &str, old: &Schema, new: &Schema) -> bool {
    let shown = |s: &Schema| {
        if s.int_or_string {
            "int-or-string".to_owned()
        } else if s.type_.is_none() {
            "any value".to_owned()
        } else {
            s.type_name().to_owned()
        }
    };
    let (from, to) = (shown(old), shown(new));
    // integer → number, X → int-or-string and X → any value only widen.
    let widened = to == "any value"
        || (to == "int-or-string" && matches!(from.as_str(), "integer" | "string"))
        || (from == "integer" && to == "number");
    if from != to {
        if !widened {
            out.push(
                path,
                Change::TypeNarrowed,
                format!("type {from} became {to}"),
                "stored objects keep the old type: clients of the new type cannot decode \
                 them, and every write of an old-type value — old clients' — is refused"
                    .into(),
            );
        }
        return true;
    }
    if new.embedded_resource && !old.embedded_resource {
        out.push(
            path,
            Change::TypeNarrowed,
            "now an embedded resource (apiVersion, kind and metadata required)".into(),
            tightened_why("x-kubernetes-embedded-resource"),
        );
    }
    false
}

/// Unknown fields were kept and are now pruned.
fn pruned(out: &mut Findings, path: &str, old: &Schema, new: &Schema) {
    if old.preserve_unknown_fields && !new.preserve_unknown_fields {
        out.push(
            path,
            Change::FieldRemoved,
            "unknown fields are no longer preserved (x-kubernetes-preserve-unknown-fields)".into(),
            "every field the new schema does not name is pruned from stored objects on read \
             and from writes: that data is lost to all clients"
                .into(),
        );
    }
}

/// Two schemas of the same shape, descriptions aside (for the rename hint).
fn same_shape(a: &Schema, b: &Schema) -> bool {
    let mut a = a.clone();
    let mut b = b.clone();
    for s in [&mut a, &mut b] {
        s.walk_mut("", &mut |_, node| node.description = None);
    }
    a == b
}

/// A property newly required, or still required but without its default.
fn required(out: &mut Findings, path: &str, old: &Schema, new: &Schema) {
    for name in &new.required {
        let Some(field) = new.properties.get(name) else {
            continue;
        };
        if field.default.is_some() {
            // The apiserver fills the default in on read and on write, so
            // neither stored objects nor old clients miss it.
            continue;
        }
        let was_required = old.required.contains(name);
        let had_default = old
            .properties
            .get(name)
            .is_some_and(|f| f.default.is_some());
        let detail = if !was_required {
            format!("field `{name}` is now required and has no default")
        } else if had_default {
            format!("required field `{name}` lost its default")
        } else {
            continue;
        };
        out.push(
            &format!("{path}.{name}"),
            Change::NewlyRequired,
            detail,
            format!(
                "clients of the new types cannot decode stored objects without `{name}`, and {}",
                tightened_why("required")
            ),
        );
    }
}

fn shown(value: &Value) -> String {
    value.to_string()
}

/// Enum values removed, or an enum where any value was allowed.
fn enums(out: &mut Findings, path: &str, old: &Schema, new: &Schema) {
    if new.enum_.is_empty() {
        return;
    }
    if old.enum_.is_empty() {
        let values: Vec<String> = new.enum_.iter().map(shown).collect();
        out.push(
            path,
            Change::ValidationTightened,
            format!("now limited to the values {}", values.join(", ")),
            tightened_why("enum"),
        );
        return;
    }
    for value in old.enum_.iter().filter(|v| !new.enum_.contains(v)) {
        out.push(
            path,
            Change::EnumValueRemoved,
            format!("enum value {} is gone", shown(value)),
            format!(
                "stored objects holding {} cannot be decoded by clients of the new types, and \
                 {}",
                shown(value),
                tightened_why("enum")
            ),
        );
    }
}

/// Numeric, length, count, pattern, format, nullable and list-type
/// keywords that accept fewer values.
fn bounds(out: &mut Findings, path: &str, old: &Schema, new: &Schema) {
    let mut tightened = |keyword: &str, detail: String| {
        out.push(
            path,
            Change::ValidationTightened,
            detail,
            tightened_why(keyword),
        );
    };
    let num = |v: Option<f64>| v.map_or("none".to_owned(), |v| v.to_string());
    // A lower bound is tighter when higher, or equal and newly exclusive.
    if let Some(min) = new.minimum {
        let tighter = match old.minimum {
            None => true,
            Some(was) => {
                min > was || (min == was && new.exclusive_minimum && !old.exclusive_minimum)
            }
        };
        if tighter {
            tightened(
                "minimum",
                format!("minimum raised from {} to {min}", num(old.minimum)),
            );
        }
    }
    if let Some(max) = new.maximum {
        let tighter = match old.maximum {
            None => true,
            Some(was) => {
                max < was || (max == was && new.exclusive_maximum && !old.exclusive_maximum)
            }
        };
        if tighter {
            tightened(
                "maximum",
                format!("maximum lowered from {} to {max}", num(old.maximum)),
            );
        }
    }
    if let Some(m) = new.multiple_of
        && old.multiple_of.is_none_or(|was| (was / m).fract() != 0.0)
    {
        tightened(
            "multipleOf",
            format!("multipleOf {} became {m}", num(old.multiple_of)),
        );
    }
    let count = |v: Option<i64>| v.map_or("none".to_owned(), |v| v.to_string());
    for (keyword, was, is) in [
        ("minLength", old.min_length, new.min_length),
        ("minItems", old.min_items, new.min_items),
        ("minProperties", old.min_properties, new.min_properties),
    ] {
        if let Some(is) = is
            && is > was.unwrap_or(0)
        {
            tightened(
                keyword,
                format!("{keyword} raised from {} to {is}", count(was)),
            );
        }
    }
    for (keyword, was, is) in [
        ("maxLength", old.max_length, new.max_length),
        ("maxItems", old.max_items, new.max_items),
        ("maxProperties", old.max_properties, new.max_properties),
    ] {
        if let Some(is) = is
            && was.is_none_or(|was| is < was)
        {
            tightened(
                keyword,
                format!("{keyword} lowered from {} to {is}", count(was)),
            );
        }
    }
    if let Some(pattern) = &new.pattern
        && old.pattern.as_ref() != Some(pattern)
    {
        let detail = match &old.pattern {
            None => format!("now must match `{pattern}`"),
            Some(was) => format!("pattern `{was}` became `{pattern}`"),
        };
        tightened("pattern", detail);
    }
    // The apiserver checks string formats (email, date-time, uuid, …) and
    // ignores numeric ones (int32, double).
    if new.type_name() == "string"
        && let Some(format) = &new.format
        && old.format.as_ref() != Some(format)
    {
        tightened(
            "format",
            format!(
                "format {} became {format}",
                old.format.as_deref().unwrap_or("none")
            ),
        );
    }
    if old.nullable && !new.nullable {
        tightened(
            "nullable",
            "null is no longer allowed (nullable removed)".into(),
        );
    }
    let list_type = |s: &Schema| s.list_type.clone().unwrap_or_else(|| "atomic".into());
    let (was, is) = (list_type(old), list_type(new));
    if was != is && is != "atomic" && !(was == "map" && is == "set") {
        tightened(
            "x-kubernetes-list-type",
            format!("list type {was} became {is}: items must now be unique"),
        );
    }
    if is == "map" && was == "map" && old.list_map_keys != new.list_map_keys {
        tightened(
            "x-kubernetes-list-map-keys",
            format!(
                "list-map keys {:?} became {:?}",
                old.list_map_keys, new.list_map_keys
            ),
        );
    }
    for (keyword, was, is) in [
        ("allOf", &old.all_of, &new.all_of),
        ("anyOf", &old.any_of, &new.any_of),
        ("oneOf", &old.one_of, &new.one_of),
    ] {
        if !is.is_empty() && was != is && !is.iter().all(|b| restates_type(new, b)) {
            tightened(keyword, format!("{keyword} changed"));
        }
    }
    if new.not.is_some() && old.not != new.not {
        tightened("not", "not changed".into());
    }
}

/// A combinator branch that only names a type the node already allows —
/// `anyOf: [{type: integer}, {type: string}]` beside
/// `x-kubernetes-int-or-string`, as Kubernetes' own Quantity has — and so
/// refuses nothing.
fn restates_type(node: &Schema, branch: &Schema) -> bool {
    let Some(type_) = &branch.type_ else {
        return false;
    };
    let bare = Schema::typed(type_) == *branch;
    let allowed = if node.int_or_string {
        matches!(type_.as_str(), "integer" | "string")
    } else {
        node.type_.is_none() || node.type_.as_ref() == Some(type_)
    };
    bare && allowed
}

/// CEL rules that were not there before.
fn rules(out: &mut Findings, path: &str, old: &Schema, new: &Schema) {
    for rule in &new.validations {
        if old.validations.iter().any(|r| r.rule == rule.rule) {
            continue;
        }
        let transition = rule.rule.contains("oldSelf");
        let keyword = if transition {
            "transition rule"
        } else {
            "x-kubernetes-validations"
        };
        out.push(
            path,
            Change::ValidationTightened,
            format!("new CEL rule `{}`", rule.rule),
            tightened_why(keyword),
        );
    }
}
