use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Pair(pub String, pub i32);

fn main() {}
