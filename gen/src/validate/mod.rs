//! The offline apiserver-equivalent check: what kube-apiserver's CRD
//! validation would refuse, found before a CRD is written, each with the
//! path of the field at fault. The rules follow the apiextensions structural
//! schema rules; every rule is one function with the rule in its comment.

mod admission;
mod cel;
mod cost;
mod macros;
mod rules;
mod value;

use crdforge::crd::Version;
use crdforge::schema::{Problem, Schema};

pub use crate::crd::check_crd;
pub use admission::admission_expression;
pub use cost::{PER_CRD_LIMIT, PER_EXPRESSION_LIMIT};
pub use rules::{admit_on_create, evaluate_rules};
pub use value::{admit, apply_defaults, validate_value};

/// Every structural-schema violation in a version's root schema.
pub fn structural(root: &Schema) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut push = |path: &str, message: String| {
        problems.push(Problem {
            path: path.to_owned(),
            message,
        })
    };
    check_node(root, "", false, &mut push);
    cel::check_rules(root, &mut push);
    cost::check_costs(root, &mut push);
    defaults_are_valid(root, &mut push);
    problems
}

/// The CEL rules of a version's root schema whose cost the offline check
/// cannot price (a construct its estimator does not model): not problems —
/// the apiserver may accept them — but warnings, so that none passes
/// unpriced silently.
pub fn unpriced_rules(root: &Schema) -> Vec<Problem> {
    let mut found = Vec::new();
    cost::unpriced(root, &mut |path: &str, message: String| {
        found.push(Problem {
            path: path.to_owned(),
            message,
        })
    });
    found
}

/// One cost the offline check counts toward a CRD's CEL budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleCost {
    /// The path of the node the rule is attached to (`""` for the root).
    pub path: String,
    /// `x-kubernetes-validations[i].rule` or `….messageExpression`.
    pub what: String,
    /// A rule's estimated cost times the times it can run per object; a
    /// message expression's estimated cost.
    pub cost: u64,
}

/// Every cost the offline check counts toward the budgets of a version's
/// root schema; a rule it cannot price (see [`unpriced_rules`]) is absent.
pub fn rule_costs(root: &Schema) -> Vec<RuleCost> {
    cost::counted(root)
        .into_iter()
        .map(|(path, what, cost)| RuleCost { path, what, cost })
        .collect()
}

fn check_node(node: &Schema, path: &str, in_junction: bool, push: &mut dyn FnMut(&str, String)) {
    if in_junction {
        junction_keywords(node, path, push);
    } else {
        has_a_type(node, path, push);
    }
    properties_or_additional(node, path, push);
    arrays_have_items(node, path, in_junction, push);
    unique_items_forbidden(node, path, push);
    embedded_resource_shape(node, path, push);
    list_types(node, path, push);
    patterns_compile(node, path, push);
    bounds_fit_the_format(node, path, push);
    for (name, child) in &node.properties {
        check_node(child, &format!("{path}.{name}"), in_junction, push);
    }
    if let Some(items) = &node.items {
        check_node(items, &format!("{path}[*]"), in_junction, push);
    }
    if let Some(values) = &node.additional_properties {
        check_node(values, &format!("{path}[*]"), in_junction, push);
    }
    for (keyword, list) in [
        ("allOf", &node.all_of),
        ("anyOf", &node.any_of),
        ("oneOf", &node.one_of),
    ] {
        // The apiserver's one exception: an int-or-string node may carry
        // `anyOf: [{type: integer}, {type: string}]` (controller-gen's form).
        if keyword == "anyOf"
            && node.int_or_string
            && crdforge::passes::is_int_or_string_any_of(list)
        {
            continue;
        }
        for (i, branch) in list.iter().enumerate() {
            check_node(branch, &format!("{path}.{keyword}[{i}]"), true, push);
        }
    }
    if let Some(not) = &node.not {
        check_node(not, &format!("{path}.not"), true, push);
    }
}

/// Rule: outside junctions every node specifies a type, unless it is
/// int-or-string or preserves unknown fields.
fn has_a_type(node: &Schema, path: &str, push: &mut dyn FnMut(&str, String)) {
    if node.type_.is_none() && !node.int_or_string && !node.preserve_unknown_fields {
        push(
            path,
            "type must be specified (structural schemas need a type on every node)".into(),
        );
    }
    if let Some(t) = &node.type_
        && !["object", "array", "string", "integer", "number", "boolean"].contains(&t.as_str())
    {
        push(path, format!("unknown type `{t}`"));
    }
}

/// Rule: kube-apiserver 1.36 checks `minimum`, `maximum` and `multipleOf`
/// against the node's type and format (int32, int64 for every other
/// integer, float) on every value, so a bound the format cannot hold (a
/// `maximum` of 3e9 on an int32, a fractional bound on an integer) makes
/// the apiserver refuse every value of the field.
fn bounds_fit_the_format(node: &Schema, path: &str, push: &mut dyn FnMut(&str, String)) {
    for problem in value::bounds_outside_the_format(node) {
        push(path, problem);
    }
}

/// Rule: inside allOf/anyOf/oneOf/not only value validations may appear:
/// no type, description, default, nullable, additionalProperties or
/// x-kubernetes extensions.
fn junction_keywords(node: &Schema, path: &str, push: &mut dyn FnMut(&str, String)) {
    let forbidden = [
        ("type", node.type_.is_some()),
        ("description", node.description.is_some()),
        ("default", node.default.is_some()),
        ("nullable", node.nullable),
        ("additionalProperties", node.additional_properties.is_some()),
        (
            "x-kubernetes-preserve-unknown-fields",
            node.preserve_unknown_fields,
        ),
        ("x-kubernetes-embedded-resource", node.embedded_resource),
        ("x-kubernetes-int-or-string", node.int_or_string),
        ("x-kubernetes-list-type", node.list_type.is_some()),
        ("x-kubernetes-list-map-keys", !node.list_map_keys.is_empty()),
        ("x-kubernetes-map-type", node.map_type.is_some()),
        ("x-kubernetes-validations", !node.validations.is_empty()),
    ];
    for (keyword, present) in forbidden {
        if present {
            push(
                path,
                format!("`{keyword}` is forbidden inside allOf/anyOf/oneOf/not"),
            );
        }
    }
}

// Not a rule: kube-apiserver v1.36 accepts a junction that names a property
// not specified outside it, and `x-kubernetes-int-or-string` next to a
// `type` (the corpus in crdforge-fixtures shows both), so this check does
// too; pruning removes such properties from stored objects.

/// Rule: `properties` and `additionalProperties` are mutually exclusive.
fn properties_or_additional(node: &Schema, path: &str, push: &mut dyn FnMut(&str, String)) {
    if !node.properties.is_empty() && node.additional_properties.is_some() {
        push(
            path,
            "properties and additionalProperties cannot both be set".into(),
        );
    }
}

/// Rule: arrays specify `items`.
fn arrays_have_items(
    node: &Schema,
    path: &str,
    in_junction: bool,
    push: &mut dyn FnMut(&str, String),
) {
    if !in_junction && node.type_.as_deref() == Some("array") && node.items.is_none() {
        push(path, "an array must specify items".into());
    }
}

/// Rule: `uniqueItems: true` is forbidden; use `x-kubernetes-list-type: set`.
fn unique_items_forbidden(node: &Schema, path: &str, push: &mut dyn FnMut(&str, String)) {
    if node.unique_items {
        push(
            path,
            "uniqueItems cannot be true; use x-kubernetes-list-type: set".into(),
        );
    }
}

/// Rule: an embedded resource is an object with properties or
/// x-kubernetes-preserve-unknown-fields.
fn embedded_resource_shape(node: &Schema, path: &str, push: &mut dyn FnMut(&str, String)) {
    if !node.embedded_resource {
        return;
    }
    if node.type_.as_deref() != Some("object") {
        push(
            path,
            "x-kubernetes-embedded-resource needs type: object".into(),
        );
    }
    if node.properties.is_empty() && !node.preserve_unknown_fields {
        push(
            path,
            "x-kubernetes-embedded-resource needs properties or x-kubernetes-preserve-unknown-fields"
                .into(),
        );
    }
}

/// Rule: `x-kubernetes-list-type` is atomic, set or map, on arrays; a set
/// holds scalars; a map lists objects whose `x-kubernetes-list-map-keys` are
/// scalar properties that are required or defaulted.
fn list_types(node: &Schema, path: &str, push: &mut dyn FnMut(&str, String)) {
    let Some(list_type) = node.list_type.as_deref() else {
        if !node.list_map_keys.is_empty() {
            push(
                path,
                "x-kubernetes-list-map-keys needs x-kubernetes-list-type: map".into(),
            );
        }
        return;
    };
    if node.type_.as_deref() != Some("array") {
        push(path, "x-kubernetes-list-type applies to arrays".into());
        return;
    }
    let items = node.items.as_deref();
    match list_type {
        "atomic" => {}
        "set" => {
            if let Some(items) = items
                && matches!(items.type_.as_deref(), Some("object" | "array"))
                && items.map_type.as_deref() != Some("atomic")
            {
                push(
                    path,
                    "a list of type set must hold scalars (or atomic values)".into(),
                );
            }
        }
        "map" => {
            let Some(items) = items.filter(|i| i.type_.as_deref() == Some("object")) else {
                push(path, "a list of type map must hold objects".into());
                return;
            };
            if node.list_map_keys.is_empty() {
                push(
                    path,
                    "a list of type map needs x-kubernetes-list-map-keys".into(),
                );
            }
            for key in &node.list_map_keys {
                match items.properties.get(key) {
                    None => push(
                        path,
                        format!("list map key `{key}` is not a property of the items"),
                    ),
                    Some(p) => {
                        if !matches!(
                            p.type_.as_deref(),
                            Some("string" | "integer" | "number" | "boolean")
                        ) {
                            push(path, format!("list map key `{key}` must be a scalar"));
                        }
                        if !items.required.contains(key) && p.default.is_none() {
                            push(
                                path,
                                format!("list map key `{key}` must be required or have a default"),
                            );
                        }
                    }
                }
            }
        }
        other => push(path, format!("unknown x-kubernetes-list-type `{other}`")),
    }
}

/// Rule: `pattern` is a valid regular expression. The apiserver uses RE2;
/// Rust's regex crate accepts the same syntax minus nothing CRDs commonly
/// use, and rejects the same backtracking constructs.
fn patterns_compile(node: &Schema, path: &str, push: &mut dyn FnMut(&str, String)) {
    if let Some(pattern) = &node.pattern
        && let Err(e) = regex::Regex::new(pattern)
    {
        push(path, format!("pattern `{pattern}` does not compile: {e}"));
    }
}

/// Rule: a default validates against its own schema, is not inside
/// `metadata`, and (like everything the apiserver defaults) would survive
/// pruning.
fn defaults_are_valid(root: &Schema, push: &mut dyn FnMut(&str, String)) {
    root.walk("", &mut |path, node| {
        let Some(default) = &node.default else { return };
        if path.starts_with(".metadata") {
            push(path, "defaults are not allowed in metadata".into());
        }
        if path.contains("Of[") || path.contains(".not") {
            return; // reported by junction_keywords
        }
        let mut without_default = node.clone();
        without_default.default = None;
        for error in validate_value(&without_default, default) {
            push(path, format!("the default {default} is invalid: {error}"));
        }
    });
}

/// The node a JSON path (`.spec.replicas`, `.status.conditions[0].type`)
/// names in `root`, if any.
pub fn lookup<'a>(root: &'a Schema, json_path: &str) -> Option<&'a Schema> {
    let mut node = root;
    for step in path_steps(json_path)? {
        node = match step {
            Step::Field(name) => node
                .properties
                .get(name)
                .or(node.additional_properties.as_deref())?,
            Step::Items => node.items.as_deref()?,
        };
    }
    Some(node)
}

/// One step of a JSONPath as printer columns use them.
#[derive(Debug, PartialEq)]
enum Step<'a> {
    /// `.name`
    Field(&'a str),
    /// `[0]`, `[*]` or a filter such as `[?(@.type=="Ready")]`: into the
    /// list's items, whatever the bracket holds.
    Items,
}

/// Splits a JSONPath into steps. Brackets are skipped whole, quotes
/// included, because a filter like `[?(@.type=="Ready")]` holds dots that are
/// not steps of the path. `None` when a bracket or quote is left open.
fn path_steps(json_path: &str) -> Option<Vec<Step<'_>>> {
    let mut steps = Vec::new();
    let bytes = json_path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'.' => i += 1,
            b'[' => {
                let mut depth = 0usize;
                let mut quote: Option<u8> = None;
                let start = i;
                while i < bytes.len() {
                    let b = bytes[i];
                    match quote {
                        Some(q) if b == q => quote = None,
                        Some(_) => {}
                        None if b == b'"' || b == b'\'' => quote = Some(b),
                        None if b == b'[' => depth += 1,
                        None if b == b']' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        None => {}
                    }
                    i += 1;
                }
                if i >= bytes.len() || i == start {
                    return None;
                }
                i += 1;
                steps.push(Step::Items);
            }
            _ => {
                let start = i;
                while i < bytes.len() && bytes[i] != b'.' && bytes[i] != b'[' {
                    i += 1;
                }
                steps.push(Step::Field(&json_path[start..i]));
            }
        }
    }
    Some(steps)
}

/// Rule: printer columns, selectable fields and scale paths name fields
/// that exist; selectable fields are scalars outside lists; the scale's
/// replica counts are integers.
pub fn version_paths(version: &Version, root: &Schema) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut push = |path: &str, message: String| {
        problems.push(Problem {
            path: path.to_owned(),
            message,
        })
    };
    let exists = |p: &str| p.starts_with(".metadata") || lookup(root, p).is_some();
    for column in &version.printer_columns {
        if !exists(&column.json_path) {
            push(
                &column.json_path,
                format!("printer column `{}` names no field", column.name),
            );
        }
    }
    for field in &version.selectable_fields {
        match lookup(root, field) {
            None if !field.starts_with(".metadata") => {
                push(field, "selectable field names no field".into())
            }
            Some(node)
                if !matches!(
                    node.type_.as_deref(),
                    Some("string" | "integer" | "boolean")
                ) =>
            {
                push(
                    field,
                    "a selectable field must be a string, integer or boolean".into(),
                )
            }
            _ => {}
        }
        if field.contains('[') {
            push(field, "a selectable field cannot be inside a list".into());
        }
    }
    if let Some(scale) = &version.scale {
        for p in [&scale.spec_replicas_path, &scale.status_replicas_path] {
            match lookup(root, p) {
                None => push(p, "the scale subresource names no field here".into()),
                Some(node) if node.type_.as_deref() != Some("integer") => {
                    push(p, "a replica count must be an integer".into())
                }
                _ => {}
            }
        }
        if let Some(selector) = &scale.label_selector_path
            && lookup(root, selector).is_none()
        {
            push(selector, "the scale label selector names no field".into());
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn messages(schema: &Schema) -> Vec<String> {
        structural(schema).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn untyped_nodes_are_refused_with_their_path() {
        let mut root = Schema::typed("object");
        root.properties.insert("spec".into(), Schema::default());
        assert_eq!(
            messages(&root),
            [".spec: type must be specified (structural schemas need a type on every node)"]
        );
    }

    #[test]
    fn bounds_the_format_cannot_hold_are_refused() {
        let mut root = Schema::typed("object");
        root.properties.insert(
            "big".into(),
            Schema {
                maximum: Some(3e9),
                ..Schema::formatted("integer", "int32")
            },
        );
        root.properties.insert(
            "half".into(),
            Schema {
                multiple_of: Some(0.5),
                ..Schema::typed("integer")
            },
        );
        root.properties.insert(
            "fine".into(),
            Schema {
                maximum: Some(3e9),
                ..Schema::formatted("integer", "int64")
            },
        );
        let found = messages(&root);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with(
                ".big: maximum 3000000000 is not a value of type integer with format int32"
            ),
            "{found:?}"
        );
        assert!(found[1].starts_with(".half: multipleOf 0.5"), "{found:?}");
    }

    #[test]
    fn types_inside_junctions_are_refused() {
        let mut root = Schema::typed("object");
        root.properties.insert("a".into(), Schema::typed("string"));
        root.one_of = vec![Schema {
            properties: [("a".to_owned(), Schema::typed("string"))].into(),
            ..Schema::default()
        }];
        assert_eq!(
            messages(&root),
            [".oneOf[0].a: `type` is forbidden inside allOf/anyOf/oneOf/not"]
        );
    }

    #[test]
    fn defaults_must_validate_and_stay_out_of_metadata() {
        let mut root = Schema::typed("object");
        root.properties.insert(
            "replicas".into(),
            Schema {
                minimum: Some(1.0),
                default: Some(json!(0)),
                ..Schema::typed("integer")
            },
        );
        root.properties.insert(
            "metadata".into(),
            Schema {
                default: Some(json!({})),
                ..Schema::typed("object")
            },
        );
        let found = messages(&root);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found
                .iter()
                .any(|m| m.starts_with(".metadata: defaults are not allowed"))
        );
        assert!(found.iter().any(|m| m.contains("the default 0 is invalid")));
    }

    #[test]
    fn map_lists_need_required_scalar_keys() {
        let mut item = Schema::typed("object");
        item.properties
            .insert("name".into(), Schema::typed("string"));
        let mut root = Schema::typed("object");
        root.properties.insert(
            "ports".into(),
            Schema {
                list_type: Some("map".into()),
                list_map_keys: vec!["name".into()],
                ..Schema::array(item)
            },
        );
        assert_eq!(
            messages(&root),
            [".ports: list map key `name` must be required or have a default"]
        );
    }

    #[test]
    fn lookup_follows_properties_lists_and_maps() {
        let mut status = Schema::typed("object");
        status.properties.insert(
            "conditions".into(),
            Schema::array(Schema {
                properties: [("type".to_owned(), Schema::typed("string"))].into(),
                ..Schema::typed("object")
            }),
        );
        let mut root = Schema::typed("object");
        root.properties.insert("status".into(), status);
        assert_eq!(
            lookup(&root, ".status.conditions[0].type").and_then(|s| s.type_.as_deref()),
            Some("string")
        );
        assert!(lookup(&root, ".status.phase").is_none());
        // kubectl-style filters hold dots and quotes that are not steps.
        assert_eq!(
            lookup(&root, r#".status.conditions[?(@.type=="Ready")].type"#)
                .and_then(|s| s.type_.as_deref()),
            Some("string")
        );
        assert!(lookup(&root, ".status.conditions[?(@.type==\"Ready\"").is_none());
    }
}
