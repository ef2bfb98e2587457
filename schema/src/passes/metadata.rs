//! Kubernetes rule (structural schemas): "if metadata is specified, then only
//! restrictions on metadata.name and metadata.generateName are allowed", at
//! the root and at every `x-kubernetes-embedded-resource`. The apiserver
//! fills in ObjectMeta's schema itself.

use crate::{Problem, Schema};

const KEPT: &[&str] = &["name", "generateName"];

/// Reduces `metadata` at the root and under embedded resources to
/// `type: object` plus restrictions on `name` and `generateName`. Other
/// restrictions a user asked for cannot be honoured, so they are reported.
pub fn metadata_restrictions(schema: &mut Schema, problems: &mut Vec<Problem>) {
    restrict(schema, "", problems);
    schema.walk_mut("", &mut |path, node| {
        if node.embedded_resource && !path.is_empty() {
            restrict(node, path, problems);
        }
    });
}

fn restrict(resource: &mut Schema, path: &str, problems: &mut Vec<Problem>) {
    let Some(metadata) = resource.properties.get_mut("metadata") else {
        return;
    };
    let mut kept = Schema::typed("object");
    for (name, property) in std::mem::take(&mut metadata.properties) {
        if KEPT.contains(&name.as_str()) {
            kept.properties.insert(name, property);
        } else if property.validations.is_empty() && property.is_plain_of_type() {
            // A plain description of an ObjectMeta field: the apiserver knows
            // it better; dropping it loses nothing.
        } else {
            problems.push(Problem {
                path: format!("{path}.metadata.{name}"),
                message: "only metadata.name and metadata.generateName may be restricted".into(),
            });
        }
    }
    if metadata.default.is_some() {
        problems.push(Problem {
            path: format!("{path}.metadata"),
            message: "defaults are not allowed in metadata".into(),
        });
    }
    if !metadata.validations.is_empty() {
        problems.push(Problem {
            path: format!("{path}.metadata"),
            message: "CEL rules on metadata are not allowed; put them on the parent".into(),
        });
    }
    *metadata = kept;
}

impl Schema {
    /// True when this node says nothing beyond its type, format and
    /// description: no validation a user could have meant.
    fn is_plain_of_type(&self) -> bool {
        let plain = Schema {
            type_: self.type_.clone(),
            format: self.format.clone(),
            description: self.description.clone(),
            properties: self.properties.clone(),
            items: self.items.clone(),
            additional_properties: self.additional_properties.clone(),
            ..Schema::default()
        };
        *self == plain
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn root_metadata_keeps_only_name_restrictions() {
        let mut root = Schema::typed("object");
        let mut metadata = Schema {
            description: Some("Standard object metadata.".into()),
            ..Schema::typed("object")
        };
        metadata.properties.insert(
            "name".into(),
            Schema {
                max_length: Some(40),
                ..Schema::typed("string")
            },
        );
        metadata
            .properties
            .insert("labels".into(), Schema::map(Schema::typed("string")));
        root.properties.insert("metadata".into(), metadata);
        let mut problems = Vec::new();
        metadata_restrictions(&mut root, &mut problems);
        assert_eq!(
            root.properties["metadata"].to_json(),
            json!({"type": "object", "properties": {"name": {"type": "string", "maxLength": 40}}})
        );
        assert!(problems.is_empty());
    }

    #[test]
    fn restrictions_on_other_metadata_fields_are_reported() {
        let mut embedded = Schema {
            embedded_resource: true,
            ..Schema::typed("object")
        };
        let mut metadata = Schema::typed("object");
        metadata.properties.insert(
            "namespace".into(),
            Schema {
                min_length: Some(1),
                ..Schema::typed("string")
            },
        );
        embedded.properties.insert("metadata".into(), metadata);
        let mut root = Schema::typed("object");
        root.properties.insert("template".into(), embedded);
        let mut problems = Vec::new();
        metadata_restrictions(&mut root, &mut problems);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, ".template.metadata.namespace");
    }
}
