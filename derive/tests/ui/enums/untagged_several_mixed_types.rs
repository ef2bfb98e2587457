use crdforge::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// Three variants written as other JSON types than the first: one error
/// for the enum, naming all three, and nothing else.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum Source {
    Full { name: String, namespace: String },
    Bare(String),
    Count(u32),
    Names(Vec<String>),
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[crd(group = "ui.crdforge.dev", version = "v1", kind = "Thing")]
pub struct ThingSpec {
    pub source: Source,
}

fn main() {}
