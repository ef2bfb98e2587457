//! The automatic fallback to schemars for field types written for
//! kube-derive: a type that derives schemars' `JsonSchema` but none of
//! crdforge's traits gets its schema through the schemars bridge
//! (`schemars_schema` beside this module), is deep-copied with `Clone`, and is applied
//! whole (its own apply configuration), so moving from kube-derive is a
//! change of import.
//!
//! The derive sees each field's concrete type, but it cannot ask the
//! compiler whether that type implements a trait, and a type position (the
//! field of a `<Type>Apply`) cannot be picked by autoref specialisation,
//! which works only on method calls. So the choice is made in two steps,
//! both on stable Rust and only for concrete types:
//!
//! 1. `Probe` answers "does `T` implement `Trait`?" as a `const bool`: an
//!    inherent associated constant that exists only where `T: Trait` shadows
//!    the `false` default of a trait implemented for every `Probe`. Path
//!    resolution tries inherent items first and skips those whose bounds do
//!    not hold, so `<Probe<T>>::SCHEMA` is `true` exactly when
//!    `T: KubeSchema`. The derive writes the facts it needs into an
//!    anonymous constant, e.g. `!SCHEMA(T) && !FLOAT(T) && SCHEMARS(T)`.
//! 2. `Via` carries that constant as a const generic, and one impl of each
//!    of `SchemaVia`, `ApplyVia` and `CopyVia` exists per value: `false`
//!    forwards to crdforge's own trait, `true` to schemars, the value itself,
//!    and `Clone`. An impl keyed on a const value works in type position, so
//!    the apply configuration's field type is chosen the same way.
//!
//! The fallback is taken only when `KubeSchema` (and a float's
//! `KubeSchemaFloat`) is missing *and* `JsonSchema` is present, and deep
//! copy and apply fall back only with the schema, where their own trait is
//! missing too; a type with neither goes the native way and gets the usual
//! "has no Kubernetes schema" error, and a type crdforge describes keeps
//! crdforge's errors (a `#[crd(apply = false)]` type in an applied field). Without crdforge's
//! `schemars` feature no type is `JsonSchema` here, so nothing falls back.
//! A field type that names a generic parameter is never probed (a constant
//! cannot depend on one); the derive leaves such fields on the native path.

use std::fmt::Debug;
use std::marker::PhantomData;

use serde::Serialize;

use crate::reach::Reach;
use crate::schema::{Context, Schema};
use crate::{ApplyConfiguration, DeepCopy, KubeSchema, KubeSchemaFloat};

/// Asks, through its associated constants, which traits `T` implements.
pub struct Probe<T: ?Sized>(PhantomData<T>);

/// The answers for a type that lacks the trait: every one `false`. The
/// derive brings this into scope (`use ... as _`) next to each probe.
pub trait Absent {
    /// `T: KubeSchema`.
    const SCHEMA: bool = false;
    /// `T: KubeSchemaFloat` (a float or a container of floats).
    const FLOAT: bool = false;
    /// `T: ApplyConfiguration`.
    const APPLY: bool = false;
    /// `T: DeepCopy`.
    const DEEP_COPY: bool = false;
    /// `T: schemars::JsonSchema` (never, without the `schemars` feature).
    const SCHEMARS: bool = false;
}

impl<T: ?Sized> Absent for Probe<T> {}

impl<T: ?Sized + KubeSchema> Probe<T> {
    /// `T: KubeSchema`.
    pub const SCHEMA: bool = true;
}

impl<T: ?Sized + KubeSchemaFloat> Probe<T> {
    /// `T: KubeSchemaFloat`.
    pub const FLOAT: bool = true;
}

impl<T: ?Sized + ApplyConfiguration> Probe<T> {
    /// `T: ApplyConfiguration`.
    pub const APPLY: bool = true;
}

impl<T: ?Sized + DeepCopy> Probe<T> {
    /// `T: DeepCopy`.
    pub const DEEP_COPY: bool = true;
}

#[cfg(feature = "schemars")]
impl<T: ?Sized + schemars::JsonSchema> Probe<T> {
    /// `T: schemars::JsonSchema`.
    pub const SCHEMARS: bool = true;
}

/// The way a field of type `F` is handled: crdforge's own traits when
/// `FALLBACK` is `false`, schemars, the value and `Clone` when it is `true`.
/// `I` is the type schemars describes and apply sends whole: `F` without
/// its `Option`, which `OPTION` records (an `Option` makes the field
/// optional, as everywhere else).
pub struct Via<const FALLBACK: bool, const OPTION: bool, F: ?Sized, I: ?Sized>(
    PhantomData<F>,
    PhantomData<I>,
);

/// A field's schema, as [`KubeSchema`] gives it.
pub trait SchemaVia {
    /// As [`KubeSchema::OPTIONAL`].
    const OPTIONAL: bool;
    /// As `KubeSchema::__REACH_1` to `__REACH_4`: what a schemars type
    /// reaches is schemars' business, so only crdforge's own path forwards
    /// them.
    const __REACH_1: Reach = Reach::EMPTY;
    /// As above.
    const __REACH_2: Reach = Reach::EMPTY;
    /// As above.
    const __REACH_3: Reach = Reach::EMPTY;
    /// As above.
    const __REACH_4: Reach = Reach::EMPTY;
    /// As `KubeSchema::__READS_AS_MAP`; a schemars type's is unknown, and
    /// taken as not.
    const __READS_AS_MAP: bool = false;
    /// As [`KubeSchema::kube_schema`].
    fn kube_schema(ctx: &mut Context) -> Schema;
}

impl<const OPTION: bool, F: ?Sized + KubeSchema, I: ?Sized> SchemaVia for Via<false, OPTION, F, I> {
    const OPTIONAL: bool = F::OPTIONAL;
    const __REACH_1: Reach = F::__REACH_1;
    const __REACH_2: Reach = F::__REACH_2;
    const __REACH_3: Reach = F::__REACH_3;
    const __REACH_4: Reach = F::__REACH_4;
    const __READS_AS_MAP: bool = F::__READS_AS_MAP;
    fn kube_schema(ctx: &mut Context) -> Schema {
        F::kube_schema(ctx)
    }
}

#[cfg(feature = "schemars")]
impl<const OPTION: bool, F: ?Sized, I: ?Sized + schemars::JsonSchema> SchemaVia
    for Via<true, OPTION, F, I>
{
    const OPTIONAL: bool = OPTION;
    fn kube_schema(ctx: &mut Context) -> Schema {
        super::schemars_schema::<I>(ctx)
    }
}

/// A field's apply configuration, as [`ApplyConfiguration`] gives it.
pub trait ApplyVia {
    /// As [`ApplyConfiguration::Configuration`].
    type Configuration: Serialize + Clone + Debug;
}

impl<const OPTION: bool, F: ?Sized + ApplyConfiguration, I: ?Sized> ApplyVia
    for Via<false, OPTION, F, I>
{
    type Configuration = F::Configuration;
}

/// Applied whole: server-side apply owns the value as one, as it does an
/// enum's or a foreign type's.
impl<const OPTION: bool, F: ?Sized, I: Serialize + Clone + Debug> ApplyVia
    for Via<true, OPTION, F, I>
{
    type Configuration = I;
}

/// A field's deep copy, as [`DeepCopy`] gives it.
pub trait CopyVia {
    /// The field's type.
    type Value;
    /// As [`DeepCopy::deep_copy_into`].
    fn deep_copy_into(from: &Self::Value, out: &mut Self::Value);
    /// As [`DeepCopy::deep_copy`].
    fn deep_copy(from: &Self::Value) -> Self::Value;
}

impl<const OPTION: bool, T: DeepCopy> CopyVia for Via<false, OPTION, T, T> {
    type Value = T;
    #[inline]
    fn deep_copy_into(from: &T, out: &mut T) {
        from.deep_copy_into(out);
    }
    #[inline]
    fn deep_copy(from: &T) -> T {
        from.deep_copy()
    }
}

/// A schemars type is plain data: `Clone` copies it deeply (what
/// `#[crd(deep_copy = "clone")]` does), `clone_from` reusing what it can.
impl<const OPTION: bool, T: Clone> CopyVia for Via<true, OPTION, T, T> {
    type Value = T;
    #[inline]
    fn deep_copy_into(from: &T, out: &mut T) {
        out.clone_from(from);
    }
    #[inline]
    fn deep_copy(from: &T) -> T {
        from.clone()
    }
}

#[cfg(all(test, feature = "schemars"))]
mod tests {
    use super::*;

    #[derive(schemars::JsonSchema, Serialize, Clone, Debug, PartialEq)]
    struct Foreign {
        name: String,
    }

    #[allow(dead_code)]
    struct Neither;

    #[test]
    fn probes_answer_for_concrete_types() {
        const {
            assert!(<Probe<String>>::SCHEMA && <Probe<String>>::SCHEMARS);
            assert!(!<Probe<Foreign>>::SCHEMA && <Probe<Foreign>>::SCHEMARS);
            assert!(!<Probe<Vec<Foreign>>>::APPLY && <Probe<Vec<Foreign>>>::SCHEMARS);
            assert!(<Probe<f64>>::FLOAT && !<Probe<f64>>::SCHEMA);
            assert!(!<Probe<Neither>>::DEEP_COPY && !<Probe<Neither>>::SCHEMARS);
        }
    }

    #[test]
    fn the_fallback_uses_schemars_the_value_and_clone() {
        let mut ctx = Context::new();
        let schema =
            <Via<true, true, Option<Foreign>, Foreign> as SchemaVia>::kube_schema(&mut ctx)
                .to_json();
        assert_eq!(schema["properties"]["name"]["type"], "string");
        const { assert!(<Via<true, true, Option<Foreign>, Foreign> as SchemaVia>::OPTIONAL) };
        let whole: <Via<true, true, Option<Foreign>, Foreign> as ApplyVia>::Configuration =
            Foreign { name: "a".into() };
        let mut out = Foreign {
            name: String::new(),
        };
        <Via<true, false, Foreign, Foreign> as CopyVia>::deep_copy_into(&whole, &mut out);
        assert_eq!(out, whole);
        // The native way asks the type, whatever the syntax said.
        const { assert!(!<Via<false, true, Vec<String>, String> as SchemaVia>::OPTIONAL) };
    }
}
