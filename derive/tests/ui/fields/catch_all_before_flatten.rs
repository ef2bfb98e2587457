use std::collections::BTreeMap;

use crdforge::KubeSchema;
use serde::{Deserialize, Serialize};

#[derive(KubeSchema, Serialize, Deserialize)]
pub struct Placement {
    pub zone: String,
}

#[derive(KubeSchema, Serialize, Deserialize)]
pub struct Spec {
    pub name: String,
    /// serde hands the catch-all `zone` too, before `placement` reads it.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
    #[serde(flatten)]
    pub placement: Placement,
}

#[derive(KubeSchema, Serialize, Deserialize)]
pub struct Fine {
    pub name: String,
    #[serde(flatten)]
    pub placement: Placement,
    /// Last: it holds what the others did not read.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

fn main() {}
