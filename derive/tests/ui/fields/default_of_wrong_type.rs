use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Spec {
    #[crd(default = "three")]
    pub replicas: Option<i32>,
}

fn main() {}
