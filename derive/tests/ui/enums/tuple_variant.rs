use crdforge::KubeSchema;

#[derive(KubeSchema, serde::Serialize)]
pub enum Shape {
    Point(i32, i32),
}

fn main() {}
