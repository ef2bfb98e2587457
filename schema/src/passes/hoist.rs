//! Kubernetes rule (structural schemas): every node has a `type`, and inside
//! `allOf`, `anyOf`, `oneOf` and `not` only value validations may appear —
//! no `type`, `description`, `default`, `nullable`, `additionalProperties` or
//! `x-kubernetes-*` — and every property they mention must also be specified
//! outside them.
//!
//! Enums arrive here as a raw `oneOf`/`anyOf` of complete branch schemas. This
//! pass moves the shape out (the least upper bound of the branches: one type,
//! the union of properties, the intersection of `required`) and leaves in the
//! junction only what tells the branches apart (`required` lists, tag `enum`s,
//! value validations). Shapes with no structural form (branches of
//! different types) are reported with their path.

use serde_json::Value;

use crate::{Problem, Schema};

/// Makes every raw `oneOf`/`anyOf` under `schema` structural.
pub fn hoist_junctions(schema: &mut Schema, problems: &mut Vec<Problem>) {
    hoist(schema, "", problems);
}

fn hoist(node: &mut Schema, path: &str, problems: &mut Vec<Problem>) {
    // Children first, so branch schemas are structural before they merge.
    for (name, child) in &mut node.properties {
        hoist(child, &format!("{path}.{name}"), problems);
    }
    if let Some(items) = &mut node.items {
        hoist(items, &format!("{path}[*]"), problems);
    }
    if let Some(values) = &mut node.additional_properties {
        hoist(values, &format!("{path}[*]"), problems);
    }
    for (keyword, list) in [("oneOf", &mut node.one_of), ("anyOf", &mut node.any_of)] {
        for (i, branch) in list.iter_mut().enumerate() {
            hoist(branch, &format!("{path}.{keyword}[{i}]"), problems);
        }
    }

    let raw = |list: &[Schema]| list.iter().any(|b| b.type_.is_some());
    if !raw(&node.one_of) && !raw(&node.any_of) {
        // Nothing to hoist: no junction, or one that is structural already.
        return;
    }
    if !node.one_of.is_empty() && !node.any_of.is_empty() {
        problems.push(Problem {
            path: path.to_owned(),
            message: "a schema cannot be both a tagged enum (oneOf) and an untagged one (anyOf)"
                .into(),
        });
        return;
    }
    let one_of = !node.one_of.is_empty();
    let branches = if one_of {
        std::mem::take(&mut node.one_of)
    } else {
        std::mem::take(&mut node.any_of)
    };

    let mut shape: Option<Schema> = None;
    let mut optional = false;
    for (i, branch) in branches.iter().enumerate() {
        let branch_path = format!("{path}.{}[{i}]", if one_of { "oneOf" } else { "anyOf" });
        if is_absent_branch(branch) {
            // A flattened `Option` of the enum (`struct_schema`): no
            // variant at all. It adds no shape, and no variant's field is
            // required.
            optional = true;
            continue;
        }
        if branch.type_.is_none() {
            problems.push(Problem {
                path: branch_path,
                message:
                    "this variant has no single JSON type, so the enum has no structural schema"
                        .into(),
            });
            return;
        }
        if !branch.one_of.is_empty() || !branch.any_of.is_empty() {
            problems.push(Problem {
                path: branch_path,
                message: "an enum variant that is itself a flattened enum cannot be described \
                          structurally; make it a field"
                    .into(),
            });
            return;
        }
        // A branch's `not` (the fields of other variants it forbids) tells
        // the branches apart; it stays in the junction, not in the shape.
        let label = variant_label(branch, i, one_of);
        let branch = without_not(branch.clone());
        shape = Some(match shape {
            None => branch,
            Some(so_far) => {
                let before = problems.len();
                let merged = merge_schemas(so_far, branch, path, problems);
                // Variants that disagree where only run time sees the types
                // (a field of one name and two types): name the variant, and
                // the ways out.
                for problem in &mut problems[before..] {
                    problem.message.push_str(&format!(
                        " ({label} against the variants before it; give the field one type in \
                         every variant, rename it in one, or keep any JSON as sent with \
                         #[crd(schemaless)] on the enum)"
                    ));
                }
                merged
            }
        });
    }
    let Some(mut shape) = shape else { return };
    if optional {
        shape.required.clear();
    }

    // The node's own words (its description, CEL rules, a flattened parent's
    // properties) stay; the branches supply the rest.
    let own = std::mem::take(node);
    *node = if own.type_.is_some() {
        // A struct with a flattened enum: the struct's own fields are
        // required as declared, the variants' common fields on top.
        join_flattened(own.clone(), shape, path, problems)
    } else {
        shape
    };
    overlay(node, own);

    let reduced: Vec<Schema> = branches.iter().map(reduce).collect();
    let vacuous = reduced.iter().any(|b| *b == Schema::default());
    if one_of && vacuous {
        // Two tagged variants that cannot be told apart would make every value
        // match twice, and oneOf would reject it.
        problems.push(Problem {
            path: path.to_owned(),
            message: "two variants of this enum are indistinguishable".into(),
        });
    }
    if !vacuous {
        if one_of {
            node.one_of = reduced;
        } else {
            node.any_of = reduced;
        }
    }
}

/// How a raw branch names its variant in messages: a tagged variant by its
/// tag value (internally and adjacently tagged) or its key (externally
/// tagged); an untagged one, whose name serde never writes, by its place.
fn variant_label(branch: &Schema, i: usize, tagged: bool) -> String {
    if !tagged {
        return format!("variant {} (counting from 1)", i + 1);
    }
    let tag = branch.required.iter().find_map(|r| {
        let p = branch.properties.get(r)?;
        match p.enum_.as_slice() {
            [Value::String(name)] if p.type_name() == "string" => Some(name.clone()),
            _ => None,
        }
    });
    let key = match (branch.required.as_slice(), branch.properties.len()) {
        ([only], 1) => Some(only.clone()),
        _ => None,
    };
    match tag.or(key) {
        Some(name) => format!("variant `{name}`"),
        None => format!("variant {} (counting from 1)", i + 1),
    }
}

/// The branch `struct_schema` adds for a flattened `Option` of an enum:
/// only a `not` that forbids every variant's required keys.
fn is_absent_branch(branch: &Schema) -> bool {
    branch.not.is_some()
        && Schema {
            not: None,
            ..branch.clone()
        } == Schema::default()
}

/// The parent struct of a flattened enum plus the enum's hoisted shape:
/// unlike [`merge_schemas`], which loosens two alternatives, this combines
/// two parts of one object, so properties and `required` are unions.
fn join_flattened(
    parent: Schema,
    shape: Schema,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Schema {
    if parent.type_ != shape.type_ {
        problems.push(Problem {
            path: path.to_owned(),
            message: format!(
                "a flattened enum of type {} cannot join a struct",
                shape.type_name()
            ),
        });
        return parent;
    }
    let mut joined = parent;
    for (name, property) in shape.properties {
        if let Some(existing) = joined.properties.remove(&name) {
            problems.push(Problem {
                path: format!("{path}.{name}"),
                message: "the struct and its flattened enum both have this field".into(),
            });
            joined.properties.insert(name, existing);
        } else {
            joined.properties.insert(name, property);
        }
    }
    for name in shape.required {
        if !joined.required.contains(&name) {
            joined.required.push(name);
        }
    }
    // A variant's catch-all holds the object's unknown fields: the
    // parent's, which the variant's fields sit in.
    joined.preserve_unknown_fields |= shape.preserve_unknown_fields;
    joined
}

/// Keeps the annotations written on the enum (or the struct it is flattened
/// into) over those derived from its variants.
fn overlay(node: &mut Schema, own: Schema) {
    macro_rules! keep {
        ($($field:ident),*) => {$(
            if own.$field.is_some() {
                node.$field = own.$field;
            }
        )*};
    }
    keep!(
        description,
        title,
        default,
        example,
        min_properties,
        max_properties,
        map_type
    );
    node.nullable |= own.nullable;
    node.preserve_unknown_fields |= own.preserve_unknown_fields;
    node.embedded_resource |= own.embedded_resource;
    if !own.enum_.is_empty() {
        node.enum_ = own.enum_;
    }
    for rule in own.validations {
        if !node.validations.contains(&rule) {
            node.validations.push(rule);
        }
    }
}

/// `schema` without the `not`s `enum_schema` put on a branch and on its
/// properties (an adjacently tagged variant's content).
fn without_not(mut schema: Schema) -> Schema {
    schema.not = None;
    for property in schema.properties.values_mut() {
        property.not = None;
    }
    schema
}

/// What may stay inside a junction: value validations, recursively.
fn reduce(schema: &Schema) -> Schema {
    let properties = schema
        .properties
        .iter()
        .map(|(name, p)| (name.clone(), reduce(p)))
        .filter(|(_, p)| *p != Schema::default())
        .collect();
    let items = schema
        .items
        .as_deref()
        .map(reduce)
        .filter(|i| *i != Schema::default())
        .map(Box::new);
    Schema {
        enum_: schema.enum_.clone(),
        minimum: schema.minimum,
        maximum: schema.maximum,
        exclusive_minimum: schema.exclusive_minimum,
        exclusive_maximum: schema.exclusive_maximum,
        multiple_of: schema.multiple_of,
        min_length: schema.min_length,
        max_length: schema.max_length,
        pattern: schema.pattern.clone(),
        min_items: schema.min_items,
        max_items: schema.max_items,
        min_properties: schema.min_properties,
        max_properties: schema.max_properties,
        required: schema.required.clone(),
        // The fields of other variants a branch forbids (`enum_schema`'s
        // `not`), already value validations only.
        not: schema.not.clone(),
        properties,
        items,
        ..Schema::default()
    }
}

/// The least upper bound of two schemas of the same type: a schema every
/// value of either satisfies, as tight as a structural schema allows.
/// Differences that cannot be loosened (two types, two sets of CEL rules)
/// are reported at `path`.
pub fn merge_schemas(a: Schema, b: Schema, path: &str, problems: &mut Vec<Problem>) -> Schema {
    let mut conflict = |what: &str| {
        problems.push(Problem {
            path: path.to_owned(),
            message: format!("the variants of an enum disagree on {what} here"),
        })
    };
    if a.type_ != b.type_ {
        conflict(&format!(
            "the type ({} and {}); a structural schema needs one",
            a.type_name(),
            b.type_name()
        ));
        return a;
    }
    let (a, b) = if a.additional_properties.is_some() != b.additional_properties.is_some() {
        (open_map_as_object(a), open_map_as_object(b))
    } else {
        (a, b)
    };
    if a.additional_properties.is_some() != b.additional_properties.is_some() {
        conflict("whether this is a map or a struct");
        return a;
    }
    if a.validations != b.validations {
        conflict("CEL rules; put them on the enum type instead");
    }
    // One variant keeping unknown fields (a catch-all) beside typed ones is
    // no conflict: structural schemas allow the extension on the hoisted
    // node, where it keeps the catch-all's entries, while the typed
    // variants stay described by their properties and the junction.
    if (a.embedded_resource, a.int_or_string) != (b.embedded_resource, b.int_or_string)
        || a.list_type != b.list_type
        || a.list_map_keys != b.list_map_keys
        || a.map_type != b.map_type
    {
        conflict("x-kubernetes extensions");
    }
    if a.one_of != b.one_of || a.any_of != b.any_of {
        conflict("nested enum alternatives");
    }

    fn same<T: PartialEq>(x: Option<T>, y: Option<T>) -> Option<T> {
        if x == y { x } else { None }
    }
    let enum_ = if a.enum_.is_empty() || b.enum_.is_empty() {
        Vec::new()
    } else {
        let mut union: Vec<Value> = a.enum_.clone();
        for v in b.enum_ {
            if !union.contains(&v) {
                union.push(v);
            }
        }
        union
    };
    let mut properties = a.properties.clone();
    for (name, bp) in b.properties {
        let merged = match properties.remove(&name) {
            Some(ap) => merge_schemas(ap, bp, &format!("{path}.{name}"), problems),
            None => bp,
        };
        properties.insert(name, merged);
    }
    let required = a
        .required
        .iter()
        .filter(|r| b.required.contains(r))
        .cloned()
        .collect();
    let merge_box = |x: Option<Box<Schema>>,
                     y: Option<Box<Schema>>,
                     problems: &mut Vec<Problem>| {
        match (x, y) {
            (Some(x), Some(y)) => Some(Box::new(merge_schemas(
                *x,
                *y,
                &format!("{path}[*]"),
                problems,
            ))),
            (x, y) => x.or(y),
        }
    };
    let items = merge_box(a.items, b.items, problems);
    let additional_properties =
        merge_box(a.additional_properties, b.additional_properties, problems);
    Schema {
        type_: a.type_,
        format: same(a.format, b.format),
        title: same(a.title, b.title),
        description: same(a.description, b.description),
        nullable: a.nullable || b.nullable,
        default: same(a.default, b.default),
        example: same(a.example, b.example),
        enum_,
        minimum: same(a.minimum, b.minimum),
        maximum: same(a.maximum, b.maximum),
        exclusive_minimum: a.exclusive_minimum && b.exclusive_minimum,
        exclusive_maximum: a.exclusive_maximum && b.exclusive_maximum,
        multiple_of: same(a.multiple_of, b.multiple_of),
        min_length: same(a.min_length, b.min_length),
        max_length: same(a.max_length, b.max_length),
        pattern: same(a.pattern, b.pattern),
        min_items: same(a.min_items, b.min_items),
        max_items: same(a.max_items, b.max_items),
        unique_items: a.unique_items && b.unique_items,
        min_properties: same(a.min_properties, b.min_properties),
        max_properties: same(a.max_properties, b.max_properties),
        properties,
        required,
        additional_properties,
        items,
        all_of: a.all_of,
        any_of: a.any_of,
        one_of: a.one_of,
        not: a.not,
        preserve_unknown_fields: a.preserve_unknown_fields || b.preserve_unknown_fields,
        embedded_resource: a.embedded_resource,
        int_or_string: a.int_or_string,
        list_type: a.list_type,
        list_map_keys: a.list_map_keys,
        map_type: a.map_type,
        validations: a.validations,
    }
}

/// A map of any JSON (`BTreeMap<String, Value>`, `serde_json::Map`) read
/// as an object that keeps unknown fields: the same values, and a form that
/// merges with a struct's (whose properties a map's `additionalProperties`
/// cannot sit beside). A map of typed values stays a map: beside a
/// struct's fields the apiserver could not keep its values typed.
fn open_map_as_object(schema: Schema) -> Schema {
    match &schema.additional_properties {
        Some(values)
            if values.type_.is_none()
                && values.preserve_unknown_fields
                && schema.properties.is_empty() =>
        {
            Schema {
                additional_properties: None,
                preserve_unknown_fields: true,
                ..schema
            }
        }
        _ => schema,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{
        Constraints, Context, FieldDesc, Payload, Tagging, VariantDesc, enum_schema, struct_schema,
    };

    fn object(fields: &[(&'static str, Schema, bool)]) -> Schema {
        let fields = fields
            .iter()
            .map(|(name, schema, required)| FieldDesc {
                name,
                schema: schema.clone(),
                required: *required,
                flatten: false,
                constraints: Constraints::default(),
            })
            .collect();
        struct_schema(&mut Context::new(), fields, &Constraints::default())
    }

    fn variant(name: &'static str, payload: Payload) -> VariantDesc {
        VariantDesc {
            name,
            payload,
            description: None,
        }
    }

    #[test]
    fn externally_tagged_enum_becomes_an_object_with_one_required_key() {
        let mut schema = enum_schema(
            &mut Context::new(),
            Tagging::External,
            vec![
                variant(
                    "Http",
                    Payload::Struct(object(&[("port", Schema::typed("integer"), true)])),
                ),
                variant("Exec", Payload::Newtype(Schema::typed("string"))),
            ],
            &Constraints::default(),
        );
        let mut problems = Vec::new();
        hoist_junctions(&mut schema, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            schema.to_json(),
            json!({
                "type": "object",
                "properties": {
                    "Exec": {"type": "string"},
                    "Http": {
                        "type": "object",
                        "properties": {"port": {"type": "integer"}},
                        "required": ["port"],
                    },
                },
                "oneOf": [
                    {"required": ["Http"], "properties": {"Http": {"required": ["port"]}}},
                    {"required": ["Exec"]},
                ],
            })
        );
    }

    #[test]
    fn internally_tagged_enum_merges_the_tag_enum_and_keeps_branch_requirements() {
        let mut schema = enum_schema(
            &mut Context::new(),
            Tagging::Internal { tag: "type" },
            vec![
                variant(
                    "Disk",
                    Payload::Struct(object(&[("size", Schema::typed("integer"), true)])),
                ),
                variant("Memory", Payload::Unit),
            ],
            &Constraints::default(),
        );
        let mut problems = Vec::new();
        hoist_junctions(&mut schema, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            schema.to_json(),
            json!({
                "type": "object",
                "properties": {
                    "size": {"type": "integer"},
                    "type": {"type": "string", "enum": ["Disk", "Memory"]},
                },
                "required": ["type"],
                "oneOf": [
                    {"required": ["type", "size"], "properties": {"type": {"enum": ["Disk"]}}},
                    // `size` is Disk's: under Memory's tag serde drops it.
                    {
                        "required": ["type"],
                        "properties": {"type": {"enum": ["Memory"]}},
                        "not": {"required": ["size"]},
                    },
                ],
            })
        );
    }

    #[test]
    fn untagged_variants_of_two_types_are_a_problem_with_the_path() {
        let mut root = Schema::typed("object");
        root.properties.insert(
            "value".into(),
            Schema {
                any_of: vec![Schema::typed("boolean"), Schema::typed("object")],
                ..Schema::default()
            },
        );
        let mut problems = Vec::new();
        hoist_junctions(&mut root, &mut problems);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, ".value");
        assert!(problems[0].message.contains("boolean and object"));
    }

    #[test]
    fn untagged_objects_that_cannot_be_told_apart_drop_the_vacuous_any_of() {
        let mut schema = Schema {
            description: Some("A or B.".into()),
            any_of: vec![
                object(&[("a", Schema::typed("string"), false)]),
                object(&[("b", Schema::typed("string"), true)]),
            ],
            ..Schema::default()
        };
        let mut problems = Vec::new();
        hoist_junctions(&mut schema, &mut problems);
        assert!(problems.is_empty());
        assert_eq!(
            schema.to_json(),
            json!({
                "type": "object",
                "description": "A or B.",
                "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
            })
        );
    }

    #[test]
    fn a_flattened_enum_keeps_the_parent_required_fields() {
        let tagged = enum_schema(
            &mut Context::new(),
            Tagging::Internal { tag: "by" },
            vec![
                variant(
                    "Name",
                    Payload::Struct(object(&[("name", Schema::typed("string"), true)])),
                ),
                variant("All", Payload::Unit),
            ],
            &Constraints::default(),
        );
        let mut parent = object(&[("mode", Schema::typed("string"), true)]);
        parent.one_of = tagged.one_of;
        let mut problems = Vec::new();
        hoist_junctions(&mut parent, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(parent.required, ["mode", "by"]);
        assert_eq!(parent.properties["by"].enum_, [json!("Name"), json!("All")]);
        assert_eq!(parent.one_of.len(), 2);
    }

    /// A struct with `fields` and a flattened catch-all
    /// (`BTreeMap<String, Value>`) after them.
    fn open_object(fields: &[(&'static str, Schema, bool)]) -> Schema {
        let mut descs: Vec<FieldDesc> = fields
            .iter()
            .map(|(name, schema, required)| FieldDesc {
                name,
                schema: schema.clone(),
                required: *required,
                flatten: false,
                constraints: Constraints::default(),
            })
            .collect();
        descs.push(FieldDesc {
            name: "rest",
            schema: Schema::map(Schema {
                nullable: true,
                ..Schema::any()
            }),
            required: true,
            flatten: true,
            constraints: Constraints::default(),
        });
        let mut ctx = Context::new();
        let schema = struct_schema(&mut ctx, descs, &Constraints::default());
        assert!(ctx.problems().is_empty(), "{:?}", ctx.problems());
        schema
    }

    fn hoisted(tagging: Tagging, variants: Vec<VariantDesc>) -> (Schema, Vec<Problem>) {
        let mut ctx = Context::new();
        let mut schema = enum_schema(&mut ctx, tagging, variants, &Constraints::default());
        let mut problems = ctx.take_problems();
        hoist_junctions(&mut schema, &mut problems);
        (schema, problems)
    }

    #[test]
    fn an_untagged_catch_all_variant_keeps_unknown_fields_on_the_enum_node() {
        let (schema, problems) = hoisted(
            Tagging::Untagged,
            vec![
                variant(
                    "Typed",
                    Payload::Struct(object(&[("port", Schema::typed("integer"), true)])),
                ),
                variant(
                    "Open",
                    Payload::Struct(open_object(&[("name", Schema::typed("string"), true)])),
                ),
            ],
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            schema.to_json(),
            json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "port": {"type": "integer"},
                },
                // The catch-all's entries are kept beside the typed fields,
                // on the hoisted node: never inside the junction.
                "x-kubernetes-preserve-unknown-fields": true,
                "anyOf": [
                    // The typed variant still forbids the other's field.
                    {"required": ["port"], "not": {"required": ["name"]}},
                    // The open one forbids nothing: its catch-all reads all.
                    {"required": ["name"]},
                ],
            })
        );
    }

    #[test]
    fn internally_tagged_catch_alls_and_maps_of_any_json_keep_unknown_fields() {
        let (schema, problems) = hoisted(
            Tagging::Internal { tag: "kind" },
            vec![
                variant(
                    "Disk",
                    Payload::Struct(object(&[("size", Schema::typed("integer"), true)])),
                ),
                variant(
                    "Custom",
                    Payload::Struct(open_object(&[("driver", Schema::typed("string"), true)])),
                ),
                variant(
                    "Raw",
                    Payload::Newtype(Schema::map(Schema {
                        nullable: true,
                        ..Schema::any()
                    })),
                ),
                variant("Memory", Payload::Unit),
            ],
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            schema.to_json(),
            json!({
                "type": "object",
                "properties": {
                    "driver": {"type": "string"},
                    "kind": {"type": "string", "enum": ["Disk", "Custom", "Raw", "Memory"]},
                    "size": {"type": "integer"},
                },
                "required": ["kind"],
                "x-kubernetes-preserve-unknown-fields": true,
                "oneOf": [
                    {
                        "required": ["kind", "size"],
                        "properties": {"kind": {"enum": ["Disk"]}},
                        "not": {"required": ["driver"]},
                    },
                    {"required": ["kind", "driver"], "properties": {"kind": {"enum": ["Custom"]}}},
                    {"required": ["kind"], "properties": {"kind": {"enum": ["Raw"]}}},
                    {
                        "required": ["kind"],
                        "properties": {"kind": {"enum": ["Memory"]}},
                        "not": {"anyOf": [{"required": ["driver"]}, {"required": ["size"]}]},
                    },
                ],
            })
        );
    }

    #[test]
    fn adjacently_tagged_open_content_keeps_unknown_fields_in_the_content() {
        let (schema, problems) = hoisted(
            Tagging::Adjacent {
                tag: "t",
                content: "c",
            },
            vec![
                variant(
                    "Typed",
                    Payload::Struct(object(&[("port", Schema::typed("integer"), true)])),
                ),
                variant("Open", Payload::Struct(open_object(&[]))),
                variant("Map", Payload::Newtype(Schema::map(Schema::any()))),
            ],
        );
        assert!(problems.is_empty(), "{problems:?}");
        let content = &schema.properties["c"];
        assert_eq!(
            content.to_json(),
            json!({
                "type": "object",
                "properties": {"port": {"type": "integer"}},
                "x-kubernetes-preserve-unknown-fields": true,
            })
        );
        assert!(!schema.preserve_unknown_fields, "only the content is open");
        // Only the typed variant's content requires its field.
        assert_eq!(
            schema.one_of[0].to_json(),
            json!({
                "required": ["t", "c"],
                "properties": {"t": {"enum": ["Typed"]}, "c": {"required": ["port"]}},
            })
        );
        assert_eq!(schema.one_of.len(), 3);
    }

    #[test]
    fn a_flattened_enum_with_a_catch_all_variant_opens_the_parent() {
        let tagged = enum_schema(
            &mut Context::new(),
            Tagging::Internal { tag: "by" },
            vec![
                variant(
                    "Name",
                    Payload::Struct(object(&[("name", Schema::typed("string"), true)])),
                ),
                variant("Open", Payload::Struct(open_object(&[]))),
            ],
            &Constraints::default(),
        );
        let mut parent = object(&[("mode", Schema::typed("string"), true)]);
        parent.one_of = tagged.one_of;
        let mut problems = Vec::new();
        hoist_junctions(&mut parent, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(parent.preserve_unknown_fields);
        assert_eq!(parent.required, ["mode", "by"]);
        assert!(parent.one_of.iter().all(|b| !b.preserve_unknown_fields));
    }

    #[test]
    fn a_value_variant_beside_typed_ones_is_one_problem_naming_every_variant() {
        let (_, problems) = hoisted(
            Tagging::Untagged,
            vec![
                variant(
                    "Typed",
                    Payload::Struct(object(&[("port", Schema::typed("integer"), true)])),
                ),
                variant("Name", Payload::Newtype(Schema::typed("string"))),
                variant("Anything", Payload::Newtype(Schema::any())),
            ],
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        let message = &problems[0].message;
        assert!(!message.contains("  "), "{message}");
        for part in [
            "`Typed` as an object",
            "`Name` as a string",
            "`Anything` as any JSON",
            "`Anything` cannot sit beside typed ones",
            "schemaless",
        ] {
            assert!(message.contains(part), "{part}: {message}");
        }
        let (_, problems) = hoisted(
            Tagging::Adjacent {
                tag: "t",
                content: "c",
            },
            vec![
                variant("Typed", Payload::Struct(object(&[]))),
                variant("Anything", Payload::Newtype(Schema::any())),
            ],
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("adjacently tagged"));
    }

    #[test]
    fn an_internally_tagged_value_or_typed_map_is_a_problem_with_the_way_out() {
        for (payload, hint) in [
            (Schema::any(), "fails to serialize"),
            (Schema::map(Schema::typed("string")), "map of typed values"),
        ] {
            let (_, problems) = hoisted(
                Tagging::Internal { tag: "t" },
                vec![
                    variant("Typed", Payload::Struct(object(&[]))),
                    variant("Loose", Payload::Newtype(payload)),
                ],
            );
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(problems[0].message.contains("`Loose`"), "{problems:?}");
            assert!(problems[0].message.contains(hint), "{problems:?}");
        }
    }

    #[test]
    fn variants_whose_fields_disagree_at_run_time_are_named() {
        let (_, problems) = hoisted(
            Tagging::Internal { tag: "t" },
            vec![
                variant(
                    "A",
                    Payload::Struct(object(&[("x", Schema::typed("integer"), true)])),
                ),
                variant(
                    "B",
                    Payload::Struct(object(&[("x", Schema::typed("string"), true)])),
                ),
            ],
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, ".x");
        assert!(problems[0].message.contains("variant `B`"), "{problems:?}");
        assert!(problems[0].message.contains("schemaless"), "{problems:?}");
    }

    #[test]
    fn structural_junctions_are_left_alone() {
        let mut schema = Schema {
            one_of: vec![
                Schema {
                    required: vec!["a".into()],
                    ..Schema::default()
                },
                Schema {
                    required: vec!["b".into()],
                    ..Schema::default()
                },
            ],
            ..Schema::typed("object")
        };
        let before = schema.clone();
        hoist_junctions(&mut schema, &mut Vec::new());
        assert_eq!(schema, before);
    }
}
