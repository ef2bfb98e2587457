use crdforge::KubeSchema;

#[derive(KubeSchema, serde::Serialize)]
pub enum Power {
    Off,
    On { level: i32 },
}

fn main() {}
