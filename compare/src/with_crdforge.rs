//! The comparison types, derived with crdforge.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crdforge::{CustomResource, KubeSchema};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde::{Deserialize, Serialize};

fn checked<T: crdforge::CustomResource>() -> Result<CustomResourceDefinition, String> {
    crdforge_gen::checked_crd::<T>().map_err(|e| e.to_string())
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[kube(group = "compare.crdforge.dev", version = "v1", kind = "Internal")]
pub(crate) struct InternalSpec {
    pub(crate) target: Target,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[serde(tag = "type")]
pub(crate) enum Target {
    Pod { name: String },
    Everything,
}

pub(crate) fn internal() -> Result<CustomResourceDefinition, String> {
    checked::<Internal>()
}

/// `Power` with a unit variant and a struct variant does not compile with
/// crdforge; this is the error, as the trybuild test records it.
pub(crate) fn mixed() -> Result<CustomResourceDefinition, String> {
    Err(format!(
        "does not compile (the schema would need two types):\n\n```text\n{}```",
        include_str!("../../derive/tests/ui/enums/mixed_unit_and_data.stderr")
    ))
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[kube(group = "compare.crdforge.dev", version = "v1", kind = "Untagged")]
pub(crate) struct UntaggedSpec {
    pub(crate) limit: Limit,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[serde(untagged)]
pub(crate) enum Limit {
    Count(i64),
    Percent(String),
}

pub(crate) fn untagged() -> Result<CustomResourceDefinition, String> {
    checked::<Untagged>()
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[kube(group = "compare.crdforge.dev", version = "v1", kind = "Fields")]
pub(crate) struct FieldsSpec {
    pub(crate) nickname: Option<String>,
    pub(crate) zones: BTreeSet<String>,
    #[crd(allow_float)]
    pub(crate) ratio: f64,
    #[serde(default = "three")]
    #[crd(default = 3)]
    pub(crate) replicas: i32,
}

fn three() -> i32 {
    3
}

pub(crate) fn fields() -> Result<CustomResourceDefinition, String> {
    checked::<Fields>()
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[kube(
    group = "compare.crdforge.dev",
    version = "v1",
    kind = "Validated",
    validation = "self.spec.replicas <= 10"
)]
pub(crate) struct ValidatedSpec {
    #[crd(min_length = 1, max_length = 63, pattern = "^[a-z]+$")]
    pub(crate) name: String,
    #[crd(minimum = 1, maximum = 10)]
    pub(crate) replicas: i32,
}

pub(crate) fn validation() -> Result<CustomResourceDefinition, String> {
    checked::<Validated>()
}

/// The kube-derive user's nested type, unchanged: it still derives only
/// `JsonSchema`.
#[derive(Serialize, Deserialize, Clone, Debug, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Probe {
    pub(crate) path: String,
    #[schemars(range(min = 1, max = 65535))]
    pub(crate) port: u16,
    pub(crate) initial_delay_seconds: Option<i32>,
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[kube(group = "compare.crdforge.dev", version = "v1", kind = "Migrated")]
pub(crate) struct MigratedSpec {
    #[crd(schemars)]
    pub(crate) probe: Probe,
    #[crd(schemars)]
    pub(crate) fallback: Option<Probe>,
}

pub(crate) fn migrated() -> Result<CustomResourceDefinition, String> {
    checked::<Migrated>()
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[serde(tag = "kind", content = "spec")]
pub(crate) enum Source {
    Git { url: String },
    Image { reference: String },
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub(crate) struct Common {
    pub(crate) owner: String,
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[kube(group = "compare.crdforge.dev", version = "v1", kind = "Shaped")]
pub(crate) struct ShapedSpec {
    pub(crate) source: Source,
    #[serde(flatten)]
    pub(crate) common: Common,
}

pub(crate) fn shaped() -> Result<CustomResourceDefinition, String> {
    checked::<Shaped>()
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
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

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub(crate) struct QuotaStatus {
    pub(crate) conditions: Vec<Condition>,
}

pub(crate) fn kubernetes_types() -> Result<CustomResourceDefinition, String> {
    checked::<Quota>()
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[kube(
    group = "compare.crdforge.dev",
    version = "v1",
    kind = "Typo",
    validation = "self.spec.replica <= 10"
)]
pub(crate) struct TypoSpec {
    pub(crate) replicas: i32,
}

pub(crate) fn cel_typo() -> Result<CustomResourceDefinition, String> {
    checked::<Typo>()
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[kube(group = "compare.crdforge.dev", version = "v1", kind = "Orders")]
pub(crate) struct OrdersSpec {
    pub(crate) reference: Reference,
    pub(crate) denied: Denied,
    pub(crate) config: Kept,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
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

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[serde(untagged, deny_unknown_fields)]
pub(crate) enum Denied {
    Short { name: String },
    Full { name: String, namespace: String },
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[crd(preserve_unknown_fields)]
pub(crate) struct Kept {
    pub(crate) known: String,
    #[serde(flatten)]
    pub(crate) rest: BTreeMap<String, serde_json::Value>,
}

pub(crate) fn orders() -> Result<CustomResourceDefinition, String> {
    checked::<Orders>()
}
