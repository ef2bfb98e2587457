//! The comparison types, derived with kube-derive 5 and schemars 1.

use std::collections::BTreeSet;

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
