//! Every verb the generated RBAC grants Leifur's speaker is used, and no
//! more is needed: the speakers of the end-to-end tests run as the
//! speaker's ServiceAccount (`common::speaker_kubeconfig`), and the
//! apiserver's audit log of the whole suite, filtered to that account's own
//! requests, holds a successful request for each granted (group, resource,
//! verb), and none the role does not grant.
//!
//! Run after the speaker's e2e tests on the same control plane:
//! `cargo xtask envtest run -- sh -c 'cargo test -p leifur-speaker
//! --features e2e && cargo test -p leifur-speaker --features
//! e2e,rbac-audit --test rbac_minimality'`.

use std::collections::BTreeSet;

use crdforge_envtest::Instance;
use crdforge_envtest::audit::{self, Rule};

fn service_account() -> String {
    format!(
        "system:serviceaccount:{}:{}",
        leifur_speaker_deploy::NAMESPACE,
        leifur_speaker_deploy::NAME
    )
}

fn granted() -> BTreeSet<Rule> {
    let root = crdforge_envtest::workspace_root().unwrap();
    audit::granted_rules(&root.join("generated/deploy/leifur-speaker/rbac.yaml"))
        .unwrap_or_else(|e| panic!("{e:#}"))
}

#[test]
fn every_granted_verb_is_exercised_by_the_speakers_over_the_e2e_suite() {
    let granted = granted();
    let user = service_account();
    let (exercised, events) = audit::requests_by(&Instance::from_env().audit_log(), &user)
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        events > 20,
        "only {events} requests by {user} in the audit log: run this after the e2e suite"
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
