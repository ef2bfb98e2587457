//! What the apiserver's structural defaulting does to an object before it
//! validates it: every absent property that declares a `default` gets it,
//! at every level. One function, used by the offline check in
//! `crdforge-gen` and by the value generators of `crdforge::testing`, so
//! the two can never disagree on which value the apiserver stores.

use serde_json::Value;

use crate::Schema;

/// Fills absent (or pruned-null) properties that have a default, at every
/// level, as the apiserver's defaulting does. A `null` of a property that is
/// not nullable counts as absent: the apiserver prunes it first.
pub fn apply_defaults(schema: &Schema, value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (name, property) in &schema.properties {
                let absent = match map.get(name) {
                    None => true,
                    Some(Value::Null) => !property.nullable,
                    Some(_) => false,
                };
                if absent && let Some(default) = &property.default {
                    map.insert(name.clone(), default.clone());
                }
                if let Some(child) = map.get_mut(name) {
                    apply_defaults(property, child);
                }
            }
            if let Some(values) = &schema.additional_properties {
                for child in map.values_mut() {
                    apply_defaults(values, child);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = &schema.items {
                for item in items {
                    apply_defaults(item_schema, item);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn absent_and_pruned_null_properties_get_their_default() {
        let mut replicas = Schema::typed("integer");
        replicas.default = Some(json!(1));
        let mut object = Schema::typed("object");
        object.properties.insert("replicas".into(), replicas);
        let mut list = Schema::array(object);
        list.default = None;
        let mut value = json!([{}, {"replicas": null}, {"replicas": 3}]);
        apply_defaults(&list, &mut value);
        assert_eq!(
            value,
            json!([{"replicas": 1}, {"replicas": 1}, {"replicas": 3}])
        );
    }
}
