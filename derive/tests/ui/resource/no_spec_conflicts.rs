use crdforge::CustomResource;

// With `no_spec` the spec's fields share the top level with the object's
// own: a field named like one of them, `optional_spec` and the scale
// subresource (whose replicas path must be under `.spec`) are refused.
#[derive(CustomResource, serde::Serialize, serde::Deserialize, Clone, Debug, Default)]
#[kube(
    group = "example.com",
    version = "v1",
    kind = "Loose",
    no_spec,
    optional_spec,
    status = "LooseStatus",
    scale(spec_replicas_path = ".spec.replicas", status_replicas_path = ".status.replicas"),
    printcolumn(name = "Image", type_ = "string", json_path = ".spec.image")
)]
pub struct LooseSpec {
    pub image: String,
    pub replicas: i32,
    pub kind: String,
}

#[derive(crdforge::KubeSchema, serde::Serialize, serde::Deserialize, Clone, Debug)]
pub struct LooseStatus {
    pub replicas: i32,
}

fn main() {}
