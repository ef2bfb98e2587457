//! The fence: a ValidatingAdmissionPolicy and its binding that confine a
//! controller's writes to the namespaces it manages — what RBAC cannot say.
//!
//! RBAC grants a verb on a resource in every namespace or in one named
//! namespace; a controller that makes namespaces for others needs the first,
//! and with it could bind `admin` in `kube-system`. The policy narrows that,
//! for the controller's ServiceAccount only, to what its declaration marks
//! [`Uses::in_managed_namespaces`]:
//!
//! - a namespaced resource may be created, changed or deleted only in a
//!   namespace that carries the managed label;
//! - a Namespace may be created only with the label, and changed or deleted
//!   only when it has the label — and a change must keep it, so the
//!   controller cannot release a namespace into which it wrote bindings.
//!
//! The policy matches on the ServiceAccount's username, so the garbage
//! collector, the namespace controller and people are never affected, and
//! it covers the resources' subresources too. Every expression is checked
//! offline by [`crate::validate::admission_expression`] before a file is
//! written.

use serde_json::{Value, json};

use crate::access::Uses;
use crate::rbac::ControllerManifest;
use crate::validate::admission_expression;

/// "Namespaces I manage are labelled `key=value`."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedLabel {
    /// Label key.
    pub key: &'static str,
    /// Label value.
    pub value: &'static str,
}

/// Name of the policy and of its binding.
pub fn policy_name(m: &ControllerManifest) -> String {
    format!("{}-fence", m.name)
}

/// The ServiceAccount's username, as `request.userInfo.username` has it.
pub fn username(m: &ControllerManifest) -> String {
    format!("system:serviceaccount:{}:{}", m.namespace, m.name)
}

/// One validation of the policy.
struct Validation {
    expression: String,
    message: String,
}

/// `v` carries the managed label.
fn labelled(v: &str, label: &ManagedLabel) -> String {
    format!(
        "has({v}.metadata.labels) && '{key}' in {v}.metadata.labels && {v}.metadata.labels['{key}'] == '{value}'",
        key = label.key,
        value = label.value
    )
}

/// `request` is for the core group's Namespaces (or one of their
/// subresources).
const IS_NAMESPACE: &str =
    "request.resource.group == '' && request.resource.resource == 'namespaces'";

fn validations(m: &ControllerManifest, label: &ManagedLabel) -> Vec<Validation> {
    let shown = format!("{}={}", label.key, label.value);
    let mut out = Vec::new();
    let fenced = fenced(m);
    if fenced.iter().any(|u| !u.is_namespaces()) {
        out.push(Validation {
            expression: format!(
                "({IS_NAMESPACE}) || (namespaceObject != null && {})",
                labelled("namespaceObject", label)
            ),
            message: format!(
                "{} may write this resource only in namespaces labelled {shown}",
                m.name
            ),
        });
    }
    if fenced.iter().any(|u| u.is_namespaces()) {
        out.push(Validation {
            expression: format!(
                "!({IS_NAMESPACE}) || request.operation != 'CREATE' || ({})",
                labelled("object", label)
            ),
            message: format!("{} may create only namespaces labelled {shown}", m.name),
        });
        out.push(Validation {
            expression: format!(
                "!({IS_NAMESPACE}) || request.operation == 'CREATE' || ({})",
                labelled("oldObject", label)
            ),
            message: format!(
                "{} may change or delete only namespaces labelled {shown}",
                m.name
            ),
        });
        out.push(Validation {
            expression: format!(
                "!({IS_NAMESPACE}) || request.operation != 'UPDATE' || ({})",
                labelled("object", label)
            ),
            message: format!(
                "{} may not remove the label {shown} from a namespace it manages",
                m.name
            ),
        });
    }
    out
}

fn fenced(m: &ControllerManifest) -> Vec<&Uses> {
    m.uses.iter().filter(|u| u.managed).collect()
}

fn match_condition(m: &ControllerManifest) -> String {
    format!("request.userInfo.username == '{}'", username(m))
}

/// Why the manifest cannot have a fence: fenced uses without a label, a
/// label that is not one, or an expression the apiserver would refuse.
pub fn check(m: &ControllerManifest) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(label) = &m.managed_namespaces else {
        if let Some(u) = fenced(m).first() {
            problems.push(format!(
                "{}: `{}` is fenced to managed namespaces, but `managed_namespaces` names no label",
                m.name, u.resource
            ));
        }
        return problems;
    };
    // Label keys and values never hold a quote, so they can sit inside CEL
    // string literals as they are; anything else is refused, not escaped.
    let label_chars = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
    };
    if label.key.is_empty() || !label_chars(label.key) || label.key.len() > 316 {
        problems.push(format!(
            "{}: managed_namespaces.key `{}` is not a label key",
            m.name, label.key
        ));
    }
    if label.value.is_empty()
        || !label_chars(label.value)
        || label.value.contains('/')
        || label.value.len() > 63
    {
        problems.push(format!(
            "{}: managed_namespaces.value `{}` is not a (non-empty) label value",
            m.name, label.value
        ));
    }
    if fenced(m).is_empty() {
        problems.push(format!(
            "{}: managed_namespaces is set, but no use is fenced with in_managed_namespaces()",
            m.name
        ));
    }
    if !problems.is_empty() {
        return problems;
    }
    let mut expressions = vec![match_condition(m)];
    expressions.extend(validations(m, label).into_iter().map(|v| v.expression));
    for expression in expressions {
        problems.extend(
            admission_expression(&expression, "bool")
                .into_iter()
                .map(|p| format!("{} fence: {p}", m.name)),
        );
    }
    problems
}

/// The policy and its binding, or nothing when the controller manages no
/// namespaces. Call [`check`] first.
pub fn fence_objects(m: &ControllerManifest) -> Vec<Value> {
    let Some(label) = &m.managed_namespaces else {
        return Vec::new();
    };
    let name = policy_name(m);
    let labels = json!({"app.kubernetes.io/name": m.name});
    let resource_rules: Vec<Value> = fenced(m)
        .iter()
        .map(|u| {
            json!({
                "apiGroups": [u.group],
                "apiVersions": ["*"],
                "resources": [u.resource, format!("{}/*", u.resource)],
                "operations": ["CREATE", "UPDATE", "DELETE"],
            })
        })
        .collect();
    let validations: Vec<Value> = validations(m, label)
        .into_iter()
        .map(|v| json!({"expression": v.expression, "message": v.message, "reason": "Forbidden"}))
        .collect();
    vec![
        json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                // A policy that cannot be evaluated denies: a fence that
                // fails open is no fence.
                "failurePolicy": "Fail",
                "matchConstraints": {"resourceRules": resource_rules},
                "matchConditions": [{"name": "is-the-controller", "expression": match_condition(m)}],
                "validations": validations,
            },
        }),
        json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name, "labels": labels},
            "spec": {"policyName": name, "validationActions": ["Deny"]},
        }),
    ]
}
