//! Every `#[kube(...)]` key of kube-derive 5, tried: the list in
//! `crdforge_compare::keys` is kube-derive's own (read from its attribute
//! struct in the kube-derive source cargo resolved), every key it marks
//! accepted is derived on one type with kube-derive and with crdforge and
//! the two CRDs agree, and every refused key has a compile-error case.
//!
//! "Agree" compares the whole CRD except the parts the derives are known to
//! write differently (see docs/kube-derive-comparison.md): of the root
//! schema, its property names without `apiVersion`, `kind` and `metadata`
//! (which only crdforge writes), its `required` list and its rules; the
//! root description only when `doc` sets it. `required` is compared as a
//! set, and a missing `listKind` as the `<kind>List` the apiserver fills in.

use std::collections::BTreeSet;
use std::process::Command;

use crdforge_compare::keys::{KUBE_DERIVE_5_KEYS, Support};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::{Value, json};

/// One type derived both ways with the same `#[kube(...)]` keys. `$root`
/// is the root struct's name (`root = ...` changes it).
macro_rules! both {
    ($case:ident, $root:ident, [$($keys:tt)*]) => {
        #[allow(dead_code)]
        mod $case {
            use serde::{Deserialize, Serialize};

            pub(crate) mod with_kube {
                use super::*;

                #[derive(kube::CustomResource, schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
                #[kube(group = "keys.crdforge.dev", version = "v1", kind = "Thing", $($keys)*)]
                pub(crate) struct ThingSpec {
                    pub(crate) replicas: i32,
                    pub(crate) image: String,
                }

                #[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
                pub(crate) struct ThingStatus {
                    pub(crate) replicas: i32,
                }

                pub(crate) fn crd() -> super::super::Crd {
                    <$root as kube::CustomResourceExt>::crd()
                }
            }

            pub(crate) mod with_crdforge {
                use super::*;

                #[derive(crdforge::CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
                #[kube(group = "keys.crdforge.dev", version = "v1", kind = "Thing", $($keys)*)]
                pub(crate) struct ThingSpec {
                    pub(crate) replicas: i32,
                    pub(crate) image: String,
                }

                #[derive(crdforge::KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
                pub(crate) struct ThingStatus {
                    pub(crate) replicas: i32,
                }

                pub(crate) fn crd() -> super::super::Crd {
                    <$root as kube::CustomResourceExt>::crd()
                }
            }

            pub(crate) const KEYS: &str = stringify!($($keys)*);
        }
    };
}

type Crd = CustomResourceDefinition;

both!(plain, Thing, []);
both!(doc, Thing, [doc = "A thing."]);
both!(root, Gizmo, [root = "Gizmo"]);
both!(plural, Thing, [plural = "thingies"]);
both!(singular, Thing, [singular = "thingy"]);
both!(namespaced, Thing, [namespaced]);
both!(no_spec, Thing, [no_spec]);
both!(derive, Thing, [derive = "PartialEq", derive = "Default"]);
both!(attr, Thing, [attr = "allow(deprecated)"]);
both!(schema, Thing, [schema = "derived"]);
both!(schema_disabled, Thing, [schema = "disabled"]);
both!(status, Thing, [status = "ThingStatus"]);
both!(category, Thing, [category = "all", category = "things"]);
both!(shortname, Thing, [shortname = "th", shortname = "thg"]);
both!(
    printcolumn,
    Thing,
    [
        printcolumn = r#"{"name":"Image","type":"string","jsonPath":".spec.image"}"#,
        printcolumn(
            name = "Replicas",
            type_ = "integer",
            json_path = ".spec.replicas",
            priority = 1
        )
    ]
);
both!(selectable, Thing, [selectable = ".spec.image"]);
both!(
    scale,
    Thing,
    [
        status = "ThingStatus",
        scale(
            spec_replicas_path = ".spec.replicas",
            status_replicas_path = ".status.replicas"
        )
    ]
);
both!(
    annotation,
    Thing,
    [annotation("example.com/owner", "team-a")]
);
both!(label, Thing, [label("example.com/tier", "api")]);
both!(
    validation,
    Thing,
    [validation = "self.metadata.name.size() <= 40"]
);
both!(storage, Thing, [storage = false]);
both!(served, Thing, [served = false, storage = false]);
both!(deprecated, Thing, [deprecated]);
both!(deprecation_warning, Thing, [deprecated = "use v2"]);

/// A case: the key, the keys as written, kube-derive's CRD, crdforge's.
type Case = (&'static str, &'static str, fn() -> Crd, fn() -> Crd);

fn cases() -> Vec<Case> {
    macro_rules! cases {
        ($($key:literal => $case:ident),* $(,)?) => {
            vec![$((
                $key,
                $case::KEYS,
                $case::with_kube::crd as fn() -> Crd,
                $case::with_crdforge::crd as fn() -> Crd,
            )),*]
        };
    }
    cases![
        "group" => plain,
        "version" => plain,
        "kind" => plain,
        "doc" => doc,
        "root" => root,
        "plural" => plural,
        "singular" => singular,
        "namespaced" => namespaced,
        "no_spec" => no_spec,
        "derive" => derive,
        "attr" => attr,
        "schema" => schema,
        "status" => status,
        "category" => category,
        "shortname" => shortname,
        "printcolumn" => printcolumn,
        "selectable" => selectable,
        "scale" => scale,
        "annotation" => annotation,
        "label" => label,
        "validation" => validation,
        "storage" => storage,
        "served" => served,
        "deprecated" => deprecated,
        "deprecated" => deprecation_warning,
    ]
}

/// What both derives must agree on.
fn projection(crd: &Crd, with_description: bool) -> Value {
    let mut crd = serde_json::to_value(crd).unwrap();
    // The apiserver fills in `listKind` as `<kind>List` when it is left out,
    // as kube-derive does; crdforge writes it.
    let names = &mut crd["spec"]["names"];
    if names.get("listKind").is_none() {
        names["listKind"] = json!(format!("{}List", names["kind"].as_str().unwrap()));
    }
    for version in crd["spec"]["versions"].as_array_mut().unwrap() {
        let root = version["schema"]["openAPIV3Schema"].take();
        let properties: BTreeSet<&str> = root["properties"]
            .as_object()
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let properties: Vec<&str> = properties
            .into_iter()
            .filter(|p| !["apiVersion", "kind", "metadata"].contains(p))
            .collect();
        let mut summary = json!({
            "properties": properties,
            // `required` is a set.
            "required": root["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect::<BTreeSet<_>>())
                .unwrap_or_default(),
            "x-kubernetes-validations": root
                .get("x-kubernetes-validations")
                .cloned()
                .unwrap_or(json!([])),
        });
        if with_description {
            summary["description"] = root["description"].clone();
        }
        version["schema"] = summary;
    }
    crd
}

#[test]
fn every_accepted_key_means_what_it_means_in_kube_derive() {
    let mut disagreements = Vec::new();
    for (key, keys, kube, ours) in cases() {
        let with_description = key == "doc";
        let (kube, ours) = (
            projection(&kube(), with_description),
            projection(&ours(), with_description),
        );
        if kube != ours {
            disagreements.push(format!(
                "`{key}` (#[kube({keys})]):\n  kube-derive: {kube}\n  crdforge:    {ours}"
            ));
        }
    }
    assert!(disagreements.is_empty(), "\n{}", disagreements.join("\n"));
}

#[test]
fn every_key_is_tried_once_accepted_or_refused() {
    let tried: BTreeSet<&str> = cases().iter().map(|(key, ..)| *key).collect();
    let ui = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../derive/tests/ui/resource/kube_derive_only_keys.rs"
    ))
    .unwrap();
    for (key, support) in KUBE_DERIVE_5_KEYS {
        match support {
            Support::Same | Support::Differs(_) => {
                assert!(
                    tried.contains(key),
                    "accepted key `{key}` has no side-by-side case"
                )
            }
            Support::Refused(_) => assert!(
                ui.contains(key) && !tried.contains(key),
                "refused key `{key}` needs a compile-error case in kube_derive_only_keys.rs"
            ),
        }
    }
    let listed: BTreeSet<&str> = KUBE_DERIVE_5_KEYS.iter().map(|(k, _)| *k).collect();
    let unlisted: Vec<&&str> = tried.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "cases for keys not in the list: {unlisted:?}"
    );
}

/// The keys of kube-derive's `KubeAttrs`: each field's name, or its
/// darling `rename`.
fn kube_derive_keys() -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Only this platform's packages: a fresh machine has fetched nothing for
    // other targets (windows-only crates), and `--offline` must not need them.
    let version = Command::new(&cargo)
        .arg("-vV")
        .output()
        .expect("running cargo -vV");
    let host = String::from_utf8_lossy(&version.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("cargo -vV names the host triple");
    let output = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("running cargo metadata");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let package = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["name"] == "kube-derive" && p["version"].as_str().is_some_and(|v| v.starts_with("5."))
        })
        .expect("kube-derive 5 in the dependency graph");
    let manifest = std::path::Path::new(package["manifest_path"].as_str().unwrap());
    let source = manifest
        .parent()
        .unwrap()
        .join("src/custom_resource/attrs/mod.rs");
    let file = syn::parse_file(&std::fs::read_to_string(&source).unwrap()).unwrap();
    let attrs = file
        .items
        .iter()
        .find_map(|item| match item {
            syn::Item::Struct(s) if s.ident == "KubeAttrs" => Some(s),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no KubeAttrs in {}", source.display()));
    attrs
        .fields
        .iter()
        .map(|field| {
            let mut name = field.ident.as_ref().unwrap().to_string();
            for attr in field.attrs.iter().filter(|a| a.path().is_ident("darling")) {
                let _ = attr.parse_nested_meta(|meta| {
                    if meta.path.is_ident("rename") {
                        name = meta.value()?.parse::<syn::LitStr>()?.value();
                    } else if let Ok(value) = meta.value() {
                        let _: syn::Expr = value.parse()?;
                    }
                    Ok(())
                });
            }
            name
        })
        .collect()
}

/// `schema = "disabled"` is one of the documented differences: kube-derive
/// writes no schema (the user must add one before the apiserver takes the
/// CRD), crdforge a spec that keeps whatever fields it is given.
#[test]
fn schema_disabled_differs_as_documented() {
    let kube = schema_disabled::with_kube::crd();
    let version = &kube.spec.versions[0];
    assert!(
        version
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .is_none()
    );
    let ours = serde_json::to_value(schema_disabled::with_crdforge::crd()).unwrap();
    let spec = &ours["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    assert_eq!(spec["type"], "object");
    assert_eq!(spec["x-kubernetes-preserve-unknown-fields"], true);
}

#[test]
fn the_readme_counts_the_keys_of_the_list() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let accepted = KUBE_DERIVE_5_KEYS
        .iter()
        .filter(|(_, s)| !matches!(s, Support::Refused(_)))
        .count();
    let claim = format!(
        "Of kube-derive 5's {} `#[kube(...)]` keys, {accepted} are accepted",
        KUBE_DERIVE_5_KEYS.len()
    );
    assert!(readme.contains(&claim), "README.md should say: {claim}");
}

#[test]
fn the_list_is_kube_derives_own() {
    let theirs: BTreeSet<String> = kube_derive_keys().into_iter().collect();
    let ours: BTreeSet<String> = KUBE_DERIVE_5_KEYS
        .iter()
        .map(|(k, _)| k.to_string())
        .collect();
    assert!(
        theirs.len() >= 20,
        "read too few keys from kube-derive: {theirs:?}"
    );
    assert_eq!(
        theirs, ours,
        "crdforge_compare::keys::KUBE_DERIVE_5_KEYS is not kube-derive 5's key list"
    );
}
