use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Spec {
    #[crd(optional)]
    pub name: String,
}

fn main() {}
