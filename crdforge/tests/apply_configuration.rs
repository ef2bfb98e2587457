//! What the derives' apply configurations put on the wire: exactly the
//! fields set, under the names serde gives the type itself (renames,
//! `rename_all`, `flatten`), and for a whole object `apiVersion`, `kind`
//! and its identity always. No apiserver here; `client.rs` proves what the
//! apiserver does with them.

use std::collections::BTreeMap;

use crdforge::{ApplyConfiguration, CustomResource, KubeSchema, ObjectConfiguration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, OwnerReference, Time};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A cluster-scoped kind with a status.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[crd(
    group = "apply.crdforge.dev",
    version = "v1",
    kind = "Widget",
    status = "WidgetStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct WidgetSpec {
    /// Renamed by `rename_all`.
    pub display_name: String,
    /// Renamed by its own attribute, over `rename_all`.
    #[serde(rename = "size_in_units")]
    pub size: Option<i32>,
    /// A nested struct: its configuration is partial too.
    #[serde(default)]
    pub limits: Option<Limits>,
    /// A map, granular per key.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// A list of structs keyed by `name`.
    #[serde(default)]
    #[crd(list_type = "map", list_map_key = "name")]
    pub ports: Vec<Port>,
    /// An enum is applied whole.
    #[serde(default)]
    pub mode: Mode,
    /// Fields of another struct, flattened into this one.
    #[serde(flatten)]
    pub extra: Extra,
    /// Its wire shape is known only to its author, so it is raw JSON.
    #[serde(default)]
    #[crd(schemaless)]
    pub free: serde_json::Value,
    /// Not written by serde, so not in the configuration.
    #[serde(skip)]
    pub cache: Option<String>,
}

/// Resource limits.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Most CPUs.
    pub max_cpus: Option<i32>,
    /// Most memory.
    pub max_memory: Option<String>,
}

/// One port, keyed by name.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Port {
    /// The key.
    pub name: String,
    /// The number.
    pub port: i32,
    /// The protocol.
    #[serde(rename = "proto")]
    pub protocol: Option<String>,
}

/// How it runs.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Fast.
    #[default]
    Fast,
    /// Safe.
    Safe,
}

/// Flattened into the spec.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Extra {
    /// Owner team.
    pub owner_team: Option<String>,
}

/// A newtype: its configuration is its inner type's.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Name(pub String);

/// The widget's status.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct WidgetStatus {
    /// Whether it works.
    pub ready: Option<bool>,
    /// The generation seen.
    pub observed_generation: Option<i64>,
    /// Conditions, keyed by type.
    #[serde(default)]
    #[crd(list_type = "map", list_map_key = "type")]
    pub conditions: Vec<Condition>,
}

/// A namespaced kind without a status, whose configuration is renamed.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[crd(
    group = "apply.crdforge.dev",
    version = "v1",
    kind = "Gadget",
    namespaced,
    apply = "GadgetConfig"
)]
pub struct GadgetSpec {
    /// Its name.
    pub label: Name,
}

/// A generic struct's configuration is generic too.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Range<T> {
    /// Lower bound.
    pub min: T,
    /// Upper bound.
    pub max: T,
}

/// A type without a configuration of its own: `RangeApply`-style structs
/// are not generated for it.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[crd(apply = false)]
pub struct Opaque {
    /// Anything.
    pub value: i32,
}

/// A type whose configuration has a chosen name.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[crd(apply = "BoxConfig")]
pub struct Crate {
    /// How many.
    pub count: i32,
}

fn wire(value: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

#[test]
fn an_empty_configuration_writes_nothing() {
    assert_eq!(wire(&WidgetSpecApply::default()), json!({}));
    assert_eq!(wire(&LimitsApply::default()), json!({}));
}

#[test]
fn only_the_fields_set_are_written_under_their_wire_names() {
    let spec = WidgetSpecApply::default()
        .with_display_name("Widget")
        .with_size(3)
        .with_extra(ExtraApply::default().with_owner_team("core"));
    assert_eq!(
        wire(&spec),
        json!({"displayName": "Widget", "size_in_units": 3, "ownerTeam": "core"})
    );
}

#[test]
fn nested_structs_lists_and_maps_are_partial() {
    let spec = WidgetSpecApply::default()
        .with_limits(LimitsApply::default().with_max_cpus(4))
        .with_tags(BTreeMap::from([("team".to_owned(), "a".to_owned())]))
        .with_ports(vec![
            PortApply::default().with_name("http").with_protocol("TCP"),
        ])
        .with_mode(Mode::Safe)
        .with_free(json!({"any": [1, "two"]}));
    assert_eq!(
        wire(&spec),
        json!({
            "limits": {"maxCpus": 4},
            "tags": {"team": "a"},
            "ports": [{"name": "http", "proto": "TCP"}],
            "mode": "safe",
            "free": {"any": [1, "two"]},
        })
    );
}

#[test]
fn the_whole_object_always_names_its_kind_and_identity() {
    let widget = WidgetApply::new("w1");
    assert_eq!(
        wire(&widget),
        json!({"apiVersion": "apply.crdforge.dev/v1", "kind": "Widget", "metadata": {"name": "w1"}})
    );
    assert_eq!(widget.name(), "w1");
    let gadget = GadgetConfig::new("g1", "ns")
        .with_spec(GadgetSpecApply::default().with_label("gizmo".to_owned()));
    assert_eq!(
        wire(&gadget),
        json!({
            "apiVersion": "apply.crdforge.dev/v1",
            "kind": "Gadget",
            "metadata": {"name": "g1", "namespace": "ns"},
            "spec": {"label": "gizmo"},
        })
    );
    assert_eq!(gadget.metadata().namespace.as_deref(), Some("ns"));
}

#[test]
fn metadata_builders_fill_labels_annotations_owners_and_finalizers() {
    let owner = OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: "cm".into(),
        uid: "1234".into(),
        ..OwnerReference::default()
    };
    let widget = WidgetApply::new("w1")
        .with_label("app", "w")
        .with_label("tier", "db")
        .with_annotation("note", "hi")
        .with_owner_reference(owner)
        .with_finalizer("example.com/cleanup")
        .with_spec(WidgetSpecApply::default().with_display_name("W"))
        .with_status(WidgetStatusApply::default().with_ready(true));
    assert_eq!(
        wire(&widget),
        json!({
            "apiVersion": "apply.crdforge.dev/v1",
            "kind": "Widget",
            "metadata": {
                "name": "w1",
                "labels": {"app": "w", "tier": "db"},
                "annotations": {"note": "hi"},
                "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "1234"}],
                "finalizers": ["example.com/cleanup"],
            },
            "spec": {"displayName": "W"},
            "status": {"ready": true},
        })
    );
}

#[test]
fn foreign_types_are_their_own_configuration() {
    let condition = Condition {
        type_: "Ready".into(),
        status: "True".into(),
        reason: "Done".into(),
        message: "ok".into(),
        observed_generation: None,
        last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    };
    let status = WidgetStatusApply::default().with_conditions(vec![condition]);
    assert_eq!(
        wire(&status)["conditions"][0],
        json!({"type": "Ready", "status": "True", "reason": "Done", "message": "ok",
               "lastTransitionTime": "1970-01-01T00:00:00Z"})
    );
}

#[test]
fn generic_structs_and_renamed_configurations() {
    let range = RangeApply::<i32>::default().with_min(1);
    assert_eq!(wire(&range), json!({"min": 1}));
    assert_eq!(
        wire(&BoxConfig::default().with_count(2)),
        json!({"count": 2})
    );
    // The trait names the same types the derive emitted.
    let _: <Crate as ApplyConfiguration>::Configuration = BoxConfig::default();
    let _: <Name as ApplyConfiguration>::Configuration = String::new();
    let _: <Mode as ApplyConfiguration>::Configuration = Mode::Fast;
    let _: <Widget as ApplyConfiguration>::Configuration = WidgetApply::new("x");
}

#[test]
fn debug_names_the_wire_fields_that_are_set() {
    let text = format!("{:?}", LimitsApply::default().with_max_cpus(2));
    assert_eq!(text, "LimitsApply { maxCpus: Some(2), maxMemory: None }");
    // `Opaque` has no configuration, and nothing refers to one.
    let _ = Opaque { value: 1 };
}
