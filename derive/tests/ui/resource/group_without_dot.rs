use crdforge::CustomResource;

#[derive(CustomResource, serde::Serialize, serde::Deserialize, Clone, Debug)]
#[kube(group = "example", version = "1", kind = "user")]
pub struct UserSpec {
    pub name: String,
}

fn main() {}
