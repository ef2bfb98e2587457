use crdforge::KubeSchema;

#[derive(KubeSchema)]
#[crd(at_most_one_of(http, tcp))]
pub struct Probe {
    pub http: String,
    pub tcp: Option<String>,
}

fn main() {}
