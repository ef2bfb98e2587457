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

use crdforge_envtest::audit::Minimality;

#[test]
fn every_granted_verb_is_exercised_by_the_speakers_over_the_e2e_suite() {
    let user = format!(
        "system:serviceaccount:{}:{}",
        leifur_speaker_deploy::NAMESPACE,
        leifur_speaker_deploy::NAME
    );
    Minimality {
        rbac_yaml: "generated/deploy/leifur-speaker/rbac.yaml",
        user: &user,
        min_requests: 21,
        checked_inside_other_requests: &[],
    }
    .assert();
}
