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
use crdforge_envtest::audit::{self, Rule};

const SERVICE_ACCOUNT: &str = "system:serviceaccount:user-controller-system:user-controller";

/// Rules whose use is an authorization check inside another request.
const CHECKED_INSIDE_OTHER_REQUESTS: [(&str, &str, &str); 2] = [
    // RoleBindings to admin/edit/view: RBAC's escalation check.
    ("rbac.authorization.k8s.io", "clusterroles", "bind"),
    // blockOwnerDeletion: OwnerReferencesPermissionEnforcement.
    ("example.com", "users/finalizers", "update"),
];

/// (group, resource, verb) for every verb the generated roles grant.
fn granted() -> BTreeSet<Rule> {
    let root = crdforge_envtest::workspace_root().unwrap();
    audit::granted_rules(&root.join("generated/deploy/user-controller/rbac.yaml"))
        .unwrap_or_else(|e| panic!("{e:#}"))
}

/// (group, resource, verb) of every successful request the controller made
/// itself, and how many of its requests were read.
fn exercised() -> (BTreeSet<Rule>, usize) {
    audit::requests_by(&Instance::from_env().audit_log(), SERVICE_ACCOUNT)
        .unwrap_or_else(|e| panic!("{e:#}"))
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
