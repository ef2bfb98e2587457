//! How Rust types describe their JSON shape to the CRD generator: the
//! [`KubeSchema`] trait, its impls for std and k8s-openapi types, and the
//! [`CustomResource`] trait the derive implements for root types.
//!
//! Schemas compose: a derived struct asks each field's type for its schema.
//! Floats implement only [`KubeSchemaFloat`], which the derive uses for
//! fields marked `#[crd(allow_float)]`, so an unmarked float anywhere in a
//! type is a compile error, as controller-gen refuses floats by default.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use crdforge_schema::{Context, Schema};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    Condition, LabelSelector, MicroTime, ObjectMeta, Time,
};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// A type that can describe its JSON form as a structural schema.
///
/// Derive it with `#[derive(KubeSchema)]`; `#[derive(CustomResource)]`
/// derives it for the spec.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no Kubernetes schema",
    label = "this type needs `#[derive(crdforge::KubeSchema)]` (floats need `#[crd(allow_float)]`)"
)]
pub trait KubeSchema {
    /// Whether a field of this type may be absent (`Option`), which makes
    /// the field not required.
    const OPTIONAL: bool = false;

    /// The schema of this type. `ctx` tracks the path and the types being
    /// described, and collects problems instead of panicking.
    fn kube_schema(ctx: &mut Context) -> Schema;
}

/// The schema of floating-point types and containers of them, used only
/// for fields marked `#[crd(allow_float)]`.
pub trait KubeSchemaFloat {
    /// As [`KubeSchema::OPTIONAL`].
    const OPTIONAL: bool = false;
    /// As [`KubeSchema::kube_schema`].
    fn kube_schema(ctx: &mut Context) -> Schema;
}

/// A root type made by `#[derive(CustomResource)]`: it can describe the CRD
/// version it is.
///
/// `CustomResourceExt::crd()` assembles that CRD whatever it holds, as
/// kube's signature demands; `crdforge_gen::checked_crd::<K>()` returns it
/// only if the apiserver would accept it, and every reason otherwise.
pub trait CustomResource: kube_core::Resource<DynamicType = ()> {
    /// The definition of this kind with this one version, before passes.
    fn definition() -> crate::crd::Definition;
}

macro_rules! integer {
    ($format:literal, $unsigned:literal: $($t:ty),*) => {$(
        impl KubeSchema for $t {
            fn kube_schema(_: &mut Context) -> Schema {
                Schema {
                    // serde refuses negative input for unsigned types, so
                    // the schema says so too.
                    minimum: if $unsigned { Some(0.0) } else { None },
                    ..Schema::formatted("integer", $format)
                }
            }
        }
    )*};
}
integer!("int32", false: i8, i16, i32);
integer!("int32", true: u8, u16);
integer!("int64", false: i64, isize);
integer!("int64", true: u32, u64, usize);

impl KubeSchema for String {
    fn kube_schema(_: &mut Context) -> Schema {
        Schema::typed("string")
    }
}

impl KubeSchema for str {
    fn kube_schema(_: &mut Context) -> Schema {
        Schema::typed("string")
    }
}

impl KubeSchema for bool {
    fn kube_schema(_: &mut Context) -> Schema {
        Schema::typed("boolean")
    }
}

impl KubeSchemaFloat for f32 {
    fn kube_schema(_: &mut Context) -> Schema {
        Schema::formatted("number", "float")
    }
}

impl KubeSchemaFloat for f64 {
    fn kube_schema(_: &mut Context) -> Schema {
        Schema::formatted("number", "double")
    }
}

/// Implements a trait for the containers, once for each of the two traits.
macro_rules! containers {
    ($tr:ident) => {
        impl<T: $tr> $tr for Option<T> {
            const OPTIONAL: bool = true;
            fn kube_schema(ctx: &mut Context) -> Schema {
                T::kube_schema(ctx)
            }
        }

        impl<T: $tr + ?Sized> $tr for Box<T> {
            const OPTIONAL: bool = T::OPTIONAL;
            fn kube_schema(ctx: &mut Context) -> Schema {
                T::kube_schema(ctx)
            }
        }

        impl<T: $tr + ?Sized> $tr for Arc<T> {
            const OPTIONAL: bool = T::OPTIONAL;
            fn kube_schema(ctx: &mut Context) -> Schema {
                T::kube_schema(ctx)
            }
        }

        impl<T: $tr> $tr for Vec<T> {
            fn kube_schema(ctx: &mut Context) -> Schema {
                Schema::array(ctx.items(T::kube_schema))
            }
        }

        impl<T: $tr> $tr for VecDeque<T> {
            fn kube_schema(ctx: &mut Context) -> Schema {
                Schema::array(ctx.items(T::kube_schema))
            }
        }

        impl<T: $tr> $tr for BTreeSet<T> {
            fn kube_schema(ctx: &mut Context) -> Schema {
                set(ctx.items(T::kube_schema))
            }
        }

        impl<T: $tr, S> $tr for HashSet<T, S> {
            fn kube_schema(ctx: &mut Context) -> Schema {
                set(ctx.items(T::kube_schema))
            }
        }

        impl<V: $tr> $tr for BTreeMap<String, V> {
            fn kube_schema(ctx: &mut Context) -> Schema {
                Schema::map(ctx.items(V::kube_schema))
            }
        }

        impl<V: $tr, S> $tr for HashMap<String, V, S> {
            fn kube_schema(ctx: &mut Context) -> Schema {
                Schema::map(ctx.items(V::kube_schema))
            }
        }
    };
}
containers!(KubeSchema);
containers!(KubeSchemaFloat);

/// A set of scalars is a `x-kubernetes-list-type: set`, which makes the
/// apiserver refuse duplicates as serde's set would drop them; a set of
/// objects stays a plain list (the apiserver allows sets of scalars only).
fn set(items: Schema) -> Schema {
    let scalar = matches!(
        items.type_name(),
        "string" | "integer" | "number" | "boolean"
    );
    Schema {
        list_type: scalar.then(|| "set".to_owned()),
        ..Schema::array(items)
    }
}

impl KubeSchema for serde_json::Value {
    fn kube_schema(_: &mut Context) -> Schema {
        Schema::any()
    }
}

impl KubeSchema for serde_json::Map<String, serde_json::Value> {
    fn kube_schema(_: &mut Context) -> Schema {
        Schema::any_object()
    }
}

impl KubeSchema for ObjectMeta {
    /// The apiserver knows ObjectMeta's schema and allows no other
    /// restrictions than on name and generateName.
    fn kube_schema(_: &mut Context) -> Schema {
        Schema::typed("object")
    }
}

impl KubeSchema for Time {
    fn kube_schema(_: &mut Context) -> Schema {
        Schema::formatted("string", "date-time")
    }
}

impl KubeSchema for MicroTime {
    fn kube_schema(_: &mut Context) -> Schema {
        Schema::formatted("string", "date-time")
    }
}

impl KubeSchema for IntOrString {
    fn kube_schema(_: &mut Context) -> Schema {
        Schema::int_or_string()
    }
}

/// The serialized form of a resource quantity, as Kubernetes' own OpenAPI
/// describes it.
const QUANTITY_PATTERN: &str = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";

impl KubeSchema for Quantity {
    fn kube_schema(_: &mut Context) -> Schema {
        Schema {
            pattern: Some(QUANTITY_PATTERN.to_owned()),
            ..Schema::int_or_string()
        }
    }
}

impl KubeSchema for RawExtension {
    fn kube_schema(_: &mut Context) -> Schema {
        Schema::any_object()
    }
}

impl KubeSchema for Condition {
    fn kube_schema(_: &mut Context) -> Schema {
        let mut schema = Schema {
            description: Some(
                "Condition contains details for one aspect of the current state of this API Resource."
                    .into(),
            ),
            required: ["lastTransitionTime", "message", "reason", "status", "type"]
                .map(String::from)
                .to_vec(),
            ..Schema::typed("object")
        };
        let properties = [
            (
                "lastTransitionTime",
                Schema::formatted("string", "date-time"),
            ),
            (
                "message",
                Schema {
                    max_length: Some(32768),
                    ..Schema::typed("string")
                },
            ),
            (
                "observedGeneration",
                Schema {
                    minimum: Some(0.0),
                    ..Schema::formatted("integer", "int64")
                },
            ),
            (
                "reason",
                Schema {
                    min_length: Some(1),
                    max_length: Some(1024),
                    pattern: Some("^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$".into()),
                    ..Schema::typed("string")
                },
            ),
            (
                "status",
                Schema {
                    enum_: vec!["True".into(), "False".into(), "Unknown".into()],
                    ..Schema::typed("string")
                },
            ),
            (
                "type",
                Schema {
                    max_length: Some(316),
                    ..Schema::typed("string")
                },
            ),
        ];
        for (name, property) in properties {
            schema.properties.insert(name.to_owned(), property);
        }
        schema
    }
}

impl KubeSchema for LabelSelector {
    fn kube_schema(_: &mut Context) -> Schema {
        let mut requirement = Schema {
            required: vec!["key".into(), "operator".into()],
            ..Schema::typed("object")
        };
        requirement
            .properties
            .insert("key".into(), Schema::typed("string"));
        requirement
            .properties
            .insert("operator".into(), Schema::typed("string"));
        requirement.properties.insert(
            "values".into(),
            Schema {
                list_type: Some("atomic".into()),
                ..Schema::array(Schema::typed("string"))
            },
        );
        let mut schema = Schema {
            map_type: Some("atomic".into()),
            ..Schema::typed("object")
        };
        schema.properties.insert(
            "matchExpressions".into(),
            Schema {
                list_type: Some("atomic".into()),
                ..Schema::array(requirement)
            },
        );
        schema
            .properties
            .insert("matchLabels".into(), Schema::map(Schema::typed("string")));
        schema
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema<T: KubeSchema + ?Sized>() -> serde_json::Value {
        T::kube_schema(&mut Context::new()).to_json()
    }

    #[test]
    fn integers_have_formats_and_unsigned_ones_a_minimum() {
        assert_eq!(
            schema::<i32>(),
            json!({"type": "integer", "format": "int32"})
        );
        assert_eq!(
            schema::<u64>(),
            json!({"type": "integer", "format": "int64", "minimum": 0.0})
        );
    }

    #[test]
    fn containers_compose() {
        assert_eq!(
            schema::<Option<Vec<BTreeMap<String, bool>>>>(),
            json!({"type": "array", "items": {"type": "object", "additionalProperties": {"type": "boolean"}}})
        );
        const { assert!(<Option<String> as KubeSchema>::OPTIONAL) };
        const { assert!(!<Vec<String> as KubeSchema>::OPTIONAL) };
        assert_eq!(
            schema::<BTreeSet<String>>()["x-kubernetes-list-type"],
            "set"
        );
    }

    #[test]
    fn well_known_types_map_as_the_apiserver_expects() {
        assert_eq!(
            schema::<IntOrString>(),
            json!({"x-kubernetes-int-or-string": true})
        );
        assert_eq!(schema::<Quantity>()["x-kubernetes-int-or-string"], true);
        assert_eq!(
            schema::<Time>(),
            json!({"type": "string", "format": "date-time"})
        );
        assert_eq!(
            schema::<RawExtension>(),
            json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
        );
        assert_eq!(
            schema::<serde_json::Value>(),
            json!({"x-kubernetes-preserve-unknown-fields": true})
        );
        assert_eq!(
            schema::<Condition>()["required"].as_array().unwrap().len(),
            5
        );
    }
}
