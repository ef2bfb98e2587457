//! The serde-shapes corpus of `crdforge-fixtures` (`shapes.rs`) derived with
//! kube-derive 5 and schemars 1: the same field types and serde attributes,
//! in the group `kube.shapes.crdforge.dev`. `Variants` is split into one
//! kind per field, so that a field whose enum makes kube-derive's `crd()`
//! panic does not hide the verdicts of the others. `tests/shapes_e2e.rs`
//! sends the corpus's samples through these CRDs on a real apiserver and
//! writes docs/serde-shapes-kube-derive.md.

use std::collections::{BTreeMap, HashMap};
use std::num::{NonZeroI32, NonZeroU32};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::{CustomResource, CustomResourceExt};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The API group of the kube-derive corpus.
pub const GROUP: &str = "kube.shapes.crdforge.dev";

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(group = "kube.shapes.crdforge.dev", version = "v1", kind = "FlatMap")]
pub struct FlatMapSpec {
    name: String,
    #[serde(flatten)]
    placement: Placement,
    #[serde(flatten)]
    extra: BTreeMap<String, Value>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
struct Placement {
    zone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replicas: Option<i32>,
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "kube.shapes.crdforge.dev",
    version = "v1",
    kind = "FlatNested"
)]
pub struct FlatNestedSpec {
    port: i32,
    #[serde(flatten)]
    inner: WithLabels,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
struct WithLabels {
    tier: String,
    #[serde(flatten)]
    labels: HashMap<String, Value>,
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "kube.shapes.crdforge.dev",
    version = "v1",
    kind = "Nulls",
    plural = "nulls"
)]
#[serde(rename_all = "camelCase")]
pub struct NullsSpec {
    value: Value,
    boxed: Box<Value>,
    maybe: Option<Value>,
    written_null: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    left_out: Option<String>,
    // The same reader as crdforge's corpus: schemars describes the field's
    // type, serde reads `null` as `Some(None)`.
    #[schemars(with = "Option<Option<i32>>")]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crdforge::serde_helpers::double_option"
    )]
    twice: Option<Option<i32>>,
    optional_values: BTreeMap<String, Option<String>>,
    optional_items: Vec<Option<i32>>,
    object: serde_json::Map<String, Value>,
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "kube.shapes.crdforge.dev",
    version = "v1",
    kind = "Numbers",
    plural = "numbers"
)]
#[serde(rename_all = "camelCase")]
pub struct NumbersSpec {
    i8: i8,
    i16: i16,
    i32: i32,
    i64: i64,
    u8: u8,
    u16: u16,
    u32: u32,
    u64: u64,
    i128: i128,
    u64s: Vec<u64>,
    non_zero: NonZeroU32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signed_non_zero: Option<NonZeroI32>,
    plain: i64,
    char: char,
    bytes: Vec<u8>,
}

/// One `Variants` field as a kind of its own.
macro_rules! variant_kind {
    ($spec:ident, $kind:literal, $field:ident, $wire:literal, $ty:ty) => {
        #[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
        #[kube(group = "kube.shapes.crdforge.dev", version = "v1", kind = $kind)]
        pub struct $spec {
            #[serde(rename = $wire)]
            $field: $ty,
        }
    };
}

variant_kind!(VColorSpec, "VColor", color, "color", Color);
variant_kind!(VExternalSpec, "VExternal", external, "external", External);
variant_kind!(VInternalSpec, "VInternal", internal, "internal", Internal);
variant_kind!(VAdjacentSpec, "VAdjacent", adjacent, "adjacent", Adjacent);
variant_kind!(VUntaggedSpec, "VUntagged", untagged, "untagged", Untagged);
variant_kind!(VPortSpec, "VPort", port, "port", PortRef);
variant_kind!(
    VIntOrStringSpec,
    "VIntOrString",
    int_or_string,
    "intOrString",
    IntOrString
);
variant_kind!(VNameSpec, "VName", name, "name", Name);

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
enum Color {
    Red,
    Green,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
enum External {
    Text(String),
    List(Vec<i32>),
    Point { x: i32, y: i32 },
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(tag = "kind", rename_all_fields = "camelCase")]
enum Internal {
    Disk {
        size_gib: i32,
    },
    Memory,
    #[serde(other)]
    Unknown,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(tag = "type", content = "content")]
enum Adjacent {
    Object { text: String },
    Wrapped(Placement),
    Nothing,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(untagged)]
enum Untagged {
    Full { name: String, namespace: String },
    Short { name: String },
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(untagged)]
enum PortRef {
    Number(i32),
    Named(String),
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
struct Name(String);

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema, Default)]
#[kube(group = "kube.shapes.crdforge.dev", version = "v1", kind = "Optional")]
pub struct OptionalSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    setting: Option<String>,
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "kube.shapes.crdforge.dev",
    version = "v1",
    kind = "Conditioned"
)]
pub struct ConditionedSpec {
    conditions: Vec<Condition>,
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(group = "kube.shapes.crdforge.dev", version = "v1", kind = "Orders")]
pub struct OrdersSpec {
    reference: Reference,
    denied: Denied,
    config: Kept,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(untagged)]
enum Reference {
    Full {
        name: String,
        namespace: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        uid: Option<String>,
    },
    Short {
        name: String,
    },
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(untagged, deny_unknown_fields)]
enum Denied {
    Short { name: String },
    Full { name: String, namespace: String },
}

/// crdforge's `#[crd(preserve_unknown_fields)]` has no kube-derive
/// counterpart; the serde shape is the same.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
struct Kept {
    known: String,
    #[serde(flatten)]
    rest: BTreeMap<String, Value>,
}

/// One kind of the kube-derive corpus: its CRD (kube-derive's `crd()`,
/// which may panic) and how a spec round-trips through its Rust type.
pub struct KubeKind {
    /// The kind.
    pub kind: &'static str,
    /// The corpus kind its samples come from.
    pub corpus_kind: &'static str,
    /// For a `Variants` field kind, the field its samples keep.
    pub field: Option<&'static str>,
    /// kube-derive's CRD.
    pub crd: fn() -> CustomResourceDefinition,
    /// The spec read into the Rust type and written again; `Err` if it is
    /// no value of the type.
    pub written: fn(&Value) -> Result<Value, String>,
    /// Whether two specs are the same Rust value (`==`).
    pub same: fn(&Value, &Value) -> Result<bool, String>,
}

fn written<S: Serialize + DeserializeOwned>(spec: &Value) -> Result<Value, String> {
    let s: S = serde_json::from_value(spec.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&s).map_err(|e| e.to_string())
}

fn same<S: DeserializeOwned + PartialEq>(a: &Value, b: &Value) -> Result<bool, String> {
    let a: S = serde_json::from_value(a.clone()).map_err(|e| format!("sent: {e}"))?;
    let b: S = serde_json::from_value(b.clone()).map_err(|e| format!("stored: {e}"))?;
    Ok(a == b)
}

macro_rules! kinds {
    ($(($root:ident, $spec:ident, $corpus:literal, $field:expr)),* $(,)?) => {
        vec![$(KubeKind {
            kind: stringify!($root),
            corpus_kind: $corpus,
            field: $field,
            crd: $root::crd,
            written: written::<$spec>,
            same: same::<$spec>,
        }),*]
    };
}

/// Every kind of the kube-derive corpus.
pub fn kinds() -> Vec<KubeKind> {
    kinds![
        (FlatMap, FlatMapSpec, "FlatMap", None),
        (FlatNested, FlatNestedSpec, "FlatNested", None),
        (Nulls, NullsSpec, "Nulls", None),
        (Numbers, NumbersSpec, "Numbers", None),
        (VColor, VColorSpec, "Variants", Some("color")),
        (VExternal, VExternalSpec, "Variants", Some("external")),
        (VInternal, VInternalSpec, "Variants", Some("internal")),
        (VAdjacent, VAdjacentSpec, "Variants", Some("adjacent")),
        (VUntagged, VUntaggedSpec, "Variants", Some("untagged")),
        (VPort, VPortSpec, "Variants", Some("port")),
        (
            VIntOrString,
            VIntOrStringSpec,
            "Variants",
            Some("intOrString")
        ),
        (VName, VNameSpec, "Variants", Some("name")),
        (Optional, OptionalSpec, "Optional", None),
        (Conditioned, ConditionedSpec, "Conditioned", None),
        (Orders, OrdersSpec, "Orders", None),
    ]
}

/// The spec a kind of the kube-derive corpus gets from a corpus sample's
/// (for a `Variants` field kind, that field alone).
pub fn spec_of(kind: &KubeKind, corpus_spec: &Value) -> Option<Value> {
    match kind.field {
        None => Some(corpus_spec.clone()),
        Some(field) => corpus_spec
            .get(field)
            .map(|v| serde_json::json!({ field: v })),
    }
}
