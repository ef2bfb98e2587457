use crdforge::KubeSchema;

#[derive(KubeSchema, serde::Serialize)]
pub struct Spec {
    #[serde(skip)]
    #[crd(max_length = 3)]
    pub cache: String,
}

fn main() {}
