use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Nothing;

fn main() {}
