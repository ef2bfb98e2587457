use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Spec {
    #[crd(max_length = "three")]
    pub name: String,
}

fn main() {}
