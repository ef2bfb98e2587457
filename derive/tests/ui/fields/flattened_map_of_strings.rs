use std::collections::{BTreeMap, HashMap};

use crdforge::KubeSchema;
use serde::{Deserialize, Serialize};

#[derive(KubeSchema, Serialize, Deserialize)]
pub struct Spec {
    pub name: String,
    /// The apiserver keeps `{"x": 1}` here, which a map of strings cannot read.
    #[serde(flatten)]
    pub labels: HashMap<String, String>,
}

#[derive(KubeSchema, Serialize, Deserialize)]
pub struct Fine {
    pub name: String,
    /// Any JSON: every kept field reads back.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

fn main() {}
