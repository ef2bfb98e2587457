//! The User API: one developer who should get a namespace and access to
//! it. The CRD in `generated/crds/users.example.com.yaml` is generated from
//! these types by `cargo xtask gen`; the controller in
//! `examples/user-controller` uses them. They live in a crate of their own so
//! that generating the CRD needs no Kubernetes client.
//!
//! Two versions are served: `example.com/v1` (the types at the crate root)
//! and `example.com/v2` ([`v2`]: `role` and `groups` under `access`, and a
//! `team`). They differ in shape, so the CRD converts between them with a
//! webhook the User controller serves ([`conversion`], [`webhooks`]).
//!
//! # v1 is the hub and the storage version
//!
//! etcd holds v1, and the controller, the benchmark peers (kube-runtime and
//! client-go) and every existing client read and write v1: none of their
//! requests calls the conversion webhook, so the controller works the same
//! when its webhook is not reachable, and an old client never depends on
//! it. Only v2 requests are converted. Making v2 the storage version is a
//! later, separate step — a storage-version migration: switch `storage` to
//! v2, rewrite every stored object (the StorageVersionMigrator, or a read
//! and write of each), then drop v1 from `status.storedVersions` — and it
//! makes every v1 read a webhook call, so it waits until the controller
//! and its peers read v2.
//!
//! One consequence of serving v2 at all: Kubernetes prefers the highest
//! version for a group (v2 over v1, whatever the storage version), so a
//! request that names no version — `kubectl get users` — reads v2 and needs
//! the webhook; `kubectl get users.v1.example.com` does not.
#![warn(missing_docs)]

pub mod conversion;
#[cfg(feature = "deploy")]
pub mod deploy;
pub mod v2;
pub mod webhooks;

use std::collections::BTreeMap;

use crdforge::crd::Definition;
use crdforge::{CustomResource, KubeSchema};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use serde::{Deserialize, Serialize};

/// Every custom resource version of this API, for `cargo xtask gen`: v1
/// and v2 in one CRD, converted by the controller's webhook in the cluster.
pub fn definitions() -> Vec<Definition> {
    vec![webhooks::definition(webhooks::in_cluster())]
}

/// The namespace the controller runs in, with its Lease and its policy
/// ConfigMap ([`webhooks::POLICY_CONFIGMAP`]).
pub const CONTROLLER_NAMESPACE: &str = "user-controller-system";

// `example.com/v1`, the hub and storage version (see the crate docs).
/// A developer on the cluster, who gets a namespace of the same name with
/// access to it.
// Clippy's `duplicated_attributes` reads two printer columns that share a
// `type_` inside one helper attribute as a repeated attribute; they are not.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[crd(
    group = "example.com",
    version = "v1",
    kind = "User",
    shortname = "usr",
    status = "UserStatus",
    printcolumn(
        name = "Display Name",
        type_ = "string",
        json_path = ".spec.displayName"
    ),
    printcolumn(name = "Namespace", type_ = "string", json_path = ".status.namespace"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct UserSpec {
    /// The name people know the developer by.
    #[crd(min_length = 1, max_length = 128)]
    pub display_name: String,

    /// Where to reach the developer.
    #[crd(format = "email", max_length = 254)]
    pub email: String,

    /// What the developer may do in their namespace.
    #[serde(default)]
    #[crd(default = Role::Admin)]
    pub role: Role,

    /// Groups bound to the same role in the namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[crd(
        list_type = "set",
        max_items = 32,
        items(min_length = 1, max_length = 253)
    )]
    pub groups: Vec<String>,

    /// Hard limits of a ResourceQuota in the namespace, e.g.
    /// `{"pods": "10", "requests.cpu": "4"}`; none means no quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[crd(max_properties = 32)]
    pub quota: Option<BTreeMap<String, Quantity>>,
}

/// The ClusterRole a developer is bound to in their namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Full control of the namespace, including RBAC within it.
    #[default]
    Admin,
    /// Read and write most objects.
    Edit,
    /// Read only.
    View,
}

impl Role {
    /// The built-in ClusterRole of that name.
    pub fn cluster_role(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Edit => "edit",
            Role::View => "view",
        }
    }
}

/// What the controller last did for the user.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserStatus {
    /// The namespace provisioned for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The spec generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Standard conditions; `Ready` says whether the user can work.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[crd(list_type = "map", list_map_key = "type")]
    pub conditions: Vec<Condition>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crd_passes_the_offline_apiserver_checks() {
        let crd = crdforge_gen::checked_crd::<User>().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(crd.metadata.name.as_deref(), Some("users.example.com"));
        assert_eq!(crd.spec.scope, "Cluster");
        assert_eq!(
            crd.spec.names.short_names.as_deref(),
            Some(&["usr".to_string()][..])
        );
        let version = &crd.spec.versions[0];
        assert!(version.subresources.as_ref().unwrap().status.is_some());
        let columns: Vec<_> = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(columns, ["Display Name", "Namespace", "Ready", "Age"]);
    }
}
