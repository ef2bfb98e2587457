//! Reading the value of one attribute key, with an error that says which
//! value the key wants.

use serde_json::Value;
use syn::meta::ParseNestedMeta;
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, LitStr, Path, Token, UnOp};

/// The value after `key =`, seen through the invisible groups a
/// `macro_rules!` puts around a `$x:literal` or `$x:expr` it passes on: a
/// key written `kind = $kind` reads the literal the macro was given.
fn value(meta: &ParseNestedMeta<'_>) -> syn::Result<Expr> {
    let expr: Expr = meta.value()?.parse()?;
    Ok(ungroup(expr))
}

/// `expr` without its invisible groups (`Delimiter::None`).
pub(crate) fn ungroup(expr: Expr) -> Expr {
    match expr {
        Expr::Group(group) => ungroup(*group.expr),
        other => other,
    }
}

/// `expr` without its invisible groups, by reference.
pub(crate) fn ungrouped(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(group) => ungrouped(&group.expr),
        other => other,
    }
}

/// `key = "text"`.
pub(crate) fn string(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<LitStr> {
    let expr = value(meta)?;
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` takes a string literal: {key} = \"...\""),
        )),
    }
}

/// `key` alone (true) or `key = true | false`.
pub(crate) fn flag(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<bool> {
    if !meta.input.peek(Token![=]) {
        return Ok(true);
    }
    let expr = value(meta)?;
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Ok(b.value),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` is a flag: write `{key}` or `{key} = false`"),
        )),
    }
}

/// `key = a::Path` or `key = "a::Path"` (kube-derive's spelling).
pub(crate) fn path(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<Path> {
    let expr = value(meta)?;
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => s.parse(),
        Expr::Path(p) => Ok(p.path),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` takes a path: {key} = my::Type or {key} = \"my::Type\""),
        )),
    }
}

/// `key = false` (`Some(None)`), `key = true` or `key` (`None`: the
/// default name), or `key = "Name"` (`Some(Some(Name))`).
pub(crate) fn apply(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<Option<Option<Ident>>> {
    if !meta.input.peek(Token![=]) {
        return Ok(None);
    }
    let expr = value(meta)?;
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Ok((!b.value).then_some(None)),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => match syn::parse_str::<Ident>(&s.value()) {
            Ok(mut ident) => {
                ident.set_span(s.span());
                Ok(Some(Some(ident)))
            }
            Err(_) => Err(syn::Error::new(
                s.span(),
                format!(
                    "`{key}` names a struct: `{}` is not a Rust identifier",
                    s.value()
                ),
            )),
        },
        other => Err(syn::Error::new_spanned(
            other,
            format!(
                "`{key}` takes a struct name or a flag: {key} = \"UserApply\" or {key} = false"
            ),
        )),
    }
}

/// `key = <number>`, integer or decimal, possibly negative.
pub(crate) fn number(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<f64> {
    let expr = value(meta)?;
    match json(&expr) {
        Ok(Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| syn::Error::new_spanned(&expr, format!("`{key}` is out of range"))),
        _ => Err(syn::Error::new_spanned(
            expr,
            format!("`{key}` takes a number: {key} = 1 or {key} = 0.5"),
        )),
    }
}

/// `key = <non-negative integer>`.
pub(crate) fn count(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<i64> {
    let expr = value(meta)?;
    if let Expr::Lit(ExprLit {
        lit: Lit::Int(i), ..
    }) = &expr
        && let Ok(n) = i.base10_parse::<i64>()
    {
        return Ok(n);
    }
    Err(syn::Error::new_spanned(
        expr,
        format!("`{key}` takes a non-negative integer: {key} = 3"),
    ))
}

/// `key = <expression>`, kept as written (typed defaults).
pub(crate) fn expr(meta: &ParseNestedMeta<'_>) -> syn::Result<Expr> {
    meta.value()?.parse()
}

/// `key = "{\"json\": true}"`: a JSON document in a string.
pub(crate) fn json_text(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<Value> {
    let text = string(meta, key)?;
    serde_json::from_str(&text.value())
        .map_err(|e| syn::Error::new(text.span(), format!("`{key}` is not valid JSON: {e}")))
}

/// A literal (string, number, boolean, negative number) or an array of
/// them, as JSON.
pub(crate) fn json(expr: &Expr) -> syn::Result<Value> {
    let unsupported = || {
        syn::Error::new_spanned(
            expr,
            "expected a literal: a string, a number, true/false, or [a list of them]",
        )
    };
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => match lit {
            Lit::Str(s) => Ok(Value::from(s.value())),
            Lit::Bool(b) => Ok(Value::from(b.value)),
            // Beyond i64, as a u64: `-9223372036854775808` is written as
            // the negation of one.
            Lit::Int(i) => i
                .base10_parse::<i64>()
                .map(Value::from)
                .or_else(|_| i.base10_parse::<u64>().map(Value::from))
                .map_err(|_| unsupported()),
            Lit::Float(f) => f
                .base10_parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(unsupported),
            _ => Err(unsupported()),
        },
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr: inner,
            ..
        }) => match json(inner)? {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Ok(Value::from(-i))
                } else if n.as_u64() == Some(i64::MIN.unsigned_abs()) {
                    Ok(Value::from(i64::MIN))
                } else {
                    n.as_f64()
                        .and_then(|f| serde_json::Number::from_f64(-f))
                        .map(Value::Number)
                        .ok_or_else(unsupported)
                }
            }
            _ => Err(unsupported()),
        },
        Expr::Array(array) => array
            .elems
            .iter()
            .map(json)
            .collect::<syn::Result<Vec<_>>>()
            .map(Value::Array),
        Expr::Group(group) => json(&group.expr),
        _ => Err(unsupported()),
    }
}

/// Consumes whatever value an unknown key has (`= expr` or `(...)`), so
/// parsing can go on with the next key.
pub(crate) fn skip(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        let _: Expr = meta.value()?.parse()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<proc_macro2::TokenStream>()?;
    }
    Ok(())
}

/// Consumes `= value` and returns the value as written (for advice that
/// quotes it).
pub(crate) fn skip_to_string(meta: &ParseNestedMeta<'_>) -> syn::Result<String> {
    let expr = value(meta)?;
    Ok(quote::ToTokens::to_token_stream(&expr).to_string())
}

/// `key(a, b, c)`: identifiers.
pub(crate) fn idents(meta: &ParseNestedMeta<'_>) -> syn::Result<Vec<syn::Ident>> {
    let content;
    syn::parenthesized!(content in meta.input);
    let list = content.parse_terminated(syn::Ident::parse_any_ident, Token![,])?;
    Ok(list.into_iter().collect())
}

trait ParseAnyIdent {
    fn parse_any_ident(input: syn::parse::ParseStream<'_>) -> syn::Result<syn::Ident>;
}

impl ParseAnyIdent for syn::Ident {
    fn parse_any_ident(input: syn::parse::ParseStream<'_>) -> syn::Result<syn::Ident> {
        use syn::ext::IdentExt;
        syn::Ident::parse_any(input)
    }
}
