//! Cross-cutting rules the front end enforces at compile time, one function
//! per rule. Each states the rule it enforces and reports at the span of
//! the key or field at fault. What needs the full schema of other types is
//! checked at run time by `validate` instead.

use proc_macro2::Span;
use syn::{GenericArgument, PathArguments, Type};

use super::attr::Attrs;
use super::ctxt::Errors;
use super::keys::*;

/// The JSON shape of a type, when its syntax alone tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    String,
    Integer,
    Float,
    Boolean,
    List,
    Map,
    /// A user type, an alias, a generic parameter: only run time knows.
    Unknown,
}

/// The last path segment of a type and its generic arguments.
fn last_segment(ty: &Type) -> Option<(String, Vec<&Type>)> {
    match ty {
        Type::Path(p) if p.qself.is_none() => {
            let seg = p.path.segments.last()?;
            let args = match &seg.arguments {
                PathArguments::AngleBracketed(a) => a
                    .args
                    .iter()
                    .filter_map(|arg| match arg {
                        GenericArgument::Type(t) => Some(t),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            Some((seg.ident.to_string(), args))
        }
        Type::Reference(r) => last_segment(&r.elem),
        Type::Group(g) => last_segment(&g.elem),
        Type::Paren(p) => last_segment(&p.elem),
        _ => None,
    }
}

/// `Option<T>` → `T` (also through `Box`), else `None`.
pub(crate) fn option_inner(ty: &Type) -> Option<&Type> {
    match last_segment(ty)? {
        (name, args) if name == "Option" && args.len() == 1 => Some(args[0]),
        _ => None,
    }
}

/// Whether `ty` is `Option<Option<T>>`.
pub(crate) fn is_double_option(ty: &Type) -> bool {
    option_inner(ty).and_then(option_inner).is_some()
}

/// Rule: an `Option<Option<T>>` field exists to tell `null` (`Some(None)`)
/// from absent (`None`), and its schema is `nullable`, so the apiserver
/// keeps the null; but serde's derive reads `null` as `None`, so the
/// stored `Some(None)` would come back as `None`. The field must be read
/// by a `double_option` module, with `default` (absent is `None`) and
/// `skip_serializing_if` (`None` is written as absent, not as `null`).
/// A field whose schema the user gives (`schema_with`, `schemaless`) or
/// that another serde function writes (reported by its own rule) is left
/// alone.
pub(crate) fn double_options_keep_null(
    ty: &Type,
    attrs: &Attrs,
    serde: &super::serde_attr::FieldSerde,
    serde_default: bool,
    field: &str,
    errors: &mut Errors,
) {
    if !is_double_option(ty)
        || attrs.schema_with.is_some()
        || attrs.schemars.is_some()
        || attrs.constraints.schemaless
        || (serde.with.is_some() && !serde.double_option)
    {
        return;
    }
    const WAY_OUT: &str = "#[serde(default, skip_serializing_if = \"Option::is_none\", \
                           with = \"crdforge::serde_helpers::double_option\")]";
    if !serde.double_option {
        errors.spanned(
            ty,
            format!(
                "field `{field}` is an `Option<Option<_>>`, but serde reads `null` as `None`, so \
                 the `Some(None)` the apiserver keeps (a null) would come back as `None`; read \
                 it with {WAY_OUT}, or make it an `Option<_>` if null and absent mean the same"
            ),
        );
        return;
    }
    let missing: Vec<&str> = [
        ("default", serde_default),
        (
            "skip_serializing_if = \"Option::is_none\"",
            serde.skip_serializing_if,
        ),
    ]
    .into_iter()
    .filter(|(_, there)| !there)
    .map(|(key, _)| key)
    .collect();
    if !missing.is_empty() {
        errors.spanned(
            ty,
            format!(
                "field `{field}` reads `null` as `Some(None)` but also needs #[serde({})]: \
                 without `default` an absent field fails to deserialize, without \
                 `skip_serializing_if` `None` is written as `null` and comes back as \
                 `Some(None)`; write {WAY_OUT}",
                missing.join(", ")
            ),
        );
    }
}

/// Rule: a flattened map beside a struct's fields is a catch-all, and the
/// schema can only keep unknown fields of any JSON type there
/// (`x-kubernetes-preserve-unknown-fields`): no structural schema says
/// "the other fields are strings" beside `properties`. A map whose values
/// are not `serde_json::Value` would have the apiserver store `{"x": 1}`
/// that serde then cannot read. Such a field is an error at the value
/// type, pointing to `Value` values or a named map field. A value type
/// only run time knows (an alias) is caught when the schema is built.
pub(crate) fn flattened_maps_hold_any_value(
    ty: &Type,
    attrs: &Attrs,
    flatten: bool,
    field: &str,
    errors: &mut Errors,
) {
    if !flatten || attrs.schema_with.is_some() || attrs.constraints.schemaless {
        return;
    }
    let Some((name, args)) = last_segment(ty) else {
        return;
    };
    if !matches!(name.as_str(), "BTreeMap" | "HashMap" | "IndexMap") {
        return;
    }
    let Some(value) = args.get(1) else {
        return;
    };
    if last_segment(value).is_some_and(|(v, _)| v == "Value") {
        return;
    }
    let value_type = quote::ToTokens::to_token_stream(value)
        .to_string()
        .replace(' ', "");
    errors.spanned(
        value,
        format!(
            "field `{field}` flattens a map of `{value_type}` into its struct: the apiserver keeps \
             the struct's unknown fields whatever their JSON type (a structural schema cannot say \
             they are `{value_type}`s), so `{{\"x\": null}}` would be stored and fail to \
             deserialize; flatten a `BTreeMap<String, serde_json::Value>` (and check the values \
             in code), or make it a named field `{field}: BTreeMap<String, {value_type}>`"
        ),
    );
}

/// Whether a flattened field's type is a catch-all that reads every
/// unknown field (a map of `Value`s, `serde_json::Map`, `Value`): `Some`
/// when syntax tells, `None` for a type only run time knows (a struct that
/// may hold a catch-all of its own).
fn catch_all(ty: &Type) -> Option<bool> {
    let (name, args) = last_segment(ty)?;
    match (name.as_str(), args.as_slice()) {
        ("Option" | "Box", [inner]) => catch_all(inner),
        ("Value" | "Map", _) => Some(true),
        ("BTreeMap" | "HashMap" | "IndexMap", [_, value]) => {
            Some(last_segment(value).is_some_and(|(v, _)| v == "Value"))
        }
        _ if shape(ty) != Shape::Unknown => Some(false),
        _ => None,
    }
}

/// Rule: serde hands a flattened catch-all every field not read before it,
/// and reads flattened fields in order, so a catch-all declared before
/// another flattened field also receives that field's keys: the value read
/// holds them twice, and the next write sends both. The catch-all must
/// come last; an error at it names the field after it. A catch-all inside
/// a flattened struct is judged when the schema is built.
pub(crate) fn catch_all_comes_last(fields: &[crate::model::Field], errors: &mut Errors) {
    let flattened: Vec<&crate::model::Field> = fields.iter().filter(|f| f.flatten).collect();
    for (i, f) in flattened.iter().enumerate() {
        if catch_all(&f.ty) != Some(true) {
            continue;
        }
        if let Some(later) = flattened.get(i + 1) {
            errors.at(
                f.span,
                format!(
                    "the catch-all `{}` is flattened before `{}`: serde gives a catch-all every \
                     field not read yet, so it would also hold the fields of `{}`, and the object \
                     would be written with them twice; declare the catch-all after every other \
                     flattened field",
                    f.rust_name(),
                    later.rust_name(),
                    later.rust_name()
                ),
            );
            return;
        }
    }
}

/// Whether a flattened field's type is, by syntax, a catch-all.
/// How an internally tagged newtype variant's type sits beside the tag:
/// `Ok` for a struct (or a type only run time knows) and for a map of any
/// JSON, whose entries serde writes beside the tag and reads back without
/// it; otherwise the error's message.
pub(crate) fn internally_tagged_newtype(ty: &Type) -> Result<(), &'static str> {
    let name = last_segment(ty).map(|(n, _)| n);
    match name.as_deref() {
        Some("Value") => Err(
            "a variant of an internally tagged enum must carry a struct, so the tag can sit \
             among its fields; serde writes a `serde_json::Value` beside the tag only when it \
             is an object, and fails on any other: carry a `BTreeMap<String, \
             serde_json::Value>`, or give the variant named fields and a catch-all \
             (`#[serde(flatten)] rest: BTreeMap<String, serde_json::Value>`)",
        ),
        Some("BTreeMap" | "HashMap" | "IndexMap" | "Map") if is_catch_all(ty) => Ok(()),
        _ if shape(ty) == Shape::Map => Err(
            "a variant of an internally tagged enum must carry a struct, so the tag can sit \
             among its fields; a map of typed values would sit beside the tag, where the \
             apiserver cannot keep its values typed: carry a struct, or a map of \
             `serde_json::Value`",
        ),
        _ if shape(ty) != Shape::Unknown => Err(
            "a variant of an internally tagged enum must carry a struct, so the tag can sit \
             among its fields",
        ),
        _ => Ok(()),
    }
}

pub(crate) fn is_catch_all(ty: &Type) -> bool {
    catch_all(ty) == Some(true)
}

/// Whether fields keep unknown fields on read: `Some(false)` when no
/// flattened field can be a catch-all, `None` when one might be.
fn fields_keep_unknown(fields: &[crate::model::Field]) -> Option<bool> {
    let mut verdict = Some(false);
    for f in fields.iter().filter(|f| f.flatten) {
        match catch_all(&f.ty) {
            Some(true) => return Some(true),
            Some(false) => {}
            None => verdict = None,
        }
    }
    verdict
}

/// Rule: `preserve_unknown_fields` on a type makes the apiserver keep the
/// fields its schema does not name, but serde's derive drops them (or, for
/// an externally tagged enum, refuses them) when it reads the object, so a
/// read-modify-write loses what another client stored. A struct keeps them
/// only through a flattened catch-all (`#[serde(flatten)] extra:
/// BTreeMap<String, Value>`), which makes the schema keep unknown fields by
/// itself. The attribute is an error at the key wherever syntax shows that
/// no field can catch them; a flattened field of a struct type (which may
/// hold a catch-all) is judged when the schema is built, as is the
/// attribute on a field (`Constraints::apply`).
pub(crate) fn preserved_fields_are_read(
    attrs: &Attrs,
    body: &crate::model::Body,
    errors: &mut Errors,
) {
    use crate::model::{Body, Tagging, VariantShape};
    if !attrs.constraints.preserve_unknown_fields || attrs.constraints.schemaless {
        return;
    }
    const WAY_OUT: &str = "add a catch-all field `#[serde(flatten)] extra: \
                           BTreeMap<String, serde_json::Value>` (which keeps unknown fields by \
                           itself: drop `preserve_unknown_fields`), or make the value a \
                           `serde_json::Value`";
    let dropper: Option<String> = match body {
        Body::Struct(fields) => (fields_keep_unknown(fields) == Some(false)).then(|| {
            "this struct has no catch-all field, so serde drops them when it reads the object"
                .to_owned()
        }),
        Body::Transparent(_) => None,
        Body::Enum { tagging, variants } => {
            let data = variants
                .iter()
                .any(|v| !matches!(v.shape, VariantShape::Unit));
            let tagged = matches!(tagging, Tagging::Internal(_) | Tagging::Adjacent(..));
            if *tagging == Tagging::External && data {
                Some(
                    "serde reads an externally tagged enum as one key and refuses the others"
                        .to_owned(),
                )
            } else {
                variants.iter().find_map(|v| {
                    let drops = match &v.shape {
                        VariantShape::Unit => tagged,
                        VariantShape::Struct(fields) => fields_keep_unknown(fields) == Some(false),
                        VariantShape::Newtype(_) => false,
                    };
                    drops.then(|| {
                        format!(
                            "variant `{}` has no catch-all field, so serde drops them when it reads the object",
                            v.ident
                        )
                    })
                })
            }
        }
    };
    if let Some(why) = dropper {
        errors.at(
            span_of(attrs, PRESERVE_UNKNOWN_FIELDS),
            format!(
                "`preserve_unknown_fields` makes the apiserver keep fields the schema does not \
                 name, but {why}: writing it back loses them; {WAY_OUT}"
            ),
        );
    }
}

/// The shape of `ty` after looking through `Option` and `Box`.
pub(crate) fn shape(ty: &Type) -> Shape {
    let Some((name, args)) = last_segment(ty) else {
        return Shape::Unknown;
    };
    match (name.as_str(), args.as_slice()) {
        ("Option" | "Box" | "Arc" | "Rc", [inner]) => shape(inner),
        ("String" | "str" | "Cow" | "char", _) => Shape::String,
        (
            "i8" | "i16" | "i32" | "i64" | "i128" | "u8" | "u16" | "u32" | "u64" | "u128" | "isize"
            | "usize",
            _,
        ) => Shape::Integer,
        (name, []) if name.starts_with("NonZero") => Shape::Integer,
        ("f32" | "f64", _) => Shape::Float,
        ("bool", _) => Shape::Boolean,
        ("Vec" | "VecDeque" | "BTreeSet" | "HashSet", _) => Shape::List,
        ("BTreeMap" | "HashMap", _) => Shape::Map,
        _ => Shape::Unknown,
    }
}

/// Rule: floats do not survive JSON round trips exactly and differ between
/// languages; like controller-gen (`allowDangerousTypes`), a float anywhere
/// in a field's type needs an explicit `#[crd(allow_float)]`.
pub(crate) fn floats_need_opt_in(ty: &Type, attrs: &Attrs, field: &str, errors: &mut Errors) {
    if attrs.allow_float
        || attrs.schema_with.is_some()
        || attrs.schemars.is_some()
        || attrs.constraints.schemaless
    {
        return;
    }
    if let Some(float) = find_float(ty) {
        errors.spanned(
            float,
            format!(
                "field `{field}` is a float; floats do not round-trip exactly through JSON, \
                 so crdforge (like controller-gen) needs #[crd(allow_float)] on the field"
            ),
        );
    }
}

/// Rule: JSON object keys are strings, so a map field's keys must be. A
/// `BTreeMap<u16, _>` would be written with keys like `"80"`, but the
/// apiserver cannot check that a stored key reads back as a `u16` ("080",
/// "http"), and then the object no longer deserializes. Like controller-gen,
/// which refuses non-string map keys, say so at the key type. A key type
/// only run time knows (an alias, a newtype) is left to the trait bound.
pub(crate) fn map_keys_are_strings(ty: &Type, attrs: &Attrs, field: &str, errors: &mut Errors) {
    if attrs.schema_with.is_some() || attrs.schemars.is_some() || attrs.constraints.schemaless {
        return;
    }
    if let Some(key) = find_non_string_key(ty) {
        errors.spanned(
            key,
            format!(
                "field `{field}` is a map with `{}` keys; Kubernetes objects are JSON, whose keys \
                 are strings, and the apiserver cannot check that a stored key reads back as this \
                 type: use `String` keys (and parse them), or a list of entries with \
                 #[crd(list_type = \"map\", list_map_key = \"...\")]",
                quote::ToTokens::to_token_stream(key)
                    .to_string()
                    .replace(' ', "")
            ),
        );
    }
}

fn find_non_string_key(ty: &Type) -> Option<&Type> {
    let (name, args) = last_segment(ty)?;
    if matches!(name.as_str(), "BTreeMap" | "HashMap" | "IndexMap")
        && let Some(key) = args.first()
        && !matches!(shape(key), Shape::String | Shape::Unknown)
    {
        return Some(key);
    }
    args.into_iter().find_map(find_non_string_key)
}

fn find_float(ty: &Type) -> Option<&Type> {
    let (name, args) = last_segment(ty)?;
    if name == "f32" || name == "f64" {
        return Some(ty);
    }
    args.into_iter().find_map(find_float)
}

/// The largest float64 below 2^63: the widest integer bound the apiserver
/// accepts.
pub(crate) const INT64_BOUND: f64 = 9_223_372_036_854_774_784.0;

/// Integer types whose values go beyond int64 on one side or the other.
const WIDE_INTEGERS: &[&str] = &[
    "u64",
    "usize",
    "u128",
    "i128",
    "NonZeroU64",
    "NonZeroUsize",
    "NonZeroU128",
    "NonZeroI128",
];

/// The first integer type in `ty` whose values go beyond int64, and whether
/// it sits inside a list or map rather than at the field (through `Option`
/// and `Box`).
fn find_wide(ty: &Type, nested: bool) -> Option<(&Type, String, bool)> {
    // `[u64; 2]`: its items (found by the round-trip property).
    if let Type::Array(array) = ty {
        return find_wide(&array.elem, true);
    }
    let (name, args) = last_segment(ty)?;
    if WIDE_INTEGERS.contains(&name.as_str()) {
        return Some((ty, name, nested));
    }
    let nested = nested || !matches!(name.as_str(), "Option" | "Box" | "Arc" | "Rc");
    args.into_iter().find_map(|t| find_wide(t, nested))
}

/// The first tuple, `std::time::Duration` or `std::net` address type in
/// `ty` (through containers and generic arguments), with what it is and
/// whether it was named bare (`Duration` rather than `std::time::Duration`).
fn find_unschemed(ty: &Type) -> Option<(&Type, &'static str, bool)> {
    match ty {
        Type::Tuple(t) if !t.elems.is_empty() => Some((ty, "tuple", false)),
        Type::Tuple(_) => Some((ty, "unit", false)),
        Type::Array(a) => find_unschemed(&a.elem),
        Type::Path(p) if p.qself.is_none() => {
            let names: Vec<String> = p
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            // The derive sees names, not types: a bare name is taken for the
            // std type it is almost always imported as; any other path
            // (`crate::Duration`, `self::Duration`) is the user's own.
            let bare = names.len() == 1 && p.path.leading_colon.is_none();
            let qualified = |module: &str| names.len() >= 2 && names[names.len() - 2] == module;
            let last = names.last()?.as_str();
            if last == "Duration" && (bare || qualified("time")) {
                return Some((ty, "duration", bare));
            }
            if ADDRESSES.contains(&last) && (bare || qualified("net")) {
                return Some((ty, "address", bare));
            }
            let (_, args) = last_segment(ty)?;
            args.into_iter().find_map(find_unschemed)
        }
        _ => None,
    }
}

/// The `std::net` address types.
const ADDRESSES: [&str; 6] = [
    "IpAddr",
    "Ipv4Addr",
    "Ipv6Addr",
    "SocketAddr",
    "SocketAddrV4",
    "SocketAddrV6",
];

/// Rule: a tuple, a `std::time::Duration` and a `std::net` address have no
/// schema that holds exactly what serde writes: a tuple is an array of mixed
/// types (no structural schema has one), a duration is `{secs, nanos}` with
/// a `u64` the apiserver cannot hold beyond int64, and an address is a
/// string the apiserver's parser and Rust's read differently. Each is an
/// error at the type with the way out, where the trait's own error would
/// name only `#[derive(KubeSchema)]`. The derive sees only names, so a bare
/// `Duration` or `IpAddr` (as `use std::time::Duration` leaves it) is judged
/// like the `std::` path; a type of the user's own by that name opts in by
/// being named through a path (`self::Duration`, `crate::units::Duration`),
/// which the message says.
pub(crate) fn types_with_a_schema(ty: &Type, attrs: &Attrs, field: &str, errors: &mut Errors) {
    if attrs.schema_with.is_some() || attrs.schemars.is_some() || attrs.constraints.schemaless {
        return;
    }
    let Some((at, what, bare)) = find_unschemed(ty) else {
        return;
    };
    let own = if bare {
        let name = quote::ToTokens::to_token_stream(at)
            .to_string()
            .replace(' ', "");
        format!(
            "; if `{name}` is a type of your own with a schema, name it by its path \
             (`self::{name}`, `crate::…::{name}`) to use it"
        )
    } else {
        String::new()
    };
    let message = match what {
        "tuple" => format!(
            "field `{field}` holds a tuple, which serde writes as an array of mixed types that \
             no structural schema can hold; use a struct with named fields, or `[T; N]` when \
             the items share a type"
        ),
        "unit" => format!(
            "field `{field}` holds `()`, which serde writes as null, and a structural schema \
             has no type that holds only null; remove the field, or keep it out of the object \
             with #[serde(skip)]"
        ),
        "duration" => format!(
            "field `{field}` holds a `std::time::Duration`, which serde writes as `{{\"secs\": \
             u64, \"nanos\": u32}}` with seconds beyond what the apiserver's int64 holds; store \
             a `String` in Kubernetes' duration form (\"90s\"), or describe a serde `with` \
             module's shape with #[crd(schema_with = path)]"
        ),
        _ => format!(
            "field `{field}` holds a `std::net` address, a string the apiserver's address \
             parser and Rust's read differently, so no schema admits exactly what serde reads; \
             store a `String` with #[crd(validation(rule = \"isIP(self)\"))] (or `isCIDR`), \
             or describe it with #[crd(schema_with = path)]"
        ),
    };
    errors.spanned(at, message + &own);
}

/// Rule: the apiserver keeps every integer as an int64, so a `u64`, `usize`,
/// `u128` or `i128` value beyond int64's range is refused (or read back
/// changed) though the type admits it. Such a field must state the range it
/// takes (`maximum`, and `minimum` for the signed 128-bit types) within
/// int64's, or describe itself some other way; the schema then matches the
/// field exactly.
pub(crate) fn wide_integers_need_a_range(
    ty: &Type,
    attrs: &Attrs,
    field: &str,
    errors: &mut Errors,
) {
    if attrs.schema_with.is_some()
        || attrs.schemars.is_some()
        || attrs.constraints.schemaless
        || attrs.constraints.int_or_string
    {
        return;
    }
    let Some((wide, name, nested)) = find_wide(ty, false) else {
        return;
    };
    // The apiserver holds bounds as float64 and refuses one that is not an
    // int64 (2^63, which `i64::MAX as f64` rounds to, is not): the widest
    // bound it takes is the largest float64 below 2^63.
    const MAX: f64 = INT64_BOUND;
    const MIN: f64 = -INT64_BOUND;
    let c = if nested {
        attrs.constraints.items.as_deref()
    } else {
        Some(&attrs.constraints)
    };
    let signed = name.contains('I') || name.starts_with('i');
    let fits = c.is_some_and(|c| {
        c.maximum.is_some_and(|m| m <= MAX) && (!signed || c.minimum.is_some_and(|m| m >= MIN))
    });
    if fits {
        return;
    }
    let bound = if signed {
        "minimum = -9223372036854774784, maximum = 9223372036854774784"
    } else {
        "maximum = 9223372036854774784"
    };
    let attr = if nested {
        format!("#[crd(items({bound}))]")
    } else {
        format!("#[crd({bound})]")
    };
    errors.spanned(
        wide,
        format!(
            "field `{field}` is a `{name}`, but the apiserver keeps integers as int64 and would refuse larger values this type admits; use i64 (or u32), or state the range \
             the field takes: {attr} (or narrower; the apiserver holds bounds as float64, and \
             this is the widest it accepts)"
        ),
    );
}

/// The JSON type a shape is written as, when syntax tells it.
fn json_type(shape: Shape) -> Option<&'static str> {
    match shape {
        Shape::String => Some("a string"),
        Shape::Integer => Some("an integer"),
        Shape::Float => Some("a number"),
        Shape::Boolean => Some("a boolean"),
        Shape::List => Some("an array"),
        Shape::Map => Some("an object"),
        Shape::Unknown => None,
    }
}

/// Rule: a structural schema gives every value one JSON type. The payload
/// of an untagged enum is the value itself, and the content of an adjacently
/// tagged one sits in one field, so their variants must all be written as
/// the same JSON type — except an untagged integer-or-string pair, which is
/// `x-kubernetes-int-or-string`. (Externally tagged variants each have a
/// field of their own; internally tagged ones are objects by construction.)
/// Where syntax shows a type that differs from an earlier variant's, the
/// variant is an error; other differences are reported by the schema passes.
pub(crate) fn variants_share_a_type(
    tagging: &crate::model::Tagging,
    variants: &[crate::model::Variant],
    errors: &mut Errors,
) {
    use crate::model::{Tagging, VariantShape};
    let (what, where_) = match tagging {
        Tagging::Untagged => ("untagged enum", "is written"),
        Tagging::Adjacent(..) => ("adjacently tagged enum", "has its content written"),
        Tagging::External | Tagging::Internal(_) => return,
    };
    let typed: Vec<(&syn::Ident, &'static str)> = variants
        .iter()
        .filter_map(|v| {
            let ty = match &v.shape {
                VariantShape::Unit => None,
                VariantShape::Newtype(f) => json_type(shape(&f.ty)),
                VariantShape::Struct(_) => Some("an object"),
            }?;
            Some((&v.ident, ty))
        })
        .collect();
    let Some(&(first, first_type)) = typed.first() else {
        return;
    };
    let int_or_string =
        matches!(tagging, Tagging::Untagged) && variants.len() == 2 && typed.len() == 2 && {
            let mut pair = [typed[0].1, typed[1].1];
            pair.sort_unstable();
            pair == ["a string", "an integer"]
        };
    if int_or_string {
        return;
    }
    // One error for the enum, at the first variant that differs, naming
    // every one that does: several errors would say one thing several times.
    let odd: Vec<(&syn::Ident, &'static str)> = typed[1..]
        .iter()
        .copied()
        .filter(|&(_, ty)| ty != first_type)
        .collect();
    let Some(&(ident, ty)) = odd.first() else {
        return;
    };
    let message = if odd.len() == 1 {
        format!(
            "variant `{ident}` of this {what} {where_} as {ty}, but variant `{first}` as \
             {first_type}; a structural schema gives a value one type, so the apiserver \
             would refuse one of them. Give the variants one JSON type (e.g. a struct \
             variant `{ident} {{ value: ... }}`), or keep any JSON value as sent with \
             #[crd(schemaless)] on the enum"
        )
    } else {
        let names: Vec<String> = odd
            .iter()
            .map(|(ident, ty)| format!("`{ident}` as {ty}"))
            .collect();
        format!(
            "variants of this {what} {} as other JSON types than variant `{first}` \
             ({first_type}): {}; a structural schema gives a value one type, so the apiserver \
             would refuse them. Give the variants one JSON type (e.g. struct variants \
             `{ident} {{ value: ... }}`), or keep any JSON value as sent with \
             #[crd(schemaless)] on the enum",
            if where_ == "is written" {
                "are written"
            } else {
                "have their content written"
            },
            names.join(", ")
        )
    };
    errors.spanned(ident, message);
}

/// What a variant of an untagged enum reads, as far as syntax tells.
enum Reads<'a> {
    /// Any JSON (`Value`).
    Anything,
    /// Any object (a map of `Value`s, `serde_json::Map`).
    AnyObject,
    /// A value of one known JSON shape (a string, a list, ...).
    Shape(Shape),
    /// An object with these fields.
    Fields(&'a [crate::model::Field]),
    /// An object with these fields and a flattened catch-all, which holds
    /// every other field (so its values may have any field).
    FieldsAndRest(&'a [crate::model::Field]),
    /// Only run time knows (a user type, a flattened field).
    Unknown,
}

fn reads(shape: &crate::model::VariantShape) -> Reads<'_> {
    use crate::model::VariantShape;
    match shape {
        VariantShape::Unit => Reads::Unknown,
        VariantShape::Struct(fields)
            if fields
                .iter()
                .all(|f| !f.flatten || catch_all(&f.ty) == Some(true)) =>
        {
            if fields.iter().any(|f| f.flatten) {
                Reads::FieldsAndRest(fields)
            } else {
                Reads::Fields(fields)
            }
        }
        VariantShape::Struct(fields) if fields.iter().any(|f| f.flatten) => Reads::Unknown,
        VariantShape::Struct(fields) => Reads::Fields(fields),
        VariantShape::Newtype(f) => match last_segment(&f.ty) {
            Some((name, _)) if name == "Value" => Reads::Anything,
            _ if catch_all(&f.ty) == Some(true) => Reads::AnyObject,
            _ => match shape_of_value(&f.ty) {
                Shape::Unknown => Reads::Unknown,
                s => Reads::Shape(s),
            },
        },
    }
}

/// `shape`, but `Option<T>` is `T`'s (a newtype variant's `None` is null).
fn shape_of_value(ty: &Type) -> Shape {
    shape(option_inner(ty).unwrap_or(ty))
}

/// The type of a field as tokens, `Option` taken off (a `Some` reads what
/// the inner type reads).
fn type_key(ty: &Type) -> String {
    quote::ToTokens::to_token_stream(option_inner(ty).unwrap_or(ty))
        .to_string()
        .replace(' ', "")
}

fn is_required(f: &crate::model::Field) -> bool {
    use crate::model::Requirement;
    match f.required {
        Requirement::Required => true,
        Requirement::Optional => false,
        Requirement::ByType => option_inner(&f.ty).is_none(),
    }
}

/// Whether serde writes the field on every value (a required field, or an
/// `Option` without `skip_serializing_if`, written as `null`).
fn always_written(f: &crate::model::Field) -> bool {
    f.required != crate::model::Requirement::Optional
}

/// Whether struct variant `a` reads some value struct variant `b` writes:
/// `b` has every field `a` requires, of the same type (or `a`'s reads any
/// JSON), and, when unknown fields are denied, `b` need not write a field
/// `a` does not know.
fn fields_read(a: &[crate::model::Field], b: &[crate::model::Field], deny: bool) -> bool {
    // A catch-all (flattened) holds what is left; it requires nothing.
    let required_in_b = a.iter().filter(|f| is_required(f) && !f.flatten).all(|fa| {
        b.iter().any(|fb| {
            fb.wire_name == fa.wire_name
                && (type_key(&fa.ty) == type_key(&fb.ty)
                    || last_segment(&fa.ty).is_some_and(|(n, _)| n == "Value"))
        })
    });
    let known_to_a = |fb: &crate::model::Field| a.iter().any(|fa| fa.wire_name == fb.wire_name);
    required_in_b && (!deny || b.iter().filter(|f| always_written(f)).all(known_to_a))
}

/// Whether an earlier variant reading `a` reads some value of a later one
/// reading `b` (`None`: syntax cannot tell).
fn shadows(a: &Reads<'_>, b: &Reads<'_>, deny: bool) -> Option<bool> {
    Some(match (a, b) {
        (Reads::Unknown, _) | (_, Reads::Unknown) => return None,
        (Reads::Anything, _) => true,
        // A `Value` holds a string, a list, ... of every shape.
        (Reads::Shape(_), Reads::Anything) => true,
        // A catch-all variant's values may hold any field, so an earlier
        // object variant reads those that hold its required fields
        // (unless it denies a field the later one always writes); a later
        // variant holding any object is read by a catch-all variant unless
        // it lacks the catch-all variant's required fields.
        (Reads::Fields(a) | Reads::FieldsAndRest(a), Reads::FieldsAndRest(b)) => {
            !deny
                || b.iter()
                    .filter(|f| !f.flatten && always_written(f))
                    .all(|fb| a.iter().any(|fa| fa.wire_name == fb.wire_name))
        }
        (Reads::FieldsAndRest(a), Reads::Fields(b)) => fields_read(a, b, false),
        (Reads::FieldsAndRest(_), Reads::Anything | Reads::AnyObject) => true,
        (Reads::FieldsAndRest(_), Reads::Shape(s)) => *s == Shape::Map,
        (Reads::AnyObject, Reads::FieldsAndRest(_)) => true,
        (Reads::AnyObject, Reads::Fields(_) | Reads::AnyObject) => true,
        (Reads::AnyObject, Reads::Shape(s)) => *s == Shape::Map,
        (Reads::AnyObject, Reads::Anything) => true,
        // Two lists (or maps) share the empty one; two strings, integers
        // or booleans share values too.
        (Reads::Shape(x), Reads::Shape(y)) => x == y,
        (
            Reads::Shape(Shape::Map),
            Reads::Fields(_) | Reads::FieldsAndRest(_) | Reads::AnyObject,
        ) => {
            return None;
        }
        (Reads::Shape(_), _) => false,
        (Reads::Fields(a), Reads::Fields(b)) => fields_read(a, b, deny),
        (Reads::Fields(_), Reads::Anything | Reads::AnyObject) => true,
        (Reads::Fields(_), Reads::Shape(s)) => *s == Shape::Map,
    })
}

/// Rule: serde reads an untagged enum by trying its variants in order and
/// taking the first that reads the value. When an earlier variant reads a
/// value a later one writes (its required fields are among the later one's,
/// it does not deny unknown fields; a `Value` or map variant; two variants
/// of one JSON shape), that value comes back as the earlier variant: the
/// later one's other fields are dropped and `==` fails. Where syntax shows
/// it, the earlier variant is an error, with the way out that works:
/// reorder (when the later one does not read the earlier one's values), or
/// `#[serde(deny_unknown_fields)]` on the enum (when the later variant
/// always writes a field the earlier one does not know).
pub(crate) fn untagged_variants_do_not_shadow(
    tagging: &crate::model::Tagging,
    variants: &[crate::model::Variant],
    deny_unknown_fields: bool,
    errors: &mut Errors,
) {
    if *tagging != crate::model::Tagging::Untagged {
        return;
    }
    let read: Vec<Reads<'_>> = variants.iter().map(|v| reads(&v.shape)).collect();
    for (i, a) in variants.iter().enumerate() {
        let Some((j, b)) = variants
            .iter()
            .enumerate()
            .skip(i + 1)
            .find(|(j, _)| shadows(&read[i], &read[*j], deny_unknown_fields) == Some(true))
        else {
            continue;
        };
        let mut ways = Vec::new();
        if shadows(&read[j], &read[i], deny_unknown_fields) != Some(true) {
            ways.push(format!("put `{}` before `{}`", b.ident, a.ident));
        }
        if !deny_unknown_fields
            && let (Reads::Fields(_), Reads::Fields(_)) = (&read[i], &read[j])
            && shadows(&read[i], &read[j], true) == Some(false)
        {
            ways.push("add #[serde(deny_unknown_fields)] to the enum".to_owned());
        }
        let way_out = if ways.is_empty() {
            "give each variant a required field the other does not have (or tag the enum)"
                .to_owned()
        } else {
            ways.join(", or ")
        };
        errors.spanned(
            &a.ident,
            format!(
                "variant `{a}` of this untagged enum also reads values of the later variant \
                 `{b}`: serde takes the first variant that reads a value, so a `{b}` would come \
                 back as a `{a}`, losing what only `{b}` holds; {way_out}",
                a = a.ident,
                b = b.ident
            ),
        );
    }
}

/// Rule: a typed `default = expr` is converted with `Into<field type>`; a
/// literal of another JSON type (`default = "7"` on an integer) could never
/// convert, so it is an error at the literal instead of a trait error in
/// generated code. Only literals on fields whose syntax shows the type are
/// judged; everything else is left to the compiler.
pub(crate) fn default_fits_the_type(ty: &Type, attrs: &Attrs, field: &str, errors: &mut Errors) {
    let Some(expr) = &attrs.default_expr else {
        return;
    };
    let lit = match super::values::ungrouped(expr) {
        syn::Expr::Lit(l) => &l.lit,
        syn::Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => match super::values::ungrouped(expr) {
            syn::Expr::Lit(l) => &l.lit,
            _ => return,
        },
        _ => return,
    };
    let (given, fits): (&str, &[Shape]) = match lit {
        syn::Lit::Str(_) => ("a string", &[Shape::String]),
        syn::Lit::Int(_) => ("an integer", &[Shape::Integer, Shape::Float]),
        syn::Lit::Float(_) => ("a number", &[Shape::Float]),
        syn::Lit::Bool(_) => ("a boolean", &[Shape::Boolean]),
        _ => return,
    };
    let field_shape = shape(ty);
    let Some(wanted) = json_type(field_shape) else {
        return;
    };
    if fits.contains(&field_shape) {
        return;
    }
    let hint = match (lit, field_shape) {
        (syn::Lit::Str(s), Shape::Integer | Shape::Float | Shape::Boolean)
            if s.value().parse::<f64>().is_ok() || s.value().parse::<bool>().is_ok() =>
        {
            format!("; write the value itself: `default = {}`", s.value())
        }
        (_, Shape::String) => "; write it as a string literal".to_owned(),
        _ => String::new(),
    };
    errors.spanned(
        expr,
        format!("`default` is {given}, but field `{field}` is {wanted}{hint}"),
    );
}

/// Rule: `format` and `no_format` contradict each other.
pub(crate) fn format_or_no_format(attrs: &Attrs, errors: &mut Errors) {
    if attrs.constraints.no_format && attrs.constraints.format.is_some() {
        errors.at(
            span_of(attrs, NO_FORMAT),
            "a field cannot have both `format` and `no_format`",
        );
    }
}

/// Rule: a validation keyword applies to one JSON type (`max_length` to
/// strings, `minimum` to numbers, `min_items` to lists, ...). When the
/// field's syntax shows its type, a keyword for another type is an error
/// at the keyword.
pub(crate) fn keys_fit_the_type(ty: &Type, attrs: &Attrs, errors: &mut Errors) {
    if attrs.constraints.int_or_string
        || attrs.constraints.schemaless
        || attrs.schema_with.is_some()
    {
        return;
    }
    let shape = shape(ty);
    if shape == Shape::Unknown {
        return;
    }
    for (key, span) in &attrs.spans {
        let wants: &[Shape] = match *key {
            MINIMUM | MAXIMUM | EXCLUSIVE_MINIMUM | EXCLUSIVE_MAXIMUM | MULTIPLE_OF => {
                &[Shape::Integer, Shape::Float]
            }
            MIN_LENGTH | MAX_LENGTH | PATTERN => &[Shape::String],
            MIN_ITEMS | MAX_ITEMS | UNIQUE_ITEMS | LIST_TYPE | LIST_MAP_KEY => &[Shape::List],
            MIN_PROPERTIES | MAX_PROPERTIES | MAP_TYPE => &[Shape::Map],
            ITEMS => &[Shape::List, Shape::Map],
            STRUCT_TYPE | EMBEDDED_RESOURCE => &[],
            _ => continue,
        };
        if !wants.contains(&shape) {
            let what = match shape {
                Shape::String => "a string",
                Shape::Integer => "an integer",
                Shape::Float => "a number",
                Shape::Boolean => "a boolean",
                Shape::List => "a list",
                Shape::Map => "a map",
                Shape::Unknown => "of unknown type",
            };
            let applies = match *key {
                MINIMUM | MAXIMUM | EXCLUSIVE_MINIMUM | EXCLUSIVE_MAXIMUM | MULTIPLE_OF => {
                    "numbers"
                }
                MIN_LENGTH | MAX_LENGTH | PATTERN => "strings",
                MIN_ITEMS | MAX_ITEMS | UNIQUE_ITEMS | LIST_TYPE | LIST_MAP_KEY => "lists",
                MIN_PROPERTIES | MAX_PROPERTIES | MAP_TYPE => "maps",
                ITEMS => "lists and maps",
                _ => "structs",
            };
            errors.at(
                *span,
                format!("`{key}` applies to {applies}, but this field is {what}"),
            );
        }
    }
}

/// Rule: `exclusive_minimum`/`exclusive_maximum` qualify a `minimum`/`maximum`
/// on the same field (OpenAPI v3.0), so they need one.
pub(crate) fn exclusive_bounds_need_a_bound(attrs: &Attrs, errors: &mut Errors) {
    let c = &attrs.constraints;
    for (key, flag, bound) in [
        (EXCLUSIVE_MINIMUM, c.exclusive_minimum, c.minimum.is_some()),
        (EXCLUSIVE_MAXIMUM, c.exclusive_maximum, c.maximum.is_some()),
    ] {
        if flag && !bound {
            errors.at(
                span_of(attrs, key),
                format!(
                    "`{key}` needs `{}` on the same field",
                    &key["exclusive_".len()..]
                ),
            );
        }
    }
    if let (Some(min), Some(max)) = (c.minimum, c.maximum)
        && min > max
    {
        errors.at(
            span_of(attrs, MINIMUM),
            format!("`minimum` ({min}) is greater than `maximum` ({max})"),
        );
    }
    for (lo_key, lo, hi_key, hi) in [
        (MIN_LENGTH, c.min_length, MAX_LENGTH, c.max_length),
        (MIN_ITEMS, c.min_items, MAX_ITEMS, c.max_items),
        (
            MIN_PROPERTIES,
            c.min_properties,
            MAX_PROPERTIES,
            c.max_properties,
        ),
    ] {
        if let (Some(lo), Some(hi)) = (lo, hi)
            && lo > hi
        {
            errors.at(
                span_of(attrs, lo_key),
                format!("`{lo_key}` ({lo}) is greater than `{hi_key}` ({hi})"),
            );
        }
    }
}

/// Rule: `list_map_key` names the keys of a `list_type = "map"` list, and
/// such a list needs at least one key.
pub(crate) fn list_map_keys_need_a_map_list(attrs: &Attrs, errors: &mut Errors) {
    use crdforge_schema::ListType;
    let c = &attrs.constraints;
    if !c.list_map_keys.is_empty() && c.list_type != Some(ListType::Map) {
        errors.at(
            span_of(attrs, LIST_MAP_KEY),
            "`list_map_key` needs `list_type = \"map\"` on the same field",
        );
    }
    if c.list_type == Some(ListType::Map) && c.list_map_keys.is_empty() {
        errors.at(
            span_of(attrs, LIST_TYPE),
            "`list_type = \"map\"` needs at least one `list_map_key = \"...\"`",
        );
    }
}

/// Rule: the apiserver forbids `uniqueItems: true` in structural schemas
/// (it would be O(n²) per request); `list_type = "set"` is the replacement.
pub(crate) fn unique_items_is_forbidden(attrs: &Attrs, errors: &mut Errors) {
    if attrs.constraints.unique_items {
        errors.at(
            span_of(attrs, UNIQUE_ITEMS),
            "the apiserver forbids `uniqueItems: true`; use `list_type = \"set\"` for a list of unique scalars",
        );
    }
}

/// Rule: `required` and `optional` contradict each other.
pub(crate) fn required_or_optional(attrs: &Attrs, errors: &mut Errors) {
    if attrs.required && attrs.optional {
        errors.at(
            span_of(attrs, OPTIONAL),
            "a field cannot be both `required` and `optional`",
        );
    }
}

/// Rule: an `optional` field that is not an `Option` must have a serde
/// default, or serde fails on every object that leaves it out — exactly the
/// objects the schema now admits.
pub(crate) fn optional_needs_a_default(
    ty: &Type,
    attrs: &Attrs,
    serde_default: bool,
    field: &str,
    errors: &mut Errors,
) {
    if attrs.optional && option_inner(ty).is_none() && !serde_default {
        errors.at(
            span_of(attrs, OPTIONAL),
            format!(
                "field `{field}` is optional in the schema but not an Option and has no \
                 #[serde(default)], so objects without it would fail to deserialize"
            ),
        );
    }
}

/// Rule: a `default` is a JSON value or a Rust expression, not both.
pub(crate) fn one_default(attrs: &Attrs, errors: &mut Errors) {
    if attrs.default_expr.is_some() && attrs.constraints.default.is_some() {
        errors.at(
            span_of(attrs, DEFAULT_JSON),
            "use either `default` or `default_json`, not both",
        );
    }
}

/// Rule: a field's schema comes from one source: its type's `KubeSchema`,
/// `schema_with`, `schemars`, or nothing (`schemaless`).
pub(crate) fn one_schema_source(attrs: &Attrs, errors: &mut Errors) {
    let Some(span) = attrs.schemars else {
        return;
    };
    for (other, used) in [
        ("schema_with", attrs.schema_with.is_some()),
        ("schemaless", attrs.constraints.schemaless),
    ] {
        if used {
            errors.at(
                span,
                format!("`schemars` and `{other}` both give the field's schema; use one"),
            );
        }
    }
}

/// Rule: only a struct with named fields gets an apply-configuration struct
/// of its own, so only it can name one; an enum is its own configuration
/// (its variants are applied whole) and a newtype has its inner type's.
pub(crate) fn apply_name_needs_named_fields(
    attrs: &Attrs,
    named_fields: bool,
    errors: &mut Errors,
) {
    if let Some(Some(name)) = &attrs.apply
        && !named_fields
    {
        errors.at(
            span_of(attrs, APPLY),
            format!(
                "`apply = \"{name}\"` names a struct of optional fields, which only a struct with \
                 named fields gets; an enum is its own apply configuration and a newtype has its \
                 inner type's (only `apply = false` fits here)"
            ),
        );
    }
}

/// The span of `key` in `attrs`, or the call site if it was not used.
pub(crate) fn span_of(attrs: &Attrs, key: &str) -> Span {
    attrs
        .spans
        .iter()
        .find(|(k, _)| *k == key)
        .map_or_else(Span::call_site, |(_, s)| *s)
}

/// The first place in `ty` that names `own` (the type being derived, as a
/// one-segment path) or `Self`.
fn names_itself<'a>(ty: &'a Type, own: &syn::Ident) -> Option<&'a Type> {
    match ty {
        Type::Path(p) if p.qself.is_none() => {
            let segments = &p.path.segments;
            if segments.len() == 1 && (segments[0].ident == *own || segments[0].ident == "Self") {
                return Some(ty);
            }
            segments
                .iter()
                .find_map(|segment| match &segment.arguments {
                    PathArguments::AngleBracketed(args) => args.args.iter().find_map(|a| match a {
                        GenericArgument::Type(t) => names_itself(t, own),
                        _ => None,
                    }),
                    _ => None,
                })
        }
        Type::Array(a) => names_itself(&a.elem, own),
        Type::Slice(s) => names_itself(&s.elem, own),
        Type::Reference(r) => names_itself(&r.elem, own),
        Type::Paren(p) => names_itself(&p.elem, own),
        Type::Group(g) => names_itself(&g.elem, own),
        _ => None,
    }
}

/// Rule: a type that holds itself (a tree node's children) has no
/// structural schema, which must be finite. Where the field's type names
/// the type being derived, that is an error at the field with the ways out;
/// recursion through another type is caught by `crdforge-gen` with the
/// schema path.
pub(crate) fn not_directly_recursive(input: &syn::DeriveInput, errors: &mut Errors) {
    let fields: Vec<&syn::Field> = match &input.data {
        syn::Data::Struct(data) => data.fields.iter().collect(),
        syn::Data::Enum(data) => data.variants.iter().flat_map(|v| v.fields.iter()).collect(),
        syn::Data::Union(_) => Vec::new(),
    };
    for field in fields {
        // Errors in these attributes are reported where they are parsed.
        let mut ignored = Errors::new();
        let serde = super::serde_attr::field(&field.attrs, &mut ignored);
        let attrs = super::attr::parse(&field.attrs, super::attr::Place::Field, &mut ignored);
        if serde.skip_serializing
            || attrs.schema_with.is_some()
            || attrs.schemars.is_some()
            || attrs.constraints.schemaless
        {
            continue;
        }
        let Some(at) = names_itself(&field.ty, &input.ident) else {
            continue;
        };
        let name = field.ident.as_ref().map_or_else(
            || "0".to_string(),
            |i| i.to_string().trim_start_matches("r#").to_owned(),
        );
        errors.spanned(
            at,
            format!(
                "field `{name}` holds `{}` itself; a structural schema is finite and cannot \
                 describe a recursive type: mark the field #[crd(schemaless)] (stored as \
                 given, unchecked), or store the tree flat (a list of nodes with parent \
                 names)",
                input.ident
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    #[test]
    fn shapes_look_through_option_and_box() {
        assert_eq!(shape(&parse_quote!(Option<String>)), Shape::String);
        assert_eq!(shape(&parse_quote!(Box<Vec<u8>>)), Shape::List);
        assert_eq!(
            shape(&parse_quote!(std::collections::BTreeMap<String, i32>)),
            Shape::Map
        );
        assert_eq!(shape(&parse_quote!(MyType)), Shape::Unknown);
    }

    #[test]
    fn non_string_map_keys_are_found_inside_containers() {
        assert!(find_non_string_key(&parse_quote!(Option<BTreeMap<u16, String>>)).is_some());
        assert!(find_non_string_key(&parse_quote!(Vec<HashMap<bool, i32>>)).is_some());
        assert!(find_non_string_key(&parse_quote!(BTreeMap<String, BTreeMap<i64, u8>>)).is_some());
        assert!(find_non_string_key(&parse_quote!(BTreeMap<String, i64>)).is_none());
        // A key type only run time knows is left to the trait bound.
        assert!(find_non_string_key(&parse_quote!(BTreeMap<Name, i64>)).is_none());
    }

    #[test]
    fn floats_are_found_inside_containers() {
        assert!(find_float(&parse_quote!(Option<Vec<f64>>)).is_some());
        assert!(find_float(&parse_quote!(BTreeMap<String, i64>)).is_none());
    }
}
