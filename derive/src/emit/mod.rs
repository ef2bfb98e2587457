//! The back end: a validated [`Input`] becomes Rust tokens. Nothing here can
//! fail; every error was reported by the front end.
//!
//! The derive crate calls [`expand_custom_resource`] and [`expand_schema`],
//! which take and return `proc_macro2` token streams, so they can be tested
//! without a compiler.

mod apply;
mod deep_copy;
mod fallback;
mod resource;
mod schema;
mod values;

#[cfg(test)]
mod tests;

use proc_macro2::TokenStream;
use quote::quote;

use crate::frontend;
use crate::model::{Derive, Input};

/// `#[derive(CustomResource)]`: the root struct, its impls, and the spec's
/// `KubeSchema` impl.
pub(crate) fn expand_custom_resource(input: TokenStream) -> syn::Result<TokenStream> {
    expand(input, Derive::CustomResource)
}

/// `#[derive(KubeSchema)]`: the type's `KubeSchema` impl.
pub(crate) fn expand_schema(input: TokenStream) -> syn::Result<TokenStream> {
    expand(input, Derive::Schema)
}

fn expand(input: TokenStream, derive: Derive) -> syn::Result<TokenStream> {
    let input: syn::DeriveInput = syn::parse2(input)?;
    let model = match frontend::parse(&input, derive) {
        Ok(model) => model,
        Err(errors) => {
            let error = errors.finish().err().unwrap_or_else(|| {
                syn::Error::new_spanned(&input.ident, "crdforge: invalid input")
            });
            let error = error.into_compile_error();
            let fallback = fallback(&input, &frontend::fallback(&input, derive));
            let root = match derive {
                Derive::CustomResource => frontend::partial_resource(&input)
                    .and_then(|partial| {
                        let r = partial.resource.as_ref()?;
                        Some(resource::root_of_failed_spec(&partial, r))
                    })
                    .unwrap_or_default(),
                Derive::Schema => TokenStream::new(),
            };
            return Ok(quote!(#error #fallback #root));
        }
    };
    Ok(emit(&model))
}

/// The impls of a derive that reported errors, with bodies that never run
/// (the crate does not compile), so that only the real error is shown.
fn fallback(input: &syn::DeriveInput, f: &frontend::Fallback) -> TokenStream {
    let krate = &f.krate;
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let schema = f.schema.then(|| {
        quote! {
            #[automatically_derived]
            impl #impl_generics #krate::KubeSchema for #ident #ty_generics #where_clause {
                fn kube_schema(_: &mut #krate::schema::Context) -> #krate::schema::Schema {
                    ::core::unreachable!()
                }
            }
        }
    });
    let apply = f.apply.then(|| {
        quote! {
            #[automatically_derived]
            impl #impl_generics #krate::ApplyConfiguration for #ident #ty_generics #where_clause {
                type Configuration = ();
            }
        }
    });
    quote! {
        const _: () = {
            #schema
            #apply
            #[automatically_derived]
            impl #impl_generics #krate::DeepCopy for #ident #ty_generics #where_clause {
                fn deep_copy_into(&self, _: &mut Self) {
                    ::core::unreachable!()
                }
                fn deep_copy(&self) -> Self {
                    ::core::unreachable!()
                }
            }
        };
    }
}

/// A name the expansion invents for itself (`ctx`, `self`, a local): spelled
/// at the call site, never at a user's span, so that it resolves in the same
/// hygiene context as its binding even when the field tokens come from a
/// `macro_rules!` with another context.
pub(crate) fn local(name: &str) -> proc_macro2::Ident {
    proc_macro2::Ident::new(name, proc_macro2::Span::call_site())
}

/// The tokens for a validated model: the items a user names (a resource's
/// root struct, the apply configurations), then one `const _` block with
/// every impl, where the fallback's choices are constants shared by the
/// impls that use them.
pub(crate) fn emit(input: &Input) -> TokenStream {
    let (items, impls) = match &input.resource {
        Some(r) => resource::custom_resource(input, r),
        None => {
            let item = schema::schema_impl(input);
            let deep_copy = deep_copy::type_impl(input);
            (quote!(), quote!(#item #deep_copy))
        }
    };
    let (apply, apply_impls) = apply::apply_configuration(input);
    let choices = fallback::definitions(input);
    let notes = fallback::notes(input);
    quote! {
        #items
        #apply
        const _: () = {
            #choices
            #impls
            #apply_impls
        };
        #notes
    }
}
