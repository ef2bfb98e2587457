// A kube-derive user's spec: the nested type derives only schemars'
// `JsonSchema`. The derive falls back to schemars by itself and says so at
// the field, as a `deprecated` warning (an error here, to show it).
#![deny(deprecated)]

use crdforge::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "x.io", version = "v1", kind = "Thing")]
pub struct ThingSpec {
    pub storage: Storage,
    pub stated: Option<Vec<Storage>>,
    #[crd(schemars)]
    pub silenced: Storage,
    pub name: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
pub struct Storage {
    pub size: String,
}

fn main() {}
