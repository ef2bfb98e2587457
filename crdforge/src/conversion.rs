//! Versions of one kind with different Rust types, converted hub and spoke.
//!
//! Each served version is a `#[derive(CustomResource)]` type of its own
//! (usually `v1::User`, `v2::User` in modules of one API crate). One of
//! them is the hub — the storage version — and every other (a spoke)
//! converts to and from it with std's `TryFrom` (or `From`, which gives
//! `TryFrom`) on whole objects, so a conversion sees the metadata and can
//! keep what the other version cannot hold there (see [`stash`]). A
//! [`Converter`] derives every pairwise conversion through the hub, on the
//! JSON objects a `ConversionReview` carries, and assembles the CRD with
//! every version (the hub the storage version) and its conversion webhook.
//!
//! ```
//! # mod v1 { use crdforge::CustomResource; use serde::{Deserialize, Serialize};
//! # #[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
//! # #[crd(group = "example.com", version = "v1", kind = "Pet")]
//! # pub struct PetSpec { pub name: String } }
//! # mod v2 { use crdforge::CustomResource; use serde::{Deserialize, Serialize};
//! # #[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
//! # #[crd(group = "example.com", version = "v2", kind = "Pet")]
//! # pub struct PetSpec { pub names: Vec<String> } }
//! impl From<v1::Pet> for v2::Pet {
//!     fn from(old: v1::Pet) -> Self {
//!         v2::Pet { metadata: old.metadata, spec: v2::PetSpec { names: vec![old.spec.name] } }
//!     }
//! }
//! impl TryFrom<v2::Pet> for v1::Pet {
//!     type Error = String;
//!     fn try_from(new: v2::Pet) -> Result<Self, String> {
//!         let [name] = <[String; 1]>::try_from(new.spec.names)
//!             .map_err(|names| format!("v1 holds one name, not {}", names.len()))?;
//!         Ok(v1::Pet { metadata: new.metadata, spec: v1::PetSpec { name } })
//!     }
//! }
//! let pets = crdforge::conversion::Converter::<v2::Pet>::new().spoke::<v1::Pet>();
//! let old = serde_json::json!({
//!     "apiVersion": "example.com/v1", "kind": "Pet",
//!     "metadata": {"name": "rex", "uid": "1"}, "spec": {"name": "Rex"}});
//! let new = pets.convert(old, "example.com/v2").unwrap();
//! assert_eq!(new["spec"], serde_json::json!({"names": ["Rex"]}));
//! assert_eq!(new["metadata"]["uid"], "1");
//! ```
//!
//! ## Fields a version cannot hold
//!
//! A spoke that lacks a field of the hub (or the reverse) would lose it on
//! a round trip through the other version. The convention of the Go
//! ecosystem (Cluster API's `conversion-data`) carries it in an annotation
//! of the converted object: the conversion to the narrower version
//! [`stash`]es what it cannot express, the conversion back [`unstash`]es it
//! (and removes the annotation), so v1 → v2 → v1 is the identity. The
//! annotation key is the API's to choose; [`conversion_data_key`] gives the
//! conventional `<group>/conversion-data`.
//!
//! ## Metadata
//!
//! The apiserver refuses a conversion that changes anything in `metadata`
//! but labels and annotations. The converter therefore puts the input's
//! metadata back on every output, taking from the conversion only the
//! annotations (where stashed fields live).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::CustomResource;
use crate::crd::{self, Definition};
use crate::webhook::WebhookConversion;

/// Why an object could not be converted; the message reaches the client
/// through the apiserver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversionError {
    /// What went wrong, naming the object, the versions and the field.
    pub message: String,
}

impl ConversionError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for ConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConversionError {}

type ToHub<H> = Arc<dyn Fn(Value) -> Result<H, String> + Send + Sync>;
type FromHub<H> = Arc<dyn Fn(H) -> Result<Value, String> + Send + Sync>;

struct Entry<H> {
    to_hub: ToHub<H>,
    from_hub: FromHub<H>,
    definition: fn() -> Definition,
}

/// Every served version of one kind, converted through the hub `H`.
pub struct Converter<H> {
    hub_version: String,
    /// By `apiVersion` (`group/version`).
    versions: BTreeMap<String, Entry<H>>,
}

impl<H> fmt::Debug for Converter<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Converter")
            .field("hub", &self.hub_version)
            .field("versions", &self.versions.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn api_version<K: CustomResource>() -> String {
    K::api_version(&()).into_owned()
}

impl<H> Converter<H>
where
    H: CustomResource + Serialize + DeserializeOwned + 'static,
{
    /// The hub alone; add the other versions with [`Converter::spoke`].
    pub fn new() -> Self {
        let mut converter = Self {
            hub_version: H::version(&()).into_owned(),
            versions: BTreeMap::new(),
        };
        converter.add::<H>();
        converter
    }

    /// Adds a served version that converts to and from the hub.
    pub fn spoke<S>(mut self) -> Self
    where
        S: CustomResource + Serialize + DeserializeOwned + TryFrom<H> + 'static,
        H: TryFrom<S>,
        <S as TryFrom<H>>::Error: fmt::Display,
        <H as TryFrom<S>>::Error: fmt::Display,
    {
        self.add::<S>();
        self
    }

    fn add<S>(&mut self)
    where
        S: CustomResource + Serialize + DeserializeOwned + TryFrom<H> + 'static,
        H: TryFrom<S>,
        <S as TryFrom<H>>::Error: fmt::Display,
        <H as TryFrom<S>>::Error: fmt::Display,
    {
        let to_hub: ToHub<H> = Arc::new(|value| {
            let spoke: S = serde_json::from_value(value)
                .map_err(|e| format!("not a valid {} {}: {e}", api_version::<S>(), S::kind(&())))?;
            H::try_from(spoke).map_err(|e| e.to_string())
        });
        let from_hub: FromHub<H> = Arc::new(|hub| {
            let spoke = S::try_from(hub).map_err(|e| e.to_string())?;
            serde_json::to_value(spoke).map_err(|e| e.to_string())
        });
        self.versions.insert(
            api_version::<S>(),
            Entry {
                to_hub,
                from_hub,
                definition: S::definition,
            },
        );
    }

    /// The `apiVersion`s it converts between, sorted.
    pub fn api_versions(&self) -> Vec<&str> {
        self.versions.keys().map(String::as_str).collect()
    }

    /// Converts one object to `desired` (`group/version`), through the hub;
    /// an object already in `desired` comes back unchanged. The result has
    /// the input's metadata, with the annotations the conversion left.
    pub fn convert(&self, object: Value, desired: &str) -> Result<Value, ConversionError> {
        let from = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .ok_or_else(|| ConversionError::new("the object has no apiVersion"))?
            .to_owned();
        let name = describe(&object);
        let entry = |api_version: &str| {
            self.versions.get(api_version).ok_or_else(|| {
                ConversionError::new(format!(
                    "{name}: {api_version} is not one of the versions this webhook converts ({})",
                    self.api_versions().join(", ")
                ))
            })
        };
        let source = entry(&from)?;
        let target = entry(desired)?;
        if from == desired {
            return Ok(object);
        }
        let metadata = object.get("metadata").cloned();
        let fail = |e: String| ConversionError::new(format!("{name}: {from} to {desired}: {e}"));
        let hub = (source.to_hub)(object).map_err(fail)?;
        let mut converted = (target.from_hub)(hub).map_err(fail)?;
        restore_metadata(&mut converted, metadata);
        Ok(converted)
    }

    /// The definition of every version, the hub the storage version, all
    /// served, converted by `webhook` (with cert-manager's annotation when
    /// it names a `Certificate`).
    pub fn definition(&self, webhook: WebhookConversion) -> Result<Definition, crd::Error> {
        let definitions = self
            .versions
            .values()
            .map(|entry| {
                let mut definition = (entry.definition)();
                for version in &mut definition.versions {
                    version.storage = version.name == self.hub_version;
                }
                definition
            })
            .collect();
        let mut merged = crd::merge(definitions)?;
        if let Some(from) = &webhook.inject_ca_from {
            merged
                .annotations
                .push((crate::webhook::INJECT_CA_FROM.to_owned(), from.clone()));
        }
        merged.conversion = Some(webhook);
        Ok(merged)
    }
}

impl<H> Default for Converter<H>
where
    H: CustomResource + Serialize + DeserializeOwned + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

/// `Kind namespace/name` of an object, for messages.
fn describe(object: &Value) -> String {
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("object");
    let meta = object.get("metadata");
    let field = |key: &str| {
        meta.and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    match field("namespace") {
        "" => format!("{kind} {}", field("name")),
        namespace => format!("{kind} {namespace}/{}", field("name")),
    }
}

/// The input's metadata, with the annotations of the converted object.
fn restore_metadata(converted: &mut Value, original: Option<Value>) {
    let Some(object) = converted.as_object_mut() else {
        return;
    };
    let annotations = object
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .cloned();
    let mut metadata = original.unwrap_or_else(|| Value::Object(Default::default()));
    if let Some(meta) = metadata.as_object_mut() {
        match annotations {
            Some(Value::Object(map)) if !map.is_empty() => {
                meta.insert("annotations".to_owned(), Value::Object(map));
            }
            _ => {
                meta.remove("annotations");
            }
        }
    }
    object.insert("metadata".to_owned(), metadata);
}

/// `<group>/conversion-data`: the conventional annotation for fields a
/// version cannot hold.
pub fn conversion_data_key<K: kube_core::Resource<DynamicType = ()>>() -> String {
    format!("{}/conversion-data", K::group(&()))
}

/// Keeps `value` (JSON) in the annotation `key` of `metadata`, for the
/// conversion back to restore with [`unstash`]. A value that is `null`
/// (`None`, a unit) or an empty object (a struct whose fields are all
/// skipped) writes nothing, so objects that lose nothing carry nothing.
pub fn stash<T: Serialize>(
    metadata: &mut ObjectMeta,
    key: &str,
    value: &T,
) -> Result<(), ConversionError> {
    let json = serde_json::to_value(value)
        .map_err(|e| ConversionError::new(format!("annotation {key}: {e}")))?;
    if json.is_null() || json.as_object().is_some_and(|o| o.is_empty()) {
        return Ok(());
    }
    metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(key.to_owned(), json.to_string());
    Ok(())
}

/// Takes the value [`stash`]ed in annotation `key` out of `metadata`
/// (removing the annotation, and the annotations map when it ends up
/// empty); `None` if there is none. An annotation that does not parse as a
/// `T` is an error naming the key, not a silent loss.
pub fn unstash<T: DeserializeOwned>(
    metadata: &mut ObjectMeta,
    key: &str,
) -> Result<Option<T>, ConversionError> {
    let Some(annotations) = metadata.annotations.as_mut() else {
        return Ok(None);
    };
    let Some(json) = annotations.remove(key) else {
        return Ok(None);
    };
    if annotations.is_empty() {
        metadata.annotations = None;
    }
    serde_json::from_str(&json).map(Some).map_err(|e| {
        ConversionError::new(format!(
            "annotation {key} does not hold the stashed fields: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stash_and_unstash_leave_no_trace() {
        let mut meta = ObjectMeta::default();
        stash(&mut meta, "example.com/conversion-data", &Some(3)).unwrap();
        assert_eq!(
            meta.annotations.as_ref().unwrap()["example.com/conversion-data"],
            "3"
        );
        let back: Option<u32> = unstash(&mut meta, "example.com/conversion-data").unwrap();
        assert_eq!(back, Some(3));
        assert_eq!(meta, ObjectMeta::default());
        stash(&mut meta, "k", &None::<u32>).unwrap();
        assert_eq!(meta, ObjectMeta::default());
        meta.annotations = Some([("k".to_owned(), "{".to_owned())].into());
        let err = unstash::<u32>(&mut meta, "k").unwrap_err();
        assert!(
            err.message.starts_with("annotation k does not hold"),
            "{err}"
        );
    }

    #[test]
    fn metadata_is_restored_but_annotations_follow_the_conversion() {
        let mut converted = serde_json::json!({
            "metadata": {"name": "x", "annotations": {"a": "1"}, "labels": {"dropped": "yes"}}
        });
        let original = serde_json::json!({"name": "x", "uid": "u", "labels": {"l": "v"}});
        restore_metadata(&mut converted, Some(original));
        assert_eq!(
            converted["metadata"],
            serde_json::json!({"name": "x", "uid": "u", "labels": {"l": "v"}, "annotations": {"a": "1"}})
        );
    }
}
