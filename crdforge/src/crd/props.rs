//! Conversion between our schema and k8s-openapi's `JSONSchemaProps`, both
//! ways.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as api;

use serde_json::Value;

use crate::schema::{Rule, Schema};

/// Our schema as k8s-openapi's.
pub fn to_props(s: &Schema) -> api::JSONSchemaProps {
    let list = |l: &[Schema]| (!l.is_empty()).then(|| l.iter().map(to_props).collect());
    let json = |v: &Option<Value>| v.clone().map(api::JSON);
    let flag = |b: bool| b.then_some(true);
    api::JSONSchemaProps {
        type_: s.type_.clone(),
        format: s.format.clone(),
        title: s.title.clone(),
        description: s.description.clone(),
        nullable: flag(s.nullable),
        default: json(&s.default),
        example: json(&s.example),
        enum_: (!s.enum_.is_empty()).then(|| s.enum_.iter().cloned().map(api::JSON).collect()),
        minimum: s.minimum,
        maximum: s.maximum,
        exclusive_minimum: flag(s.exclusive_minimum),
        exclusive_maximum: flag(s.exclusive_maximum),
        multiple_of: s.multiple_of,
        min_length: s.min_length,
        max_length: s.max_length,
        pattern: s.pattern.clone(),
        min_items: s.min_items,
        max_items: s.max_items,
        unique_items: flag(s.unique_items),
        min_properties: s.min_properties,
        max_properties: s.max_properties,
        properties: (!s.properties.is_empty()).then(|| {
            s.properties
                .iter()
                .map(|(k, v)| (k.clone(), to_props(v)))
                .collect()
        }),
        required: (!s.required.is_empty()).then(|| s.required.clone()),
        additional_properties: s
            .additional_properties
            .as_deref()
            .map(|v| api::JSONSchemaPropsOrBool::Schema(Box::new(to_props(v)))),
        items: s
            .items
            .as_deref()
            .map(|v| api::JSONSchemaPropsOrArray::Schema(Box::new(to_props(v)))),
        all_of: list(&s.all_of),
        any_of: list(&s.any_of),
        one_of: list(&s.one_of),
        not: s.not.as_deref().map(|n| Box::new(to_props(n))),
        x_kubernetes_preserve_unknown_fields: flag(s.preserve_unknown_fields),
        x_kubernetes_embedded_resource: flag(s.embedded_resource),
        x_kubernetes_int_or_string: flag(s.int_or_string),
        x_kubernetes_list_type: s.list_type.clone(),
        x_kubernetes_list_map_keys: (!s.list_map_keys.is_empty()).then(|| s.list_map_keys.clone()),
        x_kubernetes_map_type: s.map_type.clone(),
        x_kubernetes_validations: (!s.validations.is_empty()).then(|| {
            s.validations
                .iter()
                .map(|r| api::ValidationRule {
                    rule: r.rule.clone(),
                    message: r.message.clone(),
                    message_expression: r.message_expression.clone(),
                    reason: r.reason.clone(),
                    field_path: r.field_path.clone(),
                    optional_old_self: r.optional_old_self,
                })
                .collect()
        }),
        ..api::JSONSchemaProps::default()
    }
}

/// k8s-openapi's schema as ours, so the offline check can judge a CRD
/// from anywhere (kube-derive's, a YAML file's). Array-form `items` (tuple
/// validation, never structural) and boolean `additionalProperties` are
/// dropped, which the check then reports as missing.
pub fn from_props(p: &api::JSONSchemaProps) -> Schema {
    let list = |l: &Option<Vec<api::JSONSchemaProps>>| {
        l.as_deref()
            .unwrap_or_default()
            .iter()
            .map(from_props)
            .collect()
    };
    let flag = |b: Option<bool>| b.unwrap_or(false);
    Schema {
        type_: p.type_.clone(),
        format: p.format.clone(),
        title: p.title.clone(),
        description: p.description.clone(),
        nullable: flag(p.nullable),
        default: p.default.as_ref().map(|j| j.0.clone()),
        example: p.example.as_ref().map(|j| j.0.clone()),
        enum_: p
            .enum_
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|j| j.0.clone())
            .collect(),
        minimum: p.minimum,
        maximum: p.maximum,
        exclusive_minimum: flag(p.exclusive_minimum),
        exclusive_maximum: flag(p.exclusive_maximum),
        multiple_of: p.multiple_of,
        min_length: p.min_length,
        max_length: p.max_length,
        pattern: p.pattern.clone(),
        min_items: p.min_items,
        max_items: p.max_items,
        unique_items: flag(p.unique_items),
        min_properties: p.min_properties,
        max_properties: p.max_properties,
        properties: p
            .properties
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), from_props(v)))
            .collect(),
        required: p.required.clone().unwrap_or_default(),
        additional_properties: match &p.additional_properties {
            Some(api::JSONSchemaPropsOrBool::Schema(s)) => Some(Box::new(from_props(s))),
            _ => None,
        },
        items: match &p.items {
            Some(api::JSONSchemaPropsOrArray::Schema(s)) => Some(Box::new(from_props(s))),
            _ => None,
        },
        all_of: list(&p.all_of),
        any_of: list(&p.any_of),
        one_of: list(&p.one_of),
        not: p.not.as_deref().map(|n| Box::new(from_props(n))),
        preserve_unknown_fields: flag(p.x_kubernetes_preserve_unknown_fields),
        embedded_resource: flag(p.x_kubernetes_embedded_resource),
        int_or_string: flag(p.x_kubernetes_int_or_string),
        list_type: p.x_kubernetes_list_type.clone(),
        list_map_keys: p.x_kubernetes_list_map_keys.clone().unwrap_or_default(),
        map_type: p.x_kubernetes_map_type.clone(),
        validations: p
            .x_kubernetes_validations
            .iter()
            .flatten()
            .map(|r| Rule {
                rule: r.rule.clone(),
                message: r.message.clone(),
                message_expression: r.message_expression.clone(),
                reason: r.reason.clone(),
                field_path: r.field_path.clone(),
                optional_old_self: r.optional_old_self,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::root_schema;

    #[test]
    fn props_round_trip_through_our_schema() {
        let mut schema = root_schema(
            Schema {
                properties: [("a".to_owned(), Schema::array(Schema::int_or_string()))].into(),
                ..Schema::typed("object")
            },
            None,
            None,
            vec![Rule {
                rule: "true".into(),
                ..Rule::default()
            }],
        );
        schema.required.push("spec".into());
        schema.required.dedup();
        assert_eq!(from_props(&to_props(&schema)), schema);
    }
}
