//! Every verb the generated RBAC grants is used: the apiserver's audit log
//! of the whole end-to-end suite, filtered to the controller's own requests
//! (its ServiceAccount token, not the tests impersonating it), holds a
//! successful request for each granted (group, resource, verb) — with an
//! apply that created an object (201) standing for `create`, as the
//! apiserver authorizes it. The two rules that are checked inside other
//! requests and so never appear as a request of their own are named, and
//! each is shown needed by `fence::bind_and_owner_finalizers_are_each_needed
//! _by_a_controller_write` in the e2e suite.
//!
//! Run after the e2e suite on the same control plane (`cargo xtask ci` does):
//! `cargo xtask envtest run -- sh -c 'cargo test -p user-controller
//! --features e2e --test e2e && cargo test -p user-controller --features
//! e2e,rbac-audit --test rbac_minimality'`.

use std::collections::BTreeSet;

use crdforge_envtest::Instance;

const SERVICE_ACCOUNT: &str = "system:serviceaccount:user-controller-system:user-controller";

/// Rules whose use is an authorization check inside another request.
const CHECKED_INSIDE_OTHER_REQUESTS: [(&str, &str, &str); 2] = [
    // RoleBindings to admin/edit/view: RBAC's escalation check.
    ("rbac.authorization.k8s.io", "clusterroles", "bind"),
    // blockOwnerDeletion: OwnerReferencesPermissionEnforcement.
    ("example.com", "users/finalizers", "update"),
];

type Rule = (String, String, String);

/// (group, resource, verb) for every verb the generated roles grant.
fn granted() -> BTreeSet<Rule> {
    let root = crdforge_envtest::workspace_root().unwrap();
    let text =
        std::fs::read_to_string(root.join("generated/deploy/user-controller/rbac.yaml")).unwrap();
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
fn every_granted_verb_is_exercised_by_the_controller_over_the_e2e_suite() {
    let granted = granted();
    let (exercised, events) = exercised();
    assert!(
        events > 100,
        "only {events} requests by {SERVICE_ACCOUNT} in the audit log: run this after the e2e suite"
    );
    let inside: BTreeSet<Rule> = CHECKED_INSIDE_OTHER_REQUESTS
        .iter()
        .map(|(g, r, v)| (g.to_string(), r.to_string(), v.to_string()))
        .collect();
    let mut unused = Vec::new();
    for rule in &granted {
        let used = exercised.contains(rule) || inside.contains(rule);
        eprintln!(
            "{:<28} {:<18} {:<7} {}",
            if rule.0.is_empty() { "\"\"" } else { &rule.0 },
            rule.1,
            rule.2,
            if exercised.contains(rule) {
                "requested"
            } else if inside.contains(rule) {
                "checked inside another request (removal test)"
            } else {
                "UNUSED"
            }
        );
        if !used {
            unused.push(rule.clone());
        }
    }
    assert!(
        unused.is_empty(),
        "granted but never used by the controller over the e2e suite: {unused:?}"
    );
    assert!(
        inside.is_subset(&granted),
        "a rule named as checked inside other requests is no longer granted: {:?}",
        inside.difference(&granted).collect::<Vec<_>>()
    );
    // And nothing succeeded that the role does not grant (which would mean
    // the log is not the controller's, or RBAC is not what we think).
    let extra: Vec<_> = exercised.difference(&granted).collect();
    assert!(extra.is_empty(), "used but not granted: {extra:?}");
}
