use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Spec {
    #[crd(minimum = 10, maximum = 1)]
    pub replicas: i32,
    #[crd(exclusive_maximum)]
    pub level: i32,
    #[crd(min_length = 5, max_length = 2)]
    pub name: String,
}

fn main() {}
