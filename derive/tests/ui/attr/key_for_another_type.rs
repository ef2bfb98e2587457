use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Spec {
    #[crd(max_length = 3)]
    pub replicas: i32,
    #[crd(minimum = 1)]
    pub name: String,
}

fn main() {}
