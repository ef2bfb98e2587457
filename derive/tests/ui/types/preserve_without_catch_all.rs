use std::collections::BTreeMap;

use crdforge::KubeSchema;
use serde::{Deserialize, Serialize};

// Keeps unknown fields on the apiserver, but serde drops them on read.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[crd(preserve_unknown_fields)]
pub struct Config {
    pub known: String,
}

// Fine: the catch-all reads every unknown field.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[crd(preserve_unknown_fields)]
pub struct WithCatchAll {
    pub known: String,
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

fn main() {}
