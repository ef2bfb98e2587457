//! Every verb the generated RBAC grants the Rule Loader is used: the
//! apiserver's audit log of the whole end-to-end suite, filtered to the
//! loader's own requests (its ServiceAccount token), holds a successful
//! request for each granted (group, resource, verb), an apply that created
//! an object (201) standing for `create`, as the apiserver authorizes it;
//! and nothing succeeded that the role does not grant. The same check as the
//! User controller's `rbac_minimality`, for this controller's role.
//!
//! Run after the e2e suite on the same control plane (`cargo xtask ci` does):
//! `cargo xtask envtest run -- sh -c 'cargo test -p rule-loader --features
//! e2e --test e2e && cargo test -p rule-loader --features e2e,rbac-audit
//! --test rbac_minimality'`.

use std::collections::BTreeSet;

use crdforge_envtest::Instance;

const SERVICE_ACCOUNT: &str = "system:serviceaccount:rule-loader-system:rule-loader";

type Rule = (String, String, String);

/// (group, resource, verb) for every verb the generated roles grant.
fn granted() -> BTreeSet<Rule> {
    let root = crdforge_envtest::workspace_root().unwrap();
    let text =
        std::fs::read_to_string(root.join("generated/deploy/rule-loader/rbac.yaml")).unwrap();
    let mut out = BTreeSet::new();
    for doc in text.split("\n---\n") {
        let object: serde_json::Value = serde_saphyr::from_str(doc).unwrap();
        if !matches!(object["kind"].as_str(), Some("ClusterRole" | "Role")) {
            continue;
        }
        for rule in object["rules"].as_array().unwrap() {
            for group in rule["apiGroups"].as_array().unwrap() {
                for resource in rule["resources"].as_array().unwrap() {
                    for verb in rule["verbs"].as_array().unwrap() {
                        out.insert((
                            group.as_str().unwrap().into(),
                            resource.as_str().unwrap().into(),
                            verb.as_str().unwrap().into(),
                        ));
                    }
                }
            }
        }
    }
    out
}

/// (group, resource, verb) of every successful request the controller made
/// itself, and how many events were read.
fn exercised() -> (BTreeSet<Rule>, usize) {
    let log = Instance::from_env().audit_log();
    let text = std::fs::read_to_string(&log)
        .unwrap_or_else(|e| panic!("{}: {e}; run this after the e2e suite", log.display()));
    let mut out = BTreeSet::new();
    let mut count = 0;
    for line in text.lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        if event["user"]["username"] != SERVICE_ACCOUNT || event.get("impersonatedUser").is_some() {
            continue;
        }
        count += 1;
        let code = event["responseStatus"]["code"].as_u64().unwrap_or(0);
        if !(200..300).contains(&code) {
            continue;
        }
        let object = &event["objectRef"];
        let group = object["apiGroup"].as_str().unwrap_or("").to_string();
        let mut resource = object["resource"].as_str().unwrap_or("").to_string();
        if let Some(sub) = object["subresource"].as_str() {
            resource = format!("{resource}/{sub}");
        }
        let verb = event["verb"].as_str().unwrap().to_string();
        if verb == "patch" && code == 201 {
            out.insert((group.clone(), resource.clone(), "create".into()));
        }
        out.insert((group, resource, verb));
    }
    (out, count)
}

#[test]
fn every_granted_verb_is_exercised_by_the_loader_over_the_e2e_suite() {
    let granted = granted();
    let (exercised, events) = exercised();
    assert!(
        events > 20,
        "only {events} requests by {SERVICE_ACCOUNT} in the audit log: run this after the e2e suite"
    );
    for rule in &granted {
        eprintln!(
            "{:<22} {:<12} {:<7} {}",
            if rule.0.is_empty() { "\"\"" } else { &rule.0 },
            rule.1,
            rule.2,
            if exercised.contains(rule) {
                "requested"
            } else {
                "UNUSED"
            }
        );
    }
    let unused: Vec<_> = granted.difference(&exercised).collect();
    assert!(
        unused.is_empty(),
        "granted but never used by the loader over the e2e suite: {unused:?}"
    );
    let extra: Vec<_> = exercised.difference(&granted).collect();
    assert!(extra.is_empty(), "used but not granted: {extra:?}");
}
