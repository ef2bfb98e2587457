use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Spec {
    #[crd(validation(message = "must be positive"))]
    pub replicas: i32,
}

fn main() {}
