//! Paths the derives' generated code uses; not a public API. Kept in its
//! own file so the compile-error snapshots that quote it do not change when
//! `lib.rs` does.

pub use k8s_openapi;
pub use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
/// Every root struct and apply configuration names it several times; a
/// short path keeps each expansion smaller.
pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
pub use kube_core;
pub use serde;
pub use serde_json;

pub use crate::reach::Reach;

/// `Vec::from(array)`, shorter in the expansion, and callable where a
/// user's scope shadows `From` (a `no_implicit_prelude` module).
#[inline]
pub fn vec<T, const N: usize>(items: [T; N]) -> Vec<T> {
    <Vec<T> as From<[T; N]>>::from(items)
}

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

/// What every `<Kind>Apply` does with its metadata and on the wire, written
/// once here instead of in each expansion.
pub mod apply {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
    use serde::ser::{Error as _, SerializeMap, Serializer};

    /// The identity of an object to apply.
    pub fn identity(namespace: Option<&str>, name: &str) -> ObjectMeta {
        ObjectMeta {
            namespace: namespace.map(String::from),
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        }
    }

    /// Adds a label.
    pub fn label(meta: &mut ObjectMeta, key: &str, value: &str) {
        meta.labels
            .get_or_insert_with(Default::default)
            .insert(key.to_owned(), value.to_owned());
    }

    /// Adds an annotation.
    pub fn annotation(meta: &mut ObjectMeta, key: &str, value: &str) {
        meta.annotations
            .get_or_insert_with(Default::default)
            .insert(key.to_owned(), value.to_owned());
    }

    /// Adds an owner reference.
    pub fn owner_reference(meta: &mut ObjectMeta, owner: OwnerReference) {
        meta.owner_references
            .get_or_insert_with(Default::default)
            .push(owner);
    }

    /// Adds a finalizer.
    pub fn finalizer(meta: &mut ObjectMeta, finalizer: &str) {
        meta.finalizers
            .get_or_insert_with(Default::default)
            .push(finalizer.to_owned());
    }

    /// The fields of a `<Type>Apply` as they are written: each set field
    /// under its wire name, unset ones left out, flattened ones merged in.
    ///
    /// The derive writes `Serialize` for configurations through this rather
    /// than deriving it: serde's derive would cost every user crate a second
    /// expansion per type, and its `self.field` expressions carry the derive's
    /// span, so a field type without a configuration would be reported at
    /// `#[derive]` as well as at the field.
    pub struct Fields<M> {
        map: M,
    }

    /// Starts writing a configuration's fields.
    pub fn fields<S: Serializer>(serializer: S) -> Result<Fields<S::SerializeMap>, S::Error> {
        Ok(Fields {
            map: serializer.serialize_map(None)?,
        })
    }

    impl<M: SerializeMap> Fields<M> {
        /// Writes `name: value` if the field is set.
        pub fn field<T: serde::Serialize>(
            &mut self,
            name: &'static str,
            value: &Option<T>,
        ) -> Result<(), M::Error> {
            match value {
                Some(value) => self.map.serialize_entry(name, value),
                None => Ok(()),
            }
        }

        /// Merges a flattened field's entries in, as `#[serde(flatten)]`
        /// does: unset or null writes nothing, and anything but a map is an
        /// error. It goes through a JSON value because serde's own adapter
        /// for this is private; flattened fields are rare and small.
        pub fn flatten<T: serde::Serialize>(&mut self, value: &Option<T>) -> Result<(), M::Error> {
            let Some(value) = value else {
                return Ok(());
            };
            match serde_json::to_value(value).map_err(M::Error::custom)? {
                serde_json::Value::Object(entries) => {
                    for (key, value) in &entries {
                        self.map.serialize_entry(key, value)?;
                    }
                    Ok(())
                }
                serde_json::Value::Null => Ok(()),
                other => Err(M::Error::custom(format_args!(
                    "a flattened field must serialize as a map, not {other}"
                ))),
            }
        }

        /// Finishes the object.
        pub fn end(self) -> Result<M::Ok, M::Error> {
            self.map.end()
        }
    }

    /// The body of an apply: `apiVersion`, `kind`, `metadata`, and `spec`
    /// and `status` when set. `status` is `None` for a kind without one;
    /// `spec_at_root` is `no_spec`: the spec's fields are the object's.
    pub fn serialize_object<S, Spec, Status>(
        serializer: S,
        (api_version, kind, spec_at_root): (&'static str, &'static str, bool),
        metadata: &ObjectMeta,
        spec: &Option<Spec>,
        status: Option<&Option<Status>>,
    ) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        Spec: serde::Serialize,
        Status: serde::Serialize,
    {
        let mut out = fields(serializer)?;
        out.map.serialize_entry("apiVersion", api_version)?;
        out.map.serialize_entry("kind", kind)?;
        out.map.serialize_entry("metadata", metadata)?;
        if spec_at_root {
            out.flatten(spec)?;
        } else {
            out.field("spec", spec)?;
        }
        if let Some(status) = status {
            out.field("status", status)?;
        }
        out.end()
    }
}

/// The automatic fallback to schemars for types written for kube-derive.
#[path = "fallback.rs"]
pub mod fallback;
