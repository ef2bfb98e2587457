//! Webhook manifests: the Service, `ValidatingWebhookConfiguration` and
//! `MutatingWebhookConfiguration` of a [`Webhooks`] declaration, as one
//! YAML file, after the checks the apiserver would make of them.

use crdforge::webhook::{Target, Webhooks};

use crate::generate::{GeneratedFile, join, yaml_header};

/// Every reason the apiserver would refuse the configurations, each naming
/// the webhook at fault.
pub fn check(webhooks: &Webhooks) -> Vec<String> {
    let mut problems = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for hook in &webhooks.admission {
        let at = |message: String| format!("webhook {}: {message}", hook.name);
        // The apiserver: "should be a domain with at least three segments".
        if hook.name.split('.').filter(|s| !s.is_empty()).count() < 3 {
            problems.push(at(
                "the name must be a domain of at least three segments".into()
            ));
        }
        if !names.insert((hook.kind as u8, hook.name.clone())) {
            problems.push(at("declared twice".into()));
        }
        if !(1..=30).contains(&hook.timeout_seconds) {
            problems.push(at(format!(
                "timeoutSeconds {} is outside 1..=30",
                hook.timeout_seconds
            )));
        }
        if !hook.path.starts_with('/') {
            problems.push(at(format!("path `{}` must start with `/`", hook.path)));
        }
        for operation in &hook.operations {
            if !["CREATE", "UPDATE", "DELETE", "CONNECT", "*"].contains(&operation.as_str()) {
                problems.push(at(format!(
                    "operation `{operation}` is not CREATE, UPDATE, DELETE, CONNECT or *"
                )));
            }
        }
        let mut conditions = std::collections::BTreeSet::new();
        for (name, _) in &hook.match_conditions {
            if !conditions.insert(name) {
                problems.push(at(format!("match condition `{name}` is declared twice")));
            }
        }
        if hook.match_conditions.len() > 64 {
            problems.push(at("at most 64 match conditions".into()));
        }
    }
    if let Target::Url(url) = &webhooks.client.target
        && !url.starts_with("https://")
    {
        problems.push(format!("url `{url}` must use https"));
    }
    problems
}

/// `<dir>/webhooks.yaml`, headed as written by `command`: the Service (for
/// a Service target) and the configurations, or every problem [`check`]
/// found.
pub fn webhook_files(
    dir: &str,
    command: &str,
    webhooks: &Webhooks,
) -> Result<Vec<GeneratedFile>, String> {
    let problems = check(webhooks);
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    let manifests = webhooks.manifests();
    let mut objects = Vec::new();
    let mut push = |value: Result<serde_json::Value, serde_json::Error>| {
        value.map(|v| objects.push(v)).map_err(|e| e.to_string())
    };
    if let Some(service) = &manifests.service {
        push(serde_json::to_value(service))?;
    }
    if let Some(validating) = &manifests.validating {
        push(serde_json::to_value(validating))?;
    }
    if let Some(mutating) = &manifests.mutating {
        push(serde_json::to_value(mutating))?;
    }
    let mut out = yaml_header(command);
    for (i, object) in objects.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let yaml = serde_saphyr::to_string(object).map_err(|e| e.to_string())?;
        out.push_str(yaml.trim_end_matches('\n'));
        out.push('\n');
    }
    Ok(vec![GeneratedFile {
        path: join(dir, "webhooks.yaml"),
        contents: out,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crdforge::webhook::{Admission, AdmissionKind, ClientConfig};

    #[test]
    fn bad_declarations_are_refused_naming_the_webhook() {
        let mut hook = Admission {
            name: "short.name".into(),
            kind: AdmissionKind::Validating,
            path: "validate".into(),
            api_groups: vec!["example.com".into()],
            api_versions: vec!["v1".into()],
            resources: vec!["users".into()],
            operations: vec!["MAKE".into()],
            scope: crdforge::webhook::Scope::All,
            failure_policy: crdforge::webhook::FailurePolicy::Fail,
            side_effects: crdforge::webhook::SideEffects::None,
            timeout_seconds: 31,
            match_conditions: vec![("a".into(), "true".into()), ("a".into(), "true".into())],
        };
        let webhooks = Webhooks {
            name: "w".into(),
            client: ClientConfig {
                target: Target::Url("http://127.0.0.1:1/".into()),
                ca_bundle: None,
            },
            selector: Default::default(),
            target_port: 9443,
            inject_ca_from: None,
            admission: vec![hook.clone()],
        };
        let problems = check(&webhooks);
        for expected in [
            "at least three segments",
            "outside 1..=30",
            "must start with `/`",
            "operation `MAKE`",
            "match condition `a` is declared twice",
            "must use https",
        ] {
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{expected}: {problems:?}"
            );
        }
        hook.name = "ok.example.com".into();
        assert!(webhook_files("w", "cargo xtask gen", &webhooks).is_err());
    }
}
