use crdforge::KubeSchema;

pub struct NoSchema;

#[derive(KubeSchema)]
pub struct Spec {
    pub inner: NoSchema,
}

fn main() {}
