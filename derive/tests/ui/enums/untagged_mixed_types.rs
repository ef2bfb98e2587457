use crdforge::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// A bare string or a full reference: the first is a JSON string, the
/// second an object, and one schema cannot type both.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum Source {
    Full { name: String, namespace: String },
    Bare(String),
}

// The spec names `Source`: its schema and apply configuration still exist,
// so the only error is the variant's.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[crd(group = "ui.crdforge.dev", version = "v1", kind = "Thing")]
pub struct ThingSpec {
    pub source: Source,
}

fn main() {}
