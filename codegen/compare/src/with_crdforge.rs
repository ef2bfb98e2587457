//! The comparison types, derived with crdforge.

use std::collections::BTreeSet;

use crdforge::{CustomResource, KubeSchema};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde::{Deserialize, Serialize};

fn checked<T: crdforge::CustomResource>() -> Result<CustomResourceDefinition, String> {
    T::checked_crd().map_err(|e| e.to_string())
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
        include_str!("../../../derive/tests/ui/enums/mixed_unit_and_data.stderr")
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
