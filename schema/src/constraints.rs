//! What a user's attributes add to the schema a type describes: validation
//! keywords, Kubernetes extensions and CEL rules. The derive writes one
//! `Constraints` literal per annotated field or type; [`Constraints::apply`]
//! lays it over the type's own schema at run time.

use serde::Serialize;
use serde_json::Value;

use super::{Context, Schema};

/// `x-kubernetes-list-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListType {
    /// The list is replaced as a whole on merge.
    Atomic,
    /// Elements are unique scalars.
    Set,
    /// Elements are objects identified by `list_map_keys`.
    Map,
}

impl ListType {
    /// The spelling Kubernetes uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ListType::Atomic => "atomic",
            ListType::Set => "set",
            ListType::Map => "map",
        }
    }
}

/// `x-kubernetes-map-type`, also used for structs (controller-gen's
/// `structType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapType {
    /// Keys are merged one by one.
    Granular,
    /// The map is replaced as a whole on merge.
    Atomic,
}

impl MapType {
    /// The spelling Kubernetes uses.
    pub fn as_str(self) -> &'static str {
        match self {
            MapType::Granular => "granular",
            MapType::Atomic => "atomic",
        }
    }
}

/// One `x-kubernetes-validations` entry: a CEL rule and how to report it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// The CEL expression; `self` is the value of the annotated field or type.
    pub rule: String,
    /// A fixed message shown when the rule fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A CEL expression that computes the message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_expression: Option<String>,
    /// The machine-readable reason: FieldValueInvalid, FieldValueForbidden,
    /// FieldValueRequired or FieldValueDuplicate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The field path the error is reported at, relative to `self`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_path: Option<String>,
    /// Whether the rule also runs when `oldSelf` is absent (on create, or
    /// when an optional field is newly set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional_old_self: Option<bool>,
}

/// Everything an attribute can lay over a schema. Every field is optional:
/// the empty value changes nothing.
#[derive(Clone, Debug, PartialEq)]
pub struct Constraints {
    /// Replaces the description (from `description = "..."` or doc comments).
    pub description: Option<String>,
    /// `title`.
    pub title: Option<String>,
    /// `format`, overriding the type's own.
    pub format: Option<String>,
    /// `no_format`: drop the type's own `format` (an integer of no stated
    /// width, Go's `int`).
    pub no_format: bool,
    /// `minimum`.
    pub minimum: Option<f64>,
    /// `maximum`.
    pub maximum: Option<f64>,
    /// `exclusiveMinimum`.
    pub exclusive_minimum: bool,
    /// `exclusiveMaximum`.
    pub exclusive_maximum: bool,
    /// `multipleOf`.
    pub multiple_of: Option<f64>,
    /// `minLength`.
    pub min_length: Option<i64>,
    /// `maxLength`.
    pub max_length: Option<i64>,
    /// `pattern`.
    pub pattern: Option<String>,
    /// `enum`.
    pub enum_: Vec<Value>,
    /// `minItems`.
    pub min_items: Option<i64>,
    /// `maxItems`.
    pub max_items: Option<i64>,
    /// `uniqueItems`.
    pub unique_items: bool,
    /// `minProperties`.
    pub min_properties: Option<i64>,
    /// `maxProperties`.
    pub max_properties: Option<i64>,
    /// The same keys, applied to the elements of a list or the values of a
    /// map (controller-gen's `items:` markers).
    pub items: Option<Box<Constraints>>,
    /// `nullable`.
    pub nullable: bool,
    /// `default`.
    pub default: Option<Value>,
    /// `example`.
    pub example: Option<Value>,
    /// Replace the type's schema by "any value" (controller-gen's `schemaless`).
    pub schemaless: bool,
    /// `x-kubernetes-preserve-unknown-fields`.
    pub preserve_unknown_fields: bool,
    /// `x-kubernetes-embedded-resource`.
    pub embedded_resource: bool,
    /// `x-kubernetes-int-or-string`.
    pub int_or_string: bool,
    /// `x-kubernetes-list-type`.
    pub list_type: Option<ListType>,
    /// `x-kubernetes-list-map-keys`.
    pub list_map_keys: Vec<String>,
    /// `x-kubernetes-map-type` on a map.
    pub map_type: Option<MapType>,
    /// `x-kubernetes-map-type` on a struct (controller-gen's `structType`).
    pub struct_type: Option<MapType>,
    /// CEL rules.
    pub validations: Vec<Rule>,
}

impl Rule {
    /// The empty rule, as a constant: the derive's expansion writes
    /// `Rule { rule: .., ..Rule::DEFAULT }`, which costs a user crate less to
    /// compile than a call of `Default::default` per rule.
    pub const DEFAULT: Rule = Rule {
        rule: String::new(),
        message: None,
        message_expression: None,
        reason: None,
        field_path: None,
        optional_old_self: None,
    };
}

impl Default for Rule {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Default for Constraints {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Constraints {
    /// No constraints, as a constant: the derive's expansion writes
    /// `Constraints { min_length: .., ..Constraints::DEFAULT }` with only the
    /// keys a field sets, which costs a user crate less to compile than
    /// every key spelled out or a call of `Default::default` per field.
    pub const DEFAULT: Constraints = Constraints {
        description: None,
        title: None,
        format: None,
        no_format: false,
        minimum: None,
        maximum: None,
        exclusive_minimum: false,
        exclusive_maximum: false,
        multiple_of: None,
        min_length: None,
        max_length: None,
        pattern: None,
        enum_: Vec::new(),
        min_items: None,
        max_items: None,
        unique_items: false,
        min_properties: None,
        max_properties: None,
        items: None,
        nullable: false,
        default: None,
        example: None,
        schemaless: false,
        preserve_unknown_fields: false,
        embedded_resource: false,
        int_or_string: false,
        list_type: None,
        list_map_keys: Vec::new(),
        map_type: None,
        struct_type: None,
        validations: Vec::new(),
    };

    /// Lays these constraints over `schema`. A keyword that cannot apply to
    /// the schema's type (a `maxLength` on an integer) is recorded in `ctx`
    /// with the current path and left out, so the offline check refuses the
    /// CRD instead of the apiserver.
    pub fn apply(&self, schema: &mut Schema, ctx: &mut Context) {
        if self.schemaless {
            // The annotated type's own shape is dropped on purpose.
            *schema = Schema::any();
        }
        if self.int_or_string {
            *schema = Schema::int_or_string();
        }
        let ty = schema.type_name().to_owned();
        let is_int_or_string = schema.int_or_string;
        let numeric = matches!(ty.as_str(), "integer" | "number") || is_int_or_string;
        let string = ty == "string" || is_int_or_string;
        let need = |ok: bool, key: &str, wants: &str, ctx: &mut Context| {
            if !ok {
                let found = if ty.is_empty() {
                    "untyped"
                } else {
                    ty.as_str()
                };
                ctx.problem(format!(
                    "`{key}` applies to {wants}, but this field's schema is of type {found}"
                ));
            }
            ok
        };

        set(&mut schema.description, &self.description);
        set(&mut schema.title, &self.title);
        set(&mut schema.format, &self.format);
        if self.no_format {
            schema.format = None;
        }
        if self.minimum.is_some() && need(numeric, "minimum", "numbers", ctx) {
            schema.minimum = self.minimum;
        }
        if self.maximum.is_some() && need(numeric, "maximum", "numbers", ctx) {
            schema.maximum = self.maximum;
        }
        if self.exclusive_minimum
            && need(numeric, "exclusive_minimum", "numbers", ctx)
            && need(
                schema.minimum.is_some(),
                "exclusive_minimum",
                "a field that also has `minimum`",
                ctx,
            )
        {
            schema.exclusive_minimum = true;
        }
        if self.exclusive_maximum
            && need(numeric, "exclusive_maximum", "numbers", ctx)
            && need(
                schema.maximum.is_some(),
                "exclusive_maximum",
                "a field that also has `maximum`",
                ctx,
            )
        {
            schema.exclusive_maximum = true;
        }
        if self.multiple_of.is_some() && need(numeric, "multiple_of", "numbers", ctx) {
            schema.multiple_of = self.multiple_of;
        }
        if self.min_length.is_some() && need(string, "min_length", "strings", ctx) {
            schema.min_length = self.min_length;
        }
        if self.max_length.is_some() && need(string, "max_length", "strings", ctx) {
            schema.max_length = self.max_length;
        }
        if self.pattern.is_some() && need(string, "pattern", "strings", ctx) {
            set(&mut schema.pattern, &self.pattern);
        }
        if !self.enum_.is_empty() {
            schema.enum_ = self.enum_.clone();
        }
        let array = ty == "array";
        let object = ty == "object";
        if self.min_items.is_some() && need(array, "min_items", "lists", ctx) {
            schema.min_items = self.min_items;
        }
        if self.max_items.is_some() && need(array, "max_items", "lists", ctx) {
            schema.max_items = self.max_items;
        }
        if self.unique_items && need(array, "unique_items", "lists", ctx) {
            schema.unique_items = true;
        }
        if self.min_properties.is_some() && need(object, "min_properties", "maps and structs", ctx)
        {
            schema.min_properties = self.min_properties;
        }
        if self.max_properties.is_some() && need(object, "max_properties", "maps and structs", ctx)
        {
            schema.max_properties = self.max_properties;
        }
        if let Some(items) = &self.items {
            let inner = if let Some(inner) = schema.items.as_deref_mut() {
                Some(inner)
            } else {
                schema.additional_properties.as_deref_mut()
            };
            match inner {
                Some(inner) => items.apply(inner, ctx),
                None => {
                    need(false, "items", "lists and maps", ctx);
                }
            }
        }
        if self.nullable {
            schema.nullable = true;
        }
        set(&mut schema.default, &self.default);
        set(&mut schema.example, &self.example);
        if self.preserve_unknown_fields {
            keeps_what_serde_reads(schema, ctx);
            schema.preserve_unknown_fields = true;
        }
        if self.embedded_resource && need(object, "embedded_resource", "structs and maps", ctx) {
            schema.embedded_resource = true;
        }
        if let Some(list_type) = self.list_type
            && need(array, "list_type", "lists", ctx)
        {
            schema.list_type = Some(list_type.as_str().to_owned());
        }
        if !self.list_map_keys.is_empty() && need(array, "list_map_key", "lists", ctx) {
            schema.list_map_keys = self.list_map_keys.clone();
        }
        let map = object && schema.additional_properties.is_some();
        if let Some(map_type) = self.map_type
            && need(map, "map_type", "maps", ctx)
        {
            schema.map_type = Some(map_type.as_str().to_owned());
        }
        let strukt = object && schema.additional_properties.is_none();
        if let Some(struct_type) = self.struct_type
            && need(strukt, "struct_type", "structs", ctx)
        {
            schema.map_type = Some(struct_type.as_str().to_owned());
        }
        schema.validations.extend(self.validations.iter().cloned());
    }
}

/// Rule: `x-kubernetes-preserve-unknown-fields` makes the apiserver keep
/// the fields a struct's schema does not name, but serde's derive drops them
/// when it reads the object, so a read-modify-write (an update, an apply of
/// the read value) deletes what another client stored. A struct (or struct
/// variant) keeps them only through a flattened catch-all, which already
/// makes its schema keep unknown fields; so the attribute may only be laid
/// over a schema that keeps them already, or that has no named fields to
/// drop others beside (`serde_json::Value`, a map). The derive says so at
/// compile time where the struct's fields are in view; this catches the
/// rest (the attribute on a field or in `items(...)` of a struct type).
fn keeps_what_serde_reads(schema: &Schema, ctx: &mut Context) {
    let typed_struct = schema.type_name() == "object"
        && schema.additional_properties.is_none()
        && !schema.preserve_unknown_fields;
    if typed_struct {
        ctx.problem(
            "`preserve_unknown_fields` on a struct without a catch-all: the apiserver would keep \
             fields the struct does not name, and serde would drop them when the object is read, \
             so writing it back loses them; add a catch-all field to the struct \
             (`#[serde(flatten)] extra: BTreeMap<String, serde_json::Value>`), which keeps them \
             (and needs no attribute), or make the field a `serde_json::Value`",
        );
    }
}

fn set<T: Clone>(target: &mut Option<T>, value: &Option<T>) {
    if let Some(value) = value {
        *target = Some(value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_keywords_apply_to_strings() {
        let mut ctx = Context::new();
        let mut schema = Schema::typed("string");
        Constraints {
            max_length: Some(63),
            pattern: Some("^[a-z]+$".into()),
            ..Constraints::default()
        }
        .apply(&mut schema, &mut ctx);
        assert_eq!(schema.max_length, Some(63));
        assert_eq!(schema.pattern.as_deref(), Some("^[a-z]+$"));
        assert!(ctx.problems().is_empty());
    }

    #[test]
    fn a_keyword_on_the_wrong_type_is_a_problem_with_the_path() {
        let mut ctx = Context::new();
        let schema = ctx.at("replicas", |ctx| {
            let mut schema = Schema::formatted("integer", "int32");
            Constraints {
                max_length: Some(3),
                ..Constraints::default()
            }
            .apply(&mut schema, ctx);
            schema
        });
        assert_eq!(schema.max_length, None);
        let problems = ctx.problems();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, ".replicas");
        assert!(
            problems[0]
                .message
                .contains("`max_length` applies to strings")
        );
    }

    #[test]
    fn item_constraints_reach_list_elements_and_map_values() {
        let mut ctx = Context::new();
        let items = Constraints {
            items: Some(Box::new(Constraints {
                min_length: Some(1),
                ..Constraints::default()
            })),
            ..Constraints::default()
        };
        let mut list = Schema::array(Schema::typed("string"));
        items.apply(&mut list, &mut ctx);
        assert_eq!(list.items.unwrap().min_length, Some(1));
        let mut map = Schema::map(Schema::typed("string"));
        items.apply(&mut map, &mut ctx);
        assert_eq!(map.additional_properties.unwrap().min_length, Some(1));
        assert!(ctx.problems().is_empty());
    }

    #[test]
    fn exclusive_minimum_needs_a_minimum() {
        let mut ctx = Context::new();
        let mut schema = Schema::typed("integer");
        Constraints {
            exclusive_minimum: true,
            ..Constraints::default()
        }
        .apply(&mut schema, &mut ctx);
        assert!(!schema.exclusive_minimum);
        assert_eq!(ctx.problems().len(), 1);
    }
}
