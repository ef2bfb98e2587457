use crdforge::KubeSchema;
use serde::Serialize;

#[derive(KubeSchema, Serialize)]
#[serde(tag = "kind", content = "value")]
pub enum Body {
    Object { text: String },
    Inline(String),
}

#[derive(KubeSchema, Serialize)]
pub struct Message {
    pub body: Body,
}

fn main() {}
