use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Spec {
    #[crd(max_length = 3, max_length = 4)]
    pub name: String,
}

fn main() {}
