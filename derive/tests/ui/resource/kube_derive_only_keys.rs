use crdforge::CustomResource;

#[derive(CustomResource, serde::Serialize, serde::Deserialize, Clone, Debug)]
#[kube(group = "example.com", version = "v1", kind = "User", crates(kube_core = ::kube::core), cel)]
pub struct UserSpec {
    pub name: String,
}

fn main() {}
