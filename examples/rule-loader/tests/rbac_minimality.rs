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

use crdforge_envtest::audit::Minimality;

#[test]
fn every_granted_verb_is_exercised_by_the_loader_over_the_e2e_suite() {
    Minimality {
        rbac_yaml: "generated/deploy/rule-loader/rbac.yaml",
        user: "system:serviceaccount:rule-loader-system:rule-loader",
        min_requests: 21,
        checked_inside_other_requests: &[],
    }
    .assert();
}
