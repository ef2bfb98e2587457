use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Spec {
    pub ratio: Option<f64>,
}

fn main() {}
