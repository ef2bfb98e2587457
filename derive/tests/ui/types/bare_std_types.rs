// The std types imported and named bare are judged like their `std::` paths.
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crdforge::KubeSchema;

#[derive(KubeSchema, serde::Serialize, serde::Deserialize)]
pub struct Spec {
    pub timeout: Duration,
    pub address: Option<IpAddr>,
    pub gateways: Vec<Ipv4Addr>,
    pub peers: std::collections::BTreeMap<String, SocketAddr>,
}

fn main() {}
