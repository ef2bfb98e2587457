use crdforge::KubeSchema;

#[derive(KubeSchema)]
pub struct Spec {
    /// Fine: the field states the range the apiserver can hold.
    #[crd(maximum = 9223372036854774784)]
    pub capped: u64,
    pub size_bytes: u64,
    pub offsets: Vec<u128>,
    /// An array's items too.
    pub pair: [u64; 2],
}

fn main() {}
