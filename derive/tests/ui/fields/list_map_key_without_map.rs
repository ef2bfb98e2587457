use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Spec {
    #[crd(list_map_key = "name")]
    pub items: Vec<String>,
}

fn main() {}
