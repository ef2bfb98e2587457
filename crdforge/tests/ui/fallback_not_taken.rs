// Where the schemars fallback is not taken, crdforge's errors stay: a type
// with neither `KubeSchema` nor `JsonSchema` has no schema, and a type
// crdforge describes with `#[crd(apply = false)]` has no apply
// configuration, even though it also derives `JsonSchema`.
use crdforge::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[kube(group = "x.io", version = "v1", kind = "Thing")]
pub struct ThingSpec {
    pub neither: Neither,
    pub native: Native,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Neither {
    pub size: String,
}

#[derive(KubeSchema, JsonSchema, Serialize, Deserialize, Clone, Debug)]
#[crd(apply = false)]
pub struct Native {
    pub size: String,
}

fn main() {}
