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

use crdforge_envtest::audit::Minimality;

#[test]
fn every_granted_verb_is_exercised_by_the_controller_over_the_e2e_suite() {
    Minimality {
        rbac_yaml: "generated/deploy/user-controller/rbac.yaml",
        user: "system:serviceaccount:user-controller-system:user-controller",
        min_requests: 101,
        checked_inside_other_requests: &[
            // RoleBindings to admin/edit/view: RBAC's escalation check.
            ("rbac.authorization.k8s.io", "clusterroles", "bind"),
            // blockOwnerDeletion: OwnerReferencesPermissionEnforcement.
            ("example.com", "users/finalizers", "update"),
        ],
    }
    .assert();
}
