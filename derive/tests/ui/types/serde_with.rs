use crdforge::KubeSchema;

mod as_string {
    pub fn serialize<S: serde::Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }
}

#[derive(KubeSchema, serde::Serialize)]
pub struct Spec {
    #[serde(serialize_with = "as_string::serialize")]
    pub count: u32,
}

fn main() {}
