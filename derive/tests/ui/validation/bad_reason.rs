use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Spec {
    #[crd(validation(rule = "self > 0", reason = "TooSmall"))]
    pub replicas: i32,
}

fn main() {}
