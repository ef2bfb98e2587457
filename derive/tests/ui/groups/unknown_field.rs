use crdforge::KubeSchema;

#[derive(KubeSchema)]
#[crd(exactly_one_of(http, tpc))]
pub struct Probe {
    pub http: Option<String>,
    pub tcp: Option<String>,
}

fn main() {}
