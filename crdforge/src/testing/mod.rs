//! Property tests of a custom resource, from the schema the apiserver will
//! enforce (feature `testing`, on [mod@proptest]).
//!
//! One generator serves every kind: it reads the version's final schema
//! ([`crate::crd::final_schema`]) and produces JSON the apiserver accepts —
//! [`valid`] reads it into the Rust type, so a value the schema admits but
//! the type cannot hold fails loudly — and [`invalid`] produces objects that
//! break exactly one declared constraint, each labelled with the field path
//! the apiserver names in its error and the keyword broken.
//!
//! ```
//! use crdforge::testing;
//! use proptest::prelude::*;
//! # use crdforge::CustomResource;
//! # use serde::{Deserialize, Serialize};
//! # #[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
//! # #[crd(group = "example.com", version = "v1", kind = "User")]
//! # pub struct UserSpec { #[crd(max_length = 8)] name: String }
//!
//! proptest!(|(user in testing::valid::<User>())| {
//!     prop_assert!(user.spec.name.chars().count() <= 8);
//! });
//! // Each breaks one constraint: the required spec, or its `name`'s
//! // type, presence or length.
//! proptest!(|(bad in testing::invalid::<User>())| {
//!     prop_assert!(["spec", "spec.name"].contains(&bad.path.as_str()), "{}", bad.path);
//! });
//! ```
//!
//! What the generator does not do: evaluate CEL rules (this crate has no
//! CEL interpreter; filter with `crdforge-gen`'s, as the fixtures do), break
//! a CEL rule, `allOf` or `not`, or plant unknown fields where the schema
//! prunes them.

mod hints;
mod invalid;
mod pattern;
mod valid;

use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use invalid::Constraint;
pub use valid::Step;

use crate::CustomResource;
use crate::schema::Schema;

/// How big generated values get.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Lists and maps without a `maxItems`/`maxProperties` get at most this
    /// many more elements than their minimum.
    pub max_items: usize,
    /// Strings without a `maxLength` get at most this many more characters
    /// than their minimum.
    pub max_string: usize,
    /// Nesting of arbitrary JSON (`serde_json::Value` fields).
    pub max_depth: u32,
    /// Whether objects that keep unknown fields
    /// (`x-kubernetes-preserve-unknown-fields`) get some.
    pub unknown_fields: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_items: 3,
            max_string: 12,
            max_depth: 2,
            unknown_fields: true,
        }
    }
}

/// A kind as the generator sees it: names and the final root schema of
/// one version.
#[derive(Clone, Debug)]
pub struct Kind {
    /// `group/version`.
    pub api_version: String,
    /// The kind.
    pub kind: String,
    /// The plural (the resource name).
    pub plural: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Whether `status` is a subresource: the apiserver ignores it on create
    /// and update of the main resource.
    pub status_subresource: bool,
    /// The version's root schema after the passes.
    pub root: Schema,
    /// Generation settings.
    pub options: Options,
}

/// An object that breaks one constraint.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Invalid {
    /// The field the apiserver will name, e.g. `spec.ports[0].name`.
    pub path: String,
    /// The node in schema notation, e.g. `.spec.ports[*].name`, the same for
    /// every value of one site.
    pub schema_path: String,
    /// The keyword broken.
    pub constraint: Constraint,
    /// The whole object (`apiVersion`, `kind`, `metadata`, `spec`, `status`).
    pub object: Value,
}

/// One place where a constraint can be broken, and a strategy of objects
/// that break it there.
pub struct Site {
    /// As [`Invalid::schema_path`].
    pub schema_path: String,
    /// As [`Invalid::constraint`].
    pub constraint: Constraint,
    /// Whether the node is under `status`.
    pub in_status: bool,
    /// The invalid objects.
    pub strategy: BoxedStrategy<Invalid>,
}

impl std::fmt::Debug for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.schema_path, self.constraint)
    }
}

impl Kind {
    /// The kind `K` is, with default options.
    pub fn of<K: CustomResource>() -> Self {
        let definition = K::definition();
        let version = definition
            .versions
            .first()
            .expect("a derived kind describes one version");
        let (root, _) = crate::crd::final_schema(version);
        Kind {
            api_version: format!("{}/{}", definition.group, version.name),
            kind: definition.kind.clone(),
            plural: definition.plural.clone(),
            namespaced: definition.namespaced,
            status_subresource: version.status,
            root,
            options: Options::default(),
        }
    }

    fn generator(&self) -> valid::Gen<'_> {
        valid::Gen {
            options: &self.options,
        }
    }

    /// Objects the apiserver accepts on create, as JSON: `spec` and
    /// `status` (when the kind has them) from their schemas, CEL rules not
    /// evaluated. Absent properties with a default are left out, as a
    /// client may; see [`Kind::defaulted`].
    pub fn objects(&self) -> BoxedStrategy<Value> {
        self.objects_forced(&[])
    }

    /// Whether the kind keeps its spec's fields at the top level
    /// (kube-derive's `no_spec`): its root schema has no `spec`.
    pub fn rootless(&self) -> bool {
        !self.root.properties.contains_key("spec")
            && self
                .root
                .properties
                .keys()
                .any(|name| !ROOT_OWN.contains(&name.as_str()))
    }

    /// The root schema of a rootless kind as the generator sees it: the
    /// object's own fields (`apiVersion`, `kind`, `metadata`) are set by
    /// [`Kind::objects`], not generated; with `declared`, they stay
    /// declared (so no unknown field takes their names) but optional.
    fn rootless_schema(&self, declared: bool) -> Schema {
        let mut root = self.root.clone();
        root.required.retain(|r| !HEAD.contains(&r.as_str()));
        if !declared {
            root.properties
                .retain(|name, _| !HEAD.contains(&name.as_str()));
        }
        root
    }

    fn head(&self) -> Value {
        json!({
            "apiVersion": self.api_version,
            "kind": self.kind,
            "metadata": {"name": "generated"},
        })
    }

    fn objects_forced(&self, force: &[Step]) -> BoxedStrategy<Value> {
        let head = self.head();
        if self.rootless() {
            // The root is the spec: generate it whole (its rules, like
            // `self.replicas <= self.maxReplicas`, are met by the same
            // hints as a spec's), then set the object's own fields.
            return self
                .generator()
                .present(&self.rootless_schema(true), force)
                .prop_map(move |object| with_head(object, &head))
                .boxed();
        }
        let mut parts: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
        for name in ["spec", "status"] {
            let Some(schema) = self.root.properties.get(name) else {
                continue;
            };
            let forced = matches!(force.first(), Some(Step::Prop(n)) if n == name);
            let key = name.to_owned();
            let strategy = if forced {
                self.generator().present(schema, &force[1..])
            } else {
                self.generator().value(schema, &[])
            };
            let required = self.root.required.iter().any(|r| r == name);
            parts.push(if forced || required {
                strategy.prop_map(move |v| Some((key.clone(), v))).boxed()
            } else {
                proptest::option::weighted(0.7, strategy)
                    .prop_map(move |v| v.map(|v| (key.clone(), v)))
                    .boxed()
            });
        }
        parts
            .prop_map(move |parts| {
                let mut object = head.clone();
                for (name, value) in parts.into_iter().flatten() {
                    object[name] = value;
                }
                object
            })
            .boxed()
    }

    /// The object as the apiserver stores it: absent properties that have
    /// a default filled in.
    pub fn defaulted(&self, object: &Value) -> Value {
        let mut object = object.clone();
        crate::schema::apply_defaults(&self.root, &mut object);
        object
    }

    /// Every site where one constraint can be broken, under `spec` and
    /// `status`, and the root's `required: [spec]`.
    pub fn sites(&self) -> Vec<Site> {
        let mut found = Vec::new();
        if self.root.required.iter().any(|r| r == "spec") {
            found.push(invalid::Site {
                steps: vec![],
                schema_path: ".spec".into(),
                constraint: Constraint::Required,
                extra: Some("spec".into()),
                node: self
                    .objects()
                    .prop_map(|mut o| {
                        if let Some(map) = o.as_object_mut() {
                            map.remove("spec");
                        }
                        o
                    })
                    .boxed(),
            });
        }
        if self.rootless() {
            // Sites of the root's fields (status included); a break of the
            // root object itself (another type) is no object at all.
            invalid::sites(
                self.generator(),
                &self.rootless_schema(false),
                vec![],
                String::new(),
                &mut found,
            );
            found.retain(|site| !site.steps.is_empty() || site.extra.is_some());
        } else {
            for name in ["spec", "status"] {
                if let Some(schema) = self.root.properties.get(name) {
                    invalid::sites(
                        self.generator(),
                        schema,
                        vec![Step::Prop(name.into())],
                        format!(".{name}"),
                        &mut found,
                    );
                }
            }
        }
        let head = self.rootless().then(|| self.head());
        found
            .into_iter()
            .map(|site| {
                let head = head.clone();
                let base = self.objects_forced(&site.steps);
                let steps = site.steps.clone();
                let extra = site.extra.clone();
                let (schema_path, constraint) = (site.schema_path.clone(), site.constraint);
                let label = schema_path.clone();
                Site {
                    in_status: schema_path.starts_with(".status"),
                    schema_path,
                    constraint,
                    strategy: (base, site.node)
                        .prop_map(move |(object, node)| {
                            let below_junction = steps.iter().any(|s| matches!(s, Step::Branch(_)));
                            let (object, mut path) = plant(object, &steps, node);
                            // A break planted at a rootless kind's root
                            // replaced the whole object.
                            let object = match &head {
                                Some(head) => with_head(object, head),
                                None => object,
                            };
                            if let Some(name) = &extra
                                && !below_junction
                            {
                                if !path.is_empty() {
                                    path.push('.');
                                }
                                path.push_str(name);
                            }
                            Invalid {
                                path,
                                schema_path: label.clone(),
                                constraint,
                                object,
                            }
                        })
                        .boxed(),
                }
            })
            .collect()
    }
}

/// The fields every object has, which a rootless kind's root declares
/// beside its spec's.
const HEAD: &[&str] = &["apiVersion", "kind", "metadata"];

/// The root's own fields: those and `status`.
const ROOT_OWN: &[&str] = &["apiVersion", "kind", "metadata", "status"];

/// `object` with `head`'s fields set.
fn with_head(mut object: Value, head: &Value) -> Value {
    if let (Some(map), Some(head)) = (object.as_object_mut(), head.as_object()) {
        for (name, value) in head {
            map.insert(name.clone(), value.clone());
        }
    }
    object
}

/// `object` with the node at `steps` replaced by `node`, and the path of
/// that node in the apiserver's notation (`spec.ports[0].name`). An empty
/// `steps` replaces the whole object.
fn plant(mut object: Value, steps: &[Step], node: Value) -> (Value, String) {
    let mut path = String::new();
    // Below a `oneOf`/`anyOf` branch the apiserver reports the junction
    // ("must validate one and only one schema") and the errors of the
    // branches it tried, not necessarily the planted node: the label is the
    // junction's node, and errors below it count.
    let mut junction: Option<String> = None;
    let mut here = &mut object;
    for step in steps {
        here = match step {
            Step::Branch(_) => {
                junction.get_or_insert_with(|| path.clone());
                continue;
            }
            Step::Prop(name) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name);
                &mut here[name.as_str()]
            }
            Step::Item => {
                path.push_str("[0]");
                &mut here[0]
            }
            Step::Entry => {
                let key = here
                    .as_object()
                    .and_then(|m| m.keys().next().cloned())
                    .unwrap_or_default();
                path.push('.');
                path.push_str(&key);
                &mut here[key.as_str()]
            }
        };
    }
    *here = node;
    (object, junction.unwrap_or(path))
}

/// Values of `K` read from generated objects (defaults applied, as the
/// apiserver would). Panics, naming the JSON, if the schema admits an
/// object `K` cannot read: that is a fidelity bug of the schema or type.
pub fn valid<K>() -> BoxedStrategy<K>
where
    K: CustomResource + DeserializeOwned + std::fmt::Debug + 'static,
{
    let kind = Kind::of::<K>();
    kind.objects()
        .prop_map(move |object| {
            let stored = kind.defaulted(&object);
            serde_json::from_value(stored.clone()).unwrap_or_else(|e| {
                panic!(
                    "the schema of {} admits {stored} but the Rust type cannot read it: {e}",
                    kind.kind
                )
            })
        })
        .boxed()
}

/// Objects of `K`'s kind that break exactly one declared constraint, over
/// every site (see [`Kind::sites`]).
pub fn invalid<K: CustomResource>() -> BoxedStrategy<Invalid> {
    let sites = Kind::of::<K>().sites();
    assert!(
        !sites.is_empty(),
        "{} declares no constraint that can be broken",
        std::any::type_name::<K>()
    );
    proptest::strategy::Union::new(sites.into_iter().map(|s| s.strategy)).boxed()
}
