use crdforge::CustomResource;

#[derive(CustomResource, serde::Serialize, serde::Deserialize, Clone, Debug)]
#[kube(
    group = "example.com",
    version = "v1",
    kind = "User",
    printcolumn(name = "Name", type_ = "text", jsonpath = ".spec.name")
)]
pub struct UserSpec {
    pub name: String,
}

fn main() {}
