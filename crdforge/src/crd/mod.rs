//! CustomResourceDefinitions from [`Definition`]s: the plain description a
//! `#[derive(CustomResource)]` type gives of itself (one version each),
//! merged across versions, run through the passes and converted to
//! k8s-openapi's `CustomResourceDefinition`. The offline check of what the
//! apiserver would refuse is `crdforge-gen`'s: this module only assembles.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as api;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use crate::passes::{self, Options};

mod merge;
mod props;

use crate::schema::{Problem, Rule, Schema};
pub use crdforge_schema::parts::{Column, Scale};
pub use merge::{merge, merge_crds};
pub use props::{from_props, to_props};

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
    /// The conversion webhook between versions of different shapes; `None`
    /// lets the apiserver convert by changing `apiVersion` alone, which is
    /// right only for versions of the same shape. `crdforge::conversion`'s
    /// `Converter` sets it.
    pub conversion: Option<crate::webhook::WebhookConversion>,
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

/// A root schema whose `spec` may be left out (`#[crd(optional_spec)]`):
/// the spec type is `Default` and an object without one reads as the
/// default spec, as cert-manager's `Certificate` allows.
pub fn optional_spec(mut root: Schema) -> Schema {
    root.required.retain(|name| name != "spec");
    root
}

/// The root schema of a `no_spec` kind: the spec's schema is the object's,
/// with `apiVersion`, `kind`, `metadata` (and `status`) beside its fields,
/// the root's description and rules first. A spec field of one of those
/// names is a problem (the derive refuses the named ones; a flattened
/// struct's are only seen here), and so is a spec that is not an object.
pub fn no_spec(mut root: Schema, ctx: &mut crate::schema::Context) -> Schema {
    let Some(mut object) = root.properties.remove("spec") else {
        return root;
    };
    if object.type_.as_deref() != Some("object") {
        ctx.problem(
            "`no_spec` puts the spec's fields at the top level, so the spec's schema must be an \
             object with properties",
        );
        root.properties.insert("spec".to_owned(), object);
        return root;
    }
    for (name, schema) in std::mem::take(&mut root.properties) {
        if object.properties.contains_key(&name) {
            ctx.problem(format!(
                "with `no_spec` the spec's field `{name}` clashes with the object's own \
                 `{name}`; rename it"
            ));
        }
        object.properties.insert(name, schema);
    }
    object.description = root.description.or(object.description);
    let spec_rules = std::mem::take(&mut object.validations);
    object.validations = root.validations;
    object.validations.extend(spec_rules);
    object
}

/// A version's root schema after the passes: the schema the apiserver
/// will validate objects with, for tests that validate samples offline.
pub fn final_schema(version: &Version) -> (Schema, Vec<Problem>) {
    let mut schema = version.schema.clone();
    let options = Options {
        max_description_length: version.max_description_length,
    };
    let problems = passes::run_all(&mut schema, &options);
    if let Some(scale) = &version.scale {
        // The scale subresource refuses a negative count at either replicas
        // path ("should be a non-negative integer") whatever the schema
        // says; saying it in the schema makes the offline check, the value
        // generators and the documentation agree with the apiserver.
        for path in [&scale.spec_replicas_path, &scale.status_replicas_path] {
            if let Some(field) = at_path(&mut schema, path)
                && field.type_.as_deref() == Some("integer")
            {
                field.minimum = Some(field.minimum.map_or(0.0, |m| m.max(0.0)));
            }
        }
    }
    (schema, problems)
}

/// The schema of the field at a simple JSON path (`.spec.replicas`).
fn at_path<'a>(schema: &'a mut Schema, path: &str) -> Option<&'a mut Schema> {
    path.trim_start_matches('.')
        .split('.')
        .try_fold(schema, |schema, name| schema.properties.get_mut(name))
}

/// Runs the passes over every version and converts. Returns the CRD and the
/// problems the types and the passes found, paired with their version;
/// `crdforge_gen::crd::build` adds the offline apiserver-equivalent check.
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
            conversion: definition.conversion.as_ref().map(|c| c.to_crd()),
            preserve_unknown_fields: None,
        },
        status: None,
    };
    (crd, problems)
}

/// The CRD even when it has problems, for kube's infallible
/// `CustomResourceExt::crd()`; `crdforge_gen::crd::build` and `gen` refuse
/// them.
pub fn build_lossy(definition: &Definition) -> api::CustomResourceDefinition {
    convert(definition).0
}

#[cfg(test)]
mod tests {
    use super::*;

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
            conversion: None,
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
        let (crd, problems) = convert(&merged);
        assert!(problems.is_empty(), "{problems:?}");
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
