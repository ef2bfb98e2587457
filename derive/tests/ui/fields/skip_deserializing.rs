use crdforge::KubeSchema;

#[derive(KubeSchema, serde::Serialize, serde::Deserialize)]
pub struct Spec {
    pub name: String,
    #[serde(skip_deserializing)]
    pub computed: String,
}

fn main() {}
