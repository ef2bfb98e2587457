//! Derive macros for crdforge. Each entry point only converts token streams;
//! the work is done in three stages, as serde_derive does it:
//! - [`frontend`] parses and checks `syn` input into a validated [`model`],
//!   reporting every error with its span;
//! - [`emit`] turns the model into Rust tokens, and cannot fail.
//!
//! Use the macros through the `crdforge` crate, which re-exports them next
//! to the traits their output implements.
#![warn(missing_docs)]

use proc_macro::TokenStream;

mod emit;
mod frontend;
mod model;

/// Derives a Kubernetes custom resource from its spec struct: the root type
/// (`metadata`, `spec`, optional `status`), kube's `Resource`, `HasSpec`,
/// `HasStatus` and `CustomResourceExt`, serde impls writing `apiVersion` and
/// `kind`, crdforge's `CustomResource`, and the spec's `KubeSchema`.
///
/// Accepts kube-derive's `#[kube(...)]` keys and crdforge's `#[crd(...)]`
/// keys; see `docs/annotations.md` for every key.
#[proc_macro_derive(CustomResource, attributes(kube, crd))]
pub fn derive_custom_resource(input: TokenStream) -> TokenStream {
    emit::expand_custom_resource(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derives `crdforge::KubeSchema` for a struct or enum used inside a
/// custom resource, honouring serde's attributes and `#[crd(...)]` keys.
#[proc_macro_derive(KubeSchema, attributes(crd))]
pub fn derive_kube_schema(input: TokenStream) -> TokenStream {
    emit::expand_schema(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
