use crdforge::KubeSchema;

// The derive crate's tests use crdforge without its `schemars` feature.
#[derive(KubeSchema)]
pub struct Spec {
    #[crd(schemars)]
    pub port: u16,
}

fn main() {}
