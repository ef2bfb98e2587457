use crdforge::KubeSchema;

#[derive(KubeSchema, serde::Serialize)]
#[serde(content = "value")]
pub enum Shape {
    Circle { radius: i32 },
}

fn main() {}
