use crdforge::CustomResource;

#[derive(CustomResource, serde::Serialize, serde::Deserialize, Clone, Debug)]
#[kube(
    group = "example.com",
    version = "v1",
    kind = "User",
    scale(spec_replicas_path = ".status.replicas", status_replicas_path = ".spec.replicas")
)]
pub struct UserSpec {
    pub replicas: i32,
}

fn main() {}
