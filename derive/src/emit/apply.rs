//! Apply configurations (`crdforge::ApplyConfiguration`): for a struct with
//! named fields, `<Name>Apply` with every field an `Option` of the field's
//! own configuration, written under the field's wire name and left out when
//! `None`, plus a `with_<field>` builder per field; for an enum, the enum
//! itself (variants are applied whole); for a newtype, its inner type's
//! configuration; for a `CustomResource`, also `<Root>Apply`, the whole
//! object with `apiVersion`, `kind` and its name always written.
//!
//! Builders are named `with_<field>` rather than `<field>` so that no field
//! name (`default`, `clone`, ...) can shadow a trait method of the struct.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{format_ident, quote};
use syn::{Generics, Ident, Member, Path};

use crate::model::{Body, Field, Input, Resource};

/// Every apply-configuration item for `input`, or nothing for
/// `#[crd(apply = false)]`: the structs, which a user names, and their
/// impls, which go in the derive's constant block.
pub(crate) fn apply_configuration(input: &Input) -> (TokenStream, TokenStream) {
    let Some(names) = &input.apply else {
        return (quote!(), quote!());
    };
    let (own, own_impls) = match (&input.body, &names.own) {
        (Body::Struct(fields), Some(name)) => struct_configuration(input, fields, name),
        (Body::Transparent(field), _) => {
            let inner = field_configuration(field, &input.krate, &input.generics, false);
            (quote!(), configuration_impl(input, &inner, false))
        }
        (Body::Enum { .. }, _) => (quote!(), configuration_impl(input, &quote!(Self), true)),
        (Body::Struct(_), None) => (quote!(), quote!()),
    };
    let (root, root_impls) = match (&input.resource, &names.root) {
        (Some(resource), Some(name)) => root_configuration(input, resource, name),
        _ => (quote!(), quote!()),
    };
    (quote!(#own #root), quote!(#own_impls #root_impls))
}

/// The configuration type of one field: its type's, the type itself for a
/// `#[crd(schemars)]` field, or raw JSON for a field whose wire shape only
/// its `schema_with`/`schemaless` author knows. `outside` is for a struct's
/// field, which is not in the derive's constant block.
fn field_configuration(
    field: &Field,
    krate: &Path,
    generics: &Generics,
    outside: bool,
) -> TokenStream {
    if field.schema_with.is_some() || field.constraints.schemaless {
        return quote!(#krate::__private::serde_json::Value);
    }
    let ty = &field.ty;
    if field.schemars {
        // A schemars type has no configuration of its own (it derives
        // `JsonSchema`, not `KubeSchema`): it is applied whole, as the value.
        let inner = crate::frontend::option_inner(ty).unwrap_or(ty);
        return relocate(quote!(#inner), field.span);
    }
    if let Some(probe) = super::fallback::Probe::of_field(field, generics, krate) {
        // Its own configuration, or the value whole if it has only
        // schemars' `JsonSchema`.
        let configuration = if outside {
            probe.configuration_inline()
        } else {
            probe.configuration()
        };
        return relocate(configuration, field.span);
    }
    // The whole projection, the crate path included, takes the field's
    // span, so "`X` has no apply configuration" points at the field.
    relocate(
        quote!(<#ty as #krate::ApplyConfiguration>::Configuration),
        field.span,
    )
}

/// `tokens` shown at `span`, each still resolved where it was written: the
/// expansion's own names stay in the expansion's scope (they work inside a
/// caller's `macro_rules!`), the user's stay in theirs. Every error the
/// compiler finds in a field's generated code then has one span and one
/// context, so it is reported once, at the field, not again at `#[derive]`.
pub(crate) fn relocate(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            let at = tree.span().located_at(span);
            if let TokenTree::Group(group) = &tree {
                let mut inner = Group::new(group.delimiter(), relocate(group.stream(), span));
                inner.set_span(at);
                tree = TokenTree::Group(inner);
            } else {
                tree.set_span(at);
            }
            tree
        })
        .collect()
}

/// `impl ApplyConfiguration for Type { type Configuration = ...; }`. An enum
/// (`whole`) is its own configuration, so a generic one needs the trait's
/// bounds on itself; anything else needs `ApplyConfiguration` on its
/// parameters.
fn configuration_impl(input: &Input, configuration: &TokenStream, whole: bool) -> TokenStream {
    let krate = &input.krate;
    let ident = &input.ident;
    let generics = if whole {
        let mut generics = input.generics.clone();
        if generics.type_params().next().is_some() {
            generics
                .make_where_clause()
                .predicates
                .push(syn::parse_quote!(
                    Self: #krate::__private::serde::Serialize
                        + ::core::clone::Clone
                        + ::core::fmt::Debug
                ));
        }
        generics
    } else {
        bounded(&input.generics, krate)
    };
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::ApplyConfiguration for #ident #ty_generics #where_clause {
            type Configuration = #configuration;
        }
    }
}

/// The type's generics with `ApplyConfiguration` on each type parameter.
fn bounded(generics: &Generics, krate: &Path) -> Generics {
    let mut generics = generics.clone();
    for param in generics.type_params_mut() {
        param
            .bounds
            .push(syn::parse_quote!(#krate::ApplyConfiguration));
    }
    generics
}

/// The name of a field's builder: `with_<field>`, without `r#`.
fn builder_name(member: &Member) -> Ident {
    match member {
        Member::Named(ident) => format_ident!("with_{}", ident),
        Member::Unnamed(index) => format_ident!("with_{}", index.index),
    }
}

fn struct_configuration(
    input: &Input,
    fields: &[Field],
    name: &Ident,
) -> (TokenStream, TokenStream) {
    let krate = &input.krate;
    let p = quote!(#krate::__private);
    let ident = &input.ident;
    let vis = &input.vis;
    let generics = bounded(&input.generics, krate);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();

    // A type parameter may appear only in skipped fields; the marker keeps
    // every parameter used whatever the fields are.
    let params: Vec<TokenStream> = generics
        .lifetimes()
        .map(|l| {
            let l = &l.lifetime;
            quote!(&#l ())
        })
        .chain(generics.type_params().map(|t| {
            let t = &t.ident;
            quote!(#t)
        }))
        .collect();
    let generic = !params.is_empty();
    let (marker_field, marker_init, marker_clone) = if generic {
        (
            quote! {
                __crdforge_marker: ::core::marker::PhantomData<fn() -> (#(#params,)*)>,
            },
            quote!(__crdforge_marker: ::core::marker::PhantomData,),
            quote!(__crdforge_marker: ::core::marker::PhantomData,),
        )
    } else {
        (quote!(), quote!(), quote!())
    };

    // Every expression on a field is shown at the field, so a field type
    // without a configuration is reported there rather than at the derive.
    let (this, s, out) = (super::local("self"), super::local("s"), super::local("out"));
    let clones = fields.iter().map(|f| {
        let member = &f.member;
        relocate(
            quote!(#member: ::core::clone::Clone::clone(&#this.#member),),
            f.span,
        )
    });
    let defaults = fields.iter().map(|f| {
        let member = &f.member;
        relocate(quote!(#member: ::core::option::Option::None,), f.span)
    });
    let debugs = fields.iter().map(|f| {
        let (member, wire) = (&f.member, &f.wire_name);
        relocate(
            quote!(::core::fmt::DebugStruct::field(&mut #s, #wire, &#this.#member);),
            f.span,
        )
    });
    let writes = fields.iter().map(|f| {
        let (member, wire) = (&f.member, &f.wire_name);
        let write = if f.flatten {
            quote!(#out.flatten(&#this.#member)?;)
        } else {
            quote!(#out.field(#wire, &#this.#member)?;)
        };
        relocate(write, f.span)
    });
    let definitions = fields.iter().map(|f| {
        let member = &f.member;
        let configuration = field_configuration(f, krate, &input.generics, true);
        let doc = field_doc(f);
        let field = relocate(
            quote!(#vis #member: ::core::option::Option<#configuration>,),
            f.span,
        );
        quote! {
            #[doc = #doc]
            #field
        }
    });
    let builders = fields.iter().map(|f| {
        let member = &f.member;
        let builder = builder_name(member);
        let configuration = field_configuration(f, krate, &input.generics, false);
        let doc = if f.flatten {
            "Sets the fields flattened into this object from this field.".to_owned()
        } else {
            format!("Sets `{}`.", f.wire_name)
        };
        // Shown at the field (an error in a signature is reported at the
        // whole function), still resolved at the derive: the builder stays
        // macro-made, so lints on user code (dead code, `unreachable_pub`)
        // do not fire on builders no one calls.
        let builder = relocate(
            quote! {
                #vis fn #builder(mut #this, value: impl ::core::convert::Into<#configuration>) -> Self {
                    #this.#member = ::core::option::Option::Some(::core::convert::Into::into(value));
                    #this
                }
            },
            f.span,
        );
        quote! {
            #[doc = #doc]
            #[must_use]
            #builder
        }
    });
    let doc = format!(
        "The server-side apply configuration of [`{ident}`]: every field optional, written under \
         the same name as in `{ident}` and left out when `None`, so an apply claims only the \
         fields set. Generated by crdforge's derive (see `crdforge::apply`)."
    );
    let name_str = name.to_string();

    let impl_ = configuration_impl(input, &quote!(#name #ty_generics), false);
    // A crate that never applies a type would otherwise be warned about
    // code it did not write (a private type's unused builders).
    let item = quote! {
        #[doc = #doc]
        #[allow(dead_code)]
        #vis struct #name #impl_generics #where_clause {
            #(#definitions)*
            #marker_field
        }
    };
    let impls = quote! {
        #[allow(dead_code)]
        impl #impl_generics #name #ty_generics #where_clause {
            #(#builders)*
        }

            #[automatically_derived]
            impl #impl_generics ::core::default::Default for #name #ty_generics #where_clause {
                fn default() -> Self {
                    Self {
                        #(#defaults)*
                        #marker_init
                    }
                }
            }

            #[automatically_derived]
            impl #impl_generics ::core::clone::Clone for #name #ty_generics #where_clause {
                fn clone(&self) -> Self {
                    Self {
                        #(#clones)*
                        #marker_clone
                    }
                }
            }

            #[automatically_derived]
            impl #impl_generics #p::serde::Serialize for #name #ty_generics #where_clause {
                // `__S`, as serde names it, cannot clash with a parameter of
                // the user's type.
                fn serialize<__S: #p::serde::Serializer>(
                    &#this,
                    serializer: __S,
                ) -> ::core::result::Result<__S::Ok, __S::Error> {
                    let mut #out = #p::apply::fields(serializer)?;
                    #(#writes)*
                    #out.end()
                }
            }

            #[automatically_derived]
            impl #impl_generics ::core::fmt::Debug for #name #ty_generics #where_clause {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    let mut s = ::core::fmt::Formatter::debug_struct(f, #name_str);
                    #(#debugs)*
                    ::core::fmt::DebugStruct::finish(&mut s)
                }
            }

            #impl_
    };
    (item, impls)
}

fn field_doc(field: &Field) -> String {
    let what = match &field.constraints.description {
        Some(description) => description.clone(),
        None if field.flatten => "Fields flattened into this object.".to_owned(),
        None => format!("The `{}` field.", field.wire_name),
    };
    format!("{what}\n\n`None` leaves the field out of the apply.")
}

/// `<Root>Apply`: the whole object to send in a server-side apply.
fn root_configuration(input: &Input, r: &Resource, name: &Ident) -> (TokenStream, TokenStream) {
    let krate = &input.krate;
    let p = quote!(#krate::__private);
    let vis = &input.vis;
    let root = &r.root;
    let spec = &input.ident;
    let kind = &r.kind;
    let api_version = if r.group.is_empty() {
        r.version.clone()
    } else {
        format!("{}/{}", r.group, r.version)
    };
    let meta = quote!(#p::ObjectMeta);
    let owner = quote!(#p::k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference);
    let spec_cfg = quote!(<#spec as #krate::ApplyConfiguration>::Configuration);
    let no_spec = r.no_spec;

    let (status_field, status_init, status_builder, status_value) = match &r.status {
        Some(status) => {
            let probe = super::fallback::Probe::of(status, &input.generics, krate);
            let status_cfg = match &probe {
                Some(probe) => probe.configuration(),
                None => quote!(<#status as #krate::ApplyConfiguration>::Configuration),
            };
            // The struct is outside the derive's constant block.
            let status_field_cfg = match &probe {
                Some(probe) => probe.configuration_inline(),
                None => status_cfg.clone(),
            };
            (
                quote! {
                    /// The observed state to apply through the status
                    /// subresource; `None` leaves `status` out.
                    pub status: ::core::option::Option<#status_field_cfg>,
                },
                quote!(status: ::core::option::Option::None,),
                quote! {
                    /// Sets the status (applied through the status subresource).
                    #[must_use]
                    #vis fn with_status(mut self, status: impl ::core::convert::Into<#status_cfg>) -> Self {
                        self.status = ::core::option::Option::Some(::core::convert::Into::into(status));
                        self
                    }
                },
                quote!(::core::option::Option::Some(&self.status)),
            )
        }
        None => (
            quote!(),
            quote!(),
            quote!(),
            quote!(::core::option::Option::None::<&::core::option::Option<()>>),
        ),
    };
    let (new, scope_doc) = if r.namespaced {
        (
            quote! {
                /// A configuration of the object `name` in `namespace`,
                /// applying nothing but its identity until fields are set.
                /// The name comes first, as in client-go's apply
                /// configurations, so that `new(name)` on a namespaced kind
                /// makes rustc suggest the namespace after it.
                #vis fn new(name: &str, namespace: &str) -> Self {
                    Self {
                        metadata: #p::apply::identity(::core::option::Option::Some(namespace), name),
                        spec: ::core::option::Option::None,
                        #status_init
                    }
                }
            },
            "a name and a namespace",
        )
    } else {
        (
            quote! {
                /// A configuration of the object `name`, applying nothing
                /// but its identity until fields are set.
                #vis fn new(name: &str) -> Self {
                    Self {
                        metadata: #p::apply::identity(::core::option::Option::None, name),
                        spec: ::core::option::Option::None,
                        #status_init
                    }
                }
            },
            "a name",
        )
    };
    let doc = format!(
        "The server-side apply configuration of a whole [`{root}`]: `apiVersion` \
         ({api_version}) and `kind` ({kind}) are always written, `new` takes {scope_doc}, and \
         only the metadata, spec and status set here are applied. Send it with \
         `TypedClient::<{root}>`'s `apply_configuration` or `apply_status_configuration`. \
         Generated by `#[derive(CustomResource)]`."
    );

    let item = quote! {
        #[doc = #doc]
        #[allow(dead_code)]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #vis struct #name {
            /// The object's metadata: its identity, and any labels,
            /// annotations, owner references and finalizers to apply.
            pub metadata: #meta,
            /// The desired state to apply; `None` leaves `spec` out.
            pub spec: ::core::option::Option<#spec_cfg>,
            #status_field
        }
    };
    let impls = quote! {
        #[allow(dead_code)]
        impl #name {
            #new

            /// Applies the label `key` = `value`.
            #[must_use]
            #vis fn with_label(mut self, key: &str, value: &str) -> Self {
                #p::apply::label(&mut self.metadata, key, value);
                self
            }

            /// Applies the annotation `key` = `value`.
            #[must_use]
            #vis fn with_annotation(mut self, key: &str, value: &str) -> Self {
                #p::apply::annotation(&mut self.metadata, key, value);
                self
            }

            /// Applies an owner reference (owner references are keyed by
            /// `uid`, so each manager owns the references it sends).
            #[must_use]
            #vis fn with_owner_reference(mut self, owner: #owner) -> Self {
                #p::apply::owner_reference(&mut self.metadata, owner);
                self
            }

            /// Applies a finalizer (finalizers are a set: each manager owns
            /// the ones it sends).
            #[must_use]
            #vis fn with_finalizer(mut self, finalizer: &str) -> Self {
                #p::apply::finalizer(&mut self.metadata, finalizer);
                self
            }

            /// Sets the spec.
            #[must_use]
            #vis fn with_spec(mut self, spec: impl ::core::convert::Into<#spec_cfg>) -> Self {
                self.spec = ::core::option::Option::Some(::core::convert::Into::into(spec));
                self
            }

            #status_builder
        }

            #[automatically_derived]
            impl #p::serde::Serialize for #name {
                fn serialize<S: #p::serde::Serializer>(
                    &self,
                    serializer: S,
                ) -> ::core::result::Result<S::Ok, S::Error> {
                    #p::apply::serialize_object(
                        serializer,
                        (#api_version, #kind, #no_spec),
                        &self.metadata,
                        &self.spec,
                        #status_value,
                    )
                }
            }

            #[automatically_derived]
            impl #krate::ObjectConfiguration for #name {
                fn metadata(&self) -> &#meta {
                    &self.metadata
                }
            }

            #[automatically_derived]
            impl #krate::ApplyConfiguration for #root {
                type Configuration = #name;
            }
    };
    (item, impls)
}

#[cfg(test)]
mod tests {
    use syn::{DeriveInput, parse_quote};

    use super::apply_configuration;
    use crate::frontend::parse;
    use crate::model::{Derive, Input};

    fn model(input: DeriveInput, derive: Derive) -> Input {
        match parse(&input, derive) {
            Ok(model) => model,
            Err(errors) => panic!("unexpected errors: {}", errors.into_vec().len()),
        }
    }

    fn names(input: DeriveInput, derive: Derive) -> Option<(Option<String>, Option<String>)> {
        model(input, derive)
            .apply
            .map(|a| (a.own.map(|i| i.to_string()), a.root.map(|i| i.to_string())))
    }

    fn some(own: Option<&str>, root: Option<&str>) -> Option<(Option<String>, Option<String>)> {
        Some((own.map(str::to_owned), root.map(str::to_owned)))
    }

    #[test]
    fn names_default_to_the_type_and_the_root_with_apply() {
        let spec: DeriveInput = parse_quote! {
            #[kube(group = "example.com", version = "v1", kind = "User")]
            pub struct UserSpec { pub name: String }
        };
        assert_eq!(
            names(spec, Derive::CustomResource),
            some(Some("UserSpecApply"), Some("UserApply"))
        );
        let nested: DeriveInput = parse_quote!(
            pub struct Limits {
                pub cpus: i32,
            }
        );
        assert_eq!(
            names(nested, Derive::Schema),
            some(Some("LimitsApply"), None)
        );
        let enumeration: DeriveInput = parse_quote!(
            pub enum Mode {
                Fast,
                Safe,
            }
        );
        assert_eq!(names(enumeration, Derive::Schema), some(None, None));
        let newtype: DeriveInput = parse_quote!(
            pub struct Name(String);
        );
        assert_eq!(names(newtype, Derive::Schema), some(None, None));
    }

    #[test]
    fn a_given_name_renames_the_type_or_on_a_resource_the_root() {
        let nested: DeriveInput = parse_quote! {
            #[crd(apply = "LimitsConfig")]
            pub struct Limits { pub cpus: i32 }
        };
        assert_eq!(
            names(nested, Derive::Schema),
            some(Some("LimitsConfig"), None)
        );
        let spec: DeriveInput = parse_quote! {
            #[kube(group = "example.com", version = "v1", kind = "User", root = "Person")]
            #[crd(apply = "PersonConfig")]
            pub struct UserSpec { pub name: String }
        };
        assert_eq!(
            names(spec, Derive::CustomResource),
            some(Some("UserSpecApply"), Some("PersonConfig"))
        );
    }

    #[test]
    fn apply_false_emits_nothing() {
        let spec: DeriveInput = parse_quote! {
            #[kube(group = "example.com", version = "v1", kind = "User")]
            #[crd(apply = false)]
            pub struct UserSpec { pub name: String }
        };
        let model = model(spec, Derive::CustomResource);
        assert!(model.apply.is_none());
        let (items, impls) = apply_configuration(&model);
        assert!(items.is_empty() && impls.is_empty());
        let enabled: DeriveInput = parse_quote! {
            #[crd(apply = true)]
            pub struct Limits { pub cpus: i32 }
        };
        assert!(!apply_configuration(&model_of(enabled)).0.is_empty());
    }

    fn model_of(input: DeriveInput) -> Input {
        model(input, Derive::Schema)
    }

    #[test]
    fn only_a_struct_with_named_fields_can_name_a_configuration() {
        for input in [
            parse_quote!(
                #[crd(apply = "ModeApply")]
                pub enum Mode {
                    Fast,
                }
            ),
            parse_quote!(
                #[crd(apply = "NameApply")]
                pub struct Name(String);
            ),
        ] {
            let input: DeriveInput = input;
            let errors = match parse(&input, Derive::Schema) {
                Ok(_) => panic!("expected an error"),
                Err(errors) => errors.into_vec(),
            };
            assert_eq!(errors.len(), 1);
            assert!(
                errors[0]
                    .to_string()
                    .contains("only `apply = false` fits here")
            );
        }
        // `apply = false` fits an enum.
        let off: DeriveInput = parse_quote!(
            #[crd(apply = false)]
            pub enum Mode {
                Fast,
            }
        );
        assert!(model_of(off).apply.is_none());
    }
}
