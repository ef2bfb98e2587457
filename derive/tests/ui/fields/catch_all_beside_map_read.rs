use std::collections::BTreeMap;

use crdforge::KubeSchema;
use serde::{Deserialize, Serialize};

#[derive(KubeSchema, Serialize, Deserialize)]
pub struct Zone {
    pub zone: String,
}

/// Flattens a field itself: serde reads it flattened as a map, leaving the
/// keys it reads to the fields after it.
#[derive(KubeSchema, Serialize, Deserialize)]
pub struct Placement {
    pub rack: String,
    #[serde(flatten)]
    pub zone: Zone,
}

/// An internally tagged enum is read as a map too.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[serde(tag = "kind")]
pub enum Source {
    Disk { path: String },
}

#[derive(KubeSchema, Serialize, Deserialize)]
pub struct Spec {
    #[serde(flatten)]
    pub placement: Placement,
    /// Would also hold `rack` and `zone`.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

#[derive(KubeSchema, Serialize, Deserialize)]
pub struct Other {
    #[serde(flatten)]
    pub source: Source,
    /// Would also hold `kind` and `path`.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A plain struct takes the keys it reads: fine.
#[derive(KubeSchema, Serialize, Deserialize)]
pub struct Fine {
    #[serde(flatten)]
    pub zone: Zone,
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

fn main() {}
