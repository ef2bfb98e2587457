//! Every verb the generated RBAC grants Leifur's IPAM controller is used:
//! the apiserver's audit log of the whole end-to-end suite, filtered to the
//! controller's own requests (its ServiceAccount token), holds a successful
//! request for each granted (group, resource, verb); and nothing succeeded
//! that the role does not grant.
//!
//! Run after the e2e suite on the same control plane: `cargo xtask envtest
//! run -- sh -c 'cargo test -p leifur-controller --features e2e --test e2e
//! && cargo test -p leifur-controller --features e2e,rbac-audit --test
//! rbac_minimality'`.

use std::collections::BTreeSet;

use crdforge_envtest::Instance;
use crdforge_envtest::audit::{self, Rule};

const SERVICE_ACCOUNT: &str = "system:serviceaccount:leifur-system:leifur-controller";

fn granted() -> BTreeSet<Rule> {
    let root = crdforge_envtest::workspace_root().unwrap();
    audit::granted_rules(&root.join("generated/deploy/leifur-controller/rbac.yaml"))
        .unwrap_or_else(|e| panic!("{e:#}"))
}

#[test]
fn every_granted_verb_is_exercised_by_the_controller_over_the_e2e_suite() {
    let granted = granted();
    let (exercised, events) =
        audit::requests_by(&Instance::from_env().audit_log(), SERVICE_ACCOUNT)
            .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        events > 20,
        "only {events} requests by {SERVICE_ACCOUNT} in the audit log: run this after the e2e suite"
    );
    for rule in &granted {
        eprintln!(
            "{:<22} {:<16} {:<7} {}",
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
        "granted but never used over the e2e suite: {unused:?}"
    );
    let extra: Vec<_> = exercised.difference(&granted).collect();
    assert!(extra.is_empty(), "used but not granted: {extra:?}");
}
