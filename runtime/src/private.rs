//! Paths the derives' generated code uses; not a public API. Kept in its
//! own file so the compile-error snapshots that quote it do not change when
//! `lib.rs` does.

pub use k8s_openapi;
pub use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
pub use kube_core;
pub use serde;
pub use serde_json;

/// A typed `#[crd(default = ...)]` as JSON; a value serde cannot write
/// becomes a problem at the field instead of a panic.
pub fn default_value<T: serde::Serialize>(
    ctx: &mut crate::schema::Context,
    value: impl Into<T>,
) -> Option<serde_json::Value> {
    match serde_json::to_value(value.into()) {
        Ok(value) => Some(value),
        Err(e) => {
            ctx.problem(format!("the default cannot be serialized: {e}"));
            None
        }
    }
}
