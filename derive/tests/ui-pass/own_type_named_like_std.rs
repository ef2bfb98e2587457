// A type of the user's own named like a std type opts in by its path: its
// own schema is used.
use crdforge::KubeSchema;

/// A duration in Kubernetes' form ("90s").
#[derive(KubeSchema, serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
#[serde(transparent)]
pub struct Duration(pub String);

/// An address written as a string.
#[derive(KubeSchema, serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
#[serde(transparent)]
pub struct IpAddr(pub String);

#[derive(KubeSchema, serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
pub struct Spec {
    pub timeout: self::Duration,
    pub address: Option<crate::IpAddr>,
}

fn main() {
    let schema = <Spec as KubeSchema>::kube_schema(&mut crdforge::schema::Context::new());
    for field in ["timeout", "address"] {
        assert_eq!(schema.properties[field].type_name(), "string", "{field}");
    }
}
