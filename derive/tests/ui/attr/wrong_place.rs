use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Spec {
    #[crd(group = "example.com")]
    pub name: String,
}

fn main() {}
