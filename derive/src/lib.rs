#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
// Each entry point only converts token streams: `frontend` parses and checks
// the input into a validated `model`, reporting every error with its span,
// and `emit` turns the model into tokens and cannot fail.

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
