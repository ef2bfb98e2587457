//! The values of keys that take several parts: `validation(...)`,
//! `printcolumn(...)`, `scale(...)`, `annotation("k", "v")`, and the
//! enumerated `map_type`/`struct_type` strings.

use std::collections::BTreeMap;

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::{Ident, LitStr};

use super::ctxt::{Errors, did_you_mean};
use super::keys::*;
use super::values;
use crate::model::{Column, Scale};
use crdforge_schema::{MapType, Rule};

pub(super) fn map_type(
    meta: &ParseNestedMeta<'_>,
    key: &str,
    errors: &mut Errors,
) -> syn::Result<Option<MapType>> {
    let s = values::string(meta, key)?;
    Ok(match s.value().as_str() {
        "granular" => Some(MapType::Granular),
        "atomic" => Some(MapType::Atomic),
        other => {
            errors.at(
                s.span(),
                format!("unknown {key} `{other}`; expected \"granular\" or \"atomic\""),
            );
            None
        }
    })
}

/// `annotation("key", "value")`.
pub(super) fn pair(meta: &ParseNestedMeta<'_>) -> syn::Result<(String, String)> {
    let content;
    syn::parenthesized!(content in meta.input);
    let key: LitStr = content.parse()?;
    content.parse::<syn::Token![,]>()?;
    let value: LitStr = content.parse()?;
    Ok((key.value(), value.value()))
}

pub(super) fn rule(meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> syn::Result<Option<Rule>> {
    if meta.input.peek(syn::Token![=]) {
        return Ok(Some(Rule {
            rule: values::string(meta, VALIDATION)?.value(),
            ..Rule::default()
        }));
    }
    let mut rule = Rule::default();
    let mut has_rule = false;
    let span = meta
        .path
        .get_ident()
        .map_or_else(Span::call_site, Ident::span);
    meta.parse_nested_meta(|inner| {
        let name = inner
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        match name.as_str() {
            // validation(rule = "self > 0")
            RULE => {
                rule.rule = values::string(&inner, RULE)?.value();
                has_rule = true;
            }
            // validation(message = "must be positive")
            MESSAGE => rule.message = Some(values::string(&inner, MESSAGE)?.value()),
            // validation(message_expression = "'got ' + string(self)")
            MESSAGE_EXPRESSION => {
                rule.message_expression = Some(values::string(&inner, MESSAGE_EXPRESSION)?.value())
            }
            // validation(reason = "FieldValueForbidden")
            REASON => {
                let s = values::string(&inner, REASON)?;
                if !REASONS.contains(&s.value().as_str()) {
                    errors.at(
                        s.span(),
                        format!(
                            "unknown reason `{}`; expected one of {}",
                            s.value(),
                            REASONS.join(", ")
                        ),
                    );
                }
                rule.reason = Some(s.value());
            }
            // validation(field_path = ".name")
            FIELD_PATH => rule.field_path = Some(values::string(&inner, FIELD_PATH)?.value()),
            // validation(optional_old_self)
            OPTIONAL_OLD_SELF => {
                rule.optional_old_self = Some(values::flag(&inner, OPTIONAL_OLD_SELF)?)
            }
            other => {
                errors.spanned(
                    &inner.path,
                    format!(
                        "unknown key `{other}` in validation(...){}",
                        did_you_mean(other, RULE_KEYS)
                    ),
                );
                values::skip(&inner)?;
            }
        }
        Ok(())
    })?;
    if !has_rule {
        errors.at(span, "validation(...) needs `rule = \"<CEL expression>\"`");
        return Ok(None);
    }
    Ok(Some(rule))
}

pub(super) fn printcolumn(meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> syn::Result<Column> {
    let span = meta
        .path
        .get_ident()
        .map_or_else(Span::call_site, Ident::span);
    let mut fields: BTreeMap<&'static str, serde_json::Value> = BTreeMap::new();
    if meta.input.peek(syn::Token![=]) {
        // kube-derive's JSON spelling, with the apiserver's field names.
        let json = values::json_text(meta, PRINTCOLUMN)?;
        for (json_key, key) in [
            ("name", NAME),
            ("type", TYPE),
            ("jsonPath", JSON_PATH),
            ("description", DESCRIPTION),
            ("format", FORMAT),
            ("priority", PRIORITY),
        ] {
            if let Some(v) = json.get(json_key) {
                fields.insert(key, v.clone());
            }
        }
    } else {
        meta.parse_nested_meta(|inner| {
            let name = inner
                .path
                .get_ident()
                .map(|i| i.to_string())
                .unwrap_or_default();
            let Some(key) = PRINTCOLUMN_KEYS.iter().copied().find(|k| *k == name) else {
                errors.spanned(
                    &inner.path,
                    format!(
                        "unknown key `{name}` in printcolumn(...){}",
                        did_you_mean(&name, PRINTCOLUMN_KEYS)
                    ),
                );
                return values::skip(&inner);
            };
            let key = if key == TYPE_ { TYPE } else { key };
            let value = values::json(&values::expr(&inner)?)?;
            fields.insert(key, value);
            Ok(())
        })?;
    }
    let text = |fields: &BTreeMap<&str, serde_json::Value>, key: &str| {
        fields.get(key).and_then(|v| v.as_str()).map(str::to_owned)
    };
    let mut missing = |key: &str| {
        errors.at(span, format!("printcolumn needs `{key}`"));
        String::new()
    };
    let name = text(&fields, NAME).unwrap_or_else(|| missing(NAME));
    let type_ = text(&fields, TYPE).unwrap_or_else(|| missing("type_"));
    let json_path = text(&fields, JSON_PATH).unwrap_or_else(|| missing(JSON_PATH));
    if !type_.is_empty() && !PRINTCOLUMN_TYPES.contains(&type_.as_str()) {
        errors.at(
            span,
            format!(
                "printcolumn type `{type_}` is unknown; expected one of {}",
                PRINTCOLUMN_TYPES.join(", ")
            ),
        );
    }
    let priority = match fields.get(PRIORITY) {
        None => None,
        Some(v) => match v.as_i64().and_then(|p| i32::try_from(p).ok()) {
            Some(p) if p >= 0 => Some(p),
            _ => {
                errors.at(
                    span,
                    "printcolumn `priority` must be a non-negative integer",
                );
                None
            }
        },
    };
    Ok(Column {
        name,
        type_,
        json_path,
        description: text(&fields, DESCRIPTION),
        format: text(&fields, FORMAT),
        priority,
    })
}

pub(super) fn scale(meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> syn::Result<Scale> {
    let span = meta
        .path
        .get_ident()
        .map_or_else(Span::call_site, Ident::span);
    let mut paths: BTreeMap<&'static str, String> = BTreeMap::new();
    if meta.input.peek(syn::Token![=]) {
        let json = values::json_text(meta, SCALE)?;
        for (json_key, key) in [
            ("specReplicasPath", SPEC_REPLICAS_PATH),
            ("statusReplicasPath", STATUS_REPLICAS_PATH),
            ("labelSelectorPath", LABEL_SELECTOR_PATH),
        ] {
            if let Some(v) = json.get(json_key).and_then(|v| v.as_str()) {
                paths.insert(key, v.to_owned());
            }
        }
    } else {
        meta.parse_nested_meta(|inner| {
            let name = inner
                .path
                .get_ident()
                .map(|i| i.to_string())
                .unwrap_or_default();
            let Some(key) = SCALE_KEYS.iter().copied().find(|k| *k == name) else {
                errors.spanned(
                    &inner.path,
                    format!(
                        "unknown key `{name}` in scale(...){}",
                        did_you_mean(&name, SCALE_KEYS)
                    ),
                );
                return values::skip(&inner);
            };
            paths.insert(key, values::string(&inner, key)?.value());
            Ok(())
        })?;
    }
    let mut take = |key: &str| {
        paths.remove(key).unwrap_or_else(|| {
            errors.at(span, format!("scale needs `{key}`"));
            String::new()
        })
    };
    Ok(Scale {
        spec_replicas_path: take(SPEC_REPLICAS_PATH),
        status_replicas_path: take(STATUS_REPLICAS_PATH),
        label_selector_path: paths.remove(LABEL_SELECTOR_PATH),
    })
}
