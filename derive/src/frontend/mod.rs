//! The front end: a `syn::DeriveInput` and its attributes become a validated
//! [`Input`], or every error found, each spanned. The derive and any other
//! consumer share it, so they cannot disagree about what an attribute means.

mod attr;
mod check;
pub(crate) mod ctxt;
#[cfg(test)]
mod fuzz;
mod keys;
mod nested;
mod plural;
mod resource;
mod serde_attr;
#[cfg(test)]
mod tests;
mod values;

pub(crate) use check::{is_catch_all, option_inner};
pub(crate) use ctxt::Errors;

use proc_macro2::Span;
use syn::{Attribute, Data, DeriveInput, Fields, Ident, Member};

use crate::model::{
    ApplyNames, Body, DeepCopyMode, Derive, Field, Input, Requirement, RustBody, RustField,
    RustFields, RustVariant, Tagging, Variant, VariantShape,
};
use attr::{Attrs, GroupKind, Place};
use crdforge_schema::Rule;
use ctxt::did_you_mean;
use serde_attr::RenameRule;

/// Parses and validates one derive input.
pub(crate) fn parse(input: &DeriveInput, derive: Derive) -> Result<Input, Errors> {
    let (model, errors) = parse_inner(input, derive);
    match model {
        Some(model) if errors.is_empty() => Ok(model.input),
        _ => Err(errors),
    }
}

/// For a `CustomResource` derive that reported errors in its spec's fields
/// or types (not in the resource's own keys): the model as far as it was
/// built, from which the root type and its impls are emitted, so that the
/// user's code naming the root (`Backup::new`, `Api<Backup>`) compiles and
/// only the real errors are shown, not "cannot find type `Backup`".
pub(crate) fn partial_resource(input: &DeriveInput) -> Option<Input> {
    match parse_inner(input, Derive::CustomResource) {
        (Some(model), _) if model.resource_clean => Some(model.input),
        _ => None,
    }
}

/// A model built despite errors, and whether the resource's part of it had
/// none.
struct Built {
    input: Input,
    resource_clean: bool,
}

fn parse_inner(input: &DeriveInput, derive: Derive) -> (Option<Built>, Errors) {
    let mut errors = Errors::new();
    let place = match derive {
        Derive::CustomResource => Place::Resource,
        Derive::Schema => Place::Type,
    };
    let serde = serde_attr::container(&input.attrs, &mut errors);
    let mut attrs = attr::parse(&input.attrs, place, &mut errors);
    if attrs.constraints.description.is_none() {
        attrs.constraints.description = docs(&input.attrs);
    }
    check::exclusive_bounds_need_a_bound(&attrs, &mut errors);
    check::not_directly_recursive(input, &mut errors);

    let mut parent_rules = Vec::new();
    let mut rust = Vec::new();
    let mut rust_variants = Vec::new();
    let body = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => {
                let fields = fields(
                    named.named.iter(),
                    serde.rename_all,
                    serde.default,
                    &mut parent_rules,
                    &mut rust,
                    &mut errors,
                );
                if serde.transparent {
                    transparent(fields, input, &mut errors)
                } else {
                    check::catch_all_comes_last(&fields, &mut errors);
                    Some(Body::Struct(fields))
                }
            }
            Fields::Unnamed(unnamed) if unnamed.unnamed.len() == 1 => {
                let fields = fields(
                    unnamed.unnamed.iter(),
                    None,
                    false,
                    &mut parent_rules,
                    &mut rust,
                    &mut errors,
                );
                transparent(fields, input, &mut errors)
            }
            Fields::Unnamed(_) => {
                errors.spanned(
                    &input.ident,
                    "a tuple struct with several fields is written as an array of mixed types, \
                     which a structural schema cannot describe; name its fields",
                );
                None
            }
            Fields::Unit => {
                errors.spanned(
                    &input.ident,
                    "a unit struct is written as null, which a structural schema cannot describe",
                );
                None
            }
        },
        Data::Enum(data) => {
            let tagging = tagging(&serde, input, &mut errors);
            let variants = variants(data, &serde, &tagging, &mut rust_variants, &mut errors);
            if !attrs.constraints.schemaless {
                check::variants_share_a_type(&tagging, &variants, &mut errors);
                check::untagged_variants_do_not_shadow(
                    &tagging,
                    &variants,
                    serde.deny_unknown_fields,
                    &mut errors,
                );
            }
            Some(Body::Enum { tagging, variants })
        }
        Data::Union(_) => {
            errors.spanned(
                &input.ident,
                "unions have no serde representation and no schema",
            );
            None
        }
    };
    attrs.constraints.validations.extend(parent_rules);
    if let Some(body) = &body {
        check::preserved_fields_are_read(&attrs, body, &mut errors);
        groups(&attrs, body, &mut errors);
        apply_groups(&mut attrs, body);
    }

    let before_resource = errors.len();
    let resource = match derive {
        Derive::CustomResource => resource::resource(input, &mut attrs, body.as_ref(), &mut errors),
        Derive::Schema => None,
    };
    let resource_clean = resource.is_some() && errors.len() == before_resource;
    let rust = match &input.data {
        Data::Enum(_) => RustBody::Enum(rust_variants),
        Data::Struct(data) => RustBody::Struct(rust_fields(&data.fields, rust)),
        Data::Union(_) => RustBody::Struct(RustFields::Unit),
    };
    let apply = apply_names(input, &attrs, body.as_ref(), resource.as_ref(), &mut errors);
    let krate = attrs
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::crdforge));
    let built = Built {
        input: Input {
            ident: input.ident.clone(),
            generics: input.generics.clone(),
            vis: input.vis.clone(),
            krate,
            constraints: attrs.constraints,
            // A spec whose body failed still has a root; the body is not
            // emitted from a partial model.
            body: body.unwrap_or(Body::Struct(Vec::new())),
            rust,
            resource,
            apply,
        },
        resource_clean,
    };
    (Some(built), errors)
}

/// The impls a failed derive still emits, with bodies that never run, so
/// that the other derives and the user's code that name them compile and
/// only the real error is shown (no "has no Kubernetes schema" cascade).
pub(crate) struct Fallback {
    /// Path to the crdforge crate.
    pub krate: syn::Path,
    /// `KubeSchema`: unless a resource's spec implements it by hand.
    pub schema: bool,
    /// `ApplyConfiguration`: unless `apply = false`.
    pub apply: bool,
}

/// What a derive that reported errors still emits; read from the type's
/// attributes as far as they parse (their errors were reported already).
pub(crate) fn fallback(input: &DeriveInput, derive: Derive) -> Fallback {
    let place = match derive {
        Derive::CustomResource => Place::Resource,
        Derive::Schema => Place::Type,
    };
    let attrs = attr::parse(&input.attrs, place, &mut Errors::new());
    let manual = matches!(
        attrs.resource.schema_mode,
        Some(crate::model::SchemaMode::Manual)
    );
    Fallback {
        krate: attrs
            .krate
            .clone()
            .unwrap_or_else(|| syn::parse_quote!(::crdforge)),
        schema: !(derive == Derive::CustomResource && manual),
        apply: !matches!(attrs.apply, Some(None)),
    }
}

/// The apply configurations to emit: `<Type>Apply` for a struct with named
/// fields, `<Root>Apply` for a resource, unless `apply = false`; on a
/// resource `apply = "..."` names the root's, elsewhere the type's own.
fn apply_names(
    input: &DeriveInput,
    attrs: &Attrs,
    body: Option<&Body>,
    resource: Option<&crate::model::Resource>,
    errors: &mut Errors,
) -> Option<ApplyNames> {
    let named_fields = matches!(body, Some(Body::Struct(_)));
    if resource.is_none() {
        check::apply_name_needs_named_fields(attrs, named_fields, errors);
    }
    let given = match &attrs.apply {
        Some(None) => return None,
        Some(Some(name)) => Some(name.clone()),
        None => None,
    };
    let suffixed = |ident: &Ident| quote::format_ident!("{}Apply", ident);
    let own = named_fields.then(|| match (&given, resource) {
        (Some(name), None) => name.clone(),
        _ => suffixed(&input.ident),
    });
    let root = resource.map(|r| given.unwrap_or_else(|| suffixed(&r.root)));
    Some(ApplyNames { own, root })
}

/// The doc comment of an item, lines joined, indentation of `///` removed.
pub(crate) fn docs(attrs: &[Attribute]) -> Option<String> {
    let mut lines = Vec::new();
    for attr in attrs {
        if let syn::Meta::NameValue(nv) = &attr.meta
            && nv.path.is_ident("doc")
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = values::ungrouped(&nv.value)
        {
            let line = s.value();
            lines.push(
                line.strip_prefix(' ')
                    .unwrap_or(&line)
                    .trim_end()
                    .to_owned(),
            );
        }
    }
    let text = lines.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn transparent(mut fields: Vec<Field>, input: &DeriveInput, errors: &mut Errors) -> Option<Body> {
    if fields.len() != 1 {
        errors.spanned(
            &input.ident,
            "a transparent struct must have exactly one field that serde writes",
        );
        return None;
    }
    fields.pop().map(|f| Body::Transparent(Box::new(f)))
}

fn tagging(
    serde: &serde_attr::ContainerSerde,
    input: &DeriveInput,
    errors: &mut Errors,
) -> Tagging {
    match (&serde.tag, &serde.content, serde.untagged) {
        (_, _, true) => Tagging::Untagged,
        (Some(tag), Some(content), false) => Tagging::Adjacent(tag.clone(), content.clone()),
        (Some(tag), None, false) => Tagging::Internal(tag.clone()),
        (None, Some(_), false) => {
            errors.spanned(
                &input.ident,
                "#[serde(content = \"...\")] needs #[serde(tag = \"...\")]",
            );
            Tagging::External
        }
        (None, None, false) => Tagging::External,
    }
}

/// The Rust view of a struct's or variant's fields, shaped like `fields`.
fn rust_fields(fields: &Fields, rust: Vec<RustField>) -> RustFields {
    match fields {
        Fields::Named(_) => RustFields::Named(rust),
        Fields::Unnamed(_) => RustFields::Unnamed(rust),
        Fields::Unit => RustFields::Unit,
    }
}

/// `#[schemars(...)]` on a field of a type crdforge derives: schemars
/// reads it for its own `JsonSchema` (a kube-derive spec derives both), but
/// the CRD's schema comes from crdforge's attributes, so it would be lost
/// without a word. Returns the attribute's span and the `#[crd(...)]` keys
/// that say the same, where there are such.
fn ignored_schemars(attrs: &[Attribute]) -> Option<(Span, String)> {
    let attr = attrs.iter().find(|a| a.path().is_ident("schemars"))?;
    let mut keys = Vec::new();
    let mut others = false;
    let _ = attr.parse_nested_meta(|meta| {
        let name = meta.path.get_ident().map(ToString::to_string);
        match name.as_deref() {
            // length(min = 1, max = 63), range(min = 0, max = 9)
            Some(outer @ ("length" | "range")) if meta.input.peek(syn::token::Paren) => meta
                .parse_nested_meta(|inner| {
                    let bound = inner.path.get_ident().map(ToString::to_string);
                    let value = values::skip_to_string(&inner)?;
                    let key = match (outer, bound.as_deref()) {
                        ("length", Some("min")) => "min_length",
                        ("length", Some("max")) => "max_length",
                        ("length", Some("equal")) => "min_length = max_length",
                        ("range", Some("min")) => "minimum",
                        ("range", Some("max")) => "maximum",
                        _ => {
                            others = true;
                            return Ok(());
                        }
                    };
                    keys.push(format!("{key} = {value}"));
                    Ok(())
                }),
            // regex(pattern = "^a$")
            Some("regex") if meta.input.peek(syn::token::Paren) => {
                meta.parse_nested_meta(|inner| {
                    let value = values::skip_to_string(&inner)?;
                    if inner.path.is_ident("pattern") {
                        keys.push(format!("pattern = {value}"));
                    } else {
                        others = true;
                    }
                    Ok(())
                })
            }
            Some("email") => {
                keys.push("format = \"email\"".to_owned());
                values::skip(&meta)
            }
            // Descriptions come from doc comments already.
            Some("description" | "title") => values::skip(&meta),
            _ => {
                others = true;
                values::skip(&meta)
            }
        }
    });
    let advice = if keys.is_empty() || others {
        "say it with #[crd(...)] (docs/annotations.md)".to_owned()
    } else {
        format!("write #[crd({})]", keys.join(", "))
    };
    Some((syn::spanned::Spanned::span(attr.path()), advice))
}

/// One Rust field as the whole-value impls see it.
fn rust_field(f: &syn::Field, member: Member, deep_copy: DeepCopyMode) -> RustField {
    RustField {
        member,
        span: syn::spanned::Spanned::span(&f.ty),
        ty: f.ty.clone(),
        deep_copy,
    }
}

/// Rule: a field serde never writes takes no schema keys, only
/// `deep_copy` (it is still part of the Rust value).
fn only_deep_copy(attrs: &Attrs, what: &str, errors: &mut Errors) {
    if let Some((_, span)) = attrs.spans.iter().find(|(k, _)| *k != keys::DEEP_COPY) {
        errors.at(
            *span,
            format!("{what} is skipped by serde, so #[crd] attributes on it have no effect (only `deep_copy` applies)"),
        );
    }
}

/// The fields of a variant serde skips: Rust-only.
fn skipped_variant_fields(fields: &Fields, variant: &Ident, errors: &mut Errors) -> RustFields {
    let rust = fields
        .iter()
        .enumerate()
        .map(|(index, f)| {
            let attrs = attr::parse(&f.attrs, Place::Field, errors);
            only_deep_copy(&attrs, &format!("variant `{variant}`"), errors);
            let member = match &f.ident {
                Some(ident) => Member::Named(ident.clone()),
                None => Member::Unnamed(index.into()),
            };
            rust_field(f, member, attrs.deep_copy)
        })
        .collect();
    rust_fields(fields, rust)
}

fn fields<'a>(
    input: impl Iterator<Item = &'a syn::Field>,
    rename_all: Option<RenameRule>,
    container_default: bool,
    parent_rules: &mut Vec<Rule>,
    rust: &mut Vec<RustField>,
    errors: &mut Errors,
) -> Vec<Field> {
    let mut out = Vec::new();
    for (index, f) in input.enumerate() {
        let serde = serde_attr::field(&f.attrs, errors);
        let mut attrs = attr::parse(&f.attrs, Place::Field, errors);
        let (member, rust_name) = match &f.ident {
            Some(ident) => (Member::Named(ident.clone()), ident.to_string()),
            None => (Member::Unnamed(index.into()), index.to_string()),
        };
        let rust_name = rust_name.trim_start_matches("r#").to_owned();
        // A `#[crd(schemars)]` type derives `JsonSchema`, not `KubeSchema`,
        // so it has no `DeepCopy`: it is copied by `Clone` unless the field
        // says `deep_copy = "deep"`.
        let deep_copy = if attrs.schemars.is_some()
            && !attrs.spans.iter().any(|(k, _)| *k == keys::DEEP_COPY)
        {
            DeepCopyMode::Clone
        } else {
            attrs.deep_copy
        };
        rust.push(rust_field(f, member.clone(), deep_copy));
        if serde.skip_serializing {
            only_deep_copy(&attrs, &format!("field `{rust_name}`"), errors);
            continue;
        }
        // Written, kept by the apiserver, and dropped on every read: the
        // value does not survive a round trip.
        if let Some(span) = serde.skip_deserializing_only {
            errors.at(
                span,
                format!(
                    "field `{rust_name}` is written but never read back (`skip_deserializing`): \
                     the apiserver keeps its value and reading the object drops it; use \
                     #[serde(skip)] to leave it out of the object, or remove `skip_deserializing`"
                ),
            );
        }
        let wire_name = serde
            .rename
            .clone()
            .or_else(|| rename_all.map(|r| r.field(&rust_name)))
            .unwrap_or_else(|| rust_name.clone());
        if attrs.constraints.description.is_none() {
            attrs.constraints.description = docs(&f.attrs);
        }
        if let Some(span) = serde.with
            && attrs.schema_with.is_none()
            && !attrs.constraints.schemaless
            && !(serde.double_option && check::is_double_option(&f.ty))
        {
            errors.at(
                span,
                format!(
                    "field `{rust_name}` is written by a custom serde function, whose JSON shape \
                     crdforge cannot see; describe it with #[crd(schema_with = path)] or #[crd(schemaless)]"
                ),
            );
        }
        let serde_default = serde.default || container_default;
        check::flattened_maps_hold_any_value(&f.ty, &attrs, serde.flatten, &rust_name, errors);
        check::double_options_keep_null(&f.ty, &attrs, &serde, serde_default, &rust_name, errors);
        check::floats_need_opt_in(&f.ty, &attrs, &rust_name, errors);
        check::map_keys_are_strings(&f.ty, &attrs, &rust_name, errors);
        check::wide_integers_need_a_range(&f.ty, &attrs, &rust_name, errors);
        check::types_with_a_schema(&f.ty, &attrs, &rust_name, errors);
        check::format_or_no_format(&attrs, errors);
        check::default_fits_the_type(&f.ty, &attrs, &rust_name, errors);
        check::keys_fit_the_type(&f.ty, &attrs, errors);
        check::exclusive_bounds_need_a_bound(&attrs, errors);
        check::list_map_keys_need_a_map_list(&attrs, errors);
        check::unique_items_is_forbidden(&attrs, errors);
        check::required_or_optional(&attrs, errors);
        check::optional_needs_a_default(&f.ty, &attrs, serde_default, &rust_name, errors);
        check::one_default(&attrs, errors);
        check::one_schema_source(&attrs, errors);

        let required = if attrs.required {
            Requirement::Required
        } else if attrs.optional || serde_default || serde.skip_serializing_if {
            Requirement::Optional
        } else {
            Requirement::ByType
        };
        let may_be_absent = required == Requirement::Optional
            || (required == Requirement::ByType && check::option_inner(&f.ty).is_some());
        if let Some(message) = attrs.immutable.take() {
            immutable(
                &wire_name,
                message.as_deref(),
                may_be_absent,
                &mut attrs,
                parent_rules,
            );
        }
        out.push(Field {
            ignored_schemars: ignored_schemars(&f.attrs),
            member,
            span: syn::spanned::Spanned::span(&f.ty),
            ty: f.ty.clone(),
            wire_name,
            flatten: serde.flatten,
            double_option: serde.double_option && check::is_double_option(&f.ty),
            required,
            allow_float: attrs.allow_float,
            schema_with: attrs.schema_with.take(),
            schemars: attrs.schemars.is_some(),
            default_expr: attrs.default_expr.take(),
            constraints: attrs.constraints,
        });
    }
    out
}

/// An immutable field gets `self == oldSelf`. That rule only runs when the
/// field exists in both the old and the new object, so for a field that may
/// be absent the parent also gets a rule that its presence cannot change.
fn immutable(
    wire_name: &str,
    message: Option<&str>,
    may_be_absent: bool,
    attrs: &mut Attrs,
    parent_rules: &mut Vec<Rule>,
) {
    let message = message.map_or_else(|| format!("{wire_name} is immutable"), str::to_owned);
    attrs.constraints.validations.push(Rule {
        rule: "self == oldSelf".into(),
        message: Some(message.clone()),
        ..Rule::default()
    });
    if may_be_absent {
        parent_rules.push(Rule {
            rule: format!("has(self.{wire_name}) == has(oldSelf.{wire_name})"),
            message: Some(format!(
                "{message}: it cannot be added or removed after creation"
            )),
            ..Rule::default()
        });
    }
}

fn variants(
    data: &syn::DataEnum,
    serde: &serde_attr::ContainerSerde,
    tagging: &Tagging,
    rust_variants: &mut Vec<RustVariant>,
    errors: &mut Errors,
) -> Vec<Variant> {
    let mut out = Vec::new();
    let mut has_unit = None;
    let mut has_data = false;
    for v in &data.variants {
        let vs = serde_attr::variant(&v.attrs, errors);
        let attrs = attr::parse(&v.attrs, Place::Variant, errors);
        if vs.skip {
            rust_variants.push(RustVariant {
                ident: v.ident.clone(),
                fields: skipped_variant_fields(&v.fields, &v.ident, errors),
            });
            continue;
        }
        let mut rust = Vec::new();
        if let Some(span) = vs.untagged {
            errors.at(
                span,
                "#[serde(untagged)] on a single variant mixes two representations in one enum; \
                 crdforge supports it on the whole enum only",
            );
        }
        let wire_name = vs
            .rename
            .clone()
            .or_else(|| serde.rename_all.map(|r| r.variant(&v.ident.to_string())))
            .unwrap_or_else(|| v.ident.to_string());
        let docs = attrs
            .constraints
            .description
            .clone()
            .or_else(|| docs(&v.attrs));
        let mut no_rules = Vec::new();
        let shape = match &v.fields {
            Fields::Unit => {
                has_unit.get_or_insert(v.ident.clone());
                VariantShape::Unit
            }
            Fields::Unnamed(f) if f.unnamed.len() == 1 => {
                has_data = true;
                let mut fs = fields(
                    f.unnamed.iter(),
                    None,
                    false,
                    &mut no_rules,
                    &mut rust,
                    errors,
                );
                match fs.pop() {
                    Some(field) => VariantShape::Newtype(Box::new(field)),
                    None => VariantShape::Unit,
                }
            }
            Fields::Unnamed(_) => {
                errors.spanned(
                    &v.ident,
                    "a tuple variant with several fields is written as an array of mixed types, \
                     which a structural schema cannot describe; use named fields",
                );
                continue;
            }
            Fields::Named(f) => {
                has_data = true;
                let rename = vs.rename_all.or(serde.rename_all_fields);
                VariantShape::Struct(fields(
                    f.named.iter(),
                    rename,
                    false,
                    &mut no_rules,
                    &mut rust,
                    errors,
                ))
            }
        };
        if !no_rules.is_empty() {
            errors.spanned(
                &v.ident,
                "an immutable optional field inside an enum variant needs a rule on the variant, \
                 which CRDs cannot express; make the field required or move it to a struct",
            );
        }
        rust_variants.push(RustVariant {
            ident: v.ident.clone(),
            fields: rust_fields(&v.fields, rust),
        });
        out.push(Variant {
            ident: v.ident.clone(),
            wire_name,
            docs,
            shape,
        });
    }
    match (tagging, has_unit) {
        (Tagging::External, Some(unit)) if has_data => errors.spanned(
            unit,
            "this unit variant is written as a string and the other variants as objects; a \
             structural schema needs one type (tag the enum: #[serde(tag = \"type\")])",
        ),
        (Tagging::Untagged, Some(unit)) => errors.spanned(
            unit,
            "a unit variant of an untagged enum is written as null, which a structural schema \
             cannot describe",
        ),
        _ => {}
    }
    if let Tagging::Internal(_) = tagging {
        for v in &out {
            if let VariantShape::Newtype(f) = &v.shape
                && let Err(message) = check::internally_tagged_newtype(&f.ty)
            {
                errors.spanned(&f.ty, message);
            }
        }
    }
    out
}

/// Rule: `exactly_one_of(a, b)` and friends name fields of this struct that
/// may be absent; the rule they become is CEL over `has(self.<wire name>)`.
fn groups(attrs: &Attrs, body: &Body, errors: &mut Errors) {
    if attrs.groups.is_empty() {
        return;
    }
    let Body::Struct(fields) = body else {
        errors.at(
            attrs.groups[0].2,
            "field groups apply to structs with named fields",
        );
        return;
    };
    let names: Vec<String> = fields
        .iter()
        .filter_map(|f| match &f.member {
            Member::Named(i) => Some(i.to_string()),
            Member::Unnamed(_) => None,
        })
        .collect();
    let known: Vec<&str> = names.iter().map(String::as_str).collect();
    for (_, idents, span) in &attrs.groups {
        if idents.len() < 2 {
            errors.at(*span, "a field group needs at least two fields");
        }
        for ident in idents {
            let Some(field) = fields
                .iter()
                .find(|f| matches!(&f.member, Member::Named(i) if i == ident))
            else {
                errors.spanned(
                    ident,
                    format!(
                        "no field `{ident}` in this struct{}",
                        did_you_mean(&ident.to_string(), &known)
                    ),
                );
                continue;
            };
            let absent = field.required == Requirement::Optional
                || (field.required == Requirement::ByType
                    && check::option_inner(&field.ty).is_some());
            if !absent {
                errors.spanned(
                    ident,
                    format!("field `{ident}` is always present, so a one-of group over it is meaningless; make it an Option"),
                );
            }
        }
    }
}

/// The CEL rule for a field group, over wire names.
fn group_rule(kind: GroupKind, wire_names: &[String]) -> Rule {
    let has: Vec<String> = wire_names
        .iter()
        .map(|n| format!("has(self.{n})"))
        .collect();
    let list = format!("[{}]", has.join(", "));
    let names = wire_names.join(", ");
    let (rule, message) = match kind {
        GroupKind::Exactly => (
            format!("{list}.exists_one(x, x)"),
            format!("exactly one of {names} must be set"),
        ),
        GroupKind::AtMost => (
            format!("{list}.filter(x, x).size() <= 1"),
            format!("at most one of {names} may be set"),
        ),
        GroupKind::AtLeast => (
            format!("{list}.exists(x, x)"),
            format!("at least one of {names} must be set"),
        ),
    };
    Rule {
        rule,
        message: Some(message),
        ..Rule::default()
    }
}

/// Wire names of the fields a group names (after `groups` checked them).
fn group_wire_names(idents: &[Ident], fields: &[Field]) -> Vec<String> {
    idents
        .iter()
        .filter_map(|ident| {
            fields
                .iter()
                .find(|f| matches!(&f.member, Member::Named(i) if i == ident))
                .map(|f| f.wire_name.clone())
        })
        .collect()
}

/// Adds the CEL rules of the field groups to the type's constraints.
fn apply_groups(attrs: &mut Attrs, body: &Body) {
    if let Body::Struct(fields) = body {
        for (kind, idents, _) in &attrs.groups {
            let names = group_wire_names(idents, fields);
            attrs
                .constraints
                .validations
                .push(group_rule(*kind, &names));
        }
    }
}
