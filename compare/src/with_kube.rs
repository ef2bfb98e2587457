//! The comparison types, derived with kube-derive 5 and schemars 1.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{CustomResource, CustomResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "compare.crdforge.dev", version = "v1", kind = "Internal")]
pub(crate) struct InternalSpec {
    pub(crate) target: Target,
}

#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[serde(tag = "type")]
pub(crate) enum Target {
    Pod { name: String },
    Everything,
}

pub(crate) fn internal() -> CustomResourceDefinition {
    Internal::crd()
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "compare.crdforge.dev", version = "v1", kind = "Mixed")]
pub(crate) struct MixedSpec {
    pub(crate) power: Power,
}

#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
pub(crate) enum Power {
    Off,
    On { level: i32 },
}

pub(crate) fn mixed() -> CustomResourceDefinition {
    Mixed::crd()
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "compare.crdforge.dev", version = "v1", kind = "Untagged")]
pub(crate) struct UntaggedSpec {
    pub(crate) limit: Limit,
}

#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[serde(untagged)]
pub(crate) enum Limit {
    Count(i64),
    Percent(String),
}

pub(crate) fn untagged() -> CustomResourceDefinition {
    Untagged::crd()
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "compare.crdforge.dev", version = "v1", kind = "Fields")]
pub(crate) struct FieldsSpec {
    pub(crate) nickname: Option<String>,
    pub(crate) zones: BTreeSet<String>,
    pub(crate) ratio: f64,
    #[serde(default = "three")]
    pub(crate) replicas: i32,
}

fn three() -> i32 {
    3
}

pub(crate) fn fields() -> CustomResourceDefinition {
    Fields::crd()
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "compare.crdforge.dev",
    version = "v1",
    kind = "Validated",
    validation = "self.spec.replicas <= 10"
)]
pub(crate) struct ValidatedSpec {
    #[schemars(length(min = 1, max = 63), regex(pattern = "^[a-z]+$"))]
    pub(crate) name: String,
    #[schemars(range(min = 1, max = 10))]
    pub(crate) replicas: i32,
}

pub(crate) fn validation() -> CustomResourceDefinition {
    Validated::crd()
}

/// A nested type as a kube-derive user writes it; crdforge reuses it as is
/// through `#[crd(schemars)]`.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Probe {
    pub(crate) path: String,
    #[schemars(range(min = 1, max = 65535))]
    pub(crate) port: u16,
    pub(crate) initial_delay_seconds: Option<i32>,
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "compare.crdforge.dev", version = "v1", kind = "Migrated")]
pub(crate) struct MigratedSpec {
    pub(crate) probe: Probe,
    pub(crate) fallback: Option<Probe>,
}

pub(crate) fn migrated() -> CustomResourceDefinition {
    Migrated::crd()
}

#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[serde(tag = "kind", content = "spec")]
pub(crate) enum Source {
    Git { url: String },
    Image { reference: String },
}

#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
pub(crate) struct Common {
    pub(crate) owner: String,
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "compare.crdforge.dev", version = "v1", kind = "Shaped")]
pub(crate) struct ShapedSpec {
    pub(crate) source: Source,
    #[serde(flatten)]
    pub(crate) common: Common,
}

pub(crate) fn shaped() -> CustomResourceDefinition {
    Shaped::crd()
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "compare.crdforge.dev",
    version = "v1",
    kind = "Quota",
    status = "QuotaStatus"
)]
pub(crate) struct QuotaSpec {
    pub(crate) hard: BTreeMap<String, Quantity>,
    pub(crate) max_surge: Option<IntOrString>,
}

#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
pub(crate) struct QuotaStatus {
    pub(crate) conditions: Vec<Condition>,
}

pub(crate) fn kubernetes_types() -> CustomResourceDefinition {
    Quota::crd()
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "compare.crdforge.dev",
    version = "v1",
    kind = "Typo",
    validation = "self.spec.replica <= 10"
)]
pub(crate) struct TypoSpec {
    pub(crate) replicas: i32,
}

pub(crate) fn cel_typo() -> CustomResourceDefinition {
    Typo::crd()
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "compare.crdforge.dev", version = "v1", kind = "Orders")]
pub(crate) struct OrdersSpec {
    pub(crate) reference: Reference,
    pub(crate) denied: Denied,
    pub(crate) config: Kept,
}

#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[serde(untagged)]
pub(crate) enum Reference {
    Full {
        name: String,
        namespace: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        uid: Option<String>,
    },
    Short {
        name: String,
    },
}

#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[serde(untagged, deny_unknown_fields)]
pub(crate) enum Denied {
    Short { name: String },
    Full { name: String, namespace: String },
}

// No counterpart of crdforge's `preserve_unknown_fields`; the serde shape
// is the same.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
pub(crate) struct Kept {
    pub(crate) known: String,
    #[serde(flatten)]
    pub(crate) rest: BTreeMap<String, serde_json::Value>,
}

pub(crate) fn orders() -> CustomResourceDefinition {
    Orders::crd()
}
