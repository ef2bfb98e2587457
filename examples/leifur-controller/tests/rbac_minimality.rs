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

use crdforge_envtest::audit::Minimality;

#[test]
fn every_granted_verb_is_exercised_by_the_controller_over_the_e2e_suite() {
    Minimality {
        rbac_yaml: "generated/deploy/leifur-controller/rbac.yaml",
        user: "system:serviceaccount:leifur-system:leifur-controller",
        min_requests: 21,
        checked_inside_other_requests: &[],
    }
    .assert();
}
