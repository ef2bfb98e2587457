//! Apply configurations: for each type, a value of the same wire shape in
//! which every field may be left out, so a field manager sends exactly the
//! fields it owns in a server-side apply (Kubernetes' applyconfiguration-gen,
//! done with the derives instead of a separate generator).
//!
//! [`ApplyConfiguration`] relates a type to its configuration.
//! `#[derive(KubeSchema)]` and `#[derive(CustomResource)]` implement it for
//! each struct by emitting `<Name>Apply`, whose fields are all `Option`s of
//! the fields' own configurations, written under the same wire names and
//! left out when `None`; `#[derive(CustomResource)]` also emits `<Kind>Apply`
//! for the whole object, which always writes `apiVersion`, `kind` and the
//! name, and implements [`ObjectConfiguration`] so the typed client can send
//! it.
//!
//! What server-side apply does with each shape, and so what a configuration
//! of it holds:
//! - **Structs** are granular: each field is owned on its own, so their
//!   configuration is a generated struct of optional fields.
//! - **Lists** become `Vec<item configuration>`. For a `list_type = "map"`
//!   list the apiserver merges items by their keys, so an item may be
//!   partial as long as it sets its keys; for an atomic list (the default)
//!   the list sent replaces the whole list, so each item should be complete;
//!   a `set` holds scalars, each owned on its own.
//! - **Maps** (`BTreeMap<String, V>`, `HashMap`) are granular per key:
//!   `BTreeMap<String, V's configuration>`.
//! - **Scalars, enums and foreign types** are atomic: they are their own
//!   configuration. An enum's variants are applied whole, so the derive makes
//!   the enum its own configuration (it must be `Clone + Debug`). k8s-openapi
//!   types ([`ObjectMeta`], [`Condition`], [`LabelSelector`], [`Quantity`],
//!   [`IntOrString`], [`Time`], ...) are their own configuration too: their
//!   serde impls leave out every `None` field already, so an `ObjectMeta` with
//!   only labels set applies only labels.
//! - `Option<T>` has `T`'s configuration (an absent field is the `None` of
//!   the field that holds it), `Box<T>` a boxed one, so recursive types
//!   still have a size.
//!
//! Leaving a field out of a later apply by the same manager gives up its
//! ownership, and the apiserver removes the field when no other manager
//! owns it; an explicit `null` cannot be written.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt::Debug;
use std::hash::BuildHasher;
use std::rc::Rc;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    Condition, LabelSelector, MicroTime, ObjectMeta, OwnerReference, Time,
};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

/// A type whose fields can be applied partially with server-side apply.
///
/// The derives implement it; see the [module docs](self) for what each
/// shape's configuration is.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no apply configuration",
    label = "this type needs `#[derive(crdforge::KubeSchema)]` without `#[crd(apply = false)]`, or an `impl crdforge::ApplyConfiguration`",
    note = "a type that is applied whole can be its own configuration: `type Configuration = Self;`"
)]
pub trait ApplyConfiguration {
    /// The configuration: the same wire shape, with every field optional.
    type Configuration: Serialize + Clone + Debug;
}

/// The apply configuration of a whole object, which names the object it
/// applies to; `#[derive(CustomResource)]` implements it for `<Kind>Apply`.
pub trait ObjectConfiguration: Serialize + Clone + Debug {
    /// The object's metadata; its name (and namespace, for a namespaced
    /// kind) are always set.
    fn metadata(&self) -> &ObjectMeta;

    /// The object's name.
    fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }
}

/// Types applied whole: their own configuration.
macro_rules! atomic {
    ($($t:ty),* $(,)?) => {$(
        impl ApplyConfiguration for $t {
            type Configuration = $t;
        }
    )*};
}
atomic!(
    bool,
    i8,
    i16,
    i32,
    i64,
    isize,
    u8,
    u16,
    u32,
    u64,
    usize,
    u128,
    i128,
    char,
    std::num::NonZeroU8,
    std::num::NonZeroU16,
    std::num::NonZeroU32,
    std::num::NonZeroU64,
    std::num::NonZeroU128,
    std::num::NonZeroUsize,
    std::num::NonZeroI8,
    std::num::NonZeroI16,
    std::num::NonZeroI32,
    std::num::NonZeroI64,
    std::num::NonZeroI128,
    std::num::NonZeroIsize,
    f32,
    f64,
    String,
    serde_json::Value,
    serde_json::Map<String, serde_json::Value>,
    Quantity,
    IntOrString,
    Time,
    MicroTime,
    Condition,
    LabelSelector,
    OwnerReference,
    RawExtension,
);

/// Granular in its own right: every `None` field is left out on the wire.
impl ApplyConfiguration for ObjectMeta {
    type Configuration = ObjectMeta;
}

impl<T: ApplyConfiguration> ApplyConfiguration for Option<T> {
    type Configuration = T::Configuration;
}

impl<T: ApplyConfiguration> ApplyConfiguration for Box<T> {
    type Configuration = Box<T::Configuration>;
}

impl<T: ApplyConfiguration> ApplyConfiguration for Arc<T> {
    type Configuration = Box<T::Configuration>;
}

impl<T: ApplyConfiguration> ApplyConfiguration for Rc<T> {
    type Configuration = Box<T::Configuration>;
}

impl<T: ApplyConfiguration> ApplyConfiguration for Vec<T> {
    type Configuration = Vec<T::Configuration>;
}

/// A fixed-size array is an atomic list: applied whole.
impl<T: ApplyConfiguration, const N: usize> ApplyConfiguration for [T; N] {
    type Configuration = Vec<T::Configuration>;
}

impl ApplyConfiguration for std::borrow::Cow<'_, str> {
    type Configuration = String;
}

impl<T: ApplyConfiguration> ApplyConfiguration for VecDeque<T> {
    type Configuration = Vec<T::Configuration>;
}

impl<T: ApplyConfiguration> ApplyConfiguration for BTreeSet<T> {
    type Configuration = Vec<T::Configuration>;
}

impl<T: ApplyConfiguration, S: BuildHasher> ApplyConfiguration for HashSet<T, S> {
    type Configuration = Vec<T::Configuration>;
}

impl<V: ApplyConfiguration> ApplyConfiguration for BTreeMap<String, V> {
    type Configuration = BTreeMap<String, V::Configuration>;
}

/// A `BTreeMap`, so that what is sent does not depend on hashing.
impl<V: ApplyConfiguration, S: BuildHasher> ApplyConfiguration for HashMap<String, V, S> {
    type Configuration = BTreeMap<String, V::Configuration>;
}
