use crdforge::KubeSchema;

#[derive(KubeSchema, serde::Serialize)]
#[serde(tag = "type")]
pub enum Source {
    Url(String),
}

fn main() {}
