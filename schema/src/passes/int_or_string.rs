//! Kubernetes rule: a value that may be an integer or a string has no single
//! `type`; the apiserver accepts it only as `x-kubernetes-int-or-string: true`.
//! An untagged enum of an integer variant and a string variant is exactly
//! that, so its `anyOf` becomes the extension.

use crate::{Problem, Schema};

/// Rewrites `anyOf`/`oneOf` of one integer and one string branch into
/// `x-kubernetes-int-or-string`.
pub fn int_or_string(schema: &mut Schema, _problems: &mut Vec<Problem>) {
    schema.walk_mut("", &mut |_, node| {
        for junction in [&mut node.any_of, &mut node.one_of] {
            if junction.len() != 2 {
                continue;
            }
            let mut types: Vec<&str> = junction.iter().map(Schema::type_name).collect();
            types.sort_unstable();
            if types == ["integer", "string"] {
                junction.clear();
                node.int_or_string = true;
            }
        }
    });
}

/// Kubernetes rule: beside `x-kubernetes-int-or-string`, the one junction
/// that may name types is `anyOf: [{type: integer}, {type: string}]`, and
/// controller-gen always writes it, so OpenAPI clients that ignore the
/// extension still see both types. Runs after hoisting, which must not
/// treat it as an enum.
pub fn int_or_string_any_of(schema: &mut Schema, _problems: &mut Vec<Problem>) {
    schema.walk_mut("", &mut |_, node| {
        if node.int_or_string && node.any_of.is_empty() {
            node.any_of = vec![Schema::typed("integer"), Schema::typed("string")];
        }
    });
}

/// Whether `branches` is the `anyOf` that [`int_or_string_any_of`] writes.
pub fn is_int_or_string_any_of(branches: &[Schema]) -> bool {
    branches == [Schema::typed("integer"), Schema::typed("string")]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn integer_or_string_any_of_becomes_the_extension() {
        let mut before = Schema {
            description: Some("A port number or name.".into()),
            any_of: vec![
                Schema::formatted("integer", "int32"),
                Schema::typed("string"),
            ],
            ..Schema::default()
        };
        int_or_string(&mut before, &mut Vec::new());
        assert_eq!(
            before.to_json(),
            json!({"description": "A port number or name.", "x-kubernetes-int-or-string": true})
        );
    }

    #[test]
    fn the_extension_gets_controller_gens_any_of() {
        let mut before = Schema {
            pattern: Some("^[0-9]+$".into()),
            ..Schema::int_or_string()
        };
        int_or_string_any_of(&mut before, &mut Vec::new());
        assert_eq!(
            before.to_json(),
            json!({
                "pattern": "^[0-9]+$",
                "anyOf": [{"type": "integer"}, {"type": "string"}],
                "x-kubernetes-int-or-string": true,
            })
        );
        assert!(is_int_or_string_any_of(&before.any_of));
    }

    #[test]
    fn other_pairs_are_left_to_hoisting() {
        let mut before = Schema {
            any_of: vec![Schema::typed("boolean"), Schema::typed("string")],
            ..Schema::default()
        };
        let after = before.clone();
        int_or_string(&mut before, &mut Vec::new());
        assert_eq!(before, after);
    }
}
