use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Spec {
    #[crd(default = "7")]
    pub replicas: i32,
}

fn main() {}
