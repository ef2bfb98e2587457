//! Kubernetes rule (observed on kube-apiserver 1.37): a node's `enum` is
//! checked against a null the node keeps (`nullable: true`), and refuses it
//! ("Unsupported value: null"), even when `null` is listed among the
//! values. So a unit-only enum that must keep a null — an `Option` of it as
//! a list item, a map value or a newtype variant's content, where a pruned
//! null would lose the item, the key or the variant — has no structural
//! schema: a problem at its path, with the way out.

use crate::{Problem, Schema};

/// Reports every nullable node that lists `enum` values.
pub fn nullable_enums(schema: &mut Schema, problems: &mut Vec<Problem>) {
    schema.walk_mut("", &mut |path, node| {
        if node.nullable && !node.enum_.is_empty() {
            problems.push(Problem {
                path: path.to_owned(),
                message: "a unit-only enum that may be null here (an `Option` of it as a list \
                          item, a map value or a variant's content): the apiserver checks the \
                          kept null against the enum and refuses it; make it a struct field \
                          `Option<_>` (whose null is pruned, and read back as `None`), or a \
                          struct variant"
                    .into(),
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_nullable_enum_is_a_problem_at_its_path() {
        let color = |nullable| Schema {
            nullable,
            enum_: vec![json!("Red"), json!("Blue")],
            ..Schema::typed("string")
        };
        let mut problems = Vec::new();
        nullable_enums(&mut Schema::map(color(false)), &mut problems);
        assert!(problems.is_empty());
        nullable_enums(&mut Schema::map(color(true)), &mut problems);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("refuses"));
    }
}
