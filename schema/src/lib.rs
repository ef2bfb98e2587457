#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod parts;
pub mod passes;

mod build;
mod constraints;
mod context;
mod defaults;
mod json;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

pub use build::{FieldDesc, Payload, Tagging, VariantDesc, enum_schema, struct_schema};
pub use constraints::{Constraints, ListType, MapType, Rule};
pub use context::{Context, Problem};
pub use defaults::apply_defaults;
pub use json::from_json;

/// One node of an OpenAPI v3 schema, as a CRD's `openAPIV3Schema` holds it.
///
/// Field names serialize as the apiserver spells them, so a serialized
/// `Schema` reads like the YAML the user will see.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    /// `type`: object, array, string, integer, number or boolean.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// `format`, e.g. int32, int64, date-time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// `title`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `description`, from doc comments or an explicit attribute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `nullable`: the value may be JSON `null`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub nullable: bool,
    /// `default`, applied by the apiserver when the field is absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// `example`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example: Option<Value>,
    /// `enum`: the allowed values.
    #[serde(rename = "enum", skip_serializing_if = "Vec::is_empty")]
    pub enum_: Vec<Value>,
    /// `minimum`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    /// `maximum`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    /// `exclusiveMinimum` (OpenAPI v3.0: a flag on `minimum`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub exclusive_minimum: bool,
    /// `exclusiveMaximum` (OpenAPI v3.0: a flag on `maximum`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub exclusive_maximum: bool,
    /// `multipleOf`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multiple_of: Option<f64>,
    /// `minLength`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<i64>,
    /// `maxLength`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<i64>,
    /// `pattern`, an RE2 regular expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// `minItems`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_items: Option<i64>,
    /// `maxItems`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_items: Option<i64>,
    /// `uniqueItems`. The apiserver forbids `true` in structural schemas;
    /// the offline check reports it and `listType: set` is the replacement.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unique_items: bool,
    /// `minProperties`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_properties: Option<i64>,
    /// `maxProperties`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_properties: Option<i64>,
    /// `properties` of an object, sorted by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, Schema>,
    /// `required` property names, in declaration order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    /// `additionalProperties`: the schema of every value of a map.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_properties: Option<Box<Schema>>,
    /// `items`: the schema of every element of an array.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Box<Schema>>,
    /// `allOf`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub all_of: Vec<Schema>,
    /// `anyOf`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub any_of: Vec<Schema>,
    /// `oneOf`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub one_of: Vec<Schema>,
    /// `not`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<Schema>>,
    /// `x-kubernetes-preserve-unknown-fields`.
    #[serde(
        rename = "x-kubernetes-preserve-unknown-fields",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub preserve_unknown_fields: bool,
    /// `x-kubernetes-embedded-resource`.
    #[serde(
        rename = "x-kubernetes-embedded-resource",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub embedded_resource: bool,
    /// `x-kubernetes-int-or-string`.
    #[serde(
        rename = "x-kubernetes-int-or-string",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub int_or_string: bool,
    /// `x-kubernetes-list-type`: atomic, set or map.
    #[serde(
        rename = "x-kubernetes-list-type",
        skip_serializing_if = "Option::is_none"
    )]
    pub list_type: Option<String>,
    /// `x-kubernetes-list-map-keys`.
    #[serde(
        rename = "x-kubernetes-list-map-keys",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub list_map_keys: Vec<String>,
    /// `x-kubernetes-map-type`: granular or atomic.
    #[serde(
        rename = "x-kubernetes-map-type",
        skip_serializing_if = "Option::is_none"
    )]
    pub map_type: Option<String>,
    /// `x-kubernetes-validations`: CEL rules.
    #[serde(
        rename = "x-kubernetes-validations",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub validations: Vec<Rule>,
}

impl Schema {
    /// A schema of the given `type` and nothing else.
    pub fn typed(type_: &str) -> Self {
        Schema {
            type_: Some(type_.to_owned()),
            ..Schema::default()
        }
    }

    /// A schema of the given `type` and `format`.
    pub fn formatted(type_: &str, format: &str) -> Self {
        Schema {
            format: Some(format.to_owned()),
            ..Schema::typed(type_)
        }
    }

    /// An array whose elements all follow `items`.
    pub fn array(items: Schema) -> Self {
        Schema {
            items: Some(Box::new(items)),
            ..Schema::typed("array")
        }
    }

    /// A map with string keys whose values all follow `values`.
    pub fn map(values: Schema) -> Self {
        Schema {
            additional_properties: Some(Box::new(values)),
            ..Schema::typed("object")
        }
    }

    /// Any JSON value, kept as sent (`serde_json::Value`, `RawExtension`).
    pub fn any() -> Self {
        Schema {
            preserve_unknown_fields: true,
            ..Schema::default()
        }
    }

    /// An object of any shape, kept as sent.
    pub fn any_object() -> Self {
        Schema {
            preserve_unknown_fields: true,
            ..Schema::typed("object")
        }
    }

    /// An integer or a string (`IntOrString`).
    pub fn int_or_string() -> Self {
        Schema {
            int_or_string: true,
            ..Schema::default()
        }
    }

    /// The `type`, or "" when none is set.
    pub fn type_name(&self) -> &str {
        self.type_.as_deref().unwrap_or("")
    }

    /// Calls `f` on this node and every node below it, depth first, with the
    /// path of each node in the notation the apiserver uses in its errors
    /// (`.spec.items[*].name`, `.metadata`, ...).
    pub fn walk<'a>(&'a self, path: &str, f: &mut dyn FnMut(&str, &'a Schema)) {
        f(path, self);
        for (name, child) in &self.properties {
            child.walk(&format!("{path}.{name}"), f);
        }
        if let Some(items) = &self.items {
            items.walk(&format!("{path}[*]"), f);
        }
        if let Some(values) = &self.additional_properties {
            values.walk(&format!("{path}[*]"), f);
        }
        for (keyword, list) in [
            ("allOf", &self.all_of),
            ("anyOf", &self.any_of),
            ("oneOf", &self.one_of),
        ] {
            for (i, branch) in list.iter().enumerate() {
                branch.walk(&format!("{path}.{keyword}[{i}]"), f);
            }
        }
        if let Some(not) = &self.not {
            not.walk(&format!("{path}.not"), f);
        }
    }

    /// Like [`Schema::walk`], but may change each node. Children are visited
    /// after their parent, so a rewrite of a parent is seen by its children.
    pub fn walk_mut(&mut self, path: &str, f: &mut dyn FnMut(&str, &mut Schema)) {
        f(path, self);
        for (name, child) in &mut self.properties {
            child.walk_mut(&format!("{path}.{name}"), f);
        }
        if let Some(items) = &mut self.items {
            items.walk_mut(&format!("{path}[*]"), f);
        }
        if let Some(values) = &mut self.additional_properties {
            values.walk_mut(&format!("{path}[*]"), f);
        }
        for (keyword, list) in [
            ("allOf", &mut self.all_of),
            ("anyOf", &mut self.any_of),
            ("oneOf", &mut self.one_of),
        ] {
            for (i, branch) in list.iter_mut().enumerate() {
                branch.walk_mut(&format!("{path}.{keyword}[{i}]"), f);
            }
        }
        if let Some(not) = &mut self.not {
            not.walk_mut(&format!("{path}.not"), f);
        }
    }

    /// This schema as JSON, for tests and snapshots.
    pub fn to_json(&self) -> Value {
        // Serializing a tree of strings, numbers and maps with string keys
        // cannot fail; the fallback only keeps this function total.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
