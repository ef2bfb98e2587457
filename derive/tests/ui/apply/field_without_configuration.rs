use crdforge::KubeSchema;

// Opted out of apply configurations...
#[derive(KubeSchema, serde::Serialize, Clone, Debug)]
#[crd(apply = false)]
pub struct Inner {
    pub n: i32,
}

// ...so a struct that has one cannot hold it.
#[derive(KubeSchema, serde::Serialize, Clone, Debug)]
pub struct Outer {
    pub inner: Inner,
}

fn main() {}
