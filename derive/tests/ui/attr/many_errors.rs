// Every error is reported in one build, each at its own span.
use crdforge::CustomResource;

#[derive(CustomResource, serde::Serialize, serde::Deserialize, Clone, Debug)]
#[kube(group = "example", version = "v1", kind = "User", shortnmae = "u")]
pub struct UserSpec {
    #[crd(max_length = 3, max_length = 4)]
    pub name: String,
    #[crd(minimum = "one")]
    pub replicas: i32,
    pub ratio: f64,
    #[crd(list_type = "map")]
    pub items: Vec<String>,
}

fn main() {}
