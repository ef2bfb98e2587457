use crdforge::KubeSchema;

#[derive(KubeSchema, serde::Serialize)]
#[crd(deep_copy = "clone")]
pub struct Spec {
    #[crd(deep_copy = "shallow")]
    pub name: String,
    #[serde(skip)]
    #[crd(deep_copy = "clone", max_length = 3)]
    pub cache: String,
    #[crd(deep_copy = clone)]
    pub other: String,
}

fn main() {}
