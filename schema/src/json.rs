//! A schema written as OpenAPI v3 JSON — what schemars produces with its
//! `openapi3` settings — read into the neutral [`Schema`], so that types
//! described by another generator can sit inside a crdforge resource.
//!
//! Every key a CRD schema can hold is read; a key it cannot hold is a
//! problem at the node's path, never dropped in silence. The only keys
//! ignored are annotations the apiserver has no field for (`readOnly`,
//! `writeOnly`, `deprecated`, `$schema`, `$id`) and the type-name `title`
//! schemars puts on the root.

use serde_json::{Map, Value};

use super::{Context, Rule, Schema};

/// Reads `value` as a schema. Problems are reported on `ctx` with their
/// path; the schema returned holds everything that could be read.
pub fn from_json(value: &Value, ctx: &mut Context) -> Schema {
    match value {
        Value::Object(map) => {
            let mut map = map.clone();
            // schemars names the root after the Rust type; that is no
            // description of the field that holds it.
            map.remove("title");
            node(&map, ctx)
        }
        Value::Bool(true) => Schema::any(),
        other => {
            ctx.problem(format!("expected a JSON schema object, found `{other}`"));
            Schema::any()
        }
    }
}

fn child(value: &Value, ctx: &mut Context) -> Schema {
    match value {
        Value::Object(map) => node(map, ctx),
        // `true` (anything) is what schemars writes for `serde_json::Value`.
        Value::Bool(true) => Schema::any(),
        other => {
            ctx.problem(format!("expected a JSON schema object, found `{other}`"));
            Schema::any()
        }
    }
}

fn node(map: &Map<String, Value>, ctx: &mut Context) -> Schema {
    let mut s = Schema::default();
    if map.is_empty() {
        // `{}` accepts anything: keep it as sent.
        return Schema::any();
    }
    for (key, value) in map {
        read_key(&mut s, key, value, ctx);
    }
    s
}

fn read_key(s: &mut Schema, key: &str, value: &Value, ctx: &mut Context) {
    let string = |ctx: &mut Context| match value.as_str() {
        Some(v) => Some(v.to_owned()),
        None => {
            ctx.problem(format!("`{key}` must be a string, found `{value}`"));
            None
        }
    };
    let int = |ctx: &mut Context| match value.as_i64() {
        Some(v) => Some(v),
        None => {
            ctx.problem(format!("`{key}` must be an integer, found `{value}`"));
            None
        }
    };
    let number = |ctx: &mut Context| match value.as_f64() {
        Some(v) => Some(v),
        None => {
            ctx.problem(format!("`{key}` must be a number, found `{value}`"));
            None
        }
    };
    let flag = |ctx: &mut Context| match value.as_bool() {
        Some(v) => v,
        None => {
            ctx.problem(format!("`{key}` must be a boolean, found `{value}`"));
            false
        }
    };
    match key {
        "type" => read_type(s, value, ctx),
        "format" => s.format = string(ctx),
        "title" => s.title = string(ctx),
        "description" => s.description = string(ctx),
        "nullable" => s.nullable = flag(ctx),
        "default" => s.default = Some(value.clone()),
        "example" => s.example = Some(value.clone()),
        "enum" => match value.as_array() {
            Some(values) => s.enum_ = values.clone(),
            None => ctx.problem(format!("`enum` must be a list, found `{value}`")),
        },
        "minimum" => s.minimum = number(ctx),
        "maximum" => s.maximum = number(ctx),
        // OpenAPI 3.0 writes a flag; JSON Schema 2020-12 writes the bound.
        "exclusiveMinimum" => match value {
            Value::Bool(b) => s.exclusive_minimum = *b,
            _ => {
                s.minimum = number(ctx);
                s.exclusive_minimum = true;
            }
        },
        "exclusiveMaximum" => match value {
            Value::Bool(b) => s.exclusive_maximum = *b,
            _ => {
                s.maximum = number(ctx);
                s.exclusive_maximum = true;
            }
        },
        "multipleOf" => s.multiple_of = number(ctx),
        "minLength" => s.min_length = int(ctx),
        "maxLength" => s.max_length = int(ctx),
        "pattern" => s.pattern = string(ctx),
        "minItems" => s.min_items = int(ctx),
        "maxItems" => s.max_items = int(ctx),
        "uniqueItems" => s.unique_items = flag(ctx),
        "minProperties" => s.min_properties = int(ctx),
        "maxProperties" => s.max_properties = int(ctx),
        "properties" => match value.as_object() {
            Some(properties) => {
                for (name, p) in properties {
                    let schema = ctx.at(name, |ctx| child(p, ctx));
                    s.properties.insert(name.clone(), schema);
                }
            }
            None => ctx.problem(format!("`properties` must be an object, found `{value}`")),
        },
        "required" => match value.as_array() {
            Some(names) => {
                s.required = names
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_owned))
                    .collect();
            }
            None => ctx.problem(format!("`required` must be a list, found `{value}`")),
        },
        "additionalProperties" => match value {
            // `false` is what a closed object means anyway: the apiserver
            // prunes unknown fields.
            Value::Bool(false) => {}
            Value::Bool(true) => s.additional_properties = Some(Box::new(Schema::any())),
            other => {
                s.additional_properties = Some(Box::new(ctx.at("*", |ctx| child(other, ctx))));
            }
        },
        "items" => match value {
            Value::Array(_) => ctx.problem(
                "a tuple (`items` as a list) has no structural schema; use a struct".to_owned(),
            ),
            other => s.items = Some(Box::new(ctx.at("[*]", |ctx| child(other, ctx)))),
        },
        "allOf" | "anyOf" | "oneOf" => match value.as_array() {
            Some(branches) => {
                let read: Vec<Schema> = branches.iter().map(|b| child(b, ctx)).collect();
                match key {
                    "allOf" => s.all_of = read,
                    "anyOf" => s.any_of = read,
                    _ => s.one_of = read,
                }
            }
            None => ctx.problem(format!("`{key}` must be a list, found `{value}`")),
        },
        "not" => s.not = Some(Box::new(child(value, ctx))),
        "x-kubernetes-preserve-unknown-fields" => s.preserve_unknown_fields = flag(ctx),
        "x-kubernetes-embedded-resource" => s.embedded_resource = flag(ctx),
        "x-kubernetes-int-or-string" => s.int_or_string = flag(ctx),
        "x-kubernetes-list-type" => s.list_type = string(ctx),
        "x-kubernetes-list-map-keys" => match value.as_array() {
            Some(keys) => {
                s.list_map_keys = keys
                    .iter()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect();
            }
            None => ctx.problem(format!("`{key}` must be a list, found `{value}`")),
        },
        "x-kubernetes-map-type" => s.map_type = string(ctx),
        "x-kubernetes-validations" => s.validations = rules(value, ctx),
        "readOnly" | "writeOnly" | "deprecated" | "$schema" | "$id" => {}
        "$ref" => ctx.problem(format!(
            "a reference ({value}) is left, which means a recursive type; \
             CRD schemas cannot recurse"
        )),
        other => ctx.problem(format!(
            "`{other}` cannot appear in a CRD schema (from schemars or another JSON Schema source)"
        )),
    }
}

/// `type` is a string, or a list of one type and `null` (JSON Schema's
/// way of saying nullable).
fn read_type(s: &mut Schema, value: &Value, ctx: &mut Context) {
    match value {
        Value::String(t) => s.type_ = Some(t.clone()),
        Value::Array(types) => {
            let mut named = Vec::new();
            for t in types {
                match t.as_str() {
                    Some("null") => s.nullable = true,
                    Some(t) => named.push(t.to_owned()),
                    None => ctx.problem(format!("`type` holds `{t}`, which is not a type name")),
                }
            }
            match named.as_slice() {
                [one] => s.type_ = Some(one.clone()),
                [] => {}
                many => ctx.problem(format!(
                    "`type` lists several types ({}), which a structural schema cannot express",
                    many.join(", ")
                )),
            }
        }
        other => ctx.problem(format!("`type` must be a string, found `{other}`")),
    }
}

fn rules(value: &Value, ctx: &mut Context) -> Vec<Rule> {
    let Some(list) = value.as_array() else {
        ctx.problem(format!(
            "`x-kubernetes-validations` must be a list, found `{value}`"
        ));
        return Vec::new();
    };
    let text = |rule: &Map<String, Value>, key: &str| {
        rule.get(key).and_then(Value::as_str).map(str::to_owned)
    };
    list.iter()
        .filter_map(|rule| {
            let Some(rule) = rule.as_object() else {
                ctx.problem(format!(
                    "a validation rule must be an object, found `{rule}`"
                ));
                return None;
            };
            let Some(expression) = text(rule, "rule") else {
                ctx.problem("a validation rule needs `rule`".to_owned());
                return None;
            };
            Some(Rule {
                rule: expression,
                message: text(rule, "message"),
                message_expression: text(rule, "messageExpression"),
                reason: text(rule, "reason"),
                field_path: text(rule, "fieldPath"),
                optional_old_self: rule.get("optionalOldSelf").and_then(Value::as_bool),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(value: Value) -> (Schema, Vec<String>) {
        let mut ctx = Context::new();
        let schema = from_json(&value, &mut ctx);
        let problems = ctx
            .take_problems()
            .into_iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect();
        (schema, problems)
    }

    #[test]
    fn openapi_keys_are_read() {
        let (s, problems) = read(json!({
            "title": "Probe",
            "type": "object",
            "required": ["port"],
            "properties": {
                "port": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 65535},
                "path": {"type": "string", "nullable": true, "pattern": "^/"},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "mode": {"type": "string", "enum": ["a", "b"], "default": "a"},
                "tags": {"type": ["array", "null"], "items": {"type": "string"}, "maxItems": 3},
                "any": true
            }
        }));
        assert_eq!(problems, Vec::<String>::new());
        assert_eq!(s.title, None, "the root's type-name title is dropped");
        assert_eq!(s.required, ["port"]);
        let port = &s.properties["port"];
        assert_eq!((port.minimum, port.maximum), (Some(1.0), Some(65535.0)));
        assert!(s.properties["path"].nullable);
        assert_eq!(
            s.properties["headers"].additional_properties.as_deref(),
            Some(&Schema::typed("string"))
        );
        assert_eq!(s.properties["mode"].default, Some(json!("a")));
        let tags = &s.properties["tags"];
        assert!(tags.nullable && tags.type_.as_deref() == Some("array"));
        assert_eq!(tags.max_items, Some(3));
        assert_eq!(s.properties["any"], Schema::any());
    }

    #[test]
    fn keys_a_crd_cannot_hold_are_problems_with_paths() {
        let (_, problems) = read(json!({
            "type": "object",
            "properties": {
                "next": {"$ref": "#/components/schemas/Node"},
                "pair": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]},
                "either": {"type": ["string", "integer"]},
                "odd": {"type": "string", "contentEncoding": "base64"}
            }
        }));
        let mut problems = problems;
        problems.sort();
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].starts_with(".either: `type` lists several types"));
        assert!(problems[1].starts_with(".next: a reference"));
        assert!(problems[2].starts_with(".odd: `contentEncoding` cannot appear"));
        assert!(problems[3].starts_with(".pair: a tuple"));
    }

    #[test]
    fn exclusive_bounds_in_both_dialects() {
        let (a, _) = read(json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true}));
        let (b, _) = read(json!({"type": "integer", "exclusiveMinimum": 0}));
        assert_eq!(a, b);
        assert!(a.exclusive_minimum && a.minimum == Some(0.0));
    }
}
