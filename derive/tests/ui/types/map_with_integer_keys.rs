use std::collections::BTreeMap;

#[derive(crdforge::KubeSchema, serde::Serialize, serde::Deserialize, Clone, Debug)]
pub struct Ports {
    pub by_number: BTreeMap<u16, String>,
}

fn main() {}
