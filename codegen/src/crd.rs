//! CustomResourceDefinitions from [`Definition`]s: the plain description a
//! `#[derive(CustomResource)]` type gives of itself (one version each),
//! merged across versions, run through the passes, checked offline, and
//! converted to k8s-openapi's `CustomResourceDefinition`.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as api;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use crate::passes::{self, Options};
use crate::schema::{Problem, Rule, Schema};
use crate::validate;

/// One kind and its versions, before conversion.
#[derive(Clone, Debug, PartialEq)]
pub struct Definition {
    /// API group.
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Lowercase plural (the resource).
    pub plural: String,
    /// Lowercase singular.
    pub singular: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// `kubectl get` short names.
    pub short_names: Vec<String>,
    /// Categories (`kubectl get all`).
    pub categories: Vec<String>,
    /// Labels on the CRD object.
    pub labels: Vec<(String, String)>,
    /// Annotations on the CRD object.
    pub annotations: Vec<(String, String)>,
    /// The versions, in the order given.
    pub versions: Vec<Version>,
}

/// One version of a kind.
#[derive(Clone, Debug, PartialEq)]
pub struct Version {
    /// `v1`, `v1beta1`, ...
    pub name: String,
    /// Served by the apiserver.
    pub served: bool,
    /// The version objects are stored in; exactly one per CRD.
    pub storage: bool,
    /// Deprecated: clients get a warning.
    pub deprecated: bool,
    /// The warning, instead of the default one.
    pub deprecation_warning: Option<String>,
    /// The root schema, before the passes.
    pub schema: Schema,
    /// Problems found while the types described themselves.
    pub problems: Vec<Problem>,
    /// Whether the status subresource is on.
    pub status: bool,
    /// The scale subresource.
    pub scale: Option<Scale>,
    /// Printer columns.
    pub printer_columns: Vec<Column>,
    /// Selectable fields (JSON paths).
    pub selectable_fields: Vec<String>,
    /// Descriptions longer than this are cut.
    pub max_description_length: Option<usize>,
}

/// The scale subresource's paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scale {
    /// Where the desired replica count is.
    pub spec_replicas_path: String,
    /// Where the observed replica count is.
    pub status_replicas_path: String,
    /// Where the serialized label selector is.
    pub label_selector_path: Option<String>,
}

/// One printer column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Header.
    pub name: String,
    /// integer, number, string, boolean or date.
    pub type_: String,
    /// JSONPath into the object.
    pub json_path: String,
    /// Tooltip.
    pub description: Option<String>,
    /// Format hint.
    pub format: Option<String>,
    /// 0 for the standard view; more for `-o wide`.
    pub priority: Option<i32>,
}

/// Why a CRD could not be produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The CRD would be refused by the apiserver; each problem names the
    /// version and field path.
    Invalid {
        /// `plural.group`.
        crd: String,
        /// `(version, problem)` pairs.
        problems: Vec<(String, Problem)>,
    },
    /// Definitions that cannot be merged into one CRD.
    Merge {
        /// `plural.group`, or the kinds involved.
        crd: String,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid { crd, problems } => {
                writeln!(f, "CRD {crd} would be refused by the apiserver:")?;
                for (version, problem) in problems {
                    writeln!(f, "  {version}: {problem}")?;
                }
                Ok(())
            }
            Error::Merge { crd, message } => write!(f, "CRD {crd}: {message}"),
        }
    }
}

impl std::error::Error for Error {}

impl Definition {
    /// `plural.group`, the CRD's name.
    pub fn name(&self) -> String {
        format!("{}.{}", self.plural, self.group)
    }
}

/// The root schema of a version: apiVersion, kind, metadata, spec and
/// status, with `spec` required as kube-derive does.
pub fn root_schema(
    spec: Schema,
    status: Option<Schema>,
    description: Option<String>,
    rules: Vec<Rule>,
) -> Schema {
    let mut root = Schema {
        description,
        validations: rules,
        required: vec!["spec".to_owned()],
        ..Schema::typed("object")
    };
    let string = |d: &str| Schema {
        description: Some(d.to_owned()),
        ..Schema::typed("string")
    };
    root.properties.insert(
        "apiVersion".into(),
        string("APIVersion defines the versioned schema of this representation of an object."),
    );
    root.properties.insert(
        "kind".into(),
        string("Kind is a string value representing the REST resource this object represents."),
    );
    root.properties
        .insert("metadata".into(), Schema::typed("object"));
    root.properties.insert("spec".into(), spec);
    if let Some(status) = status {
        root.properties.insert("status".into(), status);
    }
    root
}

/// Merges the definitions of one kind's versions (kube's `merge_crds`):
/// everything but the versions must agree, version names must differ, and
/// exactly one version must be the storage version.
pub fn merge(definitions: Vec<Definition>) -> Result<Definition, Error> {
    let mut iter = definitions.into_iter();
    let Some(mut merged) = iter.next() else {
        return Err(Error::Merge {
            crd: String::new(),
            message: "no definitions to merge".into(),
        });
    };
    for other in iter {
        let same = |a: &str, b: &str, what: &str| {
            if a == b {
                Ok(())
            } else {
                Err(Error::Merge {
                    crd: merged.name(),
                    message: format!("versions disagree on {what}: `{a}` and `{b}`"),
                })
            }
        };
        same(&merged.group, &other.group, "the group")?;
        same(&merged.kind, &other.kind, "the kind")?;
        same(&merged.plural, &other.plural, "the plural")?;
        same(&merged.singular, &other.singular, "the singular")?;
        if merged.namespaced != other.namespaced {
            return Err(Error::Merge {
                crd: merged.name(),
                message: "versions disagree on the scope (namespaced or cluster)".into(),
            });
        }
        for version in other.versions {
            if merged.versions.iter().any(|v| v.name == version.name) {
                return Err(Error::Merge {
                    crd: merged.name(),
                    message: format!("version {} is defined twice", version.name),
                });
            }
            merged.versions.push(version);
        }
        for (list, extra) in [
            (&mut merged.short_names, other.short_names),
            (&mut merged.categories, other.categories),
        ] {
            for item in extra {
                if !list.contains(&item) {
                    list.push(item);
                }
            }
        }
        for (list, extra) in [
            (&mut merged.labels, other.labels),
            (&mut merged.annotations, other.annotations),
        ] {
            for item in extra {
                if !list.contains(&item) {
                    list.push(item);
                }
            }
        }
    }
    let storage: Vec<&str> = merged
        .versions
        .iter()
        .filter(|v| v.storage)
        .map(|v| v.name.as_str())
        .collect();
    if storage.len() != 1 {
        return Err(Error::Merge {
            crd: merged.name(),
            message: format!(
                "exactly one version must be the storage version, found {} ({}); mark the others \
                 #[kube(storage = false)]",
                storage.len(),
                storage.join(", ")
            ),
        });
    }
    // The apiserver lists versions by priority, but stores them as given;
    // sorting keeps the output independent of registration order.
    merged.versions.sort_by_key(|v| version_priority(&v.name));
    Ok(merged)
}

/// kube's `merge_crds` for finished CRDs, as a kube-derive user calls it:
/// one CRD per version of the same kind in, one CRD with all versions out,
/// and `stored_apiversion` (a version name) the only storage version.
pub fn merge_crds(
    crds: Vec<api::CustomResourceDefinition>,
    stored_apiversion: &str,
) -> Result<api::CustomResourceDefinition, Error> {
    let mut iter = crds.into_iter();
    let Some(mut merged) = iter.next() else {
        return Err(Error::Merge {
            crd: String::new(),
            message: "no CRDs to merge".into(),
        });
    };
    let name = merged.metadata.name.clone().unwrap_or_default();
    for crd in iter {
        let (a, b) = (&merged.spec, &crd.spec);
        if a.group != b.group || a.names.kind != b.names.kind || a.scope != b.scope {
            return Err(Error::Merge {
                crd: name,
                message: "CRDs of different kinds, groups or scopes cannot be merged".into(),
            });
        }
        for version in crd.spec.versions {
            if merged.spec.versions.iter().any(|v| v.name == version.name) {
                return Err(Error::Merge {
                    crd: name,
                    message: format!("version {} is defined twice", version.name),
                });
            }
            merged.spec.versions.push(version);
        }
    }
    if !merged
        .spec
        .versions
        .iter()
        .any(|v| v.name == stored_apiversion)
    {
        return Err(Error::Merge {
            crd: name,
            message: format!("the stored version {stored_apiversion} is not among the versions"),
        });
    }
    for version in &mut merged.spec.versions {
        version.storage = version.name == stored_apiversion;
    }
    merged
        .spec
        .versions
        .sort_by_key(|v| version_priority(&v.name));
    Ok(merged)
}

/// Kubernetes' version order: GA before beta before alpha, higher numbers
/// first, then anything else alphabetically.
fn version_priority(name: &str) -> (u8, std::cmp::Reverse<u64>, std::cmp::Reverse<u64>, String) {
    use std::cmp::Reverse;
    let parse = || -> Option<(u8, u64, u64)> {
        let rest = name.strip_prefix('v')?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let major: u64 = digits.parse().ok()?;
        let tail = &rest[digits.len()..];
        if tail.is_empty() {
            return Some((0, major, 0));
        }
        let (rank, n) = if let Some(n) = tail.strip_prefix("beta") {
            (1, n)
        } else if let Some(n) = tail.strip_prefix("alpha") {
            (2, n)
        } else {
            return None;
        };
        Some((rank, major, n.parse().ok()?))
    };
    match parse() {
        Some((rank, major, minor)) => (rank, Reverse(major), Reverse(minor), String::new()),
        None => (3, Reverse(0), Reverse(0), name.to_owned()),
    }
}

/// A version's root schema after the passes: the schema the apiserver
/// will validate objects with, for tests that validate samples offline.
pub fn final_schema(version: &Version) -> (Schema, Vec<Problem>) {
    let mut schema = version.schema.clone();
    let options = Options {
        max_description_length: version.max_description_length,
    };
    let problems = passes::run_all(&mut schema, &options);
    (schema, problems)
}

/// Runs the passes and the offline check over every version, and converts.
/// Returns the CRD and every problem found, paired with its version.
pub fn convert(definition: &Definition) -> (api::CustomResourceDefinition, Vec<(String, Problem)>) {
    let mut problems = Vec::new();
    let mut versions = Vec::new();
    if definition.versions.iter().filter(|v| v.storage).count() != 1 {
        problems.push((
            String::new(),
            Problem {
                path: String::new(),
                message: "exactly one version must be the storage version".into(),
            },
        ));
    }
    for version in &definition.versions {
        let (schema, pass_problems) = final_schema(version);
        let mut found = version.problems.clone();
        found.extend(pass_problems);
        found.extend(validate::structural(&schema));
        found.extend(validate::version_paths(version, &schema));
        problems.extend(found.into_iter().map(|p| (version.name.clone(), p)));
        versions.push(api::CustomResourceDefinitionVersion {
            name: version.name.clone(),
            served: version.served,
            storage: version.storage,
            deprecated: version.deprecated.then_some(true),
            deprecation_warning: version.deprecation_warning.clone(),
            schema: Some(api::CustomResourceValidation {
                open_api_v3_schema: Some(to_props(&schema)),
            }),
            subresources: (version.status || version.scale.is_some()).then(|| {
                api::CustomResourceSubresources {
                    status: version.status.then(|| {
                        api::CustomResourceSubresourceStatus(Value::Object(Default::default()))
                    }),
                    scale: version
                        .scale
                        .as_ref()
                        .map(|s| api::CustomResourceSubresourceScale {
                            spec_replicas_path: s.spec_replicas_path.clone(),
                            status_replicas_path: s.status_replicas_path.clone(),
                            label_selector_path: s.label_selector_path.clone(),
                        }),
                }
            }),
            additional_printer_columns: (!version.printer_columns.is_empty()).then(|| {
                version
                    .printer_columns
                    .iter()
                    .map(|c| api::CustomResourceColumnDefinition {
                        name: c.name.clone(),
                        type_: c.type_.clone(),
                        json_path: c.json_path.clone(),
                        description: c.description.clone(),
                        format: c.format.clone(),
                        priority: c.priority,
                    })
                    .collect()
            }),
            selectable_fields: (!version.selectable_fields.is_empty()).then(|| {
                version
                    .selectable_fields
                    .iter()
                    .map(|p| api::SelectableField {
                        json_path: p.clone(),
                    })
                    .collect()
            }),
        });
    }
    let map = |pairs: &[(String, String)]| -> Option<BTreeMap<String, String>> {
        (!pairs.is_empty()).then(|| pairs.iter().cloned().collect())
    };
    let crd = api::CustomResourceDefinition {
        metadata: ObjectMeta {
            name: Some(definition.name()),
            labels: map(&definition.labels),
            annotations: map(&definition.annotations),
            ..ObjectMeta::default()
        },
        spec: api::CustomResourceDefinitionSpec {
            group: definition.group.clone(),
            names: api::CustomResourceDefinitionNames {
                kind: definition.kind.clone(),
                list_kind: Some(format!("{}List", definition.kind)),
                plural: definition.plural.clone(),
                singular: Some(definition.singular.clone()),
                short_names: (!definition.short_names.is_empty())
                    .then(|| definition.short_names.clone()),
                categories: (!definition.categories.is_empty())
                    .then(|| definition.categories.clone()),
            },
            scope: if definition.namespaced {
                "Namespaced"
            } else {
                "Cluster"
            }
            .to_owned(),
            versions,
            conversion: None,
            preserve_unknown_fields: None,
        },
        status: None,
    };
    (crd, problems)
}

/// The CRD, or every reason the apiserver would refuse it.
pub fn build(definition: &Definition) -> Result<api::CustomResourceDefinition, Error> {
    let (crd, problems) = convert(definition);
    if problems.is_empty() {
        Ok(crd)
    } else {
        Err(Error::Invalid {
            crd: definition.name(),
            problems,
        })
    }
}

/// The CRD even when it has problems, for kube's infallible
/// `CustomResourceExt::crd()`; [`build`] and `cargo xtask gen` refuse them.
pub fn build_lossy(definition: &Definition) -> api::CustomResourceDefinition {
    convert(definition).0
}

/// Our schema as k8s-openapi's.
pub fn to_props(s: &Schema) -> api::JSONSchemaProps {
    let list = |l: &[Schema]| (!l.is_empty()).then(|| l.iter().map(to_props).collect());
    let json = |v: &Option<Value>| v.clone().map(api::JSON);
    let flag = |b: bool| b.then_some(true);
    api::JSONSchemaProps {
        type_: s.type_.clone(),
        format: s.format.clone(),
        title: s.title.clone(),
        description: s.description.clone(),
        nullable: flag(s.nullable),
        default: json(&s.default),
        example: json(&s.example),
        enum_: (!s.enum_.is_empty()).then(|| s.enum_.iter().cloned().map(api::JSON).collect()),
        minimum: s.minimum,
        maximum: s.maximum,
        exclusive_minimum: flag(s.exclusive_minimum),
        exclusive_maximum: flag(s.exclusive_maximum),
        multiple_of: s.multiple_of,
        min_length: s.min_length,
        max_length: s.max_length,
        pattern: s.pattern.clone(),
        min_items: s.min_items,
        max_items: s.max_items,
        unique_items: flag(s.unique_items),
        min_properties: s.min_properties,
        max_properties: s.max_properties,
        properties: (!s.properties.is_empty()).then(|| {
            s.properties
                .iter()
                .map(|(k, v)| (k.clone(), to_props(v)))
                .collect()
        }),
        required: (!s.required.is_empty()).then(|| s.required.clone()),
        additional_properties: s
            .additional_properties
            .as_deref()
            .map(|v| api::JSONSchemaPropsOrBool::Schema(Box::new(to_props(v)))),
        items: s
            .items
            .as_deref()
            .map(|v| api::JSONSchemaPropsOrArray::Schema(Box::new(to_props(v)))),
        all_of: list(&s.all_of),
        any_of: list(&s.any_of),
        one_of: list(&s.one_of),
        not: s.not.as_deref().map(|n| Box::new(to_props(n))),
        x_kubernetes_preserve_unknown_fields: flag(s.preserve_unknown_fields),
        x_kubernetes_embedded_resource: flag(s.embedded_resource),
        x_kubernetes_int_or_string: flag(s.int_or_string),
        x_kubernetes_list_type: s.list_type.clone(),
        x_kubernetes_list_map_keys: (!s.list_map_keys.is_empty()).then(|| s.list_map_keys.clone()),
        x_kubernetes_map_type: s.map_type.clone(),
        x_kubernetes_validations: (!s.validations.is_empty()).then(|| {
            s.validations
                .iter()
                .map(|r| api::ValidationRule {
                    rule: r.rule.clone(),
                    message: r.message.clone(),
                    message_expression: r.message_expression.clone(),
                    reason: r.reason.clone(),
                    field_path: r.field_path.clone(),
                    optional_old_self: r.optional_old_self,
                })
                .collect()
        }),
        ..api::JSONSchemaProps::default()
    }
}

/// k8s-openapi's schema as ours, so the offline check can judge a CRD
/// from anywhere (kube-derive's, a YAML file's). Array-form `items` (tuple
/// validation, never structural) and boolean `additionalProperties` are
/// dropped, which the check then reports as missing.
pub fn from_props(p: &api::JSONSchemaProps) -> Schema {
    let list = |l: &Option<Vec<api::JSONSchemaProps>>| {
        l.as_deref()
            .unwrap_or_default()
            .iter()
            .map(from_props)
            .collect()
    };
    let flag = |b: Option<bool>| b.unwrap_or(false);
    Schema {
        type_: p.type_.clone(),
        format: p.format.clone(),
        title: p.title.clone(),
        description: p.description.clone(),
        nullable: flag(p.nullable),
        default: p.default.as_ref().map(|j| j.0.clone()),
        example: p.example.as_ref().map(|j| j.0.clone()),
        enum_: p
            .enum_
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|j| j.0.clone())
            .collect(),
        minimum: p.minimum,
        maximum: p.maximum,
        exclusive_minimum: flag(p.exclusive_minimum),
        exclusive_maximum: flag(p.exclusive_maximum),
        multiple_of: p.multiple_of,
        min_length: p.min_length,
        max_length: p.max_length,
        pattern: p.pattern.clone(),
        min_items: p.min_items,
        max_items: p.max_items,
        unique_items: flag(p.unique_items),
        min_properties: p.min_properties,
        max_properties: p.max_properties,
        properties: p
            .properties
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), from_props(v)))
            .collect(),
        required: p.required.clone().unwrap_or_default(),
        additional_properties: match &p.additional_properties {
            Some(api::JSONSchemaPropsOrBool::Schema(s)) => Some(Box::new(from_props(s))),
            _ => None,
        },
        items: match &p.items {
            Some(api::JSONSchemaPropsOrArray::Schema(s)) => Some(Box::new(from_props(s))),
            _ => None,
        },
        all_of: list(&p.all_of),
        any_of: list(&p.any_of),
        one_of: list(&p.one_of),
        not: p.not.as_deref().map(|n| Box::new(from_props(n))),
        preserve_unknown_fields: flag(p.x_kubernetes_preserve_unknown_fields),
        embedded_resource: flag(p.x_kubernetes_embedded_resource),
        int_or_string: flag(p.x_kubernetes_int_or_string),
        list_type: p.x_kubernetes_list_type.clone(),
        list_map_keys: p.x_kubernetes_list_map_keys.clone().unwrap_or_default(),
        map_type: p.x_kubernetes_map_type.clone(),
        validations: p
            .x_kubernetes_validations
            .iter()
            .flatten()
            .map(|r| Rule {
                rule: r.rule.clone(),
                message: r.message.clone(),
                message_expression: r.message_expression.clone(),
                reason: r.reason.clone(),
                field_path: r.field_path.clone(),
                optional_old_self: r.optional_old_self,
            })
            .collect(),
    }
}

/// The offline check on a finished CRD from anywhere: every version's
/// schema must be present and structural. Problems name the version.
pub fn check_crd(crd: &api::CustomResourceDefinition) -> Result<(), Vec<Problem>> {
    let mut problems = Vec::new();
    for version in &crd.spec.versions {
        let schema = version
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref());
        let Some(schema) = schema else {
            problems.push(Problem {
                path: version.name.clone(),
                message: "no schema; apiextensions.k8s.io/v1 requires one".into(),
            });
            continue;
        };
        for problem in validate::structural(&from_props(schema)) {
            problems.push(Problem {
                path: format!("{} {}", version.name, problem.path),
                message: problem.message,
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn props_round_trip_through_our_schema() {
        let mut schema = root_schema(
            Schema {
                properties: [("a".to_owned(), Schema::array(Schema::int_or_string()))].into(),
                ..Schema::typed("object")
            },
            None,
            None,
            vec![Rule {
                rule: "true".into(),
                ..Rule::default()
            }],
        );
        schema.required.push("spec".into());
        schema.required.dedup();
        assert_eq!(from_props(&to_props(&schema)), schema);
    }

    fn definition(version: &str, storage: bool) -> Definition {
        Definition {
            group: "example.com".into(),
            kind: "User".into(),
            plural: "users".into(),
            singular: "user".into(),
            namespaced: true,
            short_names: vec![],
            categories: vec![],
            labels: vec![],
            annotations: vec![],
            versions: vec![Version {
                name: version.into(),
                served: true,
                storage,
                deprecated: false,
                deprecation_warning: None,
                schema: root_schema(Schema::typed("object"), None, None, vec![]),
                problems: vec![],
                status: false,
                scale: None,
                printer_columns: vec![],
                selectable_fields: vec![],
                max_description_length: None,
            }],
        }
    }

    #[test]
    fn versions_merge_into_one_crd_sorted_by_priority() {
        let merged = merge(vec![
            definition("v1alpha1", false),
            definition("v1", true),
            definition("v1beta2", false),
        ])
        .unwrap();
        let names: Vec<_> = merged.versions.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["v1", "v1beta2", "v1alpha1"]);
        let crd = build(&merged).unwrap();
        assert_eq!(crd.spec.versions.len(), 3);
    }

    #[test]
    fn two_storage_versions_are_an_error_naming_them() {
        let err = merge(vec![definition("v1", true), definition("v2", true)]).unwrap_err();
        assert!(err.to_string().contains("found 2 (v1, v2)"), "{err}");
    }

    #[test]
    fn finished_crds_merge_like_kubes_merge_crds() {
        let v1 = build_lossy(&definition("v1", true));
        let v2 = build_lossy(&definition("v2", true));
        let merged = merge_crds(vec![v1.clone(), v2.clone()], "v2").unwrap();
        let storage: Vec<_> = merged
            .spec
            .versions
            .iter()
            .map(|v| (v.name.as_str(), v.storage))
            .collect();
        assert_eq!(storage, [("v2", true), ("v1", false)]);
        assert!(merge_crds(vec![v1, v2], "v3").is_err());
        assert!(merge_crds(vec![], "v1").is_err());
    }

    #[test]
    fn the_same_version_twice_is_an_error() {
        let err = merge(vec![definition("v1", true), definition("v1", false)]).unwrap_err();
        assert!(
            err.to_string().contains("version v1 is defined twice"),
            "{err}"
        );
    }
}
