//! How the apiserver declares a schema node to CEL (`SchemaDeclType` in
//! apiserver's `cel/common/schemas.go`): the node's CEL kind, the most
//! elements it can hold (what sizes are estimated from) and its smallest
//! JSON form (what cardinalities under unbounded lists are estimated from).

use std::collections::BTreeMap;

use crdforge::schema::Schema;

use super::super::cel::escape;

/// `celconfig.MaxRequestSizeBytes`: what sizes are estimated from when the
/// schema gives no bound.
pub(super) const MAX_REQUEST_SIZE: i64 = 3 * 1024 * 1024;

/// A schema node as the apiserver declares it to CEL (`DeclType`): its
/// kind, the most elements it can hold and its smallest JSON form.
#[derive(Debug)]
pub(super) struct Decl {
    pub kind: Kind,
    pub max_elements: i64,
    pub min_size: i64,
    /// Where `max_elements` was estimated because the schema at this path
    /// gives no bound, and the keyword that would give one.
    pub derived: Option<(String, &'static str)>,
}

#[derive(Debug)]
pub(super) enum Kind {
    Bool,
    Int,
    Double,
    String,
    Bytes,
    Duration,
    Timestamp,
    /// int-or-string.
    Dyn,
    List(Box<Decl>),
    /// Keys are strings.
    Map(Box<Decl>),
    /// Fields by their CEL (escaped) names.
    Object(BTreeMap<String, Decl>),
}

/// The key of every CRD map: the apiserver's shared string type, whose
/// `MaxElements` is 0.
pub(super) static MAP_KEY: Decl = Decl {
    kind: Kind::String,
    max_elements: 0,
    min_size: 2,
    derived: None,
};

impl Decl {
    fn simple(kind: Kind, min_size: i64) -> Decl {
        Decl {
            kind,
            max_elements: 0,
            min_size,
            derived: None,
        }
    }
}

/// `SchemaDeclType`: `None` where the apiserver exposes nothing to CEL.
/// `resource_root` is set at the root and on embedded resources, which
/// always have `apiVersion`, `kind` and `metadata.name`/`generateName`.
pub(super) fn decl(schema: &Schema, path: &str, resource_root: bool) -> Option<Decl> {
    let request = MAX_REQUEST_SIZE - 2;
    if schema.int_or_string {
        return Some(match schema.max_length {
            Some(n) => Decl {
                max_elements: n.max(0) * 4,
                ..Decl::simple(Kind::Dyn, 1)
            },
            None => Decl {
                max_elements: request,
                derived: Some((path.to_owned(), "maxLength")),
                ..Decl::simple(Kind::Dyn, 1)
            },
        });
    }
    let with_meta;
    let schema = if resource_root && !has_type_and_object_meta(schema) {
        with_meta = type_and_object_meta(schema);
        &with_meta
    } else {
        schema
    };
    match schema.type_.as_deref()? {
        "array" => {
            let items = schema.items.as_deref()?;
            let item = decl(items, &format!("{path}[*]"), items.embedded_resource)?;
            let (max_elements, derived) = match schema.max_items {
                Some(n) => (n.max(0), None),
                None => (
                    request / (item.min_size + 1),
                    Some((path.to_owned(), "maxItems")),
                ),
            };
            Some(Decl {
                kind: Kind::List(Box::new(item)),
                max_elements,
                min_size: 2,
                derived,
            })
        }
        "object" => {
            if let Some(values) = &schema.additional_properties {
                let value = decl(values, &format!("{path}[*]"), values.embedded_resource)?;
                let (max_elements, derived) = match schema.max_properties {
                    Some(n) => (n.max(0), None),
                    None => (
                        request / (value.min_size + 6),
                        Some((path.to_owned(), "maxProperties")),
                    ),
                };
                return Some(Decl {
                    kind: Kind::Map(Box::new(value)),
                    max_elements,
                    min_size: 2,
                    derived,
                });
            }
            let mut fields = BTreeMap::new();
            let mut min_size = 2;
            for (name, property) in &schema.properties {
                let Some(field) = decl(
                    property,
                    &format!("{path}.{name}"),
                    property.embedded_resource,
                ) else {
                    continue;
                };
                if schema.required.contains(name) && property.default.is_none() {
                    min_size += name.len() as i64 + field.min_size + 4;
                }
                if let Some(escaped) = escape(name) {
                    fields.insert(escaped, field);
                }
            }
            Some(Decl {
                kind: Kind::Object(fields),
                max_elements: 0,
                min_size,
                derived: None,
            })
        }
        "string" => Some(match schema.format.as_deref() {
            Some("byte") => match schema.max_length {
                Some(n) => Decl {
                    max_elements: n.max(0),
                    ..Decl::simple(Kind::Bytes, 2)
                },
                None => Decl {
                    max_elements: request,
                    derived: Some((path.to_owned(), "maxLength")),
                    ..Decl::simple(Kind::Bytes, 2)
                },
            },
            // Durations and timestamps have fixed sizes; maxLength is not
            // consulted.
            Some("duration") => Decl {
                max_elements: 32,
                ..Decl::simple(Kind::Duration, 3)
            },
            Some("date") => Decl {
                max_elements: 12,
                ..Decl::simple(Kind::Timestamp, 12)
            },
            Some("date-time") => Decl {
                max_elements: 32,
                ..Decl::simple(Kind::Timestamp, 21)
            },
            _ => match schema.max_length {
                Some(n) => Decl {
                    max_elements: n.max(0) * 4,
                    ..Decl::simple(Kind::String, 2)
                },
                None if !schema.enum_.is_empty() => Decl {
                    max_elements: schema
                        .enum_
                        .iter()
                        .filter_map(|v| v.as_str())
                        .map(|s| s.len() as i64)
                        .max()
                        .unwrap_or(0),
                    ..Decl::simple(Kind::String, 2)
                },
                None => Decl {
                    max_elements: request,
                    derived: Some((path.to_owned(), "maxLength")),
                    ..Decl::simple(Kind::String, 2)
                },
            },
        }),
        "boolean" => Some(Decl::simple(Kind::Bool, 4)),
        "number" => Some(Decl::simple(Kind::Double, 1)),
        "integer" => Some(Decl::simple(Kind::Int, 1)),
        _ => None,
    }
}

fn has_type_and_object_meta(schema: &Schema) -> bool {
    let is = |s: Option<&Schema>, t: &str| s.is_some_and(|s| s.type_.as_deref() == Some(t));
    let metadata = schema.properties.get("metadata");
    is(schema.properties.get("kind"), "string")
        && is(schema.properties.get("apiVersion"), "string")
        && is(metadata, "object")
        && metadata.is_some_and(|m| {
            is(m.properties.get("name"), "string") && is(m.properties.get("generateName"), "string")
        })
}

/// `WithTypeAndObjectMeta`: the resource's own `kind`, `apiVersion` and
/// `metadata` replaced by plain strings and a metadata of name and
/// generateName.
fn type_and_object_meta(schema: &Schema) -> Schema {
    let mut result = schema.clone();
    result
        .properties
        .insert("kind".into(), Schema::typed("string"));
    result
        .properties
        .insert("apiVersion".into(), Schema::typed("string"));
    let mut metadata = Schema::typed("object");
    for name in ["name", "generateName"] {
        metadata
            .properties
            .insert(name.into(), Schema::typed("string"));
    }
    result.properties.insert("metadata".into(), metadata);
    result
}
