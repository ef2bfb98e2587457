//! The `DeepCopy` impls: Kubernetes' deepcopy-gen as a derive. Every Rust
//! field is copied, serde-skipped ones included, through the field type's
//! own `DeepCopy::deep_copy_into` (reusing the destination's allocations)
//! or, for `#[crd(deep_copy = "clone")]`, through `Clone::clone_from`.
//! Each field's call is spanned at its type, so "`Foo: DeepCopy` is not
//! satisfied" points at the field that needs an impl or the attribute.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{Generics, Ident, Member, Path, Type};

use super::fallback::Probe;

use crate::model::{DeepCopyMode, Input, Resource, RustBody, RustField, RustFields};

/// `impl DeepCopy` for the derive input (a spec struct, or any struct or
/// enum deriving `KubeSchema`), with a `DeepCopy` bound per type parameter.
pub(crate) fn type_impl(input: &Input) -> TokenStream {
    let krate = &input.krate;
    let ident = &input.ident;
    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(syn::parse_quote!(#krate::DeepCopy));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let (into, copy) = match &input.rust {
        RustBody::Struct(fields) => struct_bodies(fields, krate, &input.generics),
        RustBody::Enum(variants) if variants.is_empty() => {
            (quote!(match *self {}), quote!(match *self {}))
        }
        RustBody::Enum(variants) => {
            let into_arms = variants.iter().map(|v| {
                let name = &v.ident;
                let (from_pat, from_binds) = pattern(&v.fields, "__from");
                let (out_pat, out_binds) = pattern(&v.fields, "__out");
                let calls = fields_of(&v.fields)
                    .iter()
                    .zip(from_binds.iter().zip(&out_binds))
                    .map(|(f, (from, out))| {
                        copy_into(f, krate, &input.generics, quote!(#from), quote!(#out))
                    });
                quote!((Self::#name #from_pat, Self::#name #out_pat) => { #(#calls)* })
            });
            let copy_arms = variants.iter().map(|v| {
                let name = &v.ident;
                let (from_pat, from_binds) = pattern(&v.fields, "__from");
                let value = construct(
                    &v.fields,
                    from_binds
                        .iter()
                        .map(|b| quote!(#b))
                        .collect::<Vec<_>>()
                        .as_slice(),
                    krate,
                    &input.generics,
                    quote!(Self::#name),
                );
                quote!(Self::#name #from_pat => #value,)
            });
            (
                quote! {
                    match (self, out) {
                        #(#into_arms)*
                        // Another variant: nothing of `out` can be reused.
                        #[allow(unreachable_patterns)]
                        (__from, __out) => *__out = #krate::DeepCopy::deep_copy(__from),
                    }
                },
                quote!(match self { #(#copy_arms)* }),
            )
        }
    };
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::DeepCopy for #ident #ty_generics #where_clause {
            #[inline]
            fn deep_copy_into(&self, out: &mut Self) {
                #into
            }
            #[inline]
            fn deep_copy(&self) -> Self {
                #copy
            }
        }
    }
}

/// `impl DeepCopy` for the root struct of a `CustomResource`.
pub(crate) fn root_impl(input: &Input, r: &Resource) -> TokenStream {
    let krate = &input.krate;
    let root = &r.root;
    let spec = &input.ident;
    let meta: Type = syn::parse_quote!(
        #krate::__private::ObjectMeta
    );
    let field = |name: &str, ty: Type, deep_copy| RustField {
        member: Member::Named(Ident::new(name, Span::call_site())),
        span: syn::spanned::Spanned::span(&ty),
        ty,
        deep_copy,
    };
    let mut fields = vec![
        field("metadata", meta, DeepCopyMode::Native),
        field("spec", syn::parse_quote!(#spec), DeepCopyMode::Native),
    ];
    if let Some(status) = &r.status {
        fields.push(field(
            "status",
            root_status_type(status),
            DeepCopyMode::Deep,
        ));
    }
    let (into, copy) = struct_bodies(&RustFields::Named(fields), krate, &input.generics);
    quote! {
        #[automatically_derived]
        impl #krate::DeepCopy for #root {
            #[inline]
            fn deep_copy_into(&self, out: &mut Self) {
                #into
            }
            #[inline]
            fn deep_copy(&self) -> Self {
                #copy
            }
        }
    }
}

/// The type of the root's `status` field, whose deep copy is probed.
pub(crate) fn root_status_type(status: &Type) -> Type {
    syn::parse_quote!(::core::option::Option<#status>)
}

/// The bodies of `deep_copy_into` and `deep_copy` for a struct.
fn struct_bodies(
    fields: &RustFields,
    krate: &Path,
    generics: &Generics,
) -> (TokenStream, TokenStream) {
    let all = fields_of(fields);
    let into = all.iter().map(|f| {
        let m = &f.member;
        copy_into(f, krate, generics, quote!(&self.#m), quote!(&mut out.#m))
    });
    let sources: Vec<TokenStream> = all
        .iter()
        .map(|f| {
            let m = &f.member;
            quote!(&self.#m)
        })
        .collect();
    let copy = construct(fields, &sources, krate, generics, quote!(Self));
    if all.is_empty() {
        // Nothing to copy; `out` is used so that no warning reaches the user.
        return (quote!(let _ = out;), copy);
    }
    (quote!(#(#into)*), copy)
}

fn fields_of(fields: &RustFields) -> &[RustField] {
    match fields {
        RustFields::Named(f) | RustFields::Unnamed(f) => f,
        RustFields::Unit => &[],
    }
}

/// A pattern binding every field of a variant by reference, with the names
/// bound in field order.
fn pattern(fields: &RustFields, prefix: &str) -> (TokenStream, Vec<Ident>) {
    let all = fields_of(fields);
    let binds: Vec<Ident> = (0..all.len())
        .map(|i| format_ident!("{prefix}_{i}"))
        .collect();
    let members = all.iter().map(|f| &f.member);
    let pat = match fields {
        RustFields::Unit => quote!(),
        // `Self::V { 0: a }` is valid for tuple variants too.
        _ => quote!({ #(#members: #binds),* }),
    };
    (pat, binds)
}

/// `from.deep_copy_into(out)` for one field, spanned at its type.
fn copy_into(
    field: &RustField,
    krate: &Path,
    generics: &Generics,
    from: TokenStream,
    out: TokenStream,
) -> TokenStream {
    let ty = &field.ty;
    let probe = Probe::of(ty, generics, krate);
    match (field.deep_copy, probe) {
        // Its own `DeepCopy`, or `Clone` if it has only schemars' `JsonSchema`.
        (DeepCopyMode::Deep, Some(probe)) => {
            let via = probe.copy();
            super::apply::relocate(quote!(#via::deep_copy_into(#from, #out);), field.span)
        }
        (DeepCopyMode::Deep | DeepCopyMode::Native, _) => quote_spanned!(field.span=>
            <#ty as #krate::DeepCopy>::deep_copy_into(#from, #out);
        ),
        (DeepCopyMode::Clone, _) => quote_spanned!(field.span=>
            <#ty as ::core::clone::Clone>::clone_from(#out, #from);
        ),
    }
}

/// `Path { field: copy of source, ... }`.
fn construct(
    fields: &RustFields,
    sources: &[TokenStream],
    krate: &Path,
    generics: &Generics,
    path: TokenStream,
) -> TokenStream {
    let all = fields_of(fields);
    let values = all.iter().zip(sources).map(|(f, from)| {
        let m = &f.member;
        let ty = &f.ty;
        let value = match (f.deep_copy, Probe::of(ty, generics, krate)) {
            (DeepCopyMode::Deep, Some(probe)) => {
                let via = probe.copy();
                super::apply::relocate(quote!(#via::deep_copy(#from)), f.span)
            }
            (DeepCopyMode::Deep | DeepCopyMode::Native, _) => {
                quote_spanned!(f.span=> <#ty as #krate::DeepCopy>::deep_copy(#from))
            }
            (DeepCopyMode::Clone, _) => {
                quote_spanned!(f.span=> <#ty as ::core::clone::Clone>::clone(#from))
            }
        };
        quote!(#m: #value)
    });
    match fields {
        RustFields::Unit => path,
        _ => quote!(#path { #(#values),* }),
    }
}
