use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Spec {
    #[crd(list_type = "bag")]
    pub names: Vec<String>,
}

fn main() {}
