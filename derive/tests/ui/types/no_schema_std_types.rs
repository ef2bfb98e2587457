use crdforge::KubeSchema;

#[derive(KubeSchema, serde::Serialize, serde::Deserialize)]
pub struct Spec {
    pub pair: Option<(String, i32)>,
    pub timeout: std::time::Duration,
    pub peers: Vec<std::net::SocketAddr>,
    pub marker: (),
}

fn main() {}
