//! `example.com/v2`: the same developer, with what they may do gathered
//! under `access` and the team they belong to (new in v2).
//!
//! v2 is served and converted by the User controller's webhook; v1 stays
//! the hub and the storage version (see the crate docs for why). The role
//! and the status are v1's types: their shapes did not change, and one
//! type for one shape keeps the conversion a move, not a copy.

use std::collections::BTreeMap;

use crdforge::{CustomResource, KubeSchema};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde::{Deserialize, Serialize};

pub use crate::Role;
use crate::UserStatus;

/// A developer on the cluster, who gets a namespace of the same name with
/// access to it.
// Clippy's `duplicated_attributes` reads two printer columns that share a
// `type_` inside one helper attribute as a repeated attribute; they are not.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[crd(
    group = "example.com",
    version = "v2",
    kind = "User",
    shortname = "usr",
    status = "UserStatus",
    printcolumn(
        name = "Display Name",
        type_ = "string",
        json_path = ".spec.displayName"
    ),
    printcolumn(name = "Role", type_ = "string", json_path = ".spec.access.role"),
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

    /// What the developer may do in their namespace, and which groups share
    /// it (v1's `role` and `groups`).
    #[serde(default)]
    #[crd(default = Access::default())]
    pub access: Access,

    /// Hard limits of a ResourceQuota in the namespace, e.g.
    /// `{"pods": "10", "requests.cpu": "4"}`; none means no quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[crd(max_properties = 32)]
    pub quota: Option<BTreeMap<String, Quantity>>,

    /// The team the developer belongs to, for people reading the list (new
    /// in v2; the controller does not act on it, and v1 objects carry it in
    /// the annotation `example.com/conversion-data`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[crd(min_length = 1, max_length = 63)]
    pub team: Option<String>,
}

/// The developer's access to their namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Access {
    /// The ClusterRole the developer is bound to.
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
}
