use crdforge::KubeSchema;

#[derive(KubeSchema, serde::Serialize)]
#[serde(untagged)]
pub enum Value {
    Number(i32),
    Nothing,
}

fn main() {}
