use crdforge::CustomResource;

#[derive(CustomResource, serde::Serialize, serde::Deserialize, Clone, Debug)]
#[kube(version = "v1", kind = "User")]
pub struct UserSpec {
    pub name: String,
}

fn main() {}
