use std::collections::BTreeMap;

use crdforge::KubeSchema;
use serde::{Deserialize, Serialize};

// `Typed` reads every `Open` whose catch-all holds a `port`: serde would
// give that `Open` back as a `Typed`, losing its name and its other fields.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[serde(untagged)]
pub enum Backend {
    Typed { port: u16 },
    Open {
        name: String,
        #[serde(flatten)]
        rest: BTreeMap<String, serde_json::Value>,
    },
}

// Fine: the catch-all variant first, and `Typed` lacks its `name`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[serde(untagged)]
pub enum Ordered {
    Open {
        name: String,
        #[serde(flatten)]
        rest: BTreeMap<String, serde_json::Value>,
    },
    Typed { port: u16 },
}

// A `Value` variant holds strings too, so a string variant before it reads
// some of its values.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[serde(untagged)]
pub enum Loose {
    Name(String),
    Anything(serde_json::Value),
}

fn main() {}
