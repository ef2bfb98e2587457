// A kube-derive user's spec: the nested type derives only schemars'
// `JsonSchema`. The derive falls back to schemars by itself and says so at
// the field, as a `deprecated` warning (an error here, to show it). A
// `#[schemars(...)]` on a field of the spec, which crdforge describes
// itself, is a note too: it would not reach the CRD.
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
    // Read by schemars for its own `JsonSchema`, not by crdforge: a note
    // saying what to write instead.
    #[schemars(length(min = 1, max = 63), regex(pattern = "^[a-z]+$"))]
    pub label: String,
    #[schemars(extend("x-custom" = 1))]
    pub other: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
pub struct Storage {
    pub size: String,
}

fn main() {}
