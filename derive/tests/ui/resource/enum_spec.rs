use crdforge::CustomResource;

#[derive(CustomResource, serde::Serialize, serde::Deserialize, Clone, Debug)]
#[kube(group = "example.com", version = "v1", kind = "User")]
pub enum UserSpec {
    A,
}

fn main() {}
