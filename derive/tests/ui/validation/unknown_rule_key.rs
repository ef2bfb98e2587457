use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Spec {
    #[crd(validation(rule = "self > 0", mesage = "must be positive"))]
    pub replicas: i32,
}

fn main() {}
