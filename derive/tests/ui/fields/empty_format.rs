use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Spec {
    /// Fine: an integer without a format.
    #[crd(no_format)]
    pub count: i64,
    #[crd(format = "")]
    pub other: i64,
}

fn main() {}
