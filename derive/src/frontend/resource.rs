//! The resource attributes of a `CustomResource`: required keys present,
//! names valid as the apiserver wants them, defaults filled in, and every
//! path (printer columns, scale, selectable fields) pointing into the spec
//! at a field that exists.

use proc_macro2::Span;
use syn::{DeriveInput, Ident, LitStr};

use super::attr::Attrs;
use super::ctxt::{Errors, did_you_mean};
use super::keys::*;
use super::plural::plural;
use crate::model::{Body, Resource, SchemaMode};

pub(super) fn resource(
    input: &DeriveInput,
    attrs: &mut Attrs,
    body: Option<&Body>,
    errors: &mut Errors,
) -> Option<Resource> {
    if !matches!(input.data, syn::Data::Struct(_)) {
        errors.spanned(
            &input.ident,
            "#[derive(CustomResource)] goes on the spec struct; enums can be fields of it",
        );
        return None;
    }
    if !input.generics.params.is_empty() {
        errors.spanned(
            &input.generics,
            "a CustomResource spec cannot be generic: the CRD has one schema",
        );
    }
    let r = std::mem::take(&mut attrs.resource);
    // A key given with a value that is not a string literal was reported
    // at the value; it is not missing as well.
    let given: Vec<&str> = attrs.spans.iter().map(|(k, _)| *k).collect();
    let mut required = |value: Option<LitStr>, key: &str, example: &str| {
        value.unwrap_or_else(|| {
            if given.contains(&key) {
                return LitStr::new("", Span::call_site());
            }
            errors.spanned(
                &input.ident,
                format!("#[derive(CustomResource)] needs `{key}`: #[kube({key} = \"{example}\")]"),
            );
            LitStr::new("", Span::call_site())
        })
    };
    let group = required(r.group, GROUP, "example.com");
    let version = required(r.version, VERSION, "v1");
    let kind = required(r.kind, KIND, "User");
    if !errors.is_empty()
        && [&group, &version, &kind]
            .iter()
            .any(|v| v.value().is_empty())
    {
        return None;
    }
    check_group(&group, errors);
    check_label(&version, "version", errors);
    if !version
        .value()
        .starts_with(|c: char| c.is_ascii_lowercase())
    {
        errors.at(
            version.span(),
            "a version starts with a lowercase letter, like `v1` or `v1beta1`",
        );
    }
    let kind_value = kind.value();
    if !kind_value.starts_with(|c: char| c.is_ascii_uppercase())
        || !kind_value.chars().all(|c| c.is_ascii_alphanumeric())
    {
        errors.at(
            kind.span(),
            "a kind is CamelCase ASCII letters and digits, like `User`",
        );
    }
    let singular = r
        .singular
        .as_ref()
        .map_or_else(|| kind_value.to_lowercase(), LitStr::value);
    // The plural of the singular, as in kube-derive: a given singular
    // ("thingy") makes the plural ("thingies"), and so the CRD's name.
    let plural_name = r
        .plural
        .as_ref()
        .map_or_else(|| plural(&singular), LitStr::value);
    if let Some(p) = &r.plural {
        check_label(p, "plural", errors);
    }
    if let Some(s) = &r.singular {
        check_label(s, "singular", errors);
    }
    for s in &r.shortnames {
        check_label(s, "shortname", errors);
    }
    for c in &r.categories {
        check_label(c, "category", errors);
    }
    let root_name = r.root.as_ref().map_or(kind_value.clone(), LitStr::value);
    // Checking with the parser first keeps `Ident::new` from panicking on a
    // name that is not an identifier.
    let root = match syn::parse_str::<Ident>(&root_name) {
        Ok(_) => Ident::new(
            &root_name,
            r.root.as_ref().map_or(input.ident.span(), LitStr::span),
        ),
        Err(_) => {
            errors.at(
                r.root.as_ref().map_or(kind.span(), LitStr::span),
                format!("`{root_name}` is not a Rust identifier for the root struct"),
            );
            return None;
        }
    };

    // The fields of a flattened struct are the spec's on the wire, but only
    // `gen` sees them: with a flattened field, any first field may exist.
    let spec_fields: Option<Vec<String>> = match body {
        Some(Body::Struct(fields)) if fields.iter().any(|f| f.flatten) => None,
        Some(Body::Struct(fields)) => Some(fields.iter().map(|f| f.wire_name.clone()).collect()),
        _ => Some(Vec::new()),
    };
    let status = r.status.is_some();
    let no_spec = r.no_spec.is_some();
    if let Some(span) = r.no_spec {
        no_spec_rules(
            r.optional_spec,
            r.scale.as_ref().map(|(_, s)| *s),
            body,
            span,
            errors,
        );
    }
    let check_path = |path: &str, span: Span, what: &str, errors: &mut Errors| {
        let spec = Spec {
            fields: spec_fields.as_deref(),
            at_root: no_spec,
        };
        spec_path(path, span, what, &spec, status, errors);
    };
    for (column, span) in &r.printcolumns {
        check_path(&column.json_path, *span, "printcolumn json_path", errors);
    }
    for s in &r.selectable {
        check_path(&s.value(), s.span(), "selectable", errors);
    }
    if let Some((scale, span)) = r.scale.as_ref().filter(|_| !no_spec) {
        if scale.spec_replicas_path.starts_with(".spec.") {
            check_path(
                &scale.spec_replicas_path,
                *span,
                "scale spec_replicas_path",
                errors,
            );
        } else {
            errors.at(*span, "scale `spec_replicas_path` must point into .spec");
        }
        if scale.status_replicas_path.starts_with(".status.") {
            check_path(
                &scale.status_replicas_path,
                *span,
                "scale status_replicas_path",
                errors,
            );
        } else {
            errors.at(
                *span,
                "scale `status_replicas_path` must point into .status",
            );
        }
        if let Some(selector) = &scale.label_selector_path
            && !(selector.starts_with(".status.") || selector.starts_with(".spec."))
        {
            errors.at(
                *span,
                "scale `label_selector_path` must point into .spec or .status",
            );
        }
    }
    let served = r.served.unwrap_or(true);
    let storage = r.storage.unwrap_or(true);
    if storage && !served {
        let span = attrs
            .spans
            .iter()
            .find(|(k, _)| *k == SERVED)
            .map_or_else(Span::call_site, |(_, s)| *s);
        errors.at(
            span,
            "the storage version must be served; set `storage = false` or serve it",
        );
    }
    Some(Resource {
        group: group.value(),
        version: version.value(),
        kind: kind_value,
        root,
        plural: plural_name,
        singular,
        namespaced: r.namespaced.unwrap_or(false),
        shortnames: r.shortnames.iter().map(LitStr::value).collect(),
        categories: r.categories.iter().map(LitStr::value).collect(),
        status: r.status,
        scale: r.scale.map(|(s, _)| s),
        printcolumns: r.printcolumns.into_iter().map(|(c, _)| c).collect(),
        selectable: r.selectable.iter().map(LitStr::value).collect(),
        derives: r.derives,
        attrs: r.attrs,
        doc: r.doc,
        annotations: r.annotations,
        labels: r.labels,
        rules: r.rules,
        storage,
        served,
        deprecated: r.deprecated,
        schema_mode: r.schema_mode.unwrap_or(SchemaMode::Derived),
        max_description_length: r.max_description_length,
        optional_spec: r.optional_spec,
        no_spec,
    })
}

/// The names the apiserver gives an object's top level itself.
const ROOT_FIELDS: [&str; 4] = ["apiVersion", "kind", "metadata", "status"];

/// Rules of `no_spec`: the spec's fields share the top level with the
/// object's own, so none may take one of their names; an object without a
/// spec has nowhere for the scale subresource's `.spec` replicas path, and
/// nothing to leave out for `optional_spec`.
fn no_spec_rules(
    optional_spec: Option<Span>,
    scale: Option<Span>,
    body: Option<&Body>,
    span: Span,
    errors: &mut Errors,
) {
    if optional_spec.is_some() {
        errors.at(
            span,
            "`no_spec` puts the spec's fields at the top level, so there is no `spec` for \
             `optional_spec` to leave out; remove one of them",
        );
    }
    if let Some(scale) = scale {
        errors.at(
            scale,
            "the scale subresource needs `spec_replicas_path` under `.spec`, which a `no_spec` \
             object does not have; remove `scale` or `no_spec`",
        );
    }
    if let Some(Body::Struct(fields)) = body {
        for field in fields
            .iter()
            .filter(|f| ROOT_FIELDS.contains(&f.wire_name.as_str()))
        {
            errors.at(
                syn::spanned::Spanned::span(&field.member),
                format!(
                    "with `no_spec` the spec's fields sit beside the object's own `apiVersion`, \
                     `kind`, `metadata` and `status`; `{}` clashes: rename it (#[serde(rename = \"...\")])",
                    field.wire_name
                ),
            );
        }
    }
}

/// Where a path's spec fields are: their wire names (unknown with a
/// flattened field), and whether they sit at the top level (`no_spec`).
struct Spec<'a> {
    fields: Option<&'a [String]>,
    at_root: bool,
}

/// Rule: a path in a printer column, selectable field or scale starts at
/// `.spec` (or, with `no_spec`, a field of the spec), `.status` or
/// `.metadata`; under `.spec` its first field must be a field of the spec
/// struct (deeper levels, and the fields of flattened structs, are checked
/// by `gen`, which sees the whole schema).
fn spec_path(
    path: &str,
    span: Span,
    what: &str,
    spec: &Spec<'_>,
    status: bool,
    errors: &mut Errors,
) {
    if path.is_empty() {
        return; // Already reported as missing.
    }
    let mut segments = path.trim_start_matches('.').split(['.', '[']);
    let first = segments.next();
    let field = match first {
        Some("status") if !status => {
            return errors.at(
                span,
                format!(
                    "{what} `{path}` points into .status, but the resource has no `status` type"
                ),
            );
        }
        Some("status" | "metadata") => return,
        Some("spec") if !spec.at_root => segments.next(),
        Some(field) if spec.at_root => Some(field),
        _ => {
            return errors.at(
                span,
                format!("{what} `{path}` must start with .spec, .status or .metadata"),
            );
        }
    };
    let (Some(field), Some(fields)) = (field, spec.fields) else {
        return;
    };
    if !fields.iter().any(|f| f == field) {
        let known: Vec<&str> = fields.iter().map(String::as_str).collect();
        let place = if spec.at_root {
            "the spec (with `no_spec` its fields are at the top level: `.field`)"
        } else {
            "the spec"
        };
        errors.at(
            span,
            format!(
                "{what} `{path}` names no field of {place}{}",
                did_you_mean(field, &known)
            ),
        );
    }
}

/// Rule: the group is a DNS subdomain with at least one dot (the apiserver
/// refuses CRDs in dot-less groups, which are reserved for built-ins).
fn check_group(group: &LitStr, errors: &mut Errors) {
    let value = group.value();
    let ok = value.contains('.') && value.len() <= 253 && value.split('.').all(is_label);
    if !ok {
        errors.at(
            group.span(),
            format!(
                "group `{value}` must be a lowercase DNS subdomain with a dot, like `example.com`"
            ),
        );
    }
}

/// Rule: names, versions, short names and categories are DNS labels.
fn check_label(value: &LitStr, what: &str, errors: &mut Errors) {
    if !is_label(&value.value()) {
        errors.at(
            value.span(),
            format!(
                "{what} `{}` must be a lowercase DNS label (a-z, 0-9, '-', at most 63)",
                value.value()
            ),
        );
    }
}

fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}
