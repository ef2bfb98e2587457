use crdforge::KubeSchema;

// A tree node holding its children: no finite structural schema exists.
#[derive(KubeSchema, serde::Serialize, serde::Deserialize)]
pub struct Node {
    pub name: String,
    pub children: Vec<Node>,
    pub parent: Option<Box<Self>>,
    // preserve_unknown_fields still describes the items: no way out.
    #[crd(preserve_unknown_fields)]
    pub preserved: Vec<Node>,
    // The ways out compile.
    #[crd(schemaless)]
    pub unchecked: Vec<Node>,
    #[serde(skip)]
    pub skipped: Option<Box<Node>>,
}

fn main() {}
