//! How Rust types describe their JSON shape to the CRD generator: the
//! [`KubeSchema`] trait, its impls for std and k8s-openapi types, and the
//! [`CustomResource`] trait the derive implements for root types.
//!
//! Schemas compose: a derived struct asks each field's type for its schema.
//! Floats implement only [`KubeSchemaFloat`], which the derive uses for
//! fields marked `#[crd(allow_float)]`, so an unmarked float anywhere in a
//! type is a compile error, as controller-gen refuses floats by default.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::num::{
    NonZeroI8, NonZeroI16, NonZeroI32, NonZeroI64, NonZeroI128, NonZeroIsize, NonZeroU8,
    NonZeroU16, NonZeroU32, NonZeroU64, NonZeroU128, NonZeroUsize,
};
use std::rc::Rc;
use std::sync::Arc;

use crdforge_schema::{Context, Schema};

use crate::reach::Reach;
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

    /// The derived types this type reaches in one to four steps, for the
    /// derive's compile-time refusal of types that contain themselves (see
    /// `reach.rs`). Set only by the derive and forwarded by containers; a
    /// hand-written impl keeps the defaults (it reaches nothing).
    #[doc(hidden)]
    const __REACH_1: Reach = Reach::EMPTY;
    #[doc(hidden)]
    const __REACH_2: Reach = Reach::EMPTY;
    #[doc(hidden)]
    const __REACH_3: Reach = Reach::EMPTY;
    #[doc(hidden)]
    const __REACH_4: Reach = Reach::EMPTY;

    /// Whether serde, reading this type flattened into a struct, reads the
    /// struct's fields as a map and leaves them there for the flattened
    /// fields after it (a struct that flattens a field itself, an
    /// internally tagged or untagged enum), instead of taking the ones it
    /// reads. A catch-all beside such a field would hold its fields too,
    /// so the derive refuses the pair. Set only by the derive.
    #[doc(hidden)]
    const __READS_AS_MAP: bool = false;

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

/// Integers: the `format` of their width and the bounds of their type, so
/// the apiserver refuses what serde could not read back. The apiserver keeps
/// every integer as an int64, so the derive refuses a field of the 64- and
/// 128-bit unsigned types and `i128` unless it states its range within
/// int64 (`#[crd(maximum = ...)]`), so no value a field admits is refused
/// (see docs/annotations.md, "Integers").
macro_rules! integer {
    ($format:literal: $($t:ty => $min:expr, $max:expr;)*) => {$(
        impl KubeSchema for $t {
            fn kube_schema(_: &mut Context) -> Schema {
                integer($format, $min, $max)
            }
        }
    )*};
}

fn integer(format: &str, minimum: Option<f64>, maximum: Option<f64>) -> Schema {
    Schema {
        minimum,
        maximum,
        ..Schema::formatted("integer", format)
    }
}

integer!("int32":
    i8 => Some(i8::MIN.into()), Some(i8::MAX.into());
    i16 => Some(i16::MIN.into()), Some(i16::MAX.into());
    // Its bounds, though `format: int32` implies them: kube-apiserver 1.36
    // enforces the format's range, but 1.35 does not (found by `cargo xtask
    // matrix`), and a value beyond it would be stored and never read back.
    i32 => Some(i32::MIN.into()), Some(i32::MAX.into());
    u8 => Some(0.0), Some(u8::MAX.into());
    u16 => Some(0.0), Some(u16::MAX.into());
    NonZeroU8 => Some(1.0), Some(u8::MAX.into());
    NonZeroU16 => Some(1.0), Some(u16::MAX.into());
);
integer!("int64":
    i64 => None, None;
    isize => None, None;
    u32 => Some(0.0), Some(u32::MAX.into());
    NonZeroU32 => Some(1.0), Some(u32::MAX.into());
    // Beyond int64: no bound of their own (the apiserver refuses a bound of
    // 2^63, which is what `i64::MAX as f64` is); the derive makes the field
    // state one.
    u64 => Some(0.0), None;
    usize => Some(0.0), None;
    u128 => Some(0.0), None;
    i128 => None, None;
    NonZeroU64 => Some(1.0), None;
    NonZeroUsize => Some(1.0), None;
    NonZeroU128 => Some(1.0), None;
);

/// Signed non-zero integers: a range cannot leave out 0 alone, so a rule
/// does (serde refuses to read a 0 into them). `i128`'s is like `i128`'s:
/// the derive makes a field state its range.
macro_rules! signed_non_zero {
    ($($t:ty => $format:literal, $min:expr, $max:expr;)*) => {$(
        impl KubeSchema for $t {
            fn kube_schema(_: &mut Context) -> Schema {
                let mut schema = integer($format, $min, $max);
                schema.validations.push(crate::schema::Rule {
                    rule: "self != 0".to_owned(),
                    message: Some("must not be 0".to_owned()),
                    ..Default::default()
                });
                schema
            }
        }
    )*};
}

signed_non_zero!(
    NonZeroI8 => "int32", Some(i8::MIN.into()), Some(i8::MAX.into());
    NonZeroI16 => "int32", Some(i16::MIN.into()), Some(i16::MAX.into());
    NonZeroI32 => "int32", Some(i32::MIN.into()), Some(i32::MAX.into());
    NonZeroI64 => "int64", None, None;
    NonZeroIsize => "int64", None, None;
    NonZeroI128 => "int64", None, None;
);

/// serde writes a `char` as a string of one character (the apiserver counts
/// lengths in characters).
impl KubeSchema for char {
    fn kube_schema(_: &mut Context) -> Schema {
        Schema {
            min_length: Some(1),
            max_length: Some(1),
            ..Schema::typed("string")
        }
    }
}

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
    ($tr:ident $(, $reach:ident)?) => {
        impl<T: $tr> $tr for Option<T> {
            $($reach!(T);)?
            const OPTIONAL: bool = true;
            fn kube_schema(ctx: &mut Context) -> Schema {
                // `None` is absent (or null, which the apiserver prunes).
                // `Some(None)` of an `Option<Option<T>>` is written as null
                // too, which serde reads back as `None`; a field keeps it
                // with `double_option` (and the derive then asks for the
                // inner option's schema, not this one), anywhere else it
                // is lost.
                if T::OPTIONAL {
                    ctx.problem(
                        concat!(
                            "an `Option<Option<_>>` (in a list, a map or a newtype) is written as ",
                            "null for `Some(None)` as for `None`, and serde reads null back as ",
                            "`None`; use one `Option`, or make it a field read with ",
                            "#[serde(default, skip_serializing_if = \"Option::is_none\", ",
                            "with = \"crdforge::serde_helpers::double_option\")]"
                        ),
                    );
                }
                nullable_if(T::OPTIONAL, T::kube_schema(ctx))
            }
        }

        impl<T: $tr + ?Sized> $tr for Box<T> {
            $($reach!(T);)?
            const OPTIONAL: bool = T::OPTIONAL;
            fn kube_schema(ctx: &mut Context) -> Schema {
                T::kube_schema(ctx)
            }
        }

        impl<T: $tr + ?Sized> $tr for Arc<T> {
            $($reach!(T);)?
            const OPTIONAL: bool = T::OPTIONAL;
            fn kube_schema(ctx: &mut Context) -> Schema {
                T::kube_schema(ctx)
            }
        }

        impl<T: $tr + ?Sized> $tr for Rc<T> {
            $($reach!(T);)?
            const OPTIONAL: bool = T::OPTIONAL;
            fn kube_schema(ctx: &mut Context) -> Schema {
                T::kube_schema(ctx)
            }
        }

        impl<T: $tr> $tr for Vec<T> {
            $($reach!(T);)?
            fn kube_schema(ctx: &mut Context) -> Schema {
                Schema::array(nullable_if(T::OPTIONAL, ctx.items(T::kube_schema)))
            }
        }

        /// serde writes an array as a sequence of exactly `N` items.
        impl<T: $tr, const N: usize> $tr for [T; N] {
            $($reach!(T);)?
            fn kube_schema(ctx: &mut Context) -> Schema {
                Schema {
                    min_items: Some(N as i64),
                    max_items: Some(N as i64),
                    ..Schema::array(nullable_if(T::OPTIONAL, ctx.items(T::kube_schema)))
                }
            }
        }

        impl<T: $tr + ToOwned + ?Sized> $tr for std::borrow::Cow<'_, T> {
            $($reach!(T);)?
            const OPTIONAL: bool = T::OPTIONAL;
            fn kube_schema(ctx: &mut Context) -> Schema {
                T::kube_schema(ctx)
            }
        }

        impl<T: $tr> $tr for VecDeque<T> {
            $($reach!(T);)?
            fn kube_schema(ctx: &mut Context) -> Schema {
                Schema::array(nullable_if(T::OPTIONAL, ctx.items(T::kube_schema)))
            }
        }

        impl<T: $tr> $tr for BTreeSet<T> {
            $($reach!(T);)?
            fn kube_schema(ctx: &mut Context) -> Schema {
                let items = ctx.items(T::kube_schema);
                set(ctx, items)
            }
        }

        impl<T: $tr, S> $tr for HashSet<T, S> {
            $($reach!(T);)?
            fn kube_schema(ctx: &mut Context) -> Schema {
                let items = ctx.items(T::kube_schema);
                set(ctx, items)
            }
        }

        impl<V: $tr> $tr for BTreeMap<String, V> {
            $($reach!(V);)?
            fn kube_schema(ctx: &mut Context) -> Schema {
                Schema::map(nullable_if(V::OPTIONAL, ctx.items(V::kube_schema)))
            }
        }

        impl<V: $tr, S> $tr for HashMap<String, V, S> {
            $($reach!(V);)?
            fn kube_schema(ctx: &mut Context) -> Schema {
                Schema::map(nullable_if(V::OPTIONAL, ctx.items(V::kube_schema)))
            }
        }
    };
}
/// Inside a container's `KubeSchema` impl: it reaches what its element
/// does.
macro_rules! forward_reach {
    ($t:ident) => {
        const __REACH_1: Reach = $t::__REACH_1;
        const __REACH_2: Reach = $t::__REACH_2;
        const __REACH_3: Reach = $t::__REACH_3;
        const __REACH_4: Reach = $t::__REACH_4;
        const __READS_AS_MAP: bool = $t::__READS_AS_MAP;
    };
}
containers!(KubeSchema, forward_reach);
containers!(KubeSchemaFloat);

/// An element, map value or inner option that may be `None` is written as
/// `null`, which the apiserver prunes from maps (losing the key) and refuses
/// in lists unless the schema is `nullable`.
fn nullable_if(optional: bool, schema: Schema) -> Schema {
    Schema {
        nullable: schema.nullable || optional,
        ..schema
    }
}

/// A set of scalars is a `x-kubernetes-list-type: set`, which makes the
/// apiserver refuse duplicates, as serde's set would drop them on read.
///
/// A set of objects or lists has no such schema: the apiserver's CRD
/// validation accepts a `set` of atomic objects, but its server-side apply
/// refuses every such object ("associative list without keys has an
/// element that's a map type", found by the property suite on kube-apiserver
/// 1.36), and a plain list keeps the duplicates serde drops. So it is a
/// problem when the schema is built, naming the way out.
fn set(ctx: &mut Context, items: Schema) -> Schema {
    let scalar = matches!(
        items.type_name(),
        "string" | "integer" | "number" | "boolean"
    );
    if !scalar {
        ctx.problem(
            "a set (`BTreeSet`/`HashSet`) of objects or lists: server-side apply refuses a \
             `x-kubernetes-list-type: set` of them, and a plain list keeps the duplicates the \
             set drops on read; use a `Vec` with #[crd(list_type = \"map\", list_map_keys = \
             [...])], a map keyed by the identity (`BTreeMap<String, T>`), or a set of scalars",
        );
    }
    Schema {
        list_type: scalar.then(|| "set".to_owned()),
        ..Schema::array(items)
    }
}

impl KubeSchema for serde_json::Value {
    /// Any JSON value, `null` included: without `nullable` the apiserver
    /// prunes a null and then refuses a required field as missing.
    fn kube_schema(_: &mut Context) -> Schema {
        Schema {
            nullable: true,
            ..Schema::any()
        }
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
        // `IntOrString::Int` holds an i32; the apiserver would store any
        // int64 under the bare extension. The bounds apply to numbers only.
        let (minimum, maximum) = crdforge_schema::passes::INT32_RANGE;
        Schema {
            minimum: Some(minimum),
            maximum: Some(maximum),
            ..Schema::int_or_string()
        }
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

/// metav1.Condition's `type`: a CamelCase name, optionally prefixed by a
/// DNS subdomain and a slash, as the apiserver's own types validate it.
const CONDITION_TYPE_PATTERN: &str = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$";

/// metav1.Condition's `reason`: a CamelCase identifier.
const CONDITION_REASON_PATTERN: &str = "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$";

impl KubeSchema for Condition {
    /// The schema Kubernetes gives metav1.Condition in its own CRDs: the
    /// same bounds, patterns and enum, so a condition the apiserver would
    /// refuse in a built-in type is refused here too.
    fn kube_schema(_: &mut Context) -> Schema {
        let described = |description: &str, schema: Schema| Schema {
            description: Some(description.to_owned()),
            ..schema
        };
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
                described(
                    "When the condition last changed from one status to another.",
                    Schema::formatted("string", "date-time"),
                ),
            ),
            (
                "message",
                described(
                    "A human-readable message with details about the transition; may be empty.",
                    Schema {
                        max_length: Some(32768),
                        ..Schema::typed("string")
                    },
                ),
            ),
            (
                "observedGeneration",
                described(
                    "The .metadata.generation the condition was set for; older than the \
                     object's generation means the condition is out of date.",
                    Schema {
                        minimum: Some(0.0),
                        ..Schema::formatted("integer", "int64")
                    },
                ),
            ),
            (
                "reason",
                described(
                    "A programmatic CamelCase identifier for the reason of the last transition; \
                     not empty.",
                    Schema {
                        min_length: Some(1),
                        max_length: Some(1024),
                        pattern: Some(CONDITION_REASON_PATTERN.into()),
                        ..Schema::typed("string")
                    },
                ),
            ),
            (
                "status",
                described(
                    "The status of the condition: True, False or Unknown.",
                    Schema {
                        enum_: vec!["True".into(), "False".into(), "Unknown".into()],
                        ..Schema::typed("string")
                    },
                ),
            ),
            (
                "type",
                described(
                    "The type of the condition, CamelCase or foo.example.com/CamelCase.",
                    Schema {
                        max_length: Some(316),
                        pattern: Some(CONDITION_TYPE_PATTERN.into()),
                        ..Schema::typed("string")
                    },
                ),
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
        // int32's own range too: kube-apiserver 1.35 does not enforce it.
        assert_eq!(
            schema::<i32>(),
            json!({"type": "integer", "format": "int32", "minimum": -2147483648.0, "maximum": 2147483647.0})
        );
        assert_eq!(
            schema::<u16>(),
            json!({"type": "integer", "format": "int32", "minimum": 0.0, "maximum": 65535.0})
        );
        // The apiserver keeps int64s; the derive asks a u64 field to state
        // its range, the type has none of its own.
        assert_eq!(
            schema::<u64>(),
            json!({"type": "integer", "format": "int64", "minimum": 0.0})
        );
        assert_eq!(schema::<std::num::NonZeroU32>()["minimum"], 1.0);
        // No range leaves out 0 alone: a rule does, beside int32's range.
        let signed = schema::<std::num::NonZeroI32>();
        assert_eq!(signed["x-kubernetes-validations"][0]["rule"], "self != 0");
        assert_eq!(signed["minimum"], -2147483648.0);
        assert!(schema::<std::num::NonZeroI64>().get("minimum").is_none());
        assert_eq!(
            schema::<char>(),
            json!({"type": "string", "minLength": 1, "maxLength": 1})
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
    fn nulls_a_value_can_hold_are_nullable() {
        // A plain `Option` is absent or a pruned null: not nullable.
        assert_eq!(schema::<Option<String>>(), json!({"type": "string"}));
        // `Some(None)` is a null that must be kept.
        assert_eq!(
            schema::<Option<Option<String>>>(),
            json!({"type": "string", "nullable": true})
        );
        assert_eq!(
            schema::<BTreeMap<String, Option<bool>>>(),
            json!({"type": "object", "additionalProperties": {"type": "boolean", "nullable": true}})
        );
        assert_eq!(
            schema::<Vec<Option<String>>>(),
            json!({"type": "array", "items": {"type": "string", "nullable": true}})
        );
        assert_eq!(schema::<Box<serde_json::Value>>()["nullable"], true);
        assert_eq!(schema::<Option<serde_json::Value>>()["nullable"], true);
    }

    #[test]
    fn well_known_types_map_as_the_apiserver_expects() {
        assert_eq!(
            schema::<IntOrString>(),
            json!({
                "minimum": -2147483648.0,
                "maximum": 2147483647.0,
                "x-kubernetes-int-or-string": true,
            })
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
            json!({"nullable": true, "x-kubernetes-preserve-unknown-fields": true})
        );
        let condition = schema::<Condition>();
        assert_eq!(condition["required"].as_array().unwrap().len(), 5);
        assert_eq!(
            condition["properties"]["type"]["pattern"],
            CONDITION_TYPE_PATTERN
        );
        assert_eq!(condition["properties"]["type"]["maxLength"], 316);
        assert_eq!(condition["properties"]["reason"]["minLength"], 1);
        for property in condition["properties"].as_object().unwrap().values() {
            assert!(property["description"].is_string(), "{property}");
        }
    }
}
