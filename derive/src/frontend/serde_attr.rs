//! The serde attributes that change what a type looks like on the wire, read
//! by the same front end so the schema describes exactly what serde writes.
//! serde validates its own attributes, so keys we do not need are skipped,
//! not reported; keys that make the wire shape unknowable to us (`with`) are.

use syn::{Attribute, LitStr};

use super::ctxt::Errors;
use super::values;

/// serde's `rename_all` rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RenameRule {
    Lower,
    Upper,
    Pascal,
    Camel,
    Snake,
    ScreamingSnake,
    Kebab,
    ScreamingKebab,
}

const RULES: &[(&str, RenameRule)] = &[
    ("lowercase", RenameRule::Lower),
    ("UPPERCASE", RenameRule::Upper),
    ("PascalCase", RenameRule::Pascal),
    ("camelCase", RenameRule::Camel),
    ("snake_case", RenameRule::Snake),
    ("SCREAMING_SNAKE_CASE", RenameRule::ScreamingSnake),
    ("kebab-case", RenameRule::Kebab),
    ("SCREAMING-KEBAB-CASE", RenameRule::ScreamingKebab),
];

impl RenameRule {
    fn parse(s: &LitStr, errors: &mut Errors) -> Option<Self> {
        let found = RULES.iter().find(|(n, _)| *n == s.value()).map(|(_, r)| *r);
        if found.is_none() {
            let names: Vec<&str> = RULES.iter().map(|(n, _)| *n).collect();
            errors.at(
                s.span(),
                format!(
                    "unknown rename rule `{}`; expected one of {}",
                    s.value(),
                    names.join(", ")
                ),
            );
        }
        found
    }

    /// A field name (snake_case in Rust) as serde writes it.
    pub(crate) fn field(self, name: &str) -> String {
        match self {
            RenameRule::Lower | RenameRule::Snake => name.to_owned(),
            RenameRule::Upper | RenameRule::ScreamingSnake => name.to_ascii_uppercase(),
            RenameRule::Pascal => {
                let mut out = String::new();
                let mut upper = true;
                for c in name.chars() {
                    if c == '_' {
                        upper = true;
                    } else if upper {
                        out.extend(c.to_uppercase());
                        upper = false;
                    } else {
                        out.push(c);
                    }
                }
                out
            }
            RenameRule::Camel => {
                let pascal = RenameRule::Pascal.field(name);
                let mut chars = pascal.chars();
                match chars.next() {
                    Some(first) => first.to_lowercase().chain(chars).collect(),
                    None => pascal,
                }
            }
            RenameRule::Kebab => name.replace('_', "-"),
            RenameRule::ScreamingKebab => name.replace('_', "-").to_ascii_uppercase(),
        }
    }

    /// A variant name (PascalCase in Rust) as serde writes it.
    pub(crate) fn variant(self, name: &str) -> String {
        match self {
            RenameRule::Pascal => name.to_owned(),
            RenameRule::Lower => name.to_ascii_lowercase(),
            RenameRule::Upper => name.to_ascii_uppercase(),
            RenameRule::Camel => {
                let mut chars = name.chars();
                match chars.next() {
                    Some(first) => first.to_lowercase().chain(chars).collect(),
                    None => String::new(),
                }
            }
            RenameRule::Snake => {
                let mut out = String::new();
                for (i, c) in name.char_indices() {
                    if c.is_uppercase() && i > 0 {
                        out.push('_');
                    }
                    out.extend(c.to_lowercase());
                }
                out
            }
            RenameRule::ScreamingSnake => RenameRule::Snake.variant(name).to_ascii_uppercase(),
            RenameRule::Kebab => RenameRule::Snake.variant(name).replace('_', "-"),
            RenameRule::ScreamingKebab => {
                RenameRule::ScreamingSnake.variant(name).replace('_', "-")
            }
        }
    }
}

/// serde attributes on a struct or enum.
#[derive(Default)]
pub(crate) struct ContainerSerde {
    pub(crate) rename_all: Option<RenameRule>,
    pub(crate) rename_all_fields: Option<RenameRule>,
    pub(crate) tag: Option<String>,
    pub(crate) content: Option<String>,
    pub(crate) untagged: bool,
    pub(crate) transparent: bool,
    pub(crate) deny_unknown_fields: bool,
    pub(crate) default: bool,
}

/// serde attributes on a field.
#[derive(Default)]
pub(crate) struct FieldSerde {
    pub(crate) rename: Option<String>,
    pub(crate) skip_serializing: bool,
    pub(crate) skip_deserializing: bool,
    /// Where `skip_deserializing` alone (not `skip`) is written.
    pub(crate) skip_deserializing_only: Option<proc_macro2::Span>,
    pub(crate) skip_serializing_if: bool,
    pub(crate) default: bool,
    pub(crate) flatten: bool,
    /// `with`, `serialize_with` or `deserialize_with`: the wire shape is the
    /// function's, which only `schema_with`/`schemaless` can describe.
    pub(crate) with: Option<proc_macro2::Span>,
    /// Whether that function is a `double_option` module's (crdforge's
    /// `serde_helpers::double_option`, serde_with's `rust::double_option`),
    /// which reads `null` into an `Option<Option<T>>` as `Some(None)`.
    pub(crate) double_option: bool,
}

/// serde attributes on an enum variant.
#[derive(Default)]
pub(crate) struct VariantSerde {
    pub(crate) rename: Option<String>,
    pub(crate) rename_all: Option<RenameRule>,
    pub(crate) skip: bool,
    pub(crate) untagged: Option<proc_macro2::Span>,
}

fn serde_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("serde"))
}

/// `rename = "x"` or `rename(serialize = "x", deserialize = "y")`: the
/// serialized name, which is what clients send and the apiserver validates.
fn serialized_name(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Option<LitStr>> {
    if meta.input.peek(syn::Token![=]) {
        return Ok(Some(meta.value()?.parse()?));
    }
    let mut out = None;
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("serialize") {
            out = Some(inner.value()?.parse()?);
        } else {
            values::skip(&inner)?;
        }
        Ok(())
    })?;
    Ok(out)
}

/// Reads container-level serde attributes.
pub(crate) fn container(attrs: &[Attribute], errors: &mut Errors) -> ContainerSerde {
    let mut out = ContainerSerde::default();
    for attr in serde_attrs(attrs) {
        let result = attr.parse_nested_meta(|meta| {
            let p = &meta.path;
            if p.is_ident("rename_all") {
                if let Some(s) = serialized_name(&meta)? {
                    out.rename_all = RenameRule::parse(&s, errors);
                }
            } else if p.is_ident("rename_all_fields") {
                if let Some(s) = serialized_name(&meta)? {
                    out.rename_all_fields = RenameRule::parse(&s, errors);
                }
            } else if p.is_ident("tag") {
                out.tag = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if p.is_ident("content") {
                out.content = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if p.is_ident("untagged") {
                out.untagged = true;
            } else if p.is_ident("transparent") {
                out.transparent = true;
            } else if p.is_ident("deny_unknown_fields") {
                out.deny_unknown_fields = true;
            } else if p.is_ident("default") {
                out.default = true;
                values::skip(&meta)?;
            } else {
                values::skip(&meta)?;
            }
            Ok(())
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    out
}

/// Reads field-level serde attributes.
pub(crate) fn field(attrs: &[Attribute], errors: &mut Errors) -> FieldSerde {
    let mut out = FieldSerde::default();
    for attr in serde_attrs(attrs) {
        let result = attr.parse_nested_meta(|meta| {
            let p = &meta.path;
            if p.is_ident("rename") {
                out.rename = serialized_name(&meta)?.map(|s| s.value());
            } else if p.is_ident("skip") {
                out.skip_serializing = true;
                out.skip_deserializing = true;
            } else if p.is_ident("skip_serializing") {
                out.skip_serializing = true;
            } else if p.is_ident("skip_deserializing") {
                out.skip_deserializing = true;
                out.skip_deserializing_only = p.get_ident().map(|i| i.span());
            } else if p.is_ident("skip_serializing_if") {
                out.skip_serializing_if = true;
                values::skip(&meta)?;
            } else if p.is_ident("default") {
                out.default = true;
                values::skip(&meta)?;
            } else if p.is_ident("flatten") {
                out.flatten = true;
            } else if p.is_ident("with")
                || p.is_ident("serialize_with")
                || p.is_ident("deserialize_with")
            {
                out.with = p.get_ident().map(|i| i.span());
                // `with = "m::double_option"` names the module;
                // `deserialize_with = "m::double_option::deserialize"` its
                // function. Anything but a string is serde's to report.
                if let syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(path),
                    ..
                }) = values::ungroup(meta.value()?.parse::<syn::Expr>()?)
                {
                    out.double_option |= path.value().split("::").any(|s| s == "double_option");
                }
            } else {
                values::skip(&meta)?;
            }
            Ok(())
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    out
}

/// Reads variant-level serde attributes.
pub(crate) fn variant(attrs: &[Attribute], errors: &mut Errors) -> VariantSerde {
    let mut out = VariantSerde::default();
    for attr in serde_attrs(attrs) {
        let result = attr.parse_nested_meta(|meta| {
            let p = &meta.path;
            if p.is_ident("rename") {
                out.rename = serialized_name(&meta)?.map(|s| s.value());
            } else if p.is_ident("rename_all") {
                if let Some(s) = serialized_name(&meta)? {
                    out.rename_all = RenameRule::parse(&s, errors);
                }
            } else if p.is_ident("skip") || p.is_ident("skip_serializing") {
                out.skip = true;
            } else if p.is_ident("untagged") {
                out.untagged = p.get_ident().map(|i| i.span());
            } else {
                values::skip(&meta)?;
            }
            Ok(())
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::RenameRule::*;

    #[test]
    fn field_renames_follow_serde() {
        assert_eq!(Camel.field("max_surge_count"), "maxSurgeCount");
        assert_eq!(Pascal.field("max_surge"), "MaxSurge");
        assert_eq!(Kebab.field("max_surge"), "max-surge");
        assert_eq!(ScreamingSnake.field("max_surge"), "MAX_SURGE");
    }

    #[test]
    fn variant_renames_follow_serde() {
        assert_eq!(Snake.variant("RollingUpdate"), "rolling_update");
        assert_eq!(Camel.variant("RollingUpdate"), "rollingUpdate");
        assert_eq!(Lower.variant("RollingUpdate"), "rollingupdate");
        assert_eq!(ScreamingKebab.variant("RollingUpdate"), "ROLLING-UPDATE");
    }
}
