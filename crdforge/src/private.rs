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

/// `#[crd(schemars)]`: the schema schemars writes for `T` (OpenAPI 3
/// settings, sub-schemas inlined), read into crdforge's schema with every
/// key a CRD cannot hold reported as a problem at the field.
#[cfg(feature = "schemars")]
pub fn schemars_schema<T: schemars::JsonSchema + ?Sized>(
    ctx: &mut crate::schema::Context,
) -> crate::schema::Schema {
    let generator = schemars::generate::SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    let schema = generator.into_root_schema_for::<T>();
    crate::schema::from_json(schema.as_value(), ctx)
}

/// Without the `schemars` feature, `#[crd(schemars)]` fails to compile
/// with a message that says which feature to turn on.
#[cfg(not(feature = "schemars"))]
pub fn schemars_schema<T: SchemarsFeature + ?Sized>(
    _: &mut crate::schema::Context,
) -> crate::schema::Schema {
    T::UNREACHABLE
}

/// Implemented by nothing: see [`schemars_schema`].
#[cfg(not(feature = "schemars"))]
#[diagnostic::on_unimplemented(
    message = "`#[crd(schemars)]` needs crdforge's `schemars` feature",
    label = "enable it: crdforge = {{ features = [\"schemars\"] }}"
)]
pub trait SchemarsFeature {
    /// Never reached: no type implements this trait.
    const UNREACHABLE: crate::schema::Schema;
}
