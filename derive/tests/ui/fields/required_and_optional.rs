use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Spec {
    #[crd(required, optional)]
    pub name: Option<String>,
}

fn main() {}
