//! What only generation can know — the schemas of other types — is reported
//! by `checked_crd()` (and `cargo xtask gen`) with the version, the field
//! path and the Rust type, never by a panic.

use crdforge::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

fn problems<T: crdforge::CustomResource>() -> String {
    match crdforge_gen::checked_crd::<T>() {
        Ok(_) => panic!("expected the CRD to be refused"),
        Err(e) => e.to_string(),
    }
}

/// A type that contains itself through four others: a loop of up to four
/// types is a compile error (`tests/ui/types/mutually_recursive_types`, and
/// `tests/ui/types/recursive_type` for a type naming itself), and a longer
/// one is refused by generation, with the path.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[kube(group = "errors.crdforge.dev", version = "v1", kind = "Forest")]
pub struct ForestSpec {
    pub root: Tree,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Tree {
    pub children: Vec<Branch>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Branch {
    pub twig: Twig,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Twig {
    pub leaves: Vec<Leaf>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Leaf {
    pub bud: Option<Bud>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Bud {
    pub tree: Box<Tree>,
}

#[test]
fn recursion_names_the_path_and_the_type() {
    let text = problems::<Forest>();
    assert!(
        text.contains("v1: .spec.root.children[*].twig.leaves[*].bud.tree"),
        "{text}"
    );
    assert!(text.contains("#[crd(schemaless)]"), "{text}");
    assert!(text.contains("contains itself"), "{text}");
    assert!(text.contains("gen_errors::Tree"), "{text}");
}

/// An untagged enum whose variants have different JSON types, one of them
/// behind a newtype, so only generation sees it (where syntax shows it, it
/// is a compile error: `tests/ui/enums/untagged_mixed_types`).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[kube(group = "errors.crdforge.dev", version = "v1", kind = "Mixed")]
pub struct MixedSpec {
    pub value: Either,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[serde(untagged)]
pub enum Either {
    Flag(Flag),
    Pair { a: String },
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Flag(pub bool);

#[test]
fn untagged_variants_of_two_types_name_the_field() {
    let text = problems::<Mixed>();
    assert!(text.contains(".spec.value"), "{text}");
    assert!(text.contains("boolean and object"), "{text}");
}

/// A default that breaks the field's own bounds, and a key on a user type
/// whose schema turns out to be of another type.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[kube(group = "errors.crdforge.dev", version = "v1", kind = "Bad")]
pub struct BadSpec {
    #[crd(minimum = 1, default = 0)]
    pub replicas: i32,
    #[crd(max_length = 3)]
    pub level: Level,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Level(pub i32);

#[test]
fn bad_defaults_and_misapplied_keys_are_all_reported() {
    let text = problems::<Bad>();
    assert!(
        text.contains(".spec.replicas: the default 0 is invalid"),
        "{text}"
    );
    assert!(
        text.contains(".spec.level: `max_length` applies to strings"),
        "{text}"
    );
    // kube's infallible `crd()` still returns the CRD, without panicking.
    let crd = <Bad as kube_core::CustomResourceExt>::crd();
    assert_eq!(crd.spec.names.plural, "bads");
}

/// `preserve_unknown_fields` where only generation sees the struct's
/// fields: on a field of a struct type, in `items(...)`, and on a struct
/// whose flattened field turns out to have no catch-all (where syntax
/// shows it, it is a compile error: `tests/ui/types/preserve_without_catch_all`).
/// A struct with a catch-all, and a `Value`, are fine.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[kube(group = "errors.crdforge.dev", version = "v1", kind = "Lossy")]
pub struct LossySpec {
    #[crd(preserve_unknown_fields)]
    pub config: Plain,
    #[crd(items(preserve_unknown_fields))]
    pub configs: Vec<Plain>,
    pub outer: Outer,
    #[crd(preserve_unknown_fields)]
    pub kept: WithRest,
    #[crd(preserve_unknown_fields)]
    pub any: serde_json::Value,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Plain {
    pub known: String,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[crd(preserve_unknown_fields)]
pub struct Outer {
    #[serde(flatten)]
    pub inner: Plain,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct WithRest {
    pub known: String,
    #[serde(flatten)]
    pub rest: std::collections::BTreeMap<String, serde_json::Value>,
}

#[test]
fn preserving_unknown_fields_serde_drops_names_each_place() {
    let text = problems::<Lossy>();
    for path in [".spec.config:", ".spec.configs:", ".spec.outer:"] {
        assert!(
            text.lines()
                .any(|l| l.contains(path) && l.contains("without a catch-all")),
            "{path}: {text}"
        );
    }
    assert_eq!(text.matches("without a catch-all").count(), 3, "{text}");
}

/// A bound the integer's format cannot hold: the apiserver would refuse
/// every value of the field.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[kube(group = "errors.crdforge.dev", version = "v1", kind = "Unbounded")]
pub struct UnboundedSpec {
    #[crd(maximum = 3000000000)]
    pub count: i32,
}

#[test]
fn a_bound_beyond_the_format_is_refused() {
    let text = problems::<Unbounded>();
    assert!(
        text.contains(
            ".spec.count: maximum 3000000000 is not a value of type integer with format int32"
        ),
        "{text}"
    );
}

/// A set of objects: server-side apply refuses a `set` list of objects, and
/// a plain list would keep the duplicates the set drops on read.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[kube(group = "errors.crdforge.dev", version = "v1", kind = "Team")]
pub struct TeamSpec {
    pub members: std::collections::BTreeSet<Member>,
    pub names: std::collections::HashSet<String>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Member {
    pub name: String,
}

#[test]
fn a_set_of_objects_names_the_field_and_the_way_out() {
    let text = problems::<Team>();
    assert!(text.contains("v1: .spec.members"), "{text}");
    assert!(
        text.contains("a set (`BTreeSet`/`HashSet`) of objects"),
        "{text}"
    );
    assert!(text.contains("list_type = \"map\""), "{text}");
    assert!(!text.contains(".spec.names"), "{text}");
}

/// Shapes serde itself loses, found by the round-trip property over random
/// types (crdforge-fixtures' `tests/roundtrip_property.rs`), each refused
/// at its path.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct LooseNote {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub enum Shade {
    Red,
    Blue,
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[kube(group = "errors.crdforge.dev", version = "v1", kind = "Forgetful")]
pub struct ForgetfulSpec {
    /// `Some(None)` in a list reads back as `None`.
    pub twice: Vec<Option<Option<i32>>>,
    /// `None` reads back as `Some(LooseNote { note: None })`.
    #[serde(flatten)]
    pub extra: Option<LooseNote>,
    /// A null the apiserver must keep, which the enum refuses.
    pub colors: std::collections::BTreeMap<String, Option<Shade>>,
}

#[test]
fn shapes_serde_loses_are_refused_at_their_paths() {
    let text = problems::<Forgetful>();
    assert!(
        text.contains(".spec.twice[*]: an `Option<Option<_>>`"),
        "{text}"
    );
    assert!(
        text.contains("`extra` flattens an `Option` of a type with no required field"),
        "{text}"
    );
    assert!(
        text.contains(".spec.colors.additionalProperties")
            || text.contains(".spec.colors[*]")
            || text.contains(".spec.colors"),
        "{text}"
    );
    assert!(text.contains("refuses it"), "{text}");
}

/// A catch-all inside a flattened struct, before another flattened field.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct NamedWithExtra {
    pub name: String,
    #[serde(flatten)]
    pub extra: std::collections::BTreeMap<String, serde_json::Value>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug)]
pub struct Spot {
    pub zone: String,
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[kube(group = "errors.crdforge.dev", version = "v1", kind = "Grasping")]
pub struct GraspingSpec {
    #[serde(flatten)]
    pub named: NamedWithExtra,
    #[serde(flatten)]
    pub placement: Spot,
}

#[test]
fn a_catch_all_before_another_flattened_field_is_refused() {
    let text = problems::<Grasping>();
    assert!(
        text.contains("`named` keeps unknown fields and is flattened before `placement`"),
        "{text}"
    );
}
