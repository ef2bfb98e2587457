use crdforge::KubeSchema;
use serde::{Deserialize, Serialize};

// `Short` reads every `Full` (it only needs `name`), so a `Full` would
// come back as a `Short` without its namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[serde(untagged)]
pub enum Reference {
    Short { name: String },
    Full { name: String, namespace: String },
}

// Fine: the variant with more fields comes first.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[serde(untagged)]
pub enum Ordered {
    Full { name: String, namespace: String },
    Short { name: String },
}

// Fine: `Short` refuses the `namespace` every `Full` writes.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[serde(untagged, deny_unknown_fields)]
pub enum Denied {
    Short { name: String },
    Full { name: String, namespace: String },
}

fn main() {}
