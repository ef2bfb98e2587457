//! Validation of a JSON value against a schema, the way the apiserver does
//! for the keywords CRDs use: OpenAPI v3.0 semantics (`nullable`, boolean
//! `exclusiveMinimum`), `x-kubernetes-int-or-string`, pruning of unknown
//! fields (reported here as errors, since a default or sample with unknown
//! fields is a mistake), and `x-kubernetes-list-type` uniqueness.
//!
//! It is our own rather than a JSON Schema crate because those implement
//! draft 7/2020-12, where `exclusiveMinimum` is a number, `nullable` does not
//! exist and the Kubernetes extensions are unknown; and the offline check
//! needs it as a library anyway, to check defaults. CEL rules are not
//! evaluated here (the `cel` module type-checks them, without running them).

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::Value;

use crdforge::schema::Schema;

thread_local! {
    /// Compiled patterns by their text: a value check runs the same few
    /// patterns on many values (property tests: thousands), and compiling
    /// one costs far more than matching. `None`: it does not compile.
    static REGEXES: RefCell<HashMap<String, Option<regex::Regex>>> =
        RefCell::new(HashMap::new());
}

/// The compiled `pattern`, from this thread's cache (a `Regex` clone
/// shares the compiled program).
fn regex(pattern: &str) -> Option<regex::Regex> {
    REGEXES.with(|cache| {
        if let Some(re) = cache.borrow().get(pattern) {
            return re.clone();
        }
        let re = regex::Regex::new(pattern).ok();
        cache.borrow_mut().insert(pattern.to_owned(), re.clone());
        re
    })
}

/// What the apiserver does with an object before storing it: fill in
/// defaults, then validate. Returns the defaulted object, or every error.
pub fn admit(schema: &Schema, value: &Value) -> Result<Value, Vec<String>> {
    let mut value = value.clone();
    apply_defaults(schema, &mut value);
    let errors = validate_value(schema, &value);
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(errors)
    }
}

/// The apiserver's defaulting, from the schema crate (one source for the
/// offline check and `crdforge::testing`).
pub use crdforge::schema::apply_defaults;

/// Every way `value` breaks `schema`, each as "path: message".
pub fn validate_value(schema: &Schema, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, value, "", &mut errors);
    errors
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) => match GoNumber::of(n) {
            GoNumber::Int(_) => "integer",
            GoNumber::Float(f) if is_json_integer(f) => "integer",
            GoNumber::Float(_) => "number",
        },
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check(schema: &Schema, value: &Value, path: &str, errors: &mut Vec<String>) {
    let here = if path.is_empty() { "<root>" } else { path };
    // Errors at a path below this value (a set's duplicate, an embedded
    // resource's missing field), added after this value's own.
    let mut below: Vec<String> = Vec::new();
    let mut fail = |message: String| errors.push(format!("{here}: {message}"));
    if value.is_null() {
        // kube-openapi's type check refuses a null only where a type is
        // stated (and not nullable): a node without one — preserve-unknown,
        // or a `oneOf` branch's value validations beside a nullable
        // property — takes it. An int-or-string states two.
        let any = schema.type_.is_none() && !schema.int_or_string;
        if !(schema.nullable || any) {
            fail("must not be null".into());
        } else if !schema.enum_.is_empty() {
            // The apiserver checks the enum on a kept null too, and
            // refuses it even when null is listed.
            fail("Unsupported value: null".into());
        }
        return;
    }
    let actual = type_of(value);
    if schema.int_or_string {
        if !matches!(actual, "integer" | "string") {
            fail(format!("must be an integer or a string, not {actual}"));
            return;
        }
    } else if let Some(expected) = &schema.type_ {
        let ok = expected == actual || (expected == "number" && actual == "integer");
        if !ok {
            fail(format!("must be of type {expected}, not {actual}"));
            return;
        }
    }
    if !schema.enum_.is_empty() && !schema.enum_.contains(value) {
        let allowed: Vec<String> = schema.enum_.iter().map(Value::to_string).collect();
        fail(format!("{value} is not one of {}", allowed.join(", ")));
    }
    match value {
        Value::Number(n) => number(schema, GoNumber::of(n), &mut fail),
        Value::String(s) => {
            let len = s.chars().count() as i64;
            if let Some(min) = schema.min_length
                && len < min
            {
                fail(format!("must be at least {min} characters long"));
            }
            if let Some(max) = schema.max_length
                && len > max
            {
                fail(format!("must be at most {max} characters long"));
            }
            if let Some(format) = &schema.format
                && let Some(re) = format_pattern(format)
                && !regex(re).is_some_and(|re| re.is_match(s))
            {
                fail(format!("must be of format {format}"));
            }
            if let Some(pattern) = &schema.pattern {
                match regex(pattern) {
                    Some(re) if !re.is_match(s) => {
                        fail(format!("must match the pattern {pattern}"))
                    }
                    Some(_) => {}
                    None => fail(format!("has an invalid pattern {pattern}")),
                }
            }
        }
        Value::Array(items) => {
            let len = items.len() as i64;
            if let Some(min) = schema.min_items
                && len < min
            {
                fail(format!("must have at least {min} items"));
            }
            if let Some(max) = schema.max_items
                && len > max
            {
                fail(format!("must have at most {max} items"));
            }
            match schema.list_type.as_deref() {
                Some("set") => {
                    for (i, item) in items.iter().enumerate() {
                        // At the duplicate's own index, as the apiserver.
                        if items[..i].contains(item) {
                            below.push(format!("{path}[{i}]: duplicate entry {item} in a set"));
                        }
                    }
                }
                Some("map") => {
                    let keys: Vec<Vec<Option<&Value>>> = items
                        .iter()
                        .map(|item| schema.list_map_keys.iter().map(|k| item.get(k)).collect())
                        .collect();
                    for (i, key) in keys.iter().enumerate() {
                        if keys[..i].contains(key) {
                            below.push(format!("{path}[{i}]: duplicate entry with the same keys"));
                        }
                    }
                }
                _ => {}
            }
            if let Some(item_schema) = &schema.items {
                for (i, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{path}[{i}]"), errors);
                }
            }
        }
        Value::Object(map) => {
            if schema.embedded_resource {
                for name in ["apiVersion", "kind"] {
                    if map
                        .get(name)
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        // At the missing field, as the apiserver.
                        below.push(format!("{path}.{name}: an embedded resource needs {name}"));
                    }
                }
            }
            let len = map.len() as i64;
            if let Some(min) = schema.min_properties
                && len < min
            {
                fail(format!("must have at least {min} properties"));
            }
            if let Some(max) = schema.max_properties
                && len > max
            {
                fail(format!("must have at most {max} properties"));
            }
            // The apiserver prunes nulls of non-nullable fields before it
            // validates, so such a field counts as absent.
            let pruned = |name: &str, item: &Value| {
                item.is_null() && schema.properties.get(name).is_some_and(|p| !p.nullable)
            };
            for name in &schema.required {
                if map.get(name).is_none_or(|item| pruned(name, item)) {
                    fail(format!("{name} is required"));
                }
            }
            for (name, item) in map {
                if pruned(name, item) {
                    continue;
                }
                // ObjectMeta is validated by the apiserver's own rules, not
                // by the CRD's schema.
                if name == "metadata" && (path.is_empty() || schema.embedded_resource) {
                    continue;
                }
                let child = format!("{path}.{name}");
                if let Some(property) = schema.properties.get(name) {
                    check(property, item, &child, errors);
                } else if let Some(values) = &schema.additional_properties {
                    check(values, item, &child, errors);
                } else if !schema.preserve_unknown_fields && !is_type_meta(path, name, schema) {
                    errors.push(format!("{child}: unknown field"));
                }
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
    // The junctions constrain the same value.
    if !schema.one_of.is_empty() {
        let matching = schema
            .one_of
            .iter()
            .filter(|b| validate_value(&permissive(b), value).is_empty())
            .count();
        if matching != 1 {
            errors.push(format!(
                "{here}: must match exactly one alternative, matches {matching}"
            ));
        }
    }
    if !schema.any_of.is_empty()
        && !schema
            .any_of
            .iter()
            .any(|b| validate_value(&permissive(b), value).is_empty())
    {
        errors.push(format!("{here}: must match at least one alternative"));
    }
    for branch in &schema.all_of {
        check(&permissive(branch), value, path, errors);
    }
    if let Some(not) = &schema.not
        && validate_value(&permissive(not), value).is_empty()
    {
        errors.push(format!("{here}: must not match the `not` schema"));
    }
    errors.extend(below);
}

/// A JSON number as the apiserver holds it after decoding: an int64 when
/// the literal is an integer that fits, else a float64 (`1.0`, `1e2`,
/// 2^63).
#[derive(Clone, Copy, Debug, PartialEq)]
enum GoNumber {
    Int(i64),
    Float(f64),
}

impl GoNumber {
    fn of(n: &serde_json::Number) -> Self {
        match n.as_i64() {
            Some(i) => GoNumber::Int(i),
            None => GoNumber::Float(n.as_f64().unwrap_or_default()),
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            GoNumber::Int(i) => i as f64,
            GoNumber::Float(f) => f,
        }
    }
}

/// 2^53: kube-openapi takes a float64 for an integer (`type: integer`
/// passes) only within ±2^53 (go-openapi's `IsFloat64AJSONInteger`).
const JSON_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;

fn is_json_integer(f: f64) -> bool {
    f.is_finite() && f.abs() <= JSON_INTEGER_LIMIT && f.fract() == 0.0
}

/// The numeric range a node's type and format give it, as kube-openapi's
/// number validator enforces it (kube-apiserver 1.36): for `type: integer`,
/// `int32` is checked as int32 and every other format (and none) as int64;
/// for `type: number`, `float` as float32; `double`, and any format on a
/// node without exactly one type (int-or-string), are not checked. The
/// apiserver strips other formats (`uint32`, ...) from CRDs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Range {
    Int32,
    Int64,
    Float32,
}

impl Range {
    fn of(schema: &Schema) -> Option<(Range, &'static str)> {
        if schema.int_or_string {
            return None;
        }
        match (schema.type_.as_deref()?, schema.format.as_deref()) {
            ("integer", Some("int32")) => Some((Range::Int32, "integer with format int32")),
            ("integer", Some("int64")) => Some((Range::Int64, "integer with format int64")),
            ("integer", _) => Some((Range::Int64, "integer (default format)")),
            ("number", Some("float")) => Some((Range::Float32, "number with format float")),
            _ => None,
        }
    }

    /// Whether `x` converts to the range without loss, as Go's `strconv`
    /// parses its decimal form (a fraction is no integer).
    fn holds(self, x: GoNumber) -> bool {
        match (self, x) {
            (Range::Int32, GoNumber::Int(i)) => i32::try_from(i).is_ok(),
            (Range::Int64, GoNumber::Int(_)) => true,
            (Range::Int32, GoNumber::Float(f)) => {
                f.fract() == 0.0 && (f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&f)
            }
            // [-2^63, 2^63): both ends are exact float64s.
            (Range::Int64, GoNumber::Float(f)) => {
                f.fract() == 0.0
                    && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f)
            }
            (Range::Float32, x) => !(x.as_f64() as f32).is_infinite(),
        }
    }
}

/// The bounds and factor of a node that do not fit its type's format:
/// the apiserver refuses every value of such a field ("Maximum boundary
/// value must be of type integer with format int32").
pub(super) fn bounds_outside_the_format(schema: &Schema) -> Vec<String> {
    let Some((range, what)) = Range::of(schema) else {
        return Vec::new();
    };
    [
        ("minimum", schema.minimum),
        ("maximum", schema.maximum),
        ("multipleOf", schema.multiple_of),
    ]
    .into_iter()
    .filter_map(|(keyword, bound)| {
        let bound = bound?;
        (!range.holds(GoNumber::Float(bound))).then(|| {
            format!(
                "{keyword} {bound} is not a value of type {what}, so the apiserver refuses every \
                 value of this field; state a {keyword} the format holds{}",
                if what.starts_with("integer") {
                    " (a whole number)"
                } else {
                    ""
                }
            )
        })
    })
    .collect()
}

/// A number against a node's range, bounds and `multipleOf`, the way
/// kube-openapi's number validator does: the value must fit the type's
/// format (reported with no field of its own, the path in the message); a
/// bound or factor that does not fit it refuses every value; an int64
/// value is compared with the bound truncated to an integer.
fn number(schema: &Schema, x: GoNumber, fail: &mut dyn FnMut(String)) {
    let range = Range::of(schema);
    let fits = |bound: f64| range.is_none_or(|(r, _)| r.holds(GoNumber::Float(bound)));
    if let Some((r, what)) = range
        && !r.holds(x)
    {
        fail(format!("Checked value must be of type {what}"));
    }
    let value = x.as_f64();
    let int = match x {
        GoNumber::Int(i) => Some(i),
        GoNumber::Float(_) => None,
    };
    // Go's int64(float64): toward zero.
    let truncated = |b: f64| b.trunc() as i64;
    for (bound, exclusive, is_min) in [
        (schema.minimum, schema.exclusive_minimum, true),
        (schema.maximum, schema.exclusive_maximum, false),
    ] {
        let Some(bound) = bound else { continue };
        let name = if is_min { "Minimum" } else { "Maximum" };
        if !fits(bound) {
            let what = range.map_or("", |(_, w)| w);
            fail(format!("{name} boundary value must be of type {what}"));
        }
        let outside = match (int, fits(bound)) {
            (Some(i), true) => {
                let b = truncated(bound);
                if is_min {
                    i < b || (exclusive && i == b)
                } else {
                    i > b || (exclusive && i == b)
                }
            }
            _ => {
                if is_min {
                    value < bound || (exclusive && value == bound)
                } else {
                    value > bound || (exclusive && value == bound)
                }
            }
        };
        if outside {
            let op = match (is_min, exclusive) {
                (true, true) => ">",
                (true, false) => ">=",
                (false, true) => "<",
                (false, false) => "<=",
            };
            fail(format!("{value} must be {op} {bound}"));
        }
    }
    if let Some(m) = schema.multiple_of {
        if !fits(m) {
            let what = range.map_or("", |(_, w)| w);
            fail(format!("MultipleOf value must be of type {what}"));
        }
        match (int, fits(m)) {
            (Some(i), true) => match truncated(m) {
                f if f <= 0 => fail(format!("factor MultipleOf must be positive: {m}")),
                f if i % f != 0 => fail(format!("{i} must be a multiple of {m}")),
                _ => {}
            },
            _ => {
                if m > 0.0 && ((value / m) - (value / m).round()).abs() > 1e-9 {
                    fail(format!("{value} must be a multiple of {m}"));
                }
            }
        }
    }
}

/// The formats the apiserver checks that CRDs commonly use, as regular
/// expressions; other formats are not checked (nor are they by us).
fn format_pattern(format: &str) -> Option<&'static str> {
    Some(match format {
        "email" => r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        "date-time" | "datetime" => {
            r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
        }
        "date" => r"^\d{4}-\d{2}-\d{2}$",
        "uuid" => r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        "ipv4" => r"^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)$",
        _ => return None,
    })
}

/// An embedded resource carries apiVersion and kind the apiserver accepts
/// without a schema for them.
fn is_type_meta(_path: &str, name: &str, schema: &Schema) -> bool {
    schema.embedded_resource && matches!(name, "apiVersion" | "kind" | "metadata")
}

/// A junction branch only adds value validations to the outer schema: it
/// has no type and does not prune, so unknown fields do not fail it, and a
/// null the outer schema kept (a nullable property) is not pruned again by
/// the branch's property of the same name, which states no `nullable`.
fn permissive(branch: &Schema) -> Schema {
    let mut b = branch.clone();
    b.walk_mut("", &mut |_, node| {
        if node.additional_properties.is_none() {
            node.preserve_unknown_fields = true;
        }
        node.nullable = true;
    });
    b
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn port() -> Schema {
        Schema {
            minimum: Some(1.0),
            maximum: Some(65535.0),
            ..Schema::formatted("integer", "int32")
        }
    }

    #[test]
    fn numbers_are_checked_against_bounds() {
        assert!(validate_value(&port(), &json!(80)).is_empty());
        assert_eq!(
            validate_value(&port(), &json!(0)),
            ["<root>: 0 must be >= 1"]
        );
        let exclusive = Schema {
            exclusive_minimum: true,
            ..port()
        };
        assert_eq!(validate_value(&exclusive, &json!(1)).len(), 1);
    }

    /// What kube-apiserver 1.36 answered for each value (a CRD with these
    /// nodes, `kubectl create`): `true` = stored.
    #[test]
    fn number_formats_are_checked_as_the_apiserver_does() {
        let int32 = Schema::formatted("integer", "int32");
        let int64 = Schema::formatted("integer", "int64");
        let plain = Schema::typed("integer");
        let uint32 = Schema::formatted("integer", "uint32");
        let float = Schema::formatted("number", "float");
        let double = Schema::formatted("number", "double");
        let number_int32 = Schema::formatted("number", "int32");
        let int_or_string = Schema {
            format: Some("int32".into()),
            ..Schema::int_or_string()
        };
        let cases = [
            (&int32, json!(2147483648_i64), false),
            (&int32, json!(-2147483649_i64), false),
            (&int32, json!(2147483647), true),
            (&int32, json!(1.0), true),
            (&int32, json!(2147483648.0), false),
            (&int32, json!(1.5), false),
            (&int32, json!(9007199254740992.0), false),
            (&int32, json!(100.0), true),
            (&int64, json!(i64::MAX), true),
            (&int64, json!(9223372036854775808_u64), false),
            (&int64, json!(1e19), false),
            (&plain, json!(9223372036854775808_u64), false),
            (&plain, json!(9007199254740992.0), true),
            (&uint32, json!(-5), true),
            (&uint32, json!(99999999999_i64), true),
            (&float, json!(3.5e38), false),
            (&float, json!(1e-50), true),
            (&double, json!(1e308), true),
            (&number_int32, json!(3000000000_i64), true),
            (&int_or_string, json!(2147483648_i64), true),
        ];
        for (schema, value, stored) in cases {
            let errors = validate_value(schema, &value);
            assert_eq!(
                errors.is_empty(),
                stored,
                "{value} against {:?}/{:?}: {errors:?}",
                schema.type_,
                schema.format
            );
        }
    }

    #[test]
    fn a_bound_outside_the_format_refuses_every_value() {
        let bigmax = Schema {
            maximum: Some(3e9),
            ..Schema::formatted("integer", "int32")
        };
        assert_eq!(
            validate_value(&bigmax, &json!(5)),
            ["<root>: Maximum boundary value must be of type integer with format int32"]
        );
        let fractional = Schema {
            minimum: Some(0.5),
            ..Schema::formatted("integer", "int64")
        };
        assert_eq!(validate_value(&fractional, &json!(5)).len(), 1);
        // An int64 value is compared with the bound truncated, as Go does:
        // 2 is not < 2.5 once 2.5 is 2.
        let number = Schema {
            maximum: Some(2.5),
            exclusive_maximum: true,
            ..Schema::typed("number")
        };
        assert_eq!(validate_value(&number, &json!(2)).len(), 1);
        assert!(validate_value(&number, &json!(2.0)).is_empty());
        // Beyond 2^53 as integers, not as float64s.
        let wide = Schema {
            maximum: Some(9_223_372_036_854_774_784.0),
            ..Schema::formatted("integer", "int64")
        };
        assert!(validate_value(&wide, &json!(9_223_372_036_854_774_784_i64)).is_empty());
        assert_eq!(
            validate_value(&wide, &json!(9_223_372_036_854_774_785_i64)).len(),
            1
        );
    }

    #[test]
    fn unknown_fields_and_missing_required_fields_are_reported_with_paths() {
        let mut object = Schema::typed("object");
        object.properties.insert("port".into(), port());
        object.required.push("port".into());
        assert_eq!(
            validate_value(&object, &json!({"prot": 80})),
            ["<root>: port is required", ".prot: unknown field"]
        );
    }

    #[test]
    fn int_or_string_accepts_both_and_nothing_else() {
        let s = Schema::int_or_string();
        assert!(validate_value(&s, &json!(3)).is_empty());
        assert!(validate_value(&s, &json!("50%")).is_empty());
        assert_eq!(validate_value(&s, &json!(true)).len(), 1);
    }

    #[test]
    fn one_of_needs_exactly_one_branch() {
        let mut s = Schema::typed("object");
        s.properties.insert("a".into(), Schema::typed("string"));
        s.properties.insert("b".into(), Schema::typed("string"));
        s.one_of = vec![
            Schema {
                required: vec!["a".into()],
                ..Schema::default()
            },
            Schema {
                required: vec!["b".into()],
                ..Schema::default()
            },
        ];
        assert!(validate_value(&s, &json!({"a": "x"})).is_empty());
        assert_eq!(validate_value(&s, &json!({"a": "x", "b": "y"})).len(), 1);
        assert_eq!(validate_value(&s, &json!({})).len(), 1);
    }

    #[test]
    fn sets_and_map_lists_reject_duplicates() {
        let set = Schema {
            list_type: Some("set".into()),
            ..Schema::array(Schema::typed("string"))
        };
        assert_eq!(validate_value(&set, &json!(["a", "a"])).len(), 1);
        let mut item = Schema::typed("object");
        item.properties
            .insert("name".into(), Schema::typed("string"));
        let map = Schema {
            list_type: Some("map".into()),
            list_map_keys: vec!["name".into()],
            ..Schema::array(item)
        };
        assert!(validate_value(&map, &json!([{"name": "a"}, {"name": "b"}])).is_empty());
        assert_eq!(
            validate_value(&map, &json!([{"name": "a"}, {"name": "a"}])).len(),
            1
        );
    }
}
