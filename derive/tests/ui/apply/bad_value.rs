use crdforge::KubeSchema;

#[derive(KubeSchema, serde::Serialize, Clone, Debug)]
#[crd(apply = 3)]
pub struct Counted {
    pub n: i32,
}

#[derive(KubeSchema, serde::Serialize, Clone, Debug)]
#[crd(apply = "not a name")]
pub struct Spaced {
    pub n: i32,
}

fn main() {}
