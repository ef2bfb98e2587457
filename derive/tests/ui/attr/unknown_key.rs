use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Spec {
    #[crd(maxlength = 3)]
    pub name: String,
}

fn main() {}
