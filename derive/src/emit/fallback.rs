//! The automatic fallback for field types that derive schemars'
//! `JsonSchema` but none of crdforge's traits (a kube-derive user's nested
//! types): see `crdforge::__private::fallback` for how the choice is made
//! on stable Rust. This module writes the `Via<{ choice }, ...>` types the
//! schema, apply and deep-copy emitters use instead of naming crdforge's
//! traits directly, and the note (a `deprecated` warning) that tells the
//! user a field fell back.
//!
//! Which fields are probed is decided by syntax, cheaply: a type that names
//! a generic parameter cannot be probed (a constant cannot depend on one),
//! and a type built only of primitives, `String` and std containers is
//! native for sure, so it keeps the plain path and its compile time.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote};
use syn::{GenericArgument, Generics, Path, PathArguments, Type};

use crate::model::{DeepCopyMode, Field, Input, RustBody, RustField, RustFields};

/// Types crdforge describes itself whatever the user's crate holds.
const NATIVE_LEAVES: &[&str] = &[
    "bool", "char", "String", "str", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16",
    "u32", "u64", "u128", "usize",
];

/// Std containers whose impls forward to their parameters.
const CONTAINERS: &[&str] = &[
    "Option", "Vec", "VecDeque", "Box", "Arc", "Rc", "BTreeMap", "HashMap", "BTreeSet", "HashSet",
];

/// A probe of one field type, or `None` when the type keeps the plain path.
pub(crate) struct Probe<'a> {
    krate: &'a Path,
    /// The field's type.
    ty: &'a Type,
    /// The type schemars describes and apply sends whole: `ty` without its
    /// `Option`.
    inner: &'a Type,
    /// Whether `ty` is an `Option` by syntax.
    option: bool,
}

impl<'a> Probe<'a> {
    /// The probe of a field's type, unless it is surely native or names a
    /// generic parameter of the input.
    pub(crate) fn of(ty: &'a Type, generics: &Generics, krate: &'a Path) -> Option<Self> {
        if surely_native(ty) || names_a_parameter(ty, generics) {
            return None;
        }
        let inner = crate::frontend::option_inner(ty);
        Some(Self {
            krate,
            ty,
            inner: inner.unwrap_or(ty),
            option: inner.is_some(),
        })
    }

    /// The probe of a field, if the field takes its schema from its type.
    pub(crate) fn of_field(field: &'a Field, generics: &Generics, krate: &'a Path) -> Option<Self> {
        if !field.schema_from_type() {
            return None;
        }
        Self::of(&field.ty, generics, krate)
    }

    /// `<Probe<T>>::FACT`, inside a [`Self::constant`] block.
    fn fact(&self, ty: &Type, fact: &str) -> TokenStream {
        let fact = proc_macro2::Ident::new(fact, Span::call_site());
        quote!(<__CrdforgeProbe<#ty>>::#fact)
    }

    /// A constant block: `condition`, with the `false` answers in scope,
    /// and `Probe` under a name no user type has, so each fact is short.
    fn constant(&self, condition: TokenStream) -> TokenStream {
        let krate = self.krate;
        quote!({
            #[allow(unused_imports)]
            use #krate::__private::fallback::{Absent as _, Probe as __CrdforgeProbe};
            #condition
        })
    }

    /// Whether the schema falls back: no `KubeSchema` (nor a float's), and
    /// `JsonSchema` on the inner type.
    fn schema_condition(&self) -> TokenStream {
        let (schema, float) = (self.fact(self.ty, "SCHEMA"), self.fact(self.ty, "FLOAT"));
        let schemars = self.fact(self.inner, "SCHEMARS");
        quote!(!#schema && !#float && #schemars)
    }

    /// Whether the apply configuration falls back: as the schema does, and
    /// only if there is no configuration. A type crdforge describes that
    /// has none (`#[crd(apply = false)]`) stays an error at the field.
    fn apply_condition(&self) -> TokenStream {
        let schema = self.schema_condition();
        let apply = self.fact(self.ty, "APPLY");
        quote!(#schema && !#apply)
    }

    /// Whether the deep copy falls back: as the schema does (the type
    /// itself, `Option` included, is copied), and only if there is no
    /// `DeepCopy`.
    fn copy_condition(&self) -> TokenStream {
        let (schema, float) = (self.fact(self.ty, "SCHEMA"), self.fact(self.ty, "FLOAT"));
        let deep_copy = self.fact(self.ty, "DEEP_COPY");
        let schemars = self.fact(self.ty, "SCHEMARS");
        quote!(!#schema && !#float && !#deep_copy && #schemars)
    }

    /// The name of the constant holding one choice (`SCHEMA`, `APPLY` or
    /// `COPY`) for this type, which [`definitions`] writes once per derive
    /// and type: each use of a choice was a constant of its own to
    /// evaluate, up to seven per field, every one resolving the probes
    /// again.
    fn choice(&self, which: &str) -> TokenStream {
        let ident = format_ident!("__CRDFORGE_FALLBACK_{}_{}", which, key(self.ty));
        quote!({ #ident })
    }

    fn via(&self, choice: TokenStream, inner: &Type) -> TokenStream {
        let (krate, ty, option) = (self.krate, self.ty, self.option);
        quote!(#krate::__private::fallback::Via<#choice, #option, #ty, #inner>)
    }

    /// The `Via<..>` type behind [`Self::schema`].
    pub(crate) fn schema_via(&self) -> TokenStream {
        self.via(self.choice("SCHEMA"), self.inner)
    }

    /// `<Via<..> as SchemaVia>`: a path to `kube_schema` and `OPTIONAL`.
    pub(crate) fn schema(&self) -> TokenStream {
        let krate = self.krate;
        let via = self.via(self.choice("SCHEMA"), self.inner);
        quote!(<#via as #krate::__private::fallback::SchemaVia>)
    }

    /// The field's apply configuration type, in the derive's constant
    /// block, where the choice is a named constant.
    pub(crate) fn configuration(&self) -> TokenStream {
        let krate = self.krate;
        let via = self.via(self.choice("APPLY"), self.inner);
        quote!(<#via as #krate::__private::fallback::ApplyVia>::Configuration)
    }

    /// The field's apply configuration type, for a field of a struct
    /// outside the constant block, where the choice is spelled out.
    pub(crate) fn configuration_inline(&self) -> TokenStream {
        let krate = self.krate;
        let via = self.via(self.constant(self.apply_condition()), self.inner);
        quote!(<#via as #krate::__private::fallback::ApplyVia>::Configuration)
    }

    /// `<Via<..> as CopyVia>`: a path to `deep_copy_into` and `deep_copy`.
    pub(crate) fn copy(&self) -> TokenStream {
        let krate = self.krate;
        let via = self.via(self.choice("COPY"), self.ty);
        quote!(<#via as #krate::__private::fallback::CopyVia>)
    }

    /// The three choices of this type as constants.
    fn definitions(&self) -> TokenStream {
        let names = ["SCHEMA", "APPLY", "COPY"]
            .map(|which| format_ident!("__CRDFORGE_FALLBACK_{}_{}", which, key(self.ty)));
        let [schema, apply, copy] = &names;
        let apply_fact = self.fact(self.ty, "APPLY");
        let (schema_c, apply_c, copy_c) = (
            self.constant(self.schema_condition()),
            self.constant(quote!(#schema && !#apply_fact)),
            self.constant(self.copy_condition()),
        );
        quote! {
            #[allow(dead_code)]
            const #schema: bool = #schema_c;
            #[allow(dead_code)]
            const #apply: bool = #apply_c;
            #[allow(dead_code)]
            const #copy: bool = #copy_c;
        }
    }

    /// The condition of this field's note: its schema falls back (which
    /// the other two fallbacks imply). Spelled out: the notes keep a block
    /// of their own, beside the derive's (the deprecation a user reads
    /// names the block's path, and their helper type must not shadow a
    /// user's type in the impls).
    fn note_condition(&self) -> TokenStream {
        self.constant(self.schema_condition())
    }

    /// The note's text; `silence` says how to state the choice.
    fn note_message(&self, silence: &str) -> String {
        format!(
            "`{ty}` implements schemars' `JsonSchema` but not crdforge's `KubeSchema`, so crdforge \
             takes its schema from schemars, deep-copies it with `Clone` and applies it whole. \
             `#[derive(crdforge::KubeSchema)]` on `{ty}` would add validation with `#[crd(...)]` \
             (checked before the apiserver sees it), granular server-side apply and list types; \
             {silence}.",
            ty = tidy(named(self.inner)),
        )
    }
}

/// One item that warns, at each field that falls back, naming the field
/// and its type: a use of an associated constant that is `#[deprecated]`
/// only on `SchemarsFallback<true>`, the type the field's condition picks.
/// `deprecated` is a lint rustc reports at a user's span from inside a
/// derive, with a message the derive writes, and a user can allow it per
/// module (`#![allow(deprecated)]`); `#[crd(schemars)]` on the field
/// states the choice and leaves no note.
pub(crate) fn notes(input: &Input) -> TokenStream {
    let krate = &input.krate;
    let fields = wire_fields(input);
    let mut probed: Vec<(Probe<'_>, String, Span, bool)> = Vec::new();
    // `#[schemars(...)]` on a field crdforge describes: always a note.
    let mut ignored = Vec::new();
    for field in fields {
        let name = field.rust_name();
        if let Some((span, advice)) = &field.ignored_schemars {
            ignored.push((name.clone(), *span, advice.clone()));
        }
        if let Some(probe) = Probe::of_field(field, &input.generics, krate) {
            probed.push((probe, name, field.span, false));
        }
    }
    if let Some(status) = input.resource.as_ref().and_then(|r| r.status.as_ref())
        && let Some(probe) = Probe::of(status, &input.generics, krate)
    {
        probed.push((
            probe,
            "status".to_owned(),
            syn::spanned::Spanned::span(status),
            true,
        ));
    }
    if probed.is_empty() && ignored.is_empty() {
        return TokenStream::new();
    }
    let (mut deprecated, mut plain, mut uses) = (Vec::new(), Vec::new(), Vec::new());
    let mut seen = std::collections::BTreeSet::new();
    for (i, (name, span, advice)) in ignored.iter().enumerate() {
        let mut ident = format_ident!("schemars_attribute_on_{}", name);
        if !seen.insert(ident.to_string()) {
            ident = format_ident!("schemars_attribute_on_{}_{}", name, i);
        }
        let message = format!(
            "crdforge does not read `#[schemars(...)]`: the CRD schema of a type deriving \
             crdforge's `CustomResource` or `KubeSchema` comes from `#[crd(...)]`, so what this \
             attribute says would not reach the apiserver; {advice}."
        );
        deprecated.push(quote!(#[deprecated(note = #message)] const #ident: () = ();));
        let path = respan(quote!(SchemarsFallback::<true>::#ident), *span);
        uses.push(quote!(const _: () = #path;));
    }
    for (i, (probe, name, span, is_status)) in probed.iter().enumerate() {
        // Variants may repeat a field name; the constants may not.
        let mut ident = format_ident!("field_{}", name);
        if !seen.insert(ident.to_string()) {
            ident = format_ident!("field_{}_{}", name, i);
        }
        let silence = if *is_status {
            "`#![allow(deprecated)]` on the module keeps schemars and silences this note"
        } else {
            "`#[crd(schemars)]` on the field keeps schemars and silences this note"
        };
        let message = probe.note_message(silence);
        deprecated.push(quote!(#[deprecated(note = #message)] const #ident: () = ();));
        plain.push(quote!(const #ident: () = ();));
        let constant = probe.note_condition();
        // The use is spelled with the field's own span, context
        // included: rustc drops a deprecation at a span whose context is a
        // derive's, and reports this one at the user's tokens. Every name
        // in it still resolves (absolute paths, and items are not hygienic).
        // Only the path is the user's, so no lint about the statement
        // around it reaches them.
        let path = respan(quote!(SchemarsFallback::<#constant>::#ident), *span);
        uses.push(quote!(const _: () = #path;));
    }
    quote! {
        const _: () = {
            struct SchemarsFallback<const ON: bool>;
            #[allow(non_upper_case_globals)]
            impl SchemarsFallback<true> {
                #(#deprecated)*
            }
            #[allow(non_upper_case_globals)]
            impl SchemarsFallback<false> {
                #(#plain)*
            }
            #(#uses)*
        };
    }
}

/// Every field on the wire, in struct and variant order.
fn wire_fields(input: &Input) -> Vec<&Field> {
    input.wire_fields().into_iter().map(|(_, f)| f).collect()
}

/// The choices of every type the derive probes, once per type, for the
/// derive's constant block: the wire fields' (schema and apply), the
/// deeply copied Rust fields', and a resource's status (its schema and
/// apply, and the root's `Option` of it for deep copy).
pub(crate) fn definitions(input: &Input) -> TokenStream {
    let (krate, generics) = (&input.krate, &input.generics);
    let mut types: Vec<Type> = Vec::new();
    types.extend(
        wire_fields(input)
            .into_iter()
            .filter(|f| Probe::of_field(f, generics, krate).is_some())
            .map(|f| f.ty.clone()),
    );
    let mut rust: Vec<&RustField> = Vec::new();
    match &input.rust {
        RustBody::Struct(fields) => rust.extend(rust_fields(fields)),
        RustBody::Enum(variants) => {
            for v in variants {
                rust.extend(rust_fields(&v.fields));
            }
        }
    }
    types.extend(
        rust.into_iter()
            .filter(|f| f.deep_copy == DeepCopyMode::Deep)
            .map(|f| f.ty.clone()),
    );
    if let Some(status) = input.resource.as_ref().and_then(|r| r.status.as_ref()) {
        types.push(status.clone());
        types.push(super::deep_copy::root_status_type(status));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut out = TokenStream::new();
    for ty in &types {
        if let Some(probe) = Probe::of(ty, generics, krate)
            && seen.insert(key(ty))
        {
            out.extend(probe.definitions());
        }
    }
    out
}

fn rust_fields(fields: &RustFields) -> &[RustField] {
    match fields {
        RustFields::Named(f) | RustFields::Unnamed(f) => f,
        RustFields::Unit => &[],
    }
}

/// A name for `ty` in the choices' constants: a hash of its tokens
/// (FNV-1a, so that the expansion is the same on every build), since a
/// type's own spelling is not an identifier.
fn key(ty: &Type) -> String {
    let text = quote!(#ty).to_string();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016X}")
}

/// The type a note names: the one type in `ty`'s containers that is not
/// surely native (`Topic` in `BTreeMap<String, Topic>`), or `ty`.
fn named(ty: &Type) -> &Type {
    if let Type::Path(p) = ty
        && let Some(last) = p.path.segments.last()
        && CONTAINERS.contains(&last.ident.to_string().as_str())
        && let PathArguments::AngleBracketed(args) = &last.arguments
    {
        let mut others = args.args.iter().filter_map(|arg| match arg {
            GenericArgument::Type(t) if !surely_native(t) => Some(t),
            _ => None,
        });
        if let (Some(one), None) = (others.next(), others.next()) {
            return named(one);
        }
    }
    ty
}

/// `tokens`, every one at `span`, context included.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                tree = TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// A type as a user writes it: `Option<Vec<Foo>>`, not `Option < Vec < Foo > >`.
pub(crate) fn tidy(ty: &Type) -> String {
    let mut s = quote!(#ty).to_string();
    for (from, to) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
    ] {
        s = s.replace(from, to);
    }
    s
}

/// Whether `ty` is made only of primitives, `String` and std containers.
pub(crate) fn surely_native(ty: &Type) -> bool {
    match ty {
        Type::Paren(p) => surely_native(&p.elem),
        Type::Group(g) => surely_native(&g.elem),
        Type::Path(p) if p.qself.is_none() => {
            let Some(last) = p.path.segments.last() else {
                return false;
            };
            let name = last.ident.to_string();
            match &last.arguments {
                PathArguments::None => NATIVE_LEAVES.contains(&name.as_str()),
                PathArguments::AngleBracketed(args) => {
                    CONTAINERS.contains(&name.as_str())
                        && args.args.iter().all(|arg| match arg {
                            GenericArgument::Type(t) => surely_native(t),
                            _ => false,
                        })
                }
                PathArguments::Parenthesized(_) => false,
            }
        }
        _ => false,
    }
}

/// Whether `ty` names a type or const parameter of the input, `Self`, or a
/// lifetime other than `'static`: none of them may appear in a constant.
pub(crate) fn names_a_parameter(ty: &Type, generics: &Generics) -> bool {
    let params: Vec<String> = generics
        .type_params()
        .map(|p| p.ident.to_string())
        .chain(generics.const_params().map(|p| p.ident.to_string()))
        .chain(std::iter::once("Self".to_owned()))
        .collect();
    fn walk(tokens: TokenStream, params: &[String]) -> bool {
        let mut after_apostrophe = false;
        for tree in tokens {
            match tree {
                TokenTree::Group(g) => {
                    if walk(g.stream(), params) {
                        return true;
                    }
                }
                TokenTree::Ident(ident) => {
                    let ident = ident.to_string();
                    if after_apostrophe && ident != "static" {
                        return true;
                    }
                    if !after_apostrophe && (params.contains(&ident) || ident == "impl") {
                        return true;
                    }
                }
                TokenTree::Punct(p) => {
                    after_apostrophe = p.as_char() == '\'';
                    continue;
                }
                TokenTree::Literal(_) => {}
            }
            after_apostrophe = false;
        }
        false
    }
    walk(quote!(#ty), &params)
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    #[test]
    fn std_types_of_primitives_are_not_probed() {
        for ty in [
            parse_quote!(String),
            parse_quote!(Option<Vec<i32>>),
            parse_quote!(std::collections::BTreeMap<String, bool>),
        ] {
            let ty: Type = ty;
            assert!(surely_native(&ty), "{}", tidy(&ty));
        }
        for ty in [
            parse_quote!(Foo),
            parse_quote!(Option<Foo>),
            parse_quote!(BTreeMap<String, Foo>),
            parse_quote!(f64),
            parse_quote!(Condition),
        ] {
            let ty: Type = ty;
            assert!(!surely_native(&ty), "{}", tidy(&ty));
        }
    }

    #[test]
    fn types_naming_a_parameter_are_not_probed() {
        let generics: Generics = parse_quote!(<'a, T, const N: usize>);
        for ty in [
            parse_quote!(T),
            parse_quote!(Vec<Option<T>>),
            parse_quote!(&'a str),
            parse_quote!([u8; N]),
            parse_quote!(Box<Self>),
        ] {
            let ty: Type = ty;
            assert!(names_a_parameter(&ty, &generics), "{}", tidy(&ty));
        }
        for ty in [
            parse_quote!(Foo),
            parse_quote!(&'static str),
            parse_quote!(Tee),
        ] {
            let ty: Type = ty;
            assert!(!names_a_parameter(&ty, &generics), "{}", tidy(&ty));
        }
        assert_eq!(
            tidy(&parse_quote!(Option<std::vec::Vec<Foo>>)),
            "Option<std::vec::Vec<Foo>>"
        );
        let map: Type = parse_quote!(BTreeMap<String, Vec<Topic>>);
        assert_eq!(tidy(named(&map)), "Topic");
        let pair: Type = parse_quote!(HashMap<Key, Value>);
        assert_eq!(tidy(named(&pair)), "HashMap<Key, Value>");
    }
}
