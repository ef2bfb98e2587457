//! Builders the derive's generated code calls to put a struct's or an enum's
//! schema together from the schemas of its parts.
//!
//! Enums come out *raw*: a `oneOf` (tagged) or `anyOf` (untagged) of complete
//! branch schemas, the way JSON Schema would say it. The `hoist_junctions`
//! pass then makes that structural. Keeping the two steps apart lets each be
//! tested on its own, and lets a flattened enum join its parent's properties
//! before hoisting.

use serde_json::Value;

use super::{Constraints, Context, Schema};

/// One field of a struct or struct variant, as the derive describes it.
#[derive(Clone, Debug)]
pub struct FieldDesc {
    /// The name on the wire, after serde's renames.
    pub name: &'static str,
    /// The schema of the field's type.
    pub schema: Schema,
    /// Whether the field must be present.
    pub required: bool,
    /// `#[serde(flatten)]`: the field's properties join the parent's.
    pub flatten: bool,
    /// What the field's attributes add.
    pub constraints: Constraints,
}

/// A struct's schema: an object with one property per field.
pub fn struct_schema(
    ctx: &mut Context,
    fields: Vec<FieldDesc>,
    constraints: &Constraints,
) -> Schema {
    let mut schema = Schema::typed("object");
    // serde hands a flattened catch-all every field not read yet, and
    // reads flattened fields in order: one before another flattened field
    // would also hold that field's keys, and write them twice.
    let mut catch_all: Option<&str> = None;
    for mut field in fields {
        if field.flatten {
            if let Some(earlier) = catch_all {
                ctx.problem(format!(
                    "`{earlier}` keeps unknown fields and is flattened before `{}`: serde gives \
                     it every field not read yet, so it would also hold the fields of `{}` and \
                     the object would be written with them twice; flatten `{earlier}` last",
                    field.name, field.name
                ));
            }
            field.constraints.apply(&mut field.schema, ctx);
            // serde reads a flattened `Option` as `Some` whenever its type
            // reads the remaining fields, which a struct with no required
            // field always does: `None` would come back as `Some` of it.
            let junctions = !field.schema.one_of.is_empty() || !field.schema.any_of.is_empty();
            if !field.required && !junctions && field.schema.required.is_empty() {
                ctx.problem(format!(
                    "`{}` flattens an `Option` of a type with no required field: serde reads \
                     it as `Some` whenever the object has none of its fields too, so `None` \
                     would come back as `Some` with every field empty; flatten the type \
                     itself, or give it a required field",
                    field.name
                ));
            }
            // A flattened internally tagged or untagged enum with a variant
            // that keeps unknown fields is a catch-all too.
            let open_variant = field
                .schema
                .one_of
                .iter()
                .chain(&field.schema.any_of)
                .any(|b| b.preserve_unknown_fields);
            if field.schema.additional_properties.is_some()
                || field.schema.preserve_unknown_fields
                || open_variant
            {
                catch_all = Some(field.name);
            }
            flatten_into(ctx, &mut schema, field.schema, field.required);
            continue;
        }
        let mut property = field.schema;
        ctx.at(field.name, |ctx| {
            field.constraints.apply(&mut property, ctx)
        });
        if field.required && !schema.required.iter().any(|r| r == field.name) {
            schema.required.push(field.name.to_owned());
        }
        if schema
            .properties
            .insert(field.name.to_owned(), property)
            .is_some()
        {
            ctx.problem(format!(
                "two fields are called `{}` on the wire (check serde renames and flattened types)",
                field.name
            ));
        }
    }
    constraints.apply(&mut schema, ctx);
    schema
}

/// Merges a `#[serde(flatten)]`ed field's schema into its parent.
///
/// Kubernetes rule: an object may not have both `properties` and
/// `additionalProperties`, and the apiserver prunes every field a schema
/// does not name. A flattened map (a catch-all beside named fields) puts its
/// entries next to the named fields, so the parent must keep unknown fields
/// (`x-kubernetes-preserve-unknown-fields`), or every entry would be pruned
/// silently. The map's value schema cannot be stated there; the named
/// fields stay typed. So the map's values must be any JSON
/// (`serde_json::Value`): of a map of strings the apiserver would keep
/// `{"x": 1}`, which serde cannot read back.
fn flatten_into(ctx: &mut Context, parent: &mut Schema, mut flat: Schema, required: bool) {
    if let Some(values) = &flat.additional_properties
        && !(values.preserve_unknown_fields && values.type_.is_none())
    {
        ctx.problem(format!(
            "a flattened map of {} values: the apiserver keeps unknown fields of any JSON type \
             beside the struct's own, which the map cannot read; flatten a map of \
             serde_json::Value, or make the map a named field",
            if values.type_name().is_empty() {
                "untyped"
            } else {
                values.type_name()
            }
        ));
        return;
    }
    if flat.additional_properties.is_some()
        || (flat.preserve_unknown_fields && flat.properties.is_empty())
    {
        // A map of anything (serde_json::Value, serde_json::Map, a BTreeMap
        // or HashMap of Value).
        parent.preserve_unknown_fields = true;
        return;
    }
    if !flat.one_of.is_empty() || !flat.any_of.is_empty() {
        // A flattened enum: its branches constrain the parent object, and
        // hoisting folds their properties into the parent's.
        if !parent.one_of.is_empty() || !parent.any_of.is_empty() {
            ctx.problem("two flattened enums in one struct cannot be described by one schema");
            return;
        }
        parent.one_of = std::mem::take(&mut flat.one_of);
        parent.any_of = std::mem::take(&mut flat.any_of);
        if !required {
            // A flattened `Option` of the enum: `None` writes none of the
            // variants, so one more branch takes an object with none of
            // the keys any variant requires (found by the round-trip
            // property: `None` was refused).
            let mut keys: Vec<String> = parent
                .one_of
                .iter()
                .chain(&parent.any_of)
                .flat_map(|b| b.required.iter().cloned())
                .collect();
            keys.sort();
            keys.dedup();
            let none = Schema {
                not: forbidden(keys),
                ..Schema::default()
            };
            if parent.one_of.is_empty() {
                parent.any_of.push(none);
            } else {
                parent.one_of.push(none);
            }
        }
        // A bare enum ends here; a struct that flattens an enum has its
        // own fields besides, merged below.
        if flat.type_.is_none() {
            return;
        }
    }
    if flat.type_name() != "object" {
        ctx.problem(format!(
            "a flattened field must be a struct, a map or an enum, not a value of type {}",
            if flat.type_name().is_empty() {
                "any"
            } else {
                flat.type_name()
            }
        ));
        return;
    }
    let Schema {
        properties,
        required: flat_required,
        validations,
        preserve_unknown_fields,
        ..
    } = flat;
    for (name, property) in properties {
        if parent.properties.insert(name.clone(), property).is_some() {
            ctx.problem(format!("flattening adds a second field called `{name}`"));
        }
    }
    if required {
        for name in flat_required {
            if !parent.required.contains(&name) {
                parent.required.push(name);
            }
        }
    }
    parent.validations.extend(validations);
    // A flattened struct that itself keeps unknown fields (it has a
    // flattened map of its own) makes its entries the parent's.
    parent.preserve_unknown_fields |= preserve_unknown_fields;
}

/// How serde writes an enum: the four representations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tagging {
    /// `{"Variant": payload}`, and a plain string for unit variants.
    External,
    /// `#[serde(tag = "t")]`: `{"t": "Variant", ...payload fields}`.
    Internal {
        /// The tag field's name.
        tag: &'static str,
    },
    /// `#[serde(tag = "t", content = "c")]`: `{"t": "Variant", "c": payload}`.
    Adjacent {
        /// The tag field's name.
        tag: &'static str,
        /// The content field's name.
        content: &'static str,
    },
    /// `#[serde(untagged)]`: the payload alone.
    Untagged,
}

/// What a variant carries.
#[derive(Clone, Debug)]
pub enum Payload {
    /// Nothing.
    Unit,
    /// One unnamed value: its schema.
    Newtype(Schema),
    /// Named fields: the schema `struct_schema` built for them.
    Struct(Schema),
}

/// One enum variant.
#[derive(Clone, Debug)]
pub struct VariantDesc {
    /// The name on the wire, after serde's renames.
    pub name: &'static str,
    /// What it carries.
    pub payload: Payload,
    /// Its doc comment.
    pub description: Option<&'static str>,
}

/// An enum's schema. Unit-only externally tagged enums become a string
/// `enum`; everything else becomes a raw `oneOf`/`anyOf` for the
/// `hoist_junctions` pass. Shapes serde can write but a structural schema
/// cannot describe are recorded as problems.
pub fn enum_schema(
    ctx: &mut Context,
    tagging: Tagging,
    variants: Vec<VariantDesc>,
    constraints: &Constraints,
) -> Schema {
    let all_unit = variants.iter().all(|v| matches!(v.payload, Payload::Unit));
    let mut schema = if variants.is_empty() {
        ctx.problem("an enum without variants has no values");
        Schema::any()
    } else if all_unit && matches!(tagging, Tagging::External) {
        Schema {
            enum_: variants.iter().map(|v| Value::from(v.name)).collect(),
            ..Schema::typed("string")
        }
    } else if let Some(message) = types_disagree(&tagging, &variants) {
        // One problem for the enum, naming every variant; the node keeps
        // any value so that no pass reports the same enum again.
        ctx.problem(message);
        Schema::any()
    } else {
        let mut branches = Vec::with_capacity(variants.len());
        for variant in variants {
            if let Some(branch) = branch(ctx, &tagging, variant) {
                branches.push(branch);
            }
        }
        match tagging {
            Tagging::Internal { .. } => forbid_foreign_fields(&mut branches),
            Tagging::Adjacent { content, .. } => {
                forbid_foreign_fields(&mut branches);
                forbid_foreign_content(&mut branches, content);
            }
            // serde drops an untagged variant's unknown fields just the
            // same: `{"name": "a", "uid": "u"}` is read as `Short { name }`
            // when `Full` needs a `namespace` too.
            Tagging::Untagged => forbid_foreign_fields(&mut branches),
            Tagging::External => {}
        }
        if matches!(tagging, Tagging::Untagged) {
            // serde takes the first variant that matches, so more than one may.
            Schema {
                any_of: branches,
                ..Schema::default()
            }
        } else {
            Schema {
                one_of: branches,
                ..Schema::default()
            }
        }
    };
    constraints.apply(&mut schema, ctx);
    schema
}

/// The JSON type a payload is written as, for messages.
fn json_type(schema: &Schema) -> &'static str {
    match schema.type_.as_deref() {
        Some("object") => "an object",
        Some("array") => "an array",
        Some("string") => "a string",
        Some("integer") => "an integer",
        Some("number") => "a number",
        Some("boolean") => "a boolean",
        _ if schema.int_or_string => "an integer or a string",
        _ if schema.preserve_unknown_fields => "any JSON (a `serde_json::Value`)",
        _ => "no single JSON type",
    }
}

/// Kubernetes rule (structural schemas): a node has one type, and only
/// value validations may appear inside `anyOf`/`oneOf`. An untagged enum's
/// values, and an adjacently tagged enum's contents, sit in one node, so
/// their variants must be written as one JSON type (an untagged pair of an
/// integer and a string is int-or-string). The derive refuses what syntax
/// shows; this sees the types only run time knows (a user type, a
/// `serde_json::Value`), and reports them once per enum, naming every
/// variant and its type.
fn types_disagree(tagging: &Tagging, variants: &[VariantDesc]) -> Option<String> {
    let (what, written) = match tagging {
        Tagging::Untagged => ("untagged enum", "are written"),
        Tagging::Adjacent { .. } => ("adjacently tagged enum", "have their content written"),
        Tagging::External | Tagging::Internal { .. } => return None,
    };
    let typed: Vec<(&str, &'static str)> = variants
        .iter()
        .filter_map(|v| match &v.payload {
            Payload::Unit => None,
            Payload::Newtype(s) | Payload::Struct(s) => Some((v.name, json_type(s))),
        })
        .collect();
    let mut kinds: Vec<&str> = typed.iter().map(|(_, t)| *t).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let int_or_string = matches!(tagging, Tagging::Untagged)
        && variants.len() == 2
        && typed.len() == 2
        && kinds == ["a string", "an integer"];
    if kinds.len() < 2 || int_or_string {
        return None;
    }
    let list: Vec<String> = typed
        .iter()
        .map(|(name, ty)| format!("`{name}` as {ty}"))
        .collect();
    let any = typed
        .iter()
        .find(|(_, ty)| ty.starts_with("any JSON"))
        .map(|(name, _)| *name);
    let way_out = match any {
        Some(name) => format!(
            "the `serde_json::Value` variant `{name}` cannot sit beside typed ones (a node \
             keeping any value would leave every variant unchecked); make it a struct variant \
             with a `serde_json::Value` field, or with a catch-all (`#[serde(flatten)] rest: \
             BTreeMap<String, serde_json::Value>`), or keep any JSON as sent with \
             #[crd(schemaless)] on the enum"
        ),
        None => "give the variants one JSON type (e.g. make the odd one out a struct variant \
                 with a `value` field), or keep any JSON as sent with #[crd(schemaless)] on \
                 the enum"
            .to_owned(),
    };
    // The types in the order the variants first use them, as the hoist
    // pass names a conflict ("boolean and object").
    let mut order: Vec<&str> = Vec::new();
    for (_, ty) in &typed {
        let bare = ty
            .trim_start_matches("an ")
            .trim_start_matches("a ")
            .split(" (")
            .next()
            .unwrap_or(ty);
        if !order.contains(&bare) {
            order.push(bare);
        }
    }
    Some(format!(
        "the variants of this {what} {written} as different JSON types, {} ({}), but a \
         structural schema gives a value one type, so the apiserver would refuse some of them; \
         {way_out}",
        match order.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => order.join(""),
        },
        list.join(", ")
    ))
}

/// Kubernetes has no "this variant's fields only": the hoisted schema of a
/// tagged enum declares the union of every variant's fields, so
/// `{"kind": "Disk", "label": "x"}` would be stored though `label` belongs
/// to another variant and serde drops it under `Disk`'s tag. So each
/// branch forbids the fields only other variants have, with
/// `not: {anyOf: [{required: [f]}, ...]}` — value validations only, which
/// structural schemas allow inside `oneOf` (the hoist pass keeps them in
/// the branch and out of the hoisted shape).
fn forbid_foreign_fields(branches: &mut [Schema]) {
    let all: Vec<String> = branches
        .iter()
        .flat_map(|b| b.properties.keys().cloned())
        .collect();
    for branch in branches.iter_mut() {
        // A branch that reads any field (a map, a `Value`, a catch-all) or
        // is no object has no foreign fields.
        if branch.type_name() != "object"
            || branch.additional_properties.is_some()
            || branch.preserve_unknown_fields
        {
            continue;
        }
        let mut foreign: Vec<String> = all
            .iter()
            .filter(|name| !branch.properties.contains_key(*name))
            .cloned()
            .collect();
        foreign.sort();
        foreign.dedup();
        branch.not = forbidden(foreign);
    }
}

/// The same inside an adjacently tagged enum's content: the content's
/// schema is the union of every variant's, so a variant's content forbids
/// the fields only other variants' contents have.
fn forbid_foreign_content(branches: &mut [Schema], content: &str) {
    let all: Vec<String> = branches
        .iter()
        .filter_map(|b| b.properties.get(content))
        .flat_map(|c| c.properties.keys().cloned())
        .collect();
    for branch in branches.iter_mut() {
        let Some(own) = branch.properties.get_mut(content) else {
            continue;
        };
        // Content that reads any field (a map, a catch-all) has no foreign
        // fields.
        if own.type_name() != "object"
            || own.additional_properties.is_some()
            || own.preserve_unknown_fields
        {
            continue;
        }
        let mut foreign: Vec<String> = all
            .iter()
            .filter(|name| !own.properties.contains_key(*name))
            .cloned()
            .collect();
        foreign.sort();
        foreign.dedup();
        own.not = forbidden(foreign);
    }
}

/// A `not` that fails when any of `names` is present.
fn forbidden(names: Vec<String>) -> Option<Box<Schema>> {
    let present = |name: String| Schema {
        required: vec![name],
        ..Schema::default()
    };
    match names.len() {
        0 => None,
        1 => names.into_iter().next().map(|n| Box::new(present(n))),
        _ => Some(Box::new(Schema {
            any_of: names.into_iter().map(present).collect(),
            ..Schema::default()
        })),
    }
}

fn tag_schema(name: &str) -> Schema {
    Schema {
        enum_: vec![Value::from(name)],
        ..Schema::typed("string")
    }
}

fn branch(ctx: &mut Context, tagging: &Tagging, variant: VariantDesc) -> Option<Schema> {
    let name = variant.name;
    let mut payload_schema = match variant.payload {
        Payload::Unit => None,
        Payload::Newtype(s) | Payload::Struct(s) => Some(s),
    };
    if let (Some(schema), Some(doc)) = (&mut payload_schema, variant.description) {
        schema.description.get_or_insert_with(|| doc.to_owned());
    }
    let mut object = Schema::typed("object");
    match (tagging, payload_schema) {
        (Tagging::External, None) => {
            ctx.problem(format!(
                "unit variant `{name}` is written as a string, and the other variants as objects; \
                 a structural schema needs one type"
            ));
            return None;
        }
        (Tagging::External, Some(payload)) => {
            object.properties.insert(name.to_owned(), payload);
            object.required.push(name.to_owned());
        }
        (Tagging::Internal { tag }, payload) => {
            if let Some(mut payload) = payload {
                // A newtype of a map of any JSON: serde writes its entries
                // beside the tag, as a catch-all's (and reads them back
                // without the tag), so it is an object keeping unknown fields.
                if payload
                    .additional_properties
                    .as_ref()
                    .is_some_and(|v| v.type_.is_none() && v.preserve_unknown_fields)
                {
                    payload.additional_properties = None;
                    payload.preserve_unknown_fields = true;
                }
                if payload.type_name() != "object" || payload.additional_properties.is_some() {
                    let why = if payload.type_.is_none() && payload.preserve_unknown_fields {
                        "; it carries a `serde_json::Value`, which serde writes beside the tag \
                         only when it is an object (any other value fails to serialize): carry a \
                         `BTreeMap<String, serde_json::Value>`, or give the variant its fields \
                         and a catch-all (`#[serde(flatten)] rest: BTreeMap<String, \
                         serde_json::Value>`)"
                    } else if payload.additional_properties.is_some() {
                        "; a map of typed values would sit beside the tag, where the apiserver \
                         cannot keep its values typed: carry a struct, or a map of \
                         `serde_json::Value`"
                    } else {
                        ""
                    };
                    ctx.problem(format!(
                        "variant `{name}` of an internally tagged enum must carry a struct, \
                         so that the tag `{tag}` can sit among its fields{why}"
                    ));
                    return None;
                }
                object = payload;
            }
            object
                .properties
                .insert((*tag).to_owned(), tag_schema(name));
            object.required.insert(0, (*tag).to_owned());
        }
        (Tagging::Adjacent { tag, content }, payload) => {
            object
                .properties
                .insert((*tag).to_owned(), tag_schema(name));
            object.required.push((*tag).to_owned());
            if let Some(payload) = payload {
                object.properties.insert((*content).to_owned(), payload);
                object.required.push((*content).to_owned());
            }
        }
        (Tagging::Untagged, None) => {
            ctx.problem(format!(
                "unit variant `{name}` of an untagged enum is written as null, which a structural \
                 schema cannot describe"
            ));
            return None;
        }
        (Tagging::Untagged, Some(payload)) => object = payload,
    }
    Some(object)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field(name: &'static str, schema: Schema, required: bool) -> FieldDesc {
        FieldDesc {
            name,
            schema,
            required,
            flatten: false,
            constraints: Constraints::default(),
        }
    }

    #[test]
    fn struct_fields_become_properties_in_order_of_requirement() {
        let mut ctx = Context::new();
        let schema = struct_schema(
            &mut ctx,
            vec![
                field("name", Schema::typed("string"), true),
                field("size", Schema::formatted("integer", "int32"), false),
            ],
            &Constraints::default(),
        );
        assert_eq!(
            schema.to_json(),
            json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "size": {"type": "integer", "format": "int32"},
                },
                "required": ["name"],
            })
        );
    }

    #[test]
    fn flattened_struct_fields_join_the_parent() {
        let mut ctx = Context::new();
        let inner = struct_schema(
            &mut ctx,
            vec![field("port", Schema::typed("integer"), true)],
            &Constraints::default(),
        );
        let mut flat = field("", inner, true);
        flat.flatten = true;
        let schema = struct_schema(
            &mut ctx,
            vec![field("host", Schema::typed("string"), true), flat],
            &Constraints::default(),
        );
        assert_eq!(schema.required, ["host", "port"]);
        assert!(schema.properties.contains_key("port"));
        assert!(ctx.problems().is_empty());
    }

    #[test]
    fn a_flattened_map_of_typed_values_is_a_problem() {
        let mut ctx = Context::new();
        let mut flat = field("", Schema::map(Schema::typed("string")), true);
        flat.flatten = true;
        struct_schema(
            &mut ctx,
            vec![field("host", Schema::typed("string"), true), flat],
            &Constraints::default(),
        );
        assert_eq!(ctx.problems().len(), 1);
        assert!(ctx.problems()[0].message.contains("map of string values"));
    }

    #[test]
    fn a_flattened_map_keeps_unknown_fields_on_the_parent() {
        let mut ctx = Context::new();
        for catch_all in [Schema::map(Schema::any()), Schema::any_object()] {
            let mut flat = field("", catch_all, true);
            flat.flatten = true;
            let schema = struct_schema(
                &mut ctx,
                vec![field("host", Schema::typed("string"), true), flat],
                &Constraints::default(),
            );
            assert_eq!(
                schema.to_json(),
                json!({
                    "type": "object",
                    "properties": {"host": {"type": "string"}},
                    "required": ["host"],
                    "x-kubernetes-preserve-unknown-fields": true,
                })
            );
        }
        assert!(ctx.problems().is_empty(), "{:?}", ctx.problems());
    }

    #[test]
    fn a_flattened_struct_with_a_catch_all_passes_it_on() {
        let mut ctx = Context::new();
        let mut extra = field("", Schema::map(Schema::any()), true);
        extra.flatten = true;
        let inner = struct_schema(
            &mut ctx,
            vec![field("port", Schema::typed("integer"), true), extra],
            &Constraints::default(),
        );
        let mut flat = field("", inner, true);
        flat.flatten = true;
        let schema = struct_schema(
            &mut ctx,
            vec![field("host", Schema::typed("string"), true), flat],
            &Constraints::default(),
        );
        assert!(schema.preserve_unknown_fields);
        assert_eq!(schema.required, ["host", "port"]);
        assert!(ctx.problems().is_empty());
    }

    #[test]
    fn unit_only_enum_is_a_string_enum() {
        let mut ctx = Context::new();
        let unit = |name| VariantDesc {
            name,
            payload: Payload::Unit,
            description: None,
        };
        let schema = enum_schema(
            &mut ctx,
            Tagging::External,
            vec![unit("Red"), unit("Green")],
            &Constraints::default(),
        );
        assert_eq!(
            schema.to_json(),
            json!({"type": "string", "enum": ["Red", "Green"]})
        );
    }

    #[test]
    fn internally_tagged_branches_carry_the_tag() {
        let mut ctx = Context::new();
        let payload = struct_schema(
            &mut ctx,
            vec![field("size", Schema::typed("integer"), true)],
            &Constraints::default(),
        );
        let schema = enum_schema(
            &mut ctx,
            Tagging::Internal { tag: "kind" },
            vec![
                VariantDesc {
                    name: "Disk",
                    payload: Payload::Struct(payload),
                    description: None,
                },
                VariantDesc {
                    name: "Memory",
                    payload: Payload::Unit,
                    description: None,
                },
            ],
            &Constraints::default(),
        );
        assert_eq!(schema.one_of.len(), 2);
        assert_eq!(schema.one_of[0].required, ["kind", "size"]);
        assert_eq!(schema.one_of[1].properties["kind"].enum_, [json!("Memory")]);
    }

    #[test]
    fn a_struct_that_flattens_an_enum_keeps_its_own_fields_when_flattened() {
        // Found by the round-trip property: `Outer { #[flatten] inner: Inner }`
        // with `Inner { name, #[flatten] source: Source }` lost `name`, which
        // the apiserver then pruned.
        let mut ctx = Context::new();
        let payload = struct_schema(
            &mut ctx,
            vec![field("size", Schema::typed("integer"), true)],
            &Constraints::default(),
        );
        let source = enum_schema(
            &mut ctx,
            Tagging::Internal { tag: "kind" },
            vec![VariantDesc {
                name: "Disk",
                payload: Payload::Struct(payload),
                description: None,
            }],
            &Constraints::default(),
        );
        let flat = |name: &'static str, schema: Schema| FieldDesc {
            flatten: true,
            ..field(name, schema, true)
        };
        let inner = struct_schema(
            &mut ctx,
            vec![
                field("name", Schema::typed("string"), true),
                flat("source", source),
            ],
            &Constraints::default(),
        );
        let outer = struct_schema(
            &mut ctx,
            vec![flat("inner", inner)],
            &Constraints::default(),
        );
        assert!(ctx.problems().is_empty(), "{:?}", ctx.problems());
        assert!(outer.properties.contains_key("name"), "{outer:?}");
        assert_eq!(outer.required, ["name"]);
        assert_eq!(outer.one_of.len(), 1);
    }

    #[test]
    fn a_flattened_optional_enum_may_be_absent() {
        let mut ctx = Context::new();
        let pick = enum_schema(
            &mut ctx,
            Tagging::External,
            vec![
                VariantDesc {
                    name: "left",
                    payload: Payload::Newtype(Schema::typed("integer")),
                    description: None,
                },
                VariantDesc {
                    name: "right",
                    payload: Payload::Newtype(Schema::typed("string")),
                    description: None,
                },
            ],
            &Constraints::default(),
        );
        let optional = FieldDesc {
            flatten: true,
            ..field("pick", pick, false)
        };
        let schema = struct_schema(
            &mut ctx,
            vec![field("name", Schema::typed("string"), true), optional],
            &Constraints::default(),
        );
        assert!(ctx.problems().is_empty(), "{:?}", ctx.problems());
        // The variants, and one that has neither key.
        assert_eq!(schema.one_of.len(), 3);
        assert_eq!(
            schema.one_of[2].to_json(),
            json!({"not": {"anyOf": [{"required": ["left"]}, {"required": ["right"]}]}})
        );
    }

    #[test]
    fn tagged_branches_forbid_the_other_variants_fields() {
        let mut ctx = Context::new();
        let object = |ctx: &mut Context, names: &[&'static str]| {
            struct_schema(
                ctx,
                names
                    .iter()
                    .map(|n| field(n, Schema::typed("string"), true))
                    .collect(),
                &Constraints::default(),
            )
        };
        let a = object(&mut ctx, &["text"]);
        let b = object(&mut ctx, &["zone", "region"]);
        let variants = vec![
            VariantDesc {
                name: "A",
                payload: Payload::Struct(a),
                description: None,
            },
            VariantDesc {
                name: "B",
                payload: Payload::Newtype(b),
                description: None,
            },
            VariantDesc {
                name: "None",
                payload: Payload::Unit,
                description: None,
            },
        ];
        let adjacent = enum_schema(
            &mut ctx,
            Tagging::Adjacent {
                tag: "t",
                content: "c",
            },
            variants.clone(),
            &Constraints::default(),
        );
        // A's content forbids B's fields, B's A's; the unit variant has no
        // content at all.
        assert_eq!(
            adjacent.one_of[0].properties["c"]
                .not
                .as_deref()
                .map(Schema::to_json),
            Some(json!({"anyOf": [{"required": ["region"]}, {"required": ["zone"]}]}))
        );
        assert_eq!(
            adjacent.one_of[1].properties["c"]
                .not
                .as_deref()
                .map(Schema::to_json),
            Some(json!({"required": ["text"]}))
        );
        assert_eq!(
            adjacent.one_of[2].not.as_deref().map(Schema::to_json),
            Some(json!({"required": ["c"]}))
        );
        // Externally tagged and untagged enums are told apart otherwise.
        let external = enum_schema(
            &mut ctx,
            Tagging::External,
            variants[..2].to_vec(),
            &Constraints::default(),
        );
        assert!(external.one_of.iter().all(|b| b.not.is_none()));
        assert!(ctx.problems().is_empty(), "{:?}", ctx.problems());
    }

    #[test]
    fn mixed_unit_and_data_variants_externally_tagged_are_a_problem() {
        let mut ctx = Context::new();
        enum_schema(
            &mut ctx,
            Tagging::External,
            vec![
                VariantDesc {
                    name: "Off",
                    payload: Payload::Unit,
                    description: None,
                },
                VariantDesc {
                    name: "On",
                    payload: Payload::Newtype(Schema::typed("integer")),
                    description: None,
                },
            ],
            &Constraints::default(),
        );
        assert_eq!(ctx.problems().len(), 1);
        assert!(ctx.problems()[0].message.contains("unit variant `Off`"));
    }
}
