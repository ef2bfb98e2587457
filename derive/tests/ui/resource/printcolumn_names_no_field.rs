use crdforge::CustomResource;

#[derive(CustomResource, serde::Serialize, serde::Deserialize, Clone, Debug)]
#[kube(
    group = "example.com",
    version = "v1",
    kind = "User",
    printcolumn(name = "Name", type_ = "string", json_path = ".spec.nmae"),
    selectable = ".status.phase"
)]
pub struct UserSpec {
    pub name: String,
}

fn main() {}
