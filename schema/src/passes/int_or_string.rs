//! Kubernetes rule: a value that may be an integer or a string has no single
//! `type`; the apiserver accepts it only as `x-kubernetes-int-or-string: true`.
//! An untagged enum of an integer variant and a string variant is exactly
//! that, so its `anyOf` becomes the extension.
//!
//! The extension says nothing of the integer's width, and the apiserver
//! stores any int64 under it; a Rust `i32` variant (or k8s-openapi's
//! `IntOrString`) could not read 2147483648 back. So the integer branch's
//! range moves onto the node as `minimum`/`maximum`, which the apiserver
//! applies to numbers only (a string passes them).

use crate::{Problem, Schema};

/// The range of an `int32` integer, for int-or-string nodes that hold an
/// `i32` (k8s-openapi's `IntOrString` among them).
pub const INT32_RANGE: (f64, f64) = (i32::MIN as f64, i32::MAX as f64);

/// Rewrites `anyOf`/`oneOf` of one integer and one string branch into
/// `x-kubernetes-int-or-string`, keeping the integer's range on the node.
pub fn int_or_string(schema: &mut Schema, _problems: &mut Vec<Problem>) {
    schema.walk_mut("", &mut |_, node| {
        for junction in [&mut node.any_of, &mut node.one_of] {
            if junction.len() != 2 {
                continue;
            }
            let mut types: Vec<&str> = junction.iter().map(Schema::type_name).collect();
            types.sort_unstable();
            if types == ["integer", "string"] {
                let integer = junction
                    .iter()
                    .find(|b| b.type_name() == "integer")
                    .cloned()
                    .unwrap_or_default();
                junction.clear();
                node.int_or_string = true;
                let (lo, hi) = match integer.format.as_deref() {
                    Some("int32") => (Some(INT32_RANGE.0), Some(INT32_RANGE.1)),
                    _ => (None, None),
                };
                if node.minimum.is_none() {
                    node.minimum = integer.minimum.or(lo);
                    node.exclusive_minimum = integer.exclusive_minimum;
                }
                if node.maximum.is_none() {
                    node.maximum = integer.maximum.or(hi);
                    node.exclusive_maximum = integer.exclusive_maximum;
                }
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
            json!({
                "description": "A port number or name.",
                "minimum": -2147483648.0,
                "maximum": 2147483647.0,
                "x-kubernetes-int-or-string": true,
            })
        );
    }

    #[test]
    fn the_integer_branchs_own_range_is_kept() {
        let mut before = Schema {
            any_of: vec![
                Schema {
                    minimum: Some(0.0),
                    maximum: Some(65535.0),
                    ..Schema::formatted("integer", "int32")
                },
                Schema::typed("string"),
            ],
            ..Schema::default()
        };
        int_or_string(&mut before, &mut Vec::new());
        assert_eq!((before.minimum, before.maximum), (Some(0.0), Some(65535.0)));
        // An int64 needs no bound: the apiserver holds no more.
        let mut wide = Schema {
            any_of: vec![
                Schema::formatted("integer", "int64"),
                Schema::typed("string"),
            ],
            ..Schema::default()
        };
        int_or_string(&mut wide, &mut Vec::new());
        assert_eq!((wide.minimum, wide.maximum), (None, None));
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
