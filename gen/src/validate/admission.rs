//! The offline check of a ValidatingAdmissionPolicy's CEL: each expression
//! is parsed and typed against the variables the apiserver declares for
//! policies (`request`, `object`, `oldObject`, `namespaceObject`), so a
//! generated fence that the apiserver would refuse — or type-check into a
//! policy that denies everything — fails at `gen`.
//!
//! Objects are modelled by their `apiVersion`, `kind` and `metadata` only:
//! the fences crdforge generates read nothing else, and a field outside the
//! model is refused rather than silently typed as unknown, which keeps a
//! typo in a generated expression from reaching a cluster.

use std::collections::BTreeMap;

use crdforge::schema::Schema;

use super::cel;

fn string() -> Schema {
    Schema {
        type_: Some("string".into()),
        ..Schema::default()
    }
}

fn boolean() -> Schema {
    Schema {
        type_: Some("boolean".into()),
        ..Schema::default()
    }
}

fn object(properties: &[(&str, Schema)]) -> Schema {
    Schema {
        type_: Some("object".into()),
        properties: properties
            .iter()
            .map(|(name, schema)| (name.to_string(), schema.clone()))
            .collect::<BTreeMap<_, _>>(),
        ..Schema::default()
    }
}

fn string_map() -> Schema {
    Schema {
        type_: Some("object".into()),
        additional_properties: Some(Box::new(string())),
        ..Schema::default()
    }
}

fn list_of(items: Schema) -> Schema {
    Schema {
        type_: Some("array".into()),
        items: Some(Box::new(items)),
        ..Schema::default()
    }
}

/// Any Kubernetes object, as far as a fence reads it.
fn kubernetes_object() -> Schema {
    let owner_reference = object(&[
        ("apiVersion", string()),
        ("kind", string()),
        ("name", string()),
        ("uid", string()),
        ("controller", boolean()),
        ("blockOwnerDeletion", boolean()),
    ]);
    let metadata = object(&[
        ("name", string()),
        ("generateName", string()),
        ("namespace", string()),
        ("uid", string()),
        ("labels", string_map()),
        ("annotations", string_map()),
        ("ownerReferences", list_of(owner_reference)),
        ("finalizers", list_of(string())),
        ("deletionTimestamp", string()),
    ]);
    object(&[
        ("apiVersion", string()),
        ("kind", string()),
        ("metadata", metadata),
    ])
}

/// `request`: admission.k8s.io's AdmissionRequest, the fields policies use.
fn request() -> Schema {
    let gvr = |last: &str| object(&[("group", string()), ("version", string()), (last, string())]);
    object(&[
        ("uid", string()),
        ("kind", gvr("kind")),
        ("resource", gvr("resource")),
        ("subResource", string()),
        ("name", string()),
        ("namespace", string()),
        ("operation", string()),
        (
            "userInfo",
            object(&[
                ("username", string()),
                ("uid", string()),
                ("groups", list_of(string())),
            ]),
        ),
        ("dryRun", boolean()),
    ])
}

/// Every problem with one policy expression that must evaluate to `want`
/// (`bool` for validations and match conditions, `string` for message
/// expressions).
pub fn admission_expression(source: &str, want: &str) -> Vec<String> {
    let (request, object) = (request(), kubernetes_object());
    cel::check_policy_expression(
        source,
        want,
        &[
            ("request", &request),
            ("object", &object),
            ("oldObject", &object),
            ("namespaceObject", &object),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_variables_are_typed() {
        for ok in [
            "request.userInfo.username == 'system:serviceaccount:a:b'",
            "namespaceObject != null && has(namespaceObject.metadata.labels) && 'k' in namespaceObject.metadata.labels && namespaceObject.metadata.labels['k'] == 'v'",
            "request.operation != 'CREATE' || oldObject.metadata.name == object.metadata.name",
        ] {
            assert_eq!(
                admission_expression(ok, "bool"),
                Vec::<String>::new(),
                "{ok}"
            );
        }
        let refused = [
            (
                "self.metadata.name == 'x'",
                "undeclared reference to `self`",
            ),
            (
                "request.userinfo.username == 'x'",
                "undefined field `userinfo`",
            ),
            (
                "object.metadata.lables['k'] == 'v'",
                "undefined field `lables`",
            ),
            ("request.namespace", "must evaluate to a bool, not string"),
            ("request.namespace == ", "does not compile"),
            ("params.x == 1", "undeclared reference to `params`"),
        ];
        for (source, why) in refused {
            let problems = admission_expression(source, "bool");
            assert!(
                problems.iter().any(|p| p.contains(why)),
                "{source}: {problems:?}"
            );
        }
    }
}
