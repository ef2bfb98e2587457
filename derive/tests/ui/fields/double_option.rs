use crdforge::KubeSchema;
use serde::{Deserialize, Serialize};

#[derive(KubeSchema, Serialize, Deserialize)]
pub struct Spec {
    /// Fine: null reads back as `Some(None)`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crdforge::serde_helpers::double_option"
    )]
    pub kept: Option<Option<String>>,
    /// serde reads the kept null as `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<Option<String>>,
    /// `None` would be written as null.
    #[serde(default, with = "crdforge::serde_helpers::double_option")]
    pub written: Option<Option<i32>>,
}

fn main() {}
