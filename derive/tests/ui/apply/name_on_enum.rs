use crdforge::KubeSchema;

// An enum is its own apply configuration, so it cannot name a struct.
#[derive(KubeSchema, serde::Serialize, Clone, Debug)]
#[crd(apply = "ModeApply")]
pub enum Mode {
    Fast,
    Safe,
}

// Neither can a newtype, whose configuration is its inner type's.
#[derive(KubeSchema, serde::Serialize, Clone, Debug)]
#[crd(apply = "NameApply")]
pub struct Name(String);

fn main() {}
