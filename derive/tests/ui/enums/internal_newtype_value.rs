use std::collections::BTreeMap;

use crdforge::KubeSchema;
use serde::{Deserialize, Serialize};

// serde fails to write a `Value` that is not an object beside the tag, and
// a map of strings would sit among fields the apiserver cannot type.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[serde(tag = "type")]
pub enum Source {
    Raw(serde_json::Value),
    Labels(BTreeMap<String, String>),
}

// Fine: a map of any JSON sits beside the tag and keeps unknown fields.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[serde(tag = "type")]
pub enum Open {
    Fields(BTreeMap<String, serde_json::Value>),
    Url { url: String },
}

fn main() {}
