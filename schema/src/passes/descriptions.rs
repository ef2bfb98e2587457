//! Not a Kubernetes rule but a size one: a CRD is stored in etcd and in every
//! client's discovery cache, and large API surfaces exceed the 1.5 MiB
//! request limit or `kubectl apply`'s 256 KiB annotation. controller-gen's
//! `maxDescLen` answers this by cutting descriptions; so does this pass.

use crate::Schema;

/// Cuts every description longer than `max` characters (at a character
/// boundary, marked with "..."); `max == Some(0)` removes them all.
pub fn truncate_descriptions(schema: &mut Schema, max: Option<usize>) {
    let Some(max) = max else { return };
    schema.walk_mut("", &mut |_, node| {
        if max == 0 {
            node.description = None;
        } else if let Some(text) = &mut node.description
            && text.chars().count() > max
        {
            let cut: String = text.chars().take(max.saturating_sub(3)).collect();
            *text = format!("{}...", cut.trim_end());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_descriptions_are_cut_and_short_ones_kept() {
        let mut schema = Schema {
            description: Some("Ünïcödé is counted in characters".into()),
            ..Schema::typed("object")
        };
        schema.properties.insert(
            "a".into(),
            Schema {
                description: Some("short".into()),
                ..Schema::typed("string")
            },
        );
        truncate_descriptions(&mut schema, Some(10));
        assert_eq!(schema.description.as_deref(), Some("Ünïcödé..."));
        assert_eq!(schema.properties["a"].description.as_deref(), Some("short"));
        truncate_descriptions(&mut schema, Some(0));
        assert_eq!(schema.description, None);
    }
}
