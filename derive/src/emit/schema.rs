//! The `KubeSchema` impl of a struct or enum: a call to the schema builders
//! with one entry per field or variant. Each field's schema expression is
//! spanned at the field's type, so "`Foo` does not implement `KubeSchema`"
//! points at the field that needs it.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::{Generics, Path, Type};

use super::fallback::Probe;
use super::values::constraints;
use crate::model::{Body, Field, Input, Requirement, Tagging, VariantShape};

/// The `impl KubeSchema for ...` item.
pub(crate) fn schema_impl(input: &Input) -> TokenStream {
    let krate = &input.krate;
    let ident = &input.ident;
    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(syn::parse_quote!(#krate::KubeSchema));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let body = body(input);
    let (levels, check) = reach(input);
    let reads_as_map = reads_as_map(&input.body).then(|| {
        let name = super::local("__READS_AS_MAP");
        quote!(const #name: bool = true;)
    });
    let catch_all = catch_all_last(input);
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::KubeSchema for #ident #ty_generics #where_clause {
            #levels
            #reads_as_map
            fn kube_schema(ctx: &mut #krate::schema::Context) -> #krate::schema::Schema {
                ctx.enter(::core::any::type_name::<Self>(), |ctx| { #body })
            }
        }
        #check
        #catch_all
    }
}

/// Whether serde reads this type, flattened, as a map that leaves the
/// fields it reads to the flattened fields after it (serde's
/// `FlatMapDeserializer` takes entries only for a plain struct's fields and
/// an externally or adjacently tagged enum's keys).
fn reads_as_map(body: &Body) -> bool {
    match body {
        Body::Struct(fields) => fields.iter().any(|f| f.flatten),
        Body::Transparent(_) => false,
        Body::Enum { tagging, .. } => matches!(tagging, Tagging::Internal(_) | Tagging::Untagged),
    }
}

/// For a struct with a flattened catch-all (a map of `Value`s), the
/// constant that fails to compile when another flattened field's type is
/// read as a map (`KubeSchema::__READS_AS_MAP`): serde would hand the
/// catch-all that field's keys too, and the object would be written with
/// them twice. Only for types without parameters (a parameter cannot be
/// named outside the impl); `check::catch_all_comes_last` already refuses a catch-all before
/// another flattened field.
fn catch_all_last(input: &Input) -> TokenStream {
    let Body::Struct(fields) = &input.body else {
        return TokenStream::new();
    };
    if !input.generics.params.is_empty()
        || !fields
            .iter()
            .any(|f| f.flatten && crate::frontend::is_catch_all(&f.ty))
    {
        return TokenStream::new();
    }
    let krate = &input.krate;
    let checks = fields
        .iter()
        .filter(|f| f.flatten && !crate::frontend::is_catch_all(&f.ty))
        .map(|f| {
            let ty = &f.ty;
            let test = match Probe::of_field(f, &input.generics, krate) {
                Some(probe) => {
                    let via = probe.schema();
                    super::apply::relocate(quote!(#via::__READS_AS_MAP), f.span)
                }
                None => quote_spanned!(f.span=> <#ty as #krate::KubeSchema>::__READS_AS_MAP),
            };
            let message = format!(
                "`{}` of `{}` flattens `{}`, which serde reads as a map of the object's fields \
                 without taking them (it flattens a field itself, or is an internally tagged or \
                 untagged enum), so the catch-all beside it would hold its fields too, and the \
                 object would be written with them twice; make one of the two a named field",
                f.rust_name(),
                input.ident,
                super::fallback::tidy(ty),
            );
            let panic = quote_spanned!(f.span=> ::core::panic!(#message));
            quote!(if #test { #panic })
        });
    quote!(const _: () = { #(#checks)* };)
}

/// Every field whose type's schema is asked of the type (not replaced by
/// `schema_with`, schemars or `schemaless`), with how to say where it is.
fn schema_fields(input: &Input) -> Vec<(&Field, String)> {
    let named = |field: &Field| format!("field `{}`", field.rust_name());
    input
        .wire_fields()
        .into_iter()
        .filter(|(_, f)| f.schema_from_type())
        .map(|(variant, f)| {
            let place = match variant {
                None => named(f),
                Some(v) if matches!(v.shape, VariantShape::Newtype(_)) => {
                    format!("variant `{}`", v.ident)
                }
                Some(v) => format!("{} of variant `{}`", named(f), v.ident),
            };
            (f, place)
        })
        .collect()
}

/// The type's levels of `KubeSchema::__REACH_*` (see crdforge's
/// `reach.rs`), and, for a type without generic parameters, the constant
/// that fails to compile when the type reaches itself through one of its
/// fields: the error is at that field, and there is one per type on the
/// loop. (A field naming the type itself is refused earlier, by
/// `check::not_directly_recursive`, and then no impl is emitted.) Fields of
/// std types only (`String`, `Vec<i32>`) reach nothing and are left out;
/// each other field's type is named once, by an alias, where the type has
/// no parameters (the levels and the check name it four times).
fn reach(input: &Input) -> (TokenStream, TokenStream) {
    let krate = &input.krate;
    let mut fields = schema_fields(input);
    fields.retain(|(field, _)| !super::fallback::surely_native(&field.ty));
    // A type whose fields reach no derived type cannot be on a loop, so it
    // keeps the defaults (it reaches nothing) and costs nothing.
    if fields.is_empty() {
        return (TokenStream::new(), TokenStream::new());
    }
    // A parameter or `Self` cannot be named outside the impl, where the
    // aliases and the check live.
    let generic = !input.generics.params.is_empty()
        || fields
            .iter()
            .any(|(f, _)| super::fallback::names_a_parameter(&f.ty, &input.generics));
    let via_trait = quote!(#krate::__private::fallback::SchemaVia);
    let mut aliases = Vec::new();
    let paths: Vec<TokenStream> = fields
        .iter()
        .enumerate()
        .map(|(i, (field, _))| {
            let (ty, tr) = match Probe::of_field(field, &input.generics, krate) {
                Some(probe) => (probe.schema_via(), via_trait.clone()),
                None => {
                    let ty = &field.ty;
                    (quote!(#ty), quote!(#krate::KubeSchema))
                }
            };
            if generic {
                return quote!(<#ty as #tr>);
            }
            let alias = super::local(&format!("__CrdforgeReach{i}"));
            aliases.push(quote!(type #alias = #ty;));
            quote!(<#alias as #tr>)
        })
        .collect();
    let own = format!("::{}", input.ident);
    let name = super::local("__CRDFORGE_SELF");
    let name_item = quote! {
        const #name: &str = ::core::concat!(::core::module_path!(), #own);
    };
    let reach = quote!(#krate::__private::Reach);
    let level = |k: usize| super::local(&format!("__REACH_{k}"));
    // Each field's part is shown at the field, as its schema is, so a type
    // without `KubeSchema` is one error there, not a second at the derive.
    let at_field = |k: usize| {
        let below = level(k);
        fields.iter().zip(&paths).map(move |((field, _), path)| {
            super::apply::relocate(quote!(#path::#below), field.span)
        })
    };
    let mut levels = Vec::new();
    let first = level(1);
    levels.push(quote!(const #first: #reach = #reach::own(#name);));
    for k in 2..=4 {
        let this = level(k);
        let parts = at_field(k - 1);
        levels.push(quote! {
            const #this: #reach = #reach::own(#name) #(.with(#parts))*;
        });
    }
    if generic {
        return (quote!(#(#levels)*), name_item);
    }
    let checks = fields
        .iter()
        .zip(at_field(4))
        .map(|((field, place), part)| {
            let message = format!(
                "{place} of `{ident}` holds `{ty}`, which contains `{ident}` again; a structural \
             schema is finite and cannot describe a recursive type: mark the field \
             #[crd(schemaless)] (stored as given, unchecked), or store the tree flat (a list of \
             nodes with parent names)",
                ident = input.ident,
                ty = super::fallback::tidy(&field.ty),
            );
            let panic = quote_spanned!(field.span=> ::core::panic!(#message));
            quote!(if #part.holds(#name) { #panic })
        });
    let check = quote! {
        #name_item
        #(#aliases)*
        const _: () = { #(#checks)else* };
    };
    (quote!(#(#levels)*), check)
}

fn body(input: &Input) -> TokenStream {
    let krate = &input.krate;
    let g = &input.generics;
    let type_constraints = constraints(&input.constraints, krate);
    match &input.body {
        Body::Struct(fields) => {
            let fields = fields.iter().map(|f| field_desc(f, krate, g));
            quote! {
                let fields = #krate::__private::vec([#(#fields),*]);
                #krate::schema::struct_schema(ctx, fields, &#type_constraints)
            }
        }
        Body::Transparent(field) => {
            let schema = field_schema(field, krate, g);
            quote! {
                let mut schema = #schema;
                #type_constraints.apply(&mut schema, ctx);
                schema
            }
        }
        Body::Enum { tagging, variants } => {
            let tagging = match tagging {
                Tagging::External => quote!(#krate::schema::Tagging::External),
                Tagging::Internal(tag) => quote!(#krate::schema::Tagging::Internal { tag: #tag }),
                Tagging::Adjacent(tag, content) => {
                    quote!(#krate::schema::Tagging::Adjacent { tag: #tag, content: #content })
                }
                Tagging::Untagged => quote!(#krate::schema::Tagging::Untagged),
            };
            let variants = variants.iter().map(|v| {
                let name = &v.wire_name;
                let description = match &v.docs {
                    Some(d) => quote!(::core::option::Option::Some(#d)),
                    None => quote!(::core::option::Option::None),
                };
                let payload = match &v.shape {
                    VariantShape::Unit => quote!(#krate::schema::Payload::Unit),
                    VariantShape::Newtype(field) => {
                        let schema = field_schema(field, krate, g);
                        quote!(#krate::schema::Payload::Newtype(ctx.at(#name, |ctx| #schema)))
                    }
                    VariantShape::Struct(fields) => {
                        let fields = fields.iter().map(|f| field_desc(f, krate, g));
                        quote!(#krate::schema::Payload::Struct(ctx.at(#name, |ctx| {
                            let fields = #krate::__private::vec([#(#fields),*]);
                            #krate::schema::struct_schema(
                                ctx,
                                fields,
                                &#krate::schema::Constraints::DEFAULT,
                            )
                        })))
                    }
                };
                quote!(#krate::schema::VariantDesc {
                    name: #name,
                    payload: #payload,
                    description: #description,
                })
            });
            quote! {
                let variants = #krate::__private::vec([#(#variants),*]);
                #krate::schema::enum_schema(ctx, #tagging, variants, &#type_constraints)
            }
        }
    }
}

/// The type whose schema a default expression or `Option` check refers
/// to: `T` for a field of type `Option<T>`.
fn value_type(ty: &Type) -> &Type {
    crate::frontend::option_inner(ty).unwrap_or(ty)
}

/// The trait that describes a field's type: floats only by opt-in.
fn schema_trait(field: &Field, krate: &Path) -> TokenStream {
    if field.allow_float {
        quote!(#krate::KubeSchemaFloat)
    } else {
        quote!(#krate::KubeSchema)
    }
}

/// An expression for the field's schema, without its constraints.
fn raw_schema(field: &Field, krate: &Path, generics: &Generics) -> TokenStream {
    let ty = &field.ty;
    if let Some(path) = &field.schema_with {
        let ctx = super::local("ctx");
        return quote_spanned!(field.span=> #path(#ctx));
    }
    if field.schemars {
        // An `Option` is optional by syntax, as everywhere else; schemars
        // would add `nullable`, which crdforge writes only when asked.
        let inner = crate::frontend::option_inner(ty).unwrap_or(ty);
        let ctx = super::local("ctx");
        return quote_spanned!(field.span=> #krate::__private::schemars_schema::<#inner>(#ctx));
    }
    if field.constraints.schemaless {
        // The constraints replace the schema; the type need not describe itself.
        return quote!(#krate::schema::Schema::any());
    }
    let ctx = super::local("ctx");
    if field.double_option
        && let Some(inner) = crate::frontend::option_inner(ty)
    {
        // Not `Option<Option<T>>`'s own schema, which is a problem (serde
        // alone reads `Some(None)` back as `None`): with `double_option`
        // the null is kept, so the inner option's schema, nullable.
        let tr = schema_trait(field, krate);
        let schema = super::local("schema");
        let raw = quote_spanned!(field.span=> <#inner as #tr>::kube_schema(#ctx));
        return quote!({
            let mut #schema = #raw;
            #schema.nullable = true;
            #schema
        });
    }
    if let Some(probe) = Probe::of_field(field, generics, krate) {
        // Its own `KubeSchema`, or schemars' `JsonSchema` if it has only that.
        let via = probe.schema();
        return super::apply::relocate(quote!(#via::kube_schema(#ctx)), field.span);
    }
    let tr = schema_trait(field, krate);
    quote_spanned!(field.span=> <#ty as #tr>::kube_schema(#ctx))
}

/// The field's constraints, with a typed default serialized in.
fn field_constraints(field: &Field, krate: &Path) -> TokenStream {
    let c = constraints(&field.constraints, krate);
    match &field.default_expr {
        None => c,
        Some(expr) => {
            let ty = value_type(&field.ty);
            let ctx = super::local("ctx");
            let default = quote_spanned!(syn::spanned::Spanned::span(expr)=>
                #krate::__private::default_value::<#ty>(#ctx, #expr)
            );
            quote!({
                let mut constraints = #c;
                constraints.default = #default;
                constraints
            })
        }
    }
}

/// An expression for the field's schema with its constraints applied, for
/// newtype variants and transparent structs (struct fields get theirs in
/// `struct_schema`).
///
/// Such a schema is the value's own, with no field around it that may be
/// absent: when the type writes `None` as `null` (`Option<T>` inside a
/// newtype), the schema must keep that null, or the apiserver prunes it
/// and the variant's key or the newtype's value goes with it.
fn field_schema(field: &Field, krate: &Path, generics: &Generics) -> TokenStream {
    let raw = raw_schema(field, krate, generics);
    let c = field_constraints(field, krate);
    let optional = optional(field, krate, generics);
    quote!({
        let mut schema = #raw;
        let constraints = #c;
        constraints.apply(&mut schema, ctx);
        schema.nullable |= #optional;
        schema
    })
}

/// Whether the field's type may be absent (its `OPTIONAL`): an expression
/// evaluated in the user's crate.
fn optional(field: &Field, krate: &Path, generics: &Generics) -> TokenStream {
    let ty = &field.ty;
    if field.schema_with.is_some() || field.schemars || field.constraints.schemaless {
        let optional = crate::frontend::option_inner(ty).is_some();
        return quote!(#optional);
    }
    match Probe::of_field(field, generics, krate) {
        Some(probe) => {
            let via = probe.schema();
            super::apply::relocate(quote!(#via::OPTIONAL), field.span)
        }
        None => {
            let tr = schema_trait(field, krate);
            quote_spanned!(field.span=> <#ty as #tr>::OPTIONAL)
        }
    }
}

fn field_desc(field: &Field, krate: &Path, generics: &Generics) -> TokenStream {
    let name = &field.wire_name;
    let raw = raw_schema(field, krate, generics);
    let required = match field.required {
        Requirement::Required => quote!(true),
        Requirement::Optional => quote!(false),
        Requirement::ByType => {
            let optional = optional(field, krate, generics);
            quote!(!#optional)
        }
    };
    let flatten = field.flatten;
    let c = field_constraints(field, krate);
    // A flattened field has no property of its own to name in messages.
    let schema = if field.flatten {
        raw
    } else {
        quote!(ctx.at(#name, |ctx| #raw))
    };
    quote!(#krate::schema::FieldDesc {
        name: #name,
        schema: #schema,
        required: #required,
        flatten: #flatten,
        constraints: #c,
    })
}
