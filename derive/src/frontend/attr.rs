//! `#[crd(...)]` and `#[kube(...)]` attributes to [`Attrs`]: one match over
//! every key, each branch headed by its usage. A key used where it does not
//! belong, an unknown key, a duplicate or a bad value is recorded and parsing
//! goes on.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Expr, Ident, LitStr, Meta, Path, Type};

use super::ctxt::{Errors, did_you_mean};
use super::keys::*;
use super::nested::{map_type, pair, printcolumn, rule, scale};
use super::values;

use crate::model::{Column, DeepCopyMode, Scale, SchemaMode};
use crdforge_schema::{Constraints, ListType, Rule};

/// Where an attribute sits, which decides the keys it may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// On a `#[derive(CustomResource)]` spec struct.
    Resource,
    /// On a `#[derive(KubeSchema)]` struct or enum.
    Type,
    /// On a field.
    Field,
    /// On an enum variant.
    Variant,
    /// Inside `items(...)`.
    Items,
}

impl Place {
    fn allows(self, key: &str) -> bool {
        let value = VALUE_KEYS.contains(&key);
        match self {
            Place::Resource => value || TYPE_KEYS.contains(&key) || RESOURCE_KEYS.contains(&key),
            Place::Type => value || TYPE_KEYS.contains(&key),
            Place::Field => value || FIELD_KEYS.contains(&key),
            Place::Variant => [DESCRIPTION, TITLE].contains(&key),
            Place::Items => value,
        }
    }

    fn known(self) -> Vec<&'static str> {
        [RESOURCE_KEYS, TYPE_KEYS, VALUE_KEYS, FIELD_KEYS]
            .concat()
            .into_iter()
            .filter(|k| self.allows(k))
            .collect()
    }

    fn describe(self) -> &'static str {
        match self {
            Place::Resource => "a CustomResource spec struct",
            Place::Type => "a type deriving KubeSchema",
            Place::Field => "a field",
            Place::Variant => "an enum variant",
            Place::Items => "items(...)",
        }
    }
}

/// Where a key that does not belong here does belong.
fn home(key: &str) -> &'static str {
    if RESOURCE_KEYS.contains(&key) {
        "on the spec struct of #[derive(CustomResource)]"
    } else if TYPE_KEYS.contains(&key) {
        "on a struct or enum"
    } else if FIELD_KEYS.contains(&key) {
        "on a field"
    } else {
        "on a field or a type"
    }
}

/// A group constraint over fields (`exactly_one_of(a, b)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GroupKind {
    /// Exactly one field of the group is set.
    Exactly,
    /// At most one.
    AtMost,
    /// At least one.
    AtLeast,
}

/// Everything one place's attributes said, with the span of each key for
/// the checks that come later.
#[derive(Default)]
pub(crate) struct Attrs {
    /// Value-level constraints.
    pub(crate) constraints: Constraints,
    /// Each key used, with its span, in order.
    pub(crate) spans: Vec<(&'static str, Span)>,
    /// `crate = "..."`.
    pub(crate) krate: Option<Path>,
    /// `exactly_one_of(...)` and friends.
    pub(crate) groups: Vec<(GroupKind, Vec<Ident>, Span)>,
    /// Field: `required`.
    pub(crate) required: bool,
    /// Field: `optional`.
    pub(crate) optional: bool,
    /// Field: `default = expr`.
    pub(crate) default_expr: Option<Expr>,
    /// Field: `immutable` or `immutable = "message"`.
    pub(crate) immutable: Option<Option<String>>,
    /// Field: `allow_float`.
    pub(crate) allow_float: bool,
    /// Field: `schema_with = path`.
    pub(crate) schema_with: Option<Path>,
    /// Field: `schemars`, with the key's span.
    pub(crate) schemars: Option<Span>,
    /// Field: `deep_copy = "clone"`.
    pub(crate) deep_copy: DeepCopyMode,
    /// Type: `apply = false` (`Some(None)`) or `apply = "Name"`.
    pub(crate) apply: Option<Option<Ident>>,
    /// Resource keys.
    pub(crate) resource: ResourceAttrs,
    /// Whether the attribute being read is `#[kube]`: its `validation` keeps
    /// kube-derive's meaning (a rule on the root object, not the spec).
    in_kube: bool,
}

/// The raw resource keys, checked and completed in `frontend::resource`.
#[derive(Default)]
pub(crate) struct ResourceAttrs {
    pub(crate) group: Option<LitStr>,
    pub(crate) version: Option<LitStr>,
    pub(crate) kind: Option<LitStr>,
    pub(crate) root: Option<LitStr>,
    pub(crate) namespaced: Option<bool>,
    pub(crate) plural: Option<LitStr>,
    pub(crate) singular: Option<LitStr>,
    pub(crate) shortnames: Vec<LitStr>,
    pub(crate) categories: Vec<LitStr>,
    pub(crate) status: Option<Type>,
    pub(crate) scale: Option<(Scale, Span)>,
    pub(crate) printcolumns: Vec<(Column, Span)>,
    pub(crate) selectable: Vec<LitStr>,
    pub(crate) derives: Vec<Path>,
    pub(crate) attrs: Vec<Meta>,
    pub(crate) doc: Option<String>,
    pub(crate) annotations: Vec<(String, String)>,
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) storage: Option<bool>,
    pub(crate) served: Option<bool>,
    pub(crate) deprecated: Option<Option<String>>,
    pub(crate) schema_mode: Option<SchemaMode>,
    pub(crate) max_description_length: Option<usize>,
    /// `optional_spec`, with the key's span.
    pub(crate) optional_spec: Option<Span>,
    /// `no_spec`, with the key's span.
    pub(crate) no_spec: Option<Span>,
    /// kube-derive's `#[kube(validation = ...)]`: CEL rules on the root object.
    pub(crate) rules: Vec<Rule>,
}

/// Parses every `#[crd(...)]` (and, on a resource, `#[kube(...)]`) in
/// `attrs` for `place`.
pub(crate) fn parse(attrs: &[Attribute], place: Place, errors: &mut Errors) -> Attrs {
    let mut out = Attrs::default();
    for attr in attrs {
        let ours = attr.path().is_ident("crd")
            || (place == Place::Resource && attr.path().is_ident("kube"));
        if !ours {
            continue;
        }
        out.in_kube = attr.path().is_ident("kube");
        let result = attr.parse_nested_meta(|meta| match key(&meta, place, &mut out, errors) {
            // A bad value that was read whole (`kind = KIND`) is reported
            // and the keys after it are still read, so none of them is
            // reported missing; anything else ends this attribute.
            Err(e) if meta.input.is_empty() || meta.input.peek(syn::Token![,]) => {
                errors.push(e);
                Ok(())
            }
            other => other,
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    out
}

fn key(
    meta: &ParseNestedMeta<'_>,
    place: Place,
    out: &mut Attrs,
    errors: &mut Errors,
) -> syn::Result<()> {
    let name = match meta.path.get_ident() {
        Some(ident) => ident.to_string(),
        None => {
            errors.spanned(&meta.path, "expected a key such as `max_length`");
            return values::skip(meta);
        }
    };
    let name = name.trim_start_matches("r#");
    let all: Vec<&str> = [RESOURCE_KEYS, TYPE_KEYS, VALUE_KEYS, FIELD_KEYS].concat();
    let Some(key) = all.iter().copied().find(|k| *k == name) else {
        errors.spanned(
            &meta.path,
            format!(
                "unknown key `{name}` on {}{}",
                place.describe(),
                did_you_mean(name, &place.known())
            ),
        );
        return values::skip(meta);
    };
    if !place.allows(key) {
        errors.spanned(
            &meta.path,
            format!(
                "`{key}` cannot be used on {}; it belongs {}",
                place.describe(),
                home(key)
            ),
        );
        return values::skip(meta);
    }
    let span = meta
        .path
        .get_ident()
        .map_or_else(Span::call_site, Ident::span);
    let repeatable = [
        SHORTNAME,
        CATEGORY,
        PRINTCOLUMN,
        SELECTABLE,
        DERIVE,
        ATTR,
        ANNOTATION,
        LABEL,
        VALIDATION,
        LIST_MAP_KEY,
        EXACTLY_ONE_OF,
        AT_MOST_ONE_OF,
        AT_LEAST_ONE_OF,
    ];
    if !repeatable.contains(&key) && out.spans.iter().any(|(k, _)| *k == key) {
        errors.at(span, format!("duplicate key `{key}`"));
        return values::skip(meta);
    }
    out.spans.push((key, span));
    let c = &mut out.constraints;
    let r = &mut out.resource;
    match key {
        // #[kube(group = "example.com")]
        GROUP => r.group = Some(values::string(meta, key)?),
        // #[kube(version = "v1")]
        VERSION => r.version = Some(values::string(meta, key)?),
        // #[kube(kind = "User")]
        KIND => r.kind = Some(values::string(meta, key)?),
        // #[kube(root = "UserResource")]
        ROOT => r.root = Some(values::string(meta, key)?),
        // #[kube(namespaced)]
        NAMESPACED => r.namespaced = Some(values::flag(meta, key)?),
        // #[crd(scope = "Cluster")]
        SCOPE => {
            let s = values::string(meta, key)?;
            match s.value().as_str() {
                "Namespaced" => r.namespaced = Some(true),
                "Cluster" => r.namespaced = Some(false),
                other => errors.at(
                    s.span(),
                    format!("unknown scope `{other}`; expected \"Namespaced\" or \"Cluster\""),
                ),
            }
        }
        // #[kube(plural = "users")]
        PLURAL => r.plural = Some(values::string(meta, key)?),
        // #[kube(singular = "user")]
        SINGULAR => r.singular = Some(values::string(meta, key)?),
        // #[kube(shortname = "usr")]
        SHORTNAME => r.shortnames.push(values::string(meta, key)?),
        // #[kube(category = "all")]
        CATEGORY => r.categories.push(values::string(meta, key)?),
        // #[kube(status = "UserStatus")]
        STATUS => {
            let path = values::path(meta, key)?;
            r.status = Some(syn::parse_quote!(#path));
        }
        // #[kube(scale(spec_replicas_path = ".spec.replicas", status_replicas_path = ".status.replicas"))]
        // #[kube(scale = r#"{"specReplicasPath": ".spec.replicas", ...}"#)]
        SCALE => r.scale = Some((scale(meta, errors)?, span)),
        // #[kube(printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"))]
        // #[kube(printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": "..."}"#)]
        PRINTCOLUMN => r.printcolumns.push((printcolumn(meta, errors)?, span)),
        // #[kube(selectable = ".spec.owner")]
        SELECTABLE => r.selectable.push(values::string(meta, key)?),
        // #[kube(derive = "PartialEq")]
        DERIVE => r.derives.push(values::path(meta, key)?),
        // #[kube(attr = "allow(deprecated)")]
        ATTR => {
            let s = values::string(meta, key)?;
            let parsed: Meta = s.parse()?;
            if ["derive", "serde"]
                .iter()
                .any(|n| parsed.path().is_ident(n))
            {
                errors.at(
                    s.span(),
                    "`attr` cannot add derives or serde attributes to the root; use `derive = \"...\"`",
                );
            } else {
                r.attrs.push(parsed);
            }
        }
        // #[kube(doc = "A user of the system.")]
        DOC => r.doc = Some(values::string(meta, key)?.value()),
        // #[kube(annotation("example.com/owner", "team-a"))]
        ANNOTATION => r.annotations.push(pair(meta)?),
        // #[kube(label("app", "users"))]
        LABEL => r.labels.push(pair(meta)?),
        // #[kube(storage = false)]
        STORAGE => r.storage = Some(values::flag(meta, key)?),
        // #[kube(served = false)]
        SERVED => r.served = Some(values::flag(meta, key)?),
        // #[kube(deprecated)] or #[kube(deprecated = "use v2")]
        DEPRECATED => {
            r.deprecated = Some(if meta.input.peek(syn::Token![=]) {
                Some(values::string(meta, key)?.value())
            } else {
                None
            })
        }
        // #[kube(schema = "manual")]
        SCHEMA => {
            let s = values::string(meta, key)?;
            r.schema_mode = match s.value().as_str() {
                "derived" => Some(SchemaMode::Derived),
                "manual" => Some(SchemaMode::Manual),
                "disabled" => Some(SchemaMode::Disabled),
                other => {
                    errors.at(
                        s.span(),
                        format!("unknown schema mode `{other}`; expected \"derived\", \"manual\" or \"disabled\""),
                    );
                    None
                }
            }
        }
        // #[crd(max_description_length = 200)]
        MAX_DESCRIPTION_LENGTH => {
            r.max_description_length = Some(values::count(meta, key)? as usize)
        }
        // #[crd(optional_spec)]
        OPTIONAL_SPEC => {
            if values::flag(meta, key)? {
                r.optional_spec = Some(span);
            }
        }
        // #[kube(no_spec)]
        NO_SPEC => {
            if values::flag(meta, key)? {
                r.no_spec = Some(span);
            }
        }
        // #[kube(crates(kube_core = ...))] is kube-derive's; crdforge has one path.
        CRATES => {
            errors.at(
                span,
                "`crates(...)` is kube-derive's; crdforge reaches kube-core, k8s-openapi and serde \
                 through its own crate: use #[crd(crate = \"path::to::crdforge\")]",
            );
            values::skip(meta)?;
        }
        // #[kube(cel)] generates client-side CEL checks in kube-derive.
        CEL => {
            errors.at(
                span,
                "`cel` (client-side CEL validation) is not supported; the apiserver evaluates \
                 `validation(...)` rules",
            );
            values::skip(meta)?;
        }
        // #[crd(crate = "::my_reexport::crdforge")]
        CRATE => out.krate = Some(values::path(meta, key)?),
        // #[crd(exactly_one_of(tcp, http))]
        EXACTLY_ONE_OF => out
            .groups
            .push((GroupKind::Exactly, values::idents(meta)?, span)),
        // #[crd(at_most_one_of(tcp, http))]
        AT_MOST_ONE_OF => out
            .groups
            .push((GroupKind::AtMost, values::idents(meta)?, span)),
        // #[crd(at_least_one_of(tcp, http))]
        AT_LEAST_ONE_OF => out
            .groups
            .push((GroupKind::AtLeast, values::idents(meta)?, span)),
        // #[crd(apply = false)] or #[crd(apply = "UserApplyConfiguration")]
        APPLY => out.apply = values::apply(meta, key)?,
        // #[crd(minimum = 1)]
        MINIMUM => c.minimum = Some(values::number(meta, key)?),
        // #[crd(maximum = 65535)]
        MAXIMUM => c.maximum = Some(values::number(meta, key)?),
        // #[crd(minimum = 0, exclusive_minimum)]
        EXCLUSIVE_MINIMUM => c.exclusive_minimum = values::flag(meta, key)?,
        // #[crd(maximum = 1, exclusive_maximum)]
        EXCLUSIVE_MAXIMUM => c.exclusive_maximum = values::flag(meta, key)?,
        // #[crd(multiple_of = 2)]
        MULTIPLE_OF => {
            let n = values::number(meta, key)?;
            if n <= 0.0 {
                errors.at(span, "`multiple_of` must be greater than 0");
            }
            c.multiple_of = Some(n);
        }
        // #[crd(min_length = 1)]
        MIN_LENGTH => c.min_length = Some(values::count(meta, key)?),
        // #[crd(max_length = 63)]
        MAX_LENGTH => c.max_length = Some(values::count(meta, key)?),
        // #[crd(pattern = "^[a-z]+$")]
        PATTERN => c.pattern = Some(values::string(meta, key)?.value()),
        // #[crd(enum = ["a", "b"])]
        ENUM => {
            let e = values::expr(meta)?;
            match values::json(&e)? {
                serde_json::Value::Array(items) if !items.is_empty() => c.enum_ = items,
                _ => errors.spanned(&e, "`enum` takes a non-empty list: enum = [\"a\", \"b\"]"),
            }
        }
        // #[crd(format = "date-time")]
        FORMAT => {
            let s = values::string(meta, key)?;
            if s.value().is_empty() {
                errors.at(
                    s.span(),
                    "`format = \"\"` would write an empty format; to write an integer without \
                     a format (Go's `int`), use #[crd(no_format)]",
                );
            } else {
                c.format = Some(s.value());
            }
        }
        // #[crd(no_format)]
        NO_FORMAT => c.no_format = values::flag(meta, key)?,
        // #[crd(min_items = 1)]
        MIN_ITEMS => c.min_items = Some(values::count(meta, key)?),
        // #[crd(max_items = 10)]
        MAX_ITEMS => c.max_items = Some(values::count(meta, key)?),
        // #[crd(unique_items)]
        UNIQUE_ITEMS => c.unique_items = values::flag(meta, key)?,
        // #[crd(min_properties = 1)]
        MIN_PROPERTIES => c.min_properties = Some(values::count(meta, key)?),
        // #[crd(max_properties = 5)]
        MAX_PROPERTIES => c.max_properties = Some(values::count(meta, key)?),
        // #[crd(items(max_length = 10, pattern = "^[a-z]+$"))]
        ITEMS => {
            let mut inner = Attrs::default();
            meta.parse_nested_meta(|nested| self::key(&nested, Place::Items, &mut inner, errors))?;
            out.constraints.items = Some(Box::new(inner.constraints));
        }
        // #[crd(nullable)]
        NULLABLE => c.nullable = values::flag(meta, key)?,
        // #[crd(default_json = r#"{"a": 1}"#)]
        DEFAULT_JSON => c.default = Some(values::json_text(meta, key)?),
        // #[crd(example = "alice")]
        EXAMPLE => c.example = Some(values::json(&values::expr(meta)?)?),
        // #[crd(example_json = r#"{"a": 1}"#)]
        EXAMPLE_JSON => c.example = Some(values::json_text(meta, key)?),
        // #[crd(title = "Replicas")]
        TITLE => c.title = Some(values::string(meta, key)?.value()),
        // #[crd(description = "Overrides the doc comment.")]
        DESCRIPTION => c.description = Some(values::string(meta, key)?.value()),
        // #[crd(schemaless)]
        SCHEMALESS => c.schemaless = values::flag(meta, key)?,
        // #[crd(embedded_resource)]
        EMBEDDED_RESOURCE => c.embedded_resource = values::flag(meta, key)?,
        // #[crd(preserve_unknown_fields)]
        PRESERVE_UNKNOWN_FIELDS => c.preserve_unknown_fields = values::flag(meta, key)?,
        // #[crd(int_or_string)]
        INT_OR_STRING => c.int_or_string = values::flag(meta, key)?,
        // #[crd(list_type = "map")]
        LIST_TYPE => {
            let s = values::string(meta, key)?;
            c.list_type = match s.value().as_str() {
                "atomic" => Some(ListType::Atomic),
                "set" => Some(ListType::Set),
                "map" => Some(ListType::Map),
                other => {
                    errors.at(
                        s.span(),
                        format!(
                            "unknown list_type `{other}`; expected \"atomic\", \"set\" or \"map\""
                        ),
                    );
                    None
                }
            }
        }
        // #[crd(list_map_key = "name")]
        LIST_MAP_KEY => c.list_map_keys.push(values::string(meta, key)?.value()),
        // #[crd(map_type = "atomic")]
        MAP_TYPE => c.map_type = map_type(meta, key, errors)?,
        // #[crd(struct_type = "atomic")]
        STRUCT_TYPE => c.struct_type = map_type(meta, key, errors)?,
        // #[crd(validation = "self.a <= self.b")]
        // #[crd(validation(rule = "self.a <= self.b", message = "a exceeds b", reason = "FieldValueInvalid"))]
        VALIDATION => {
            if let Some(rule) = rule(meta, errors)? {
                if out.in_kube {
                    r.rules.push(rule);
                } else {
                    c.validations.push(rule);
                }
            }
        }
        // #[crd(required)]
        REQUIRED => out.required = values::flag(meta, key)?,
        // #[crd(optional)]
        OPTIONAL => out.optional = values::flag(meta, key)?,
        // #[crd(default = 3)] — any expression of the field's type
        DEFAULT => out.default_expr = Some(values::expr(meta)?),
        // #[crd(immutable)] or #[crd(immutable = "the name cannot change")]
        IMMUTABLE => {
            out.immutable = Some(if meta.input.peek(syn::Token![=]) {
                Some(values::string(meta, key)?.value())
            } else {
                None
            })
        }
        // #[crd(allow_float)]
        ALLOW_FLOAT => out.allow_float = values::flag(meta, key)?,
        // #[crd(schema_with = my_schema)] where fn my_schema(&mut Context) -> Schema
        SCHEMA_WITH => out.schema_with = Some(values::path(meta, key)?),
        // #[crd(schemars)]: the field's type describes itself with
        // schemars::JsonSchema (a kube-derive user's nested types)
        SCHEMARS => {
            if values::flag(meta, key)? {
                out.schemars = Some(span);
            }
        }
        // #[crd(deep_copy = "clone")] — copy a foreign type without DeepCopy by Clone::clone_from
        DEEP_COPY => {
            let s = values::string(meta, key)?;
            out.deep_copy = match s.value().as_str() {
                "deep" => DeepCopyMode::Deep,
                "clone" => DeepCopyMode::Clone,
                other => {
                    errors.at(
                        s.span(),
                        format!(
                            "unknown deep_copy mode `{other}`; expected {}",
                            DEEP_COPY_MODES
                                .iter()
                                .map(|m| format!("\"{m}\""))
                                .collect::<Vec<_>>()
                                .join(" or ")
                        ),
                    );
                    DeepCopyMode::Deep
                }
            };
        }
        _ => unreachable_key(key, errors, span),
    }
    Ok(())
}

/// Every constant in the key lists has a branch above; this reports the
/// gap as a compile error rather than panicking should one be added without.
fn unreachable_key(key: &str, errors: &mut Errors, span: Span) {
    errors.at(span, format!("internal: key `{key}` has no parser"));
}
