use crdforge::KubeSchema;
use serde::{Deserialize, Serialize};

// An expression tree: `Expr` holds `Binary`, which holds `Expr` again.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub enum Expr {
    Literal(String),
    Binary(Box<Binary>),
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Binary {
    pub op: String,
    pub operands: Vec<Expr>,
}

// A loop of three through a map and an option; `Leaf` is reached by all of
// them and is not on the loop, so it has no error.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Team {
    pub lead: Option<Member>,
    pub leaf: Leaf,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Member {
    pub reports: std::collections::BTreeMap<String, Group>,
    pub leaf: Leaf,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Group {
    pub teams: Vec<Team>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Leaf {
    pub name: String,
}

// A type that only holds a type on a loop is not on it: no error here.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Holder {
    pub team: Team,
}

// The way out compiles: the field that closes the loop is schemaless.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Folder {
    pub files: Vec<String>,
    pub sub: Vec<SubFolder>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct SubFolder {
    #[crd(schemaless)]
    pub folder: Box<Folder>,
}

// Through a generic type: `Doc` holds `Wrapped<Section>`, whose parameter
// is `Section`, which holds `Doc`. The generic type itself has no error.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Wrapped<T> {
    pub inner: Box<T>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Doc {
    pub body: Wrapped<Section>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Section {
    pub docs: Vec<Doc>,
}

fn main() {}
