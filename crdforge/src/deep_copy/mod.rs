//! [`DeepCopy`]: Kubernetes' deepcopy-gen, done the Rust way.
//!
//! `#[derive(CustomResource)]` and `#[derive(KubeSchema)]` implement it for
//! the root object, the spec and every nested type, field by field; this
//! module implements it for the standard library, `serde_json::Value` and the
//! k8s-openapi types that API types embed (`ObjectMeta` and its parts,
//! `Time`, `Quantity`, `Condition`, ...).
//!
//! # Contract
//!
//! - **Equality**: after `a.deep_copy_into(&mut b)`, `b == a`, whatever `b`
//!   held before. `a.deep_copy() == a`.
//! - **Independence**: the copy shares no mutable state with the source.
//!   `Arc<T>` and `Rc<T>` are copied through: the copy gets its own `T`
//!   (see below), so `Arc::get_mut` on a fresh copy succeeds.
//! - **Reuse**: `deep_copy_into` keeps the destination's allocations where
//!   it can, like [`Clone::clone_from`]: a `String` keeps its buffer, a `Vec`
//!   its buffer and its elements (each copied into), `Some` is copied into
//!   `Some`, a `Box` keeps its allocation, map entries whose keys are already
//!   in the destination keep their value, and an enum of the same variant is
//!   copied field by field. So copying into a value of the same shape (same
//!   lengths, same keys, same variants, strings no longer than the
//!   destination's capacity) allocates nothing; the test
//!   `same_shape_copies_allocate_nothing` counts allocations to prove it.
//!   A different variant, a `None` destination or a new map key allocates
//!   what it must.
//!
//! # `Arc` and `Rc`
//!
//! Sharing an immutable `Arc` would be observably equal, but a deep copy
//! promises independence, which matters for `Arc::make_mut`/`get_mut`
//! users and for memory accounting. So `deep_copy` allocates a new `Arc`
//! holding a deep copy of the inner value, and `deep_copy_into` copies into
//! the destination's inner value in place when the destination is the only
//! owner of it, and replaces it with a new `Arc` otherwise (never writing
//! through a shared pointer).
//!
//! # Types without `DeepCopy`
//!
//! A field of a foreign type that has no impl can opt into
//! [`Clone::clone_from`] with `#[crd(deep_copy = "clone")]`; a type of your
//! own crate that derives neither macro can get an impl from
//! [`deep_copy_via_clone!`](crate::deep_copy_via_clone) (the orphan rule
//! keeps that macro to local types).

mod k8s;
mod std_impls;
#[cfg(test)]
mod tests;

/// A deep copy that reuses the destination's allocations.
///
/// See the [module docs](self) for the contract every impl keeps.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `DeepCopy`",
    label = "this field's type needs `DeepCopy`",
    note = "derive `KubeSchema` for a type of your own, use `crdforge::deep_copy_via_clone!`, \
            or mark the field `#[crd(deep_copy = \"clone\")]` to copy it with `Clone::clone_from`"
)]
pub trait DeepCopy {
    /// Makes `out` equal to `self`, reusing what `out` already holds.
    fn deep_copy_into(&self, out: &mut Self);

    /// A new, independent copy of `self`.
    fn deep_copy(&self) -> Self
    where
        Self: Sized;
}

/// Implements [`DeepCopy`] for types of the calling crate through their
/// `Clone` impl (`clone` and `clone_from`), for types that derive neither
/// `CustomResource` nor `KubeSchema`:
///
/// ```
/// #[derive(Clone, PartialEq, Debug)]
/// struct Legacy(String);
/// crdforge::deep_copy_via_clone!(Legacy);
///
/// use crdforge::DeepCopy;
/// let mut out = Legacy(String::new());
/// Legacy("a".into()).deep_copy_into(&mut out);
/// assert_eq!(out, Legacy("a".into()));
/// ```
///
/// `Clone` must itself be deep (no `Arc` inside shared by the clone) for the
/// impl to keep the contract's independence promise. For a foreign type,
/// which the orphan rule keeps out of this macro, mark the field
/// `#[crd(deep_copy = "clone")]` instead.
#[macro_export]
macro_rules! deep_copy_via_clone {
    ($($ty:ty),+ $(,)?) => {
        $(
            impl $crate::DeepCopy for $ty {
                #[inline]
                fn deep_copy_into(&self, out: &mut Self) {
                    ::core::clone::Clone::clone_from(out, self);
                }
                #[inline]
                fn deep_copy(&self) -> Self {
                    ::core::clone::Clone::clone(self)
                }
            }
        )+
    };
}
