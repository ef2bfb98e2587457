use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Spec {
    #[crd(unique_items)]
    pub items: Vec<String>,
}

fn main() {}
