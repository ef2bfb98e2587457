use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Spec {
    #[crd(default_json = "{not json")]
    pub tuning: Option<String>,
}

fn main() {}
