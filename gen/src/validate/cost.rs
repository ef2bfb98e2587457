//! The cost half of the offline CEL check: each `x-kubernetes-validations`
//! rule's *estimated* cost, computed the way kube-apiserver computes it when a
//! CRD is created or updated, against the apiserver's two budgets.
//!
//! The Kubernetes rule (apiextensions-apiserver `validation.go`,
//! `cel_validation.go` and `schema/cel/compilation.go`, v1.36, with cel-go
//! v0.26's `checker/cost.go` and apiserver's `cel/library/cost.go`):
//!
//! - Every rule gets a worst-case cost from CEL's static estimator. Sizes of
//!   strings, lists and maps come from the schema: `maxLength` (times 4:
//!   the apiserver reasons in bytes and a character may take four),
//!   `maxItems`, `maxProperties`, a string enum's longest value, fixed sizes
//!   for durations and timestamps, and where there is no bound, what fits
//!   in the 3 MiB request limit (a string of 3,145,726 characters, a list of
//!   3,145,726 / (smallest item + 1) items, a map of 3,145,726 / (smallest
//!   value + 6) entries).
//! - That cost is multiplied by the rule's *cardinality*: how many times the
//!   rule can run for one object, the product of `maxItems`/`maxProperties`
//!   of every list and map above it; under any unbounded list or map,
//!   3,145,728 / (smallest serialized value of the node + 1).
//! - A rule whose cost × cardinality exceeds 10,000,000
//!   (`StaticEstimatedCostLimit`) is refused, as is a `messageExpression`
//!   whose own cost (not multiplied) does.
//! - The sum over the CRD of every rule's cost × cardinality and every
//!   message expression's cost may not exceed 100,000,000
//!   (`StaticEstimatedCRDCostLimit`).
//!
//! Like the type checker in [`super::cel`], this is one-sided: a rule whose
//! cost depends on something this estimator does not model (a function it
//! does not know, an operand whose type it cannot tell, a selection it
//! cannot resolve) is left to the apiserver and counts 0 toward the total,
//! so every refusal here is one the apiserver makes too. The corpus in
//! `crdforge-fixtures` proves both directions on a real apiserver, just
//! under and just over each limit.
//!
//! The estimator is hand-written rather than taken from a crate because no
//! Rust crate implements cel-go's cost model; its quirks (which sizes come
//! from the schema, how `self` of an int is sized 0, how a property named by
//! a bare reserved word has no size) are the apiserver's and kept on purpose.

use std::collections::BTreeMap;

use cel::common::ast::{CallExpr, ComprehensionExpr, EntryExpr, Expr, IdedExpr, LiteralValue};
use cel::parser::Parser;

use crdforge::schema::{Rule, Schema};

use super::cel::{RESERVED, escape};

/// `StaticEstimatedCostLimit`: the largest estimated cost × cardinality of
/// one rule, and the largest estimated cost of one message expression.
pub const PER_EXPRESSION_LIMIT: u64 = 10_000_000;
/// `StaticEstimatedCRDCostLimit`: the largest sum over a CRD.
pub const PER_CRD_LIMIT: u64 = 100_000_000;
/// `celconfig.MaxRequestSizeBytes`: what sizes are estimated from when the
/// schema gives no bound.
const MAX_REQUEST_SIZE: i64 = 3 * 1024 * 1024;

// cel-go's unit costs (`common/cost.go`).
const STRING_TRAVERSAL: f64 = 0.1;
const REGEX_LENGTH: f64 = 0.25;
const LIST_CREATE: u64 = 10;
const MAP_CREATE: u64 = 30;
const STRUCT_CREATE: u64 = 40;

/// A range of sizes or costs, saturating at `u64::MAX` like cel-go's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Est {
    pub min: u64,
    pub max: u64,
}

impl Est {
    const UNKNOWN: Est = Est {
        min: 0,
        max: u64::MAX,
    };

    const fn fixed(n: u64) -> Est {
        Est { min: n, max: n }
    }

    fn add(self, other: Est) -> Est {
        Est {
            min: self.min.saturating_add(other.min),
            max: self.max.saturating_add(other.max),
        }
    }

    fn mul(self, other: Est) -> Est {
        Est {
            min: self.min.saturating_mul(other.min),
            max: self.max.saturating_mul(other.max),
        }
    }

    /// Times a cost factor, rounded up (cel-go's `MultiplyByCostFactor`).
    fn factor(self, factor: f64) -> Est {
        Est {
            min: by_factor(self.min, factor),
            max: by_factor(self.max, factor),
        }
    }

    fn union(self, other: Est) -> Est {
        Est {
            min: self.min.min(other.min),
            max: self.max.max(other.max),
        }
    }
}

fn by_factor(x: u64, factor: f64) -> u64 {
    // u64::MAX as f64 is 2^64, as math.MaxUint64 is in Go's float context.
    let two_to_64 = u64::MAX as f64;
    let xf = x as f64;
    if xf > 0.0 && factor > 0.0 && xf > two_to_64 / factor {
        return u64::MAX;
    }
    let ceil = (xf * factor).ceil();
    if ceil >= two_to_64 {
        u64::MAX
    } else {
        ceil as u64
    }
}

/// A schema node as the apiserver declares it to CEL (`DeclType`): its
/// kind, the most elements it can hold and its smallest JSON form.
#[derive(Debug)]
struct Decl {
    kind: Kind,
    max_elements: i64,
    min_size: i64,
    /// Where `max_elements` was estimated because the schema at this path
    /// gives no bound, and the keyword that would give one.
    derived: Option<(String, &'static str)>,
}

#[derive(Debug)]
enum Kind {
    Bool,
    Int,
    Double,
    String,
    Bytes,
    Duration,
    Timestamp,
    /// int-or-string.
    Dyn,
    List(Box<Decl>),
    /// Keys are strings.
    Map(Box<Decl>),
    /// Fields by their CEL (escaped) names.
    Object(BTreeMap<String, Decl>),
}

/// The key of every CRD map: the apiserver's shared string type, whose
/// `MaxElements` is 0.
static MAP_KEY: Decl = Decl {
    kind: Kind::String,
    max_elements: 0,
    min_size: 2,
    derived: None,
};

impl Decl {
    fn simple(kind: Kind, min_size: i64) -> Decl {
        Decl {
            kind,
            max_elements: 0,
            min_size,
            derived: None,
        }
    }
}

/// `SchemaDeclType`: `None` where the apiserver exposes nothing to CEL.
/// `resource_root` is set at the root and on embedded resources, which
/// always have `apiVersion`, `kind` and `metadata.name`/`generateName`.
fn decl(schema: &Schema, path: &str, resource_root: bool) -> Option<Decl> {
    let request = MAX_REQUEST_SIZE - 2;
    if schema.int_or_string {
        return Some(match schema.max_length {
            Some(n) => Decl {
                max_elements: n.max(0) * 4,
                ..Decl::simple(Kind::Dyn, 1)
            },
            None => Decl {
                max_elements: request,
                derived: Some((path.to_owned(), "maxLength")),
                ..Decl::simple(Kind::Dyn, 1)
            },
        });
    }
    let with_meta;
    let schema = if resource_root && !has_type_and_object_meta(schema) {
        with_meta = type_and_object_meta(schema);
        &with_meta
    } else {
        schema
    };
    match schema.type_.as_deref()? {
        "array" => {
            let items = schema.items.as_deref()?;
            let item = decl(items, &format!("{path}[*]"), items.embedded_resource)?;
            let (max_elements, derived) = match schema.max_items {
                Some(n) => (n.max(0), None),
                None => (
                    request / (item.min_size + 1),
                    Some((path.to_owned(), "maxItems")),
                ),
            };
            Some(Decl {
                kind: Kind::List(Box::new(item)),
                max_elements,
                min_size: 2,
                derived,
            })
        }
        "object" => {
            if let Some(values) = &schema.additional_properties {
                let value = decl(values, &format!("{path}[*]"), values.embedded_resource)?;
                let (max_elements, derived) = match schema.max_properties {
                    Some(n) => (n.max(0), None),
                    None => (
                        request / (value.min_size + 6),
                        Some((path.to_owned(), "maxProperties")),
                    ),
                };
                return Some(Decl {
                    kind: Kind::Map(Box::new(value)),
                    max_elements,
                    min_size: 2,
                    derived,
                });
            }
            let mut fields = BTreeMap::new();
            let mut min_size = 2;
            for (name, property) in &schema.properties {
                let Some(field) = decl(
                    property,
                    &format!("{path}.{name}"),
                    property.embedded_resource,
                ) else {
                    continue;
                };
                if schema.required.contains(name) && property.default.is_none() {
                    min_size += name.len() as i64 + field.min_size + 4;
                }
                if let Some(escaped) = escape(name) {
                    fields.insert(escaped, field);
                }
            }
            Some(Decl {
                kind: Kind::Object(fields),
                max_elements: 0,
                min_size,
                derived: None,
            })
        }
        "string" => Some(match schema.format.as_deref() {
            Some("byte") => match schema.max_length {
                Some(n) => Decl {
                    max_elements: n.max(0),
                    ..Decl::simple(Kind::Bytes, 2)
                },
                None => Decl {
                    max_elements: request,
                    derived: Some((path.to_owned(), "maxLength")),
                    ..Decl::simple(Kind::Bytes, 2)
                },
            },
            // Durations and timestamps have fixed sizes; maxLength is not
            // consulted.
            Some("duration") => Decl {
                max_elements: 32,
                ..Decl::simple(Kind::Duration, 3)
            },
            Some("date") => Decl {
                max_elements: 12,
                ..Decl::simple(Kind::Timestamp, 12)
            },
            Some("date-time") => Decl {
                max_elements: 32,
                ..Decl::simple(Kind::Timestamp, 21)
            },
            _ => match schema.max_length {
                Some(n) => Decl {
                    max_elements: n.max(0) * 4,
                    ..Decl::simple(Kind::String, 2)
                },
                None if !schema.enum_.is_empty() => Decl {
                    max_elements: schema
                        .enum_
                        .iter()
                        .filter_map(|v| v.as_str())
                        .map(|s| s.len() as i64)
                        .max()
                        .unwrap_or(0),
                    ..Decl::simple(Kind::String, 2)
                },
                None => Decl {
                    max_elements: request,
                    derived: Some((path.to_owned(), "maxLength")),
                    ..Decl::simple(Kind::String, 2)
                },
            },
        }),
        "boolean" => Some(Decl::simple(Kind::Bool, 4)),
        "number" => Some(Decl::simple(Kind::Double, 1)),
        "integer" => Some(Decl::simple(Kind::Int, 1)),
        _ => None,
    }
}

fn has_type_and_object_meta(schema: &Schema) -> bool {
    let is = |s: Option<&Schema>, t: &str| s.is_some_and(|s| s.type_.as_deref() == Some(t));
    let metadata = schema.properties.get("metadata");
    is(schema.properties.get("kind"), "string")
        && is(schema.properties.get("apiVersion"), "string")
        && is(metadata, "object")
        && metadata.is_some_and(|m| {
            is(m.properties.get("name"), "string") && is(m.properties.get("generateName"), "string")
        })
}

/// `WithTypeAndObjectMeta`: the resource's own `kind`, `apiVersion` and
/// `metadata` replaced by plain strings and a metadata of name and
/// generateName.
fn type_and_object_meta(schema: &Schema) -> Schema {
    let mut result = schema.clone();
    result
        .properties
        .insert("kind".into(), Schema::typed("string"));
    result
        .properties
        .insert("apiVersion".into(), Schema::typed("string"));
    let mut metadata = Schema::typed("object");
    for name in ["name", "generateName"] {
        metadata
            .properties
            .insert(name.into(), Schema::typed("string"));
    }
    result.properties.insert("metadata".into(), metadata);
    result
}

/// A CEL type as far as cost estimation needs it.
#[derive(Clone, Debug)]
enum Ty<'d> {
    Dyn,
    Null,
    Bool,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    Duration,
    Timestamp,
    Type,
    List(Box<Ty<'d>>),
    Map(Box<Ty<'d>>, Box<Ty<'d>>),
    Object(&'d BTreeMap<String, Decl>),
    Optional(Box<Ty<'d>>),
    /// A Kubernetes library type (quantity, URL, IP, ...), whose equality
    /// the apiserver prices differently.
    Opaque,
}

impl<'d> Ty<'d> {
    fn of(decl: &'d Decl) -> Ty<'d> {
        match &decl.kind {
            Kind::Bool => Ty::Bool,
            Kind::Int => Ty::Int,
            Kind::Double => Ty::Double,
            Kind::String => Ty::String,
            Kind::Bytes => Ty::Bytes,
            Kind::Duration => Ty::Duration,
            Kind::Timestamp => Ty::Timestamp,
            Kind::Dyn => Ty::Dyn,
            Kind::List(item) => Ty::List(Box::new(Ty::of(item))),
            Kind::Map(value) => Ty::Map(Box::new(Ty::String), Box::new(Ty::of(value))),
            Kind::Object(fields) => Ty::Object(fields),
        }
    }

    /// cel-go's `isScalar`: a fixed size of 1.
    fn is_scalar(&self) -> bool {
        match self {
            Ty::Bool | Ty::Double | Ty::Duration | Ty::Int | Ty::Timestamp | Ty::Uint => true,
            Ty::Optional(inner) => inner.is_scalar(),
            _ => false,
        }
    }

    fn is_number(&self) -> bool {
        matches!(self, Ty::Int | Ty::Uint | Ty::Double)
    }

    /// Values whose comparison and arithmetic are O(1).
    fn is_fixed(&self) -> bool {
        self.is_number() || matches!(self, Ty::Bool | Ty::Duration | Ty::Timestamp)
    }

    fn same_kind(&self, other: &Ty<'_>) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// Size of a container's entries (cel-go's `entrySizeEstimate`).
#[derive(Clone, Copy, Debug)]
struct Entry {
    list: bool,
    key: Est,
    val: Est,
}

fn union_entries(a: Option<Entry>, b: Option<Entry>) -> Option<Entry> {
    let (a, b) = (a?, b?);
    Some(Entry {
        list: a.list,
        key: a.key.union(b.key),
        val: a.val.union(b.val),
    })
}

/// What estimation knows of one expression.
#[derive(Clone, Debug)]
struct Info<'d> {
    cost: Est,
    ty: Ty<'d>,
    /// The field path from a variable (`self`, `spec`, `@items`, ...), as
    /// cel-go tracks it for the size estimator.
    path: Vec<String>,
    size: Option<Est>,
    entry: Option<Entry>,
}

impl Info<'_> {
    fn size(&self) -> Est {
        self.size.unwrap_or(Est::UNKNOWN)
    }
}

#[derive(Clone, Debug)]
struct Local<'d> {
    name: String,
    path: Vec<String>,
    ty: Ty<'d>,
    size: Option<Est>,
    entry: Option<Entry>,
}

/// The apiserver's accumulator variables, whose paths its size estimator
/// is not shown.
const ACCUMULATORS: [&str; 2] = ["@result", "__result__"];

/// Identifiers that name types.
const TYPE_NAMES: [&str; 10] = [
    "bool",
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "list",
    "map",
    "null_type",
    "type",
];

/// An estimate of one expression: its cost range, and whether it is
/// certain (every construct in it modelled).
#[derive(Debug)]
pub(super) struct Estimate {
    pub cost: Est,
    /// Why the estimate cannot be trusted, if it cannot.
    pub uncertain: Option<String>,
    /// The unbounded schema nodes whose estimated sizes went into it: path,
    /// the keyword that would bound it, and the size estimated for it.
    pub derived: BTreeMap<String, (&'static str, i64)>,
}

struct Estimator<'d> {
    root: &'d Decl,
    self_ty: Ty<'d>,
    optional_old_self: bool,
    locals: Vec<Local<'d>>,
    uncertain: Option<String>,
    derived: BTreeMap<String, (&'static str, i64)>,
}

/// Estimates the cost of `source` with `self` of type `root`.
fn estimate(root: &Decl, source: &str, optional_old_self: bool) -> Option<Estimate> {
    let expr = Parser::new()
        .enable_optional_syntax(true)
        .parse(source)
        .ok()?;
    let mut estimator = Estimator {
        root,
        self_ty: Ty::of(root),
        optional_old_self,
        locals: Vec::new(),
        uncertain: None,
        derived: BTreeMap::new(),
    };
    let info = estimator.expr(&expr);
    Some(Estimate {
        cost: info.cost,
        uncertain: estimator.uncertain,
        derived: estimator.derived,
    })
}

impl<'d> Estimator<'d> {
    fn unsure(&mut self, why: impl Into<String>) {
        if self.uncertain.is_none() {
            self.uncertain = Some(why.into());
        }
    }

    /// The apiserver's size estimator: follows `path` (its first element,
    /// the variable, skipped) through the declared types from the rule's
    /// node, and gives `0..MaxElements` of what it reaches.
    fn size_from_path(&mut self, path: &[String]) -> Option<Est> {
        let (_, steps) = path.split_first()?;
        let mut node = self.root;
        for step in steps {
            node = match (step.as_str(), &node.kind) {
                ("@items", Kind::List(item)) => item,
                ("@values", Kind::Map(value)) => value,
                ("@keys", Kind::Map(_)) => &MAP_KEY,
                (name, Kind::Object(fields)) => fields.get(name)?,
                _ => return None,
            };
        }
        if let Some((at, keyword)) = &node.derived {
            self.derived
                .insert(at.clone(), (keyword, node.max_elements));
        }
        Some(Est {
            min: 0,
            max: node.max_elements as u64,
        })
    }

    /// cel-go's `computeSize` for an expression that is not a literal and
    /// has no computed size: the size estimator, then the type, then the
    /// local variable's own size.
    fn size_of(&mut self, path: &[String], ty: &Ty<'_>, local: Option<Est>) -> Option<Est> {
        self.size_from_path(path)
            .or_else(|| ty.is_scalar().then_some(Est::fixed(1)))
            .or(local)
    }

    fn local(&self, name: &str) -> Option<Local<'d>> {
        self.locals.iter().rev().find(|l| l.name == name).cloned()
    }

    fn expr(&mut self, e: &IdedExpr) -> Info<'d> {
        match &e.expr {
            Expr::Literal(literal) => {
                let (ty, size) = match literal {
                    LiteralValue::Boolean(_) => (Ty::Bool, 1),
                    LiteralValue::Bytes(b) => (Ty::Bytes, b.inner().len() as u64),
                    LiteralValue::Double(_) => (Ty::Double, 1),
                    LiteralValue::Int(_) => (Ty::Int, 1),
                    LiteralValue::Null => (Ty::Null, 1),
                    LiteralValue::String(s) => (Ty::String, s.inner().chars().count() as u64),
                    LiteralValue::UInt(_) => (Ty::Uint, 1),
                };
                Info {
                    cost: Est::fixed(0),
                    ty,
                    path: Vec::new(),
                    size: Some(Est::fixed(size)),
                    entry: None,
                }
            }
            Expr::Ident(name) => self.ident(name),
            Expr::Select(select) => {
                let operand = self.expr(&select.operand);
                if select.test {
                    // has(): the apiserver prices presence tests at 0.
                    return Info {
                        cost: operand.cost,
                        ty: Ty::Bool,
                        path: Vec::new(),
                        size: Some(Est::fixed(1)),
                        entry: None,
                    };
                }
                let extra = match operand.ty {
                    Ty::Map(..) | Ty::Object(_) => 1,
                    Ty::Dyn => 0,
                    _ => {
                        self.unsure(format!("`.{}` on a value without fields", select.field));
                        0
                    }
                };
                let ty = self.field(&operand.ty, &select.field);
                let mut path = operand.path;
                path.push(select.field.clone());
                let size = self.size_of(&path, &ty, None);
                Info {
                    cost: operand.cost.add(Est::fixed(extra)),
                    ty,
                    path,
                    size,
                    entry: None,
                }
            }
            Expr::List(list) => {
                let mut cost = Est::fixed(0);
                let mut item = Est {
                    min: if list.elements.is_empty() {
                        0
                    } else {
                        u64::MAX
                    },
                    max: 0,
                };
                let mut types: Vec<Ty<'d>> = Vec::new();
                for element in &list.elements {
                    let info = self.expr(element);
                    cost = cost.add(info.cost);
                    item = item.union(info.size());
                    types.push(info.ty);
                }
                let ty = match types.first() {
                    Some(first) if types.iter().all(|t| t.same_kind(first)) => first.clone(),
                    _ => Ty::Dyn,
                };
                Info {
                    cost: cost.add(Est::fixed(LIST_CREATE)),
                    ty: Ty::List(Box::new(ty)),
                    path: Vec::new(),
                    size: Some(Est::fixed(list.elements.len() as u64)),
                    entry: Some(Entry {
                        list: true,
                        key: Est::fixed(1),
                        val: item,
                    }),
                }
            }
            Expr::Map(map) => {
                let mut cost = Est::fixed(0);
                let empty = if map.entries.is_empty() { 0 } else { u64::MAX };
                let mut key = Est { min: empty, max: 0 };
                let mut val = key;
                for entry in &map.entries {
                    match &entry.expr {
                        EntryExpr::MapEntry(e) => {
                            let k = self.expr(&e.key);
                            let v = self.expr(&e.value);
                            cost = cost.add(k.cost).add(v.cost);
                            key = key.union(k.size());
                            val = val.union(v.size());
                        }
                        EntryExpr::StructField(_) => self.unsure("a struct field in a map"),
                    }
                }
                Info {
                    cost: cost.add(Est::fixed(MAP_CREATE)),
                    ty: Ty::Map(Box::new(Ty::Dyn), Box::new(Ty::Dyn)),
                    path: Vec::new(),
                    size: Some(Est::fixed(map.entries.len() as u64)),
                    entry: Some(Entry {
                        list: false,
                        key,
                        val,
                    }),
                }
            }
            Expr::Struct(_) => {
                self.unsure("a message literal");
                Info {
                    cost: Est::fixed(STRUCT_CREATE),
                    ty: Ty::Dyn,
                    path: Vec::new(),
                    size: None,
                    entry: None,
                }
            }
            Expr::Comprehension(c) => self.comprehension(c),
            Expr::Call(call) => self.call(call),
            Expr::Unspecified => {
                self.unsure("an unspecified expression");
                Info {
                    cost: Est::fixed(0),
                    ty: Ty::Dyn,
                    path: Vec::new(),
                    size: None,
                    entry: None,
                }
            }
        }
    }

    fn ident(&mut self, name: &str) -> Info<'d> {
        let (path, ty, local_size, entry) = match self.local(name) {
            Some(local) => (local.path, local.ty, local.size, local.entry),
            None => {
                let ty = match name {
                    "self" => self.self_ty.clone(),
                    "oldSelf" if self.optional_old_self => {
                        Ty::Optional(Box::new(self.self_ty.clone()))
                    }
                    "oldSelf" => self.self_ty.clone(),
                    _ if TYPE_NAMES.contains(&name) => Ty::Type,
                    _ => {
                        self.unsure(format!("the unknown name `{name}`"));
                        Ty::Dyn
                    }
                };
                (vec![name.to_owned()], ty, None, None)
            }
        };
        let size = self.size_of(&path, &ty, local_size);
        Info {
            cost: Est::fixed(1),
            ty,
            path,
            size,
            entry,
        }
    }

    /// The type of `.field` on a value of type `operand`.
    fn field(&mut self, operand: &Ty<'d>, field: &str) -> Ty<'d> {
        match operand {
            Ty::Object(fields) => {
                let found = fields.get(field).or_else(|| {
                    // The apiserver's type provider takes a reserved word
                    // bare too (its size estimator does not).
                    RESERVED
                        .contains(&field)
                        .then(|| fields.get(&format!("__{field}__")))
                        .flatten()
                });
                match found {
                    Some(decl) => Ty::of(decl),
                    None => {
                        self.unsure(format!("the undeclared field `{field}`"));
                        Ty::Dyn
                    }
                }
            }
            Ty::Map(_, value) => (**value).clone(),
            Ty::Dyn => Ty::Dyn,
            _ => {
                self.unsure(format!("`.{field}` on a value without fields"));
                Ty::Dyn
            }
        }
    }

    fn comprehension(&mut self, c: &ComprehensionExpr) -> Info<'d> {
        let range = self.expr(&c.iter_range);
        let init = self.expr(&c.accu_init);
        let mut sum = range.cost.add(init.cost);
        if c.iter_var2.is_some() {
            self.unsure("a two-variable comprehension");
        }
        let list = match (range.entry, &range.ty) {
            (Some(entry), _) => entry.list,
            (None, Ty::List(_)) => true,
            (None, Ty::Map(..)) => false,
            (None, _) => {
                self.unsure("iterating over a value that is not a list or map");
                true
            }
        };
        let item_ty = match &range.ty {
            Ty::List(item) => (**item).clone(),
            Ty::Map(key, _) => (**key).clone(),
            _ => Ty::Dyn,
        };
        let mut item_path = range.path.clone();
        item_path.push(if list { "@items" } else { "@keys" }.into());
        self.locals.push(Local {
            name: c.accu_var.clone(),
            path: init.path.clone(),
            ty: init.ty.clone(),
            size: init.size,
            entry: init.entry,
        });
        self.locals.push(Local {
            name: c.iter_var.clone(),
            path: item_path,
            ty: item_ty,
            size: range.entry.map(|e| if list { e.val } else { e.key }),
            entry: None,
        });
        let condition = self.expr(&c.loop_cond);
        let step = self.expr(&c.loop_step);
        self.locals.pop();
        let result = self.expr(&c.result);
        self.locals.pop();
        let count = range.size();
        sum = sum
            .add(result.cost)
            .add(count.mul(step.cost.add(condition.cost)));
        let (size, entry) = match &c.accu_init.expr {
            Expr::Literal(_) => (init.size, None),
            Expr::List(_) | Expr::Map(_) => (Some(count), step.entry),
            _ => (None, None),
        };
        let size = size.or_else(|| result.ty.is_scalar().then_some(Est::fixed(1)));
        Info {
            cost: sum,
            ty: result.ty,
            path: Vec::new(),
            size,
            entry,
        }
    }

    fn call(&mut self, call: &CallExpr) -> Info<'d> {
        let mut name = call.func_name.clone();
        let mut target = call.target.as_deref();
        // `optional.of(x)`, `strings.quote(s)`: a namespaced global.
        if let Some(IdedExpr {
            expr: Expr::Ident(ns),
            ..
        }) = target
            && self.local(ns).is_none()
            && ["optional", "math", "strings", "sets"].contains(&ns.as_str())
        {
            name = format!("{ns}.{name}");
            target = None;
        }
        if name == "dyn" && target.is_none() && call.args.len() == 1 {
            let arg = self.expr(&call.args[0]);
            return Info {
                cost: Est::fixed(1).add(arg.cost),
                ty: Ty::Dyn,
                path: Vec::new(),
                size: arg.size,
                entry: arg.entry,
            };
        }
        let args: Vec<Info<'d>> = call.args.iter().map(|a| self.expr(a)).collect();
        let target = target.map(|t| self.expr(t));
        let result = self.function(&name, target.as_ref(), &args, call);
        let size = match result.size {
            Some(size) => Some(size),
            None => self.size_of(&result.path, &result.ty, None),
        };
        Info {
            cost: target.map_or(Est::fixed(0), |t| t.cost).add(result.cost),
            ty: result.ty,
            path: result.path,
            size,
            entry: result.entry,
        }
    }

    /// The size of a list's items as the apiserver's library sees them: by
    /// path where the list has one (and is not an accumulator), else
    /// unknown.
    fn item_size(&mut self, list: &Info<'d>) -> Est {
        if list.path.is_empty() || ACCUMULATORS.contains(&list.path[0].as_str()) {
            return Est::UNKNOWN;
        }
        let mut path = list.path.clone();
        path.push("@items".into());
        self.size_from_path(&path).unwrap_or(Est::UNKNOWN)
    }

    /// A function's cost (arguments included, its target not), result type,
    /// and where known its result's size, entries and path — cel-go's
    /// `functionCost` after the apiserver's library estimator.
    fn function(
        &mut self,
        name: &str,
        target: Option<&Info<'d>>,
        args: &[Info<'d>],
        call: &CallExpr,
    ) -> Info<'d> {
        let arg_sum = args.iter().fold(Est::fixed(0), |sum, a| sum.add(a.cost));
        let one = Est::fixed(1).add(arg_sum);
        let plain = |cost: Est, ty: Ty<'d>| Info {
            cost,
            ty,
            path: Vec::new(),
            size: None,
            entry: None,
        };
        let target_string = target.is_some_and(|t| matches!(t.ty, Ty::String));
        match (name, target, args) {
            ("_&&_" | "_||_", None, [a, b]) => plain(
                Est {
                    min: a.cost.min,
                    max: a.cost.max.saturating_add(b.cost.max),
                },
                Ty::Bool,
            ),
            ("!_" | "@not_strictly_false", None, _) => plain(one, Ty::Bool),
            ("_?_:_", None, [c, t, f]) => Info {
                cost: c.cost.add(t.cost.union(f.cost)),
                ty: if t.ty.same_kind(&f.ty) {
                    t.ty.clone()
                } else {
                    Ty::Dyn
                },
                path: Vec::new(),
                size: Some(t.size().union(f.size())),
                entry: union_entries(t.entry, f.entry),
            },
            ("_==_" | "_!=_", None, [a, b]) => {
                if matches!(a.ty, Ty::Opaque) || matches!(b.ty, Ty::Opaque) {
                    self.unsure("equality of Kubernetes library values");
                }
                plain(compare(a, b).add(arg_sum), Ty::Bool)
            }
            ("_<_" | "_<=_" | "_>_" | "_>=_", None, [a, b]) => {
                let cost = match (&a.ty, &b.ty) {
                    (Ty::String, Ty::String) | (Ty::Bytes, Ty::Bytes) => compare(a, b),
                    (x, y) if x.is_fixed() && y.is_fixed() => Est::fixed(1),
                    _ => {
                        self.unsure("comparing values of unknown types");
                        Est::fixed(1)
                    }
                };
                plain(cost.add(arg_sum), Ty::Bool)
            }
            ("_+_", None, [a, b]) => match (&a.ty, &b.ty) {
                (Ty::String, Ty::String) | (Ty::Bytes, Ty::Bytes) | (Ty::List(_), Ty::List(_)) => {
                    let size = a.size().add(b.size());
                    let cost = if matches!(a.ty, Ty::List(_)) {
                        Est::fixed(1)
                    } else {
                        size.factor(STRING_TRAVERSAL)
                    };
                    let ty = match (&a.ty, &b.ty) {
                        (Ty::List(x), Ty::List(y)) if !x.same_kind(y) => {
                            if matches!(**x, Ty::Dyn) {
                                b.ty.clone()
                            } else {
                                a.ty.clone()
                            }
                        }
                        _ => a.ty.clone(),
                    };
                    Info {
                        cost: cost.add(arg_sum),
                        ty,
                        path: Vec::new(),
                        size: Some(size),
                        entry: union_entries(a.entry, b.entry),
                    }
                }
                (x, y) if x.is_fixed() && y.is_fixed() => {
                    let ty = if matches!(y, Ty::Timestamp) {
                        Ty::Timestamp
                    } else {
                        x.clone()
                    };
                    plain(one, ty)
                }
                _ => {
                    self.unsure("`+` on values of unknown types");
                    plain(one, Ty::Dyn)
                }
            },
            ("_-_" | "_*_" | "_/_" | "_%_", None, [a, b]) => {
                let ty = match (&a.ty, &b.ty) {
                    (Ty::Timestamp, Ty::Timestamp) => Ty::Duration,
                    (x, _) => x.clone(),
                };
                plain(one, ty)
            }
            ("-_", None, [a]) => plain(one, a.ty.clone()),
            ("_[_]", None, [container, _]) => {
                let (step, ty) = match &container.ty {
                    Ty::List(item) => ("@items", (**item).clone()),
                    Ty::Map(_, value) => ("@values", (**value).clone()),
                    _ => {
                        self.unsure("indexing a value that is not a list or map");
                        return plain(one, Ty::Dyn);
                    }
                };
                let mut path = container.path.clone();
                path.push(step.into());
                Info {
                    cost: one,
                    ty,
                    path,
                    size: container.entry.map(|e| e.val),
                    entry: None,
                }
            }
            ("_[?_]", None, [container, _]) => {
                let ty = match &container.ty {
                    Ty::List(item) => (**item).clone(),
                    Ty::Map(_, value) => (**value).clone(),
                    _ => Ty::Dyn,
                };
                plain(one, Ty::Optional(Box::new(ty)))
            }
            ("_?._", None, [operand, _]) => {
                let inner = match &operand.ty {
                    Ty::Optional(inner) => (**inner).clone(),
                    other => other.clone(),
                };
                let ty = match call.args.get(1).map(|a| &a.expr) {
                    Some(Expr::Literal(LiteralValue::String(field))) => {
                        self.field(&inner, field.inner())
                    }
                    _ => Ty::Dyn,
                };
                plain(one, Ty::Optional(Box::new(ty)))
            }
            ("@in", None, [_, container]) => match &container.ty {
                Ty::List(_) => plain(container.size().factor(1.0).add(arg_sum), Ty::Bool),
                Ty::Map(..) => plain(one, Ty::Bool),
                _ => {
                    self.unsure("`in` on a value that is not a list or map");
                    plain(one, Ty::Bool)
                }
            },
            ("size", _, _) => plain(one, Ty::Int),
            ("startsWith" | "endsWith", Some(_), [prefix]) if target_string => plain(
                prefix.size().factor(STRING_TRAVERSAL).add(arg_sum),
                Ty::Bool,
            ),
            ("contains", Some(t), [sub]) if target_string => plain(
                t.size()
                    .factor(STRING_TRAVERSAL)
                    .mul(sub.size().factor(STRING_TRAVERSAL))
                    .add(arg_sum),
                Ty::Bool,
            ),
            ("matches", Some(t), [regex]) if target_string => {
                plain(regex_cost(t, regex).add(arg_sum), Ty::Bool)
            }
            ("matches", None, [_, _]) => plain(one, Ty::Bool),
            ("lowerAscii" | "upperAscii" | "trim" | "substring", Some(t), _) if target_string => {
                Info {
                    cost: t.size().factor(STRING_TRAVERSAL).add(arg_sum),
                    ty: Ty::String,
                    path: Vec::new(),
                    size: Some(t.size()),
                    entry: None,
                }
            }
            ("replace", Some(t), [from, to, ..]) if target_string => Info {
                cost: t.size().factor(2.0 * STRING_TRAVERSAL).add(arg_sum),
                ty: Ty::String,
                path: Vec::new(),
                size: Some(replaced_size(t.size(), from.size(), to.size())),
                entry: None,
            },
            ("split", Some(t), _) if target_string => {
                let size = t.size();
                let max = match call.args.get(1).map(|a| &a.expr) {
                    // Go's uint64(i): a negative limit wraps.
                    Some(Expr::Literal(LiteralValue::Int(limit))) => *limit.inner() as u64,
                    _ => size.max,
                };
                Info {
                    cost: size.factor(2.0 * STRING_TRAVERSAL).add(arg_sum),
                    ty: Ty::List(Box::new(Ty::String)),
                    path: Vec::new(),
                    size: Some(Est { min: 0, max }),
                    entry: None,
                }
            }
            ("join", Some(t), _) if matches!(t.ty, Ty::List(_)) => {
                let count = t.size();
                let mut size = count.mul(self.item_size(t));
                if let Some(separator) = args.first() {
                    let separators = Est {
                        min: count.min.saturating_sub(1),
                        max: count.max.saturating_sub(1),
                    };
                    size = size.add(separator.size().mul(separators));
                }
                Info {
                    cost: size.factor(STRING_TRAVERSAL).add(arg_sum),
                    ty: Ty::String,
                    path: Vec::new(),
                    size: Some(size),
                    entry: None,
                }
            }
            ("indexOf" | "lastIndexOf" | "isSorted" | "sum" | "max" | "min", Some(t), _) => {
                let (cost, item) = match &t.ty {
                    Ty::List(item) | Ty::Map(item, _) => {
                        let mut each = Est::fixed(1);
                        if matches!(**item, Ty::String | Ty::Bytes) {
                            each = each.add(self.item_size(t).factor(STRING_TRAVERSAL));
                        }
                        (t.size().mul(each), (**item).clone())
                    }
                    _ => (t.size().factor(STRING_TRAVERSAL), Ty::Dyn),
                };
                let ty = match name {
                    "indexOf" | "lastIndexOf" => Ty::Int,
                    "isSorted" => Ty::Bool,
                    _ => item,
                };
                plain(cost.add(arg_sum), ty)
            }
            ("find" | "findAll", Some(t), [regex, ..]) => Info {
                cost: regex_cost(t, regex).add(arg_sum),
                ty: if name == "find" {
                    Ty::String
                } else {
                    Ty::List(Box::new(Ty::String))
                },
                path: Vec::new(),
                size: Some(Est {
                    min: 0,
                    max: t.size().max,
                }),
                entry: None,
            },
            ("url" | "jsonpatch.escapeKey", None, [s]) => Info {
                cost: s.size().factor(STRING_TRAVERSAL).add(arg_sum),
                ty: if name == "url" {
                    Ty::Opaque
                } else {
                    Ty::String
                },
                path: Vec::new(),
                size: Some(s.size()),
                entry: None,
            },
            (
                "cidr" | "isIP" | "isCIDR" | "quantity" | "isQuantity" | "semver" | "isSemver"
                | "ip",
                None,
                [s, ..],
            ) => {
                let ty = if name.starts_with("is") {
                    Ty::Bool
                } else {
                    Ty::Opaque
                };
                plain(s.size().factor(STRING_TRAVERSAL).add(arg_sum), ty)
            }
            ("ip.isCanonical", None, [s]) => plain(
                s.size().factor(2.0 * STRING_TRAVERSAL).add(arg_sum),
                Ty::Bool,
            ),
            (
                "ip"
                | "masked"
                | "add"
                | "sub"
                | "format.named"
                | "sign"
                | "asInteger"
                | "compareTo"
                | "major"
                | "minor"
                | "patch"
                | "prefixLength"
                | "family"
                | "asApproximateFloat"
                | "isInteger"
                | "isGreaterThan"
                | "isLessThan"
                | "isUnspecified"
                | "isLoopback"
                | "isLinkLocalMulticast"
                | "isLinkLocalUnicast"
                | "isGlobalUnicast"
                | "getScheme"
                | "getHostname"
                | "getHost"
                | "getPort"
                | "getEscapedPath"
                | "getQuery",
                _,
                _,
            ) => {
                let ty = match name {
                    "sign" | "asInteger" | "compareTo" | "major" | "minor" | "patch"
                    | "prefixLength" | "family" => Ty::Int,
                    "asApproximateFloat" => Ty::Double,
                    _ if name.starts_with("is") => Ty::Bool,
                    _ if name.starts_with("get") => Ty::String,
                    _ => Ty::Opaque,
                };
                plain(one, ty)
            }
            ("int" | "uint" | "double" | "bool" | "duration" | "timestamp" | "type", None, [_]) => {
                let ty = match name {
                    "int" => Ty::Int,
                    "uint" => Ty::Uint,
                    "double" => Ty::Double,
                    "bool" => Ty::Bool,
                    "duration" => Ty::Duration,
                    "timestamp" => Ty::Timestamp,
                    _ => Ty::Type,
                };
                plain(one, ty)
            }
            ("string", None, [s]) if matches!(s.ty, Ty::Bytes) => {
                let size = s.size();
                Info {
                    cost: size.factor(STRING_TRAVERSAL).add(arg_sum),
                    ty: Ty::String,
                    path: Vec::new(),
                    size: Some(Est {
                        min: size.min / 4,
                        max: size.max,
                    }),
                    entry: None,
                }
            }
            ("string", None, [_]) => plain(one, Ty::String),
            ("bytes", None, [s]) if matches!(s.ty, Ty::String) => {
                let size = s.size();
                Info {
                    cost: size.factor(STRING_TRAVERSAL).add(arg_sum),
                    ty: Ty::Bytes,
                    path: Vec::new(),
                    // Go's sz.Max * 4 wraps.
                    size: Some(Est {
                        min: size.min,
                        max: size.max.wrapping_mul(4),
                    }),
                    entry: None,
                }
            }
            ("bytes", None, [_]) => plain(one, Ty::Bytes),
            ("format", Some(t), _) if target_string => {
                plain(t.size().factor(STRING_TRAVERSAL).add(arg_sum), Ty::String)
            }
            ("strings.quote", None, [s]) => {
                let size = s.size();
                Info {
                    cost: size.factor(STRING_TRAVERSAL).add(arg_sum),
                    ty: Ty::String,
                    path: Vec::new(),
                    size: Some(Est {
                        min: size.min.wrapping_add(2),
                        max: size.max.wrapping_mul(2).wrapping_add(2),
                    }),
                    entry: None,
                }
            }
            ("charAt", Some(_), [_]) if target_string => plain(one, Ty::String),
            ("optional.of" | "optional.ofNonZeroValue", None, [a]) => {
                plain(one, Ty::Optional(Box::new(a.ty.clone())))
            }
            ("optional.none", None, []) => plain(one, Ty::Optional(Box::new(Ty::Dyn))),
            ("hasValue", Some(_), []) => plain(one, Ty::Bool),
            ("value" | "orValue", Some(t), _) => {
                let ty = match &t.ty {
                    Ty::Optional(inner) => (**inner).clone(),
                    _ => Ty::Dyn,
                };
                plain(one, ty)
            }
            ("or", Some(t), [_]) => plain(one, t.ty.clone()),
            _ => {
                self.unsure(format!("the function `{name}`"));
                plain(one, Ty::Dyn)
            }
        }
    }
}

/// Equality and ordering of strings, bytes, lists: the shorter operand's
/// length times the traversal factor (cel-go's `Equals`/`LessString` rule).
fn compare(a: &Info<'_>, b: &Info<'_>) -> Est {
    let smallest = a.size().max.min(b.size().max);
    Est {
        min: u64::from(smallest > 0),
        max: smallest,
    }
    .factor(STRING_TRAVERSAL)
}

/// A regular expression applied to a string: (length + 1) × 0.1 times the
/// pattern's length × 0.25, each rounded up.
fn regex_cost(string: &Info<'_>, regex: &Info<'_>) -> Est {
    string
        .size()
        .add(Est::fixed(1))
        .factor(STRING_TRAVERSAL)
        .mul(regex.size().factor(REGEX_LENGTH))
}

/// The size of `s.replace(from, to)` (the apiserver library's estimate).
fn replaced_size(s: Est, from: Est, to: Est) -> Est {
    let mut count = Est { min: 0, max: 0 };
    let mut retained = Est { min: 0, max: 0 };
    if from.min == 0 {
        count.max = if s.max < u64::MAX { s.max + 1 } else { s.max };
        retained.max = s.max;
    } else if to.max <= from.min {
        retained.max = s.max;
    } else {
        count.max = (s.max as f64 / from.min as f64).ceil() as u64;
    }
    if from.max == 0 {
        count.min = if s.min < u64::MAX { s.min + 1 } else { s.min };
        retained.min = s.min;
    } else if from.max <= to.min {
        retained.min = s.min;
    } else {
        count.min = (s.min as f64 / from.max as f64).ceil() as u64;
    }
    count.mul(to).add(retained)
}

/// One cost the apiserver counts toward the CRD's total.
struct Counted {
    path: String,
    what: String,
    cost: u64,
}

/// Every cost problem of the rules on `root` and below, pushed with the path
/// of the node the rule is attached to; the CRD total at `""`.
pub(super) fn check_costs(root: &Schema, push: &mut dyn FnMut(&str, String)) {
    let mut counted = Vec::new();
    walk(root, "", true, Some(1), &mut Vec::new(), &mut counted, push);
    let total = counted
        .iter()
        .fold(0u64, |sum, c| sum.saturating_add(c.cost));
    if total > PER_CRD_LIMIT {
        let mut largest: Vec<&Counted> = counted
            .iter()
            .filter(|c| c.cost >= PER_CRD_LIMIT / 100)
            .collect();
        largest.sort_by_key(|c| std::cmp::Reverse(c.cost));
        largest.truncate(4);
        let contributors: Vec<String> = largest
            .iter()
            .map(|c| {
                format!(
                    "{} on {} ({})",
                    c.what,
                    if c.path.is_empty() {
                        "the root"
                    } else {
                        &c.path
                    },
                    thousands(c.cost)
                )
            })
            .collect();
        push(
            "",
            format!(
                "{}: the estimated costs of this CRD's rules add up to {} > the per-CRD limit \
                 {}; the largest: {}",
                budget_message(
                    "x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema",
                    total,
                    PER_CRD_LIMIT,
                ),
                thousands(total),
                thousands(PER_CRD_LIMIT),
                contributors.join(", ")
            ),
        );
    }
}

/// An unbounded list or map above a rule: its path and keyword.
type Unbounded = (String, &'static str);

fn walk(
    node: &Schema,
    path: &str,
    resource_root: bool,
    cardinality: Option<u64>,
    unbounded: &mut Vec<Unbounded>,
    counted: &mut Vec<Counted>,
    push: &mut dyn FnMut(&str, String),
) {
    if !node.validations.is_empty()
        && let Some(decl) = decl(node, path, resource_root || node.embedded_resource)
    {
        // Under an unbounded list or map, the apiserver takes the most
        // copies of this node that fit in a request.
        let times = cardinality.unwrap_or((MAX_REQUEST_SIZE / (decl.min_size + 1)) as u64);
        for (i, rule) in node.validations.iter().enumerate() {
            check_rule(
                &decl,
                rule,
                i,
                path,
                times,
                cardinality.is_none().then_some(&unbounded[..]),
                counted,
                push,
            );
        }
    }
    // How many times each child can occur per occurrence of this node
    // (`extractMaxElements`): maxItems/maxProperties of a list or map,
    // unbounded without them, once for an object's properties.
    let bound = |max: Option<i64>| max.map(|n| n.max(0) as u64);
    let times = |factor: Option<u64>| {
        cardinality
            .zip(factor)
            .map(|(c, f)| if c == 0 { 0 } else { c.saturating_mul(f) })
    };
    for (name, child) in &node.properties {
        let factor =
            if node.type_.as_deref() == Some("object") && node.additional_properties.is_some() {
                bound(node.max_properties)
            } else {
                Some(1)
            };
        walk(
            child,
            &format!("{path}.{name}"),
            false,
            times(factor),
            unbounded,
            counted,
            push,
        );
    }
    let mut descend = |child: &Schema, max: Option<i64>, keyword: &'static str| {
        let factor = bound(max);
        let pushed = factor.is_none();
        if pushed {
            unbounded.push((path.to_owned(), keyword));
        }
        walk(
            child,
            &format!("{path}[*]"),
            false,
            times(factor),
            unbounded,
            counted,
            push,
        );
        if pushed {
            unbounded.pop();
        }
    };
    if let Some(items) = &node.items {
        match node.type_.as_deref() {
            Some("array") => descend(items, node.max_items, "maxItems"),
            _ => descend(items, Some(1), "maxItems"),
        }
    }
    if let Some(values) = &node.additional_properties {
        match node.type_.as_deref() {
            Some("object") => descend(values, node.max_properties, "maxProperties"),
            _ => descend(values, Some(1), "maxProperties"),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn check_rule(
    decl: &Decl,
    rule: &Rule,
    index: usize,
    path: &str,
    times: u64,
    unbounded: Option<&[Unbounded]>,
    counted: &mut Vec<Counted>,
    push: &mut dyn FnMut(&str, String),
) {
    let optional = rule.optional_old_self == Some(true);
    if let Some(estimate) = estimate(decl, &rule.rule, optional)
        && estimate.uncertain.is_none()
    {
        let cost = if estimate.cost.max == 0 {
            0
        } else {
            estimate.cost.max.saturating_mul(times)
        };
        let what = format!("x-kubernetes-validations[{index}].rule");
        if cost > PER_EXPRESSION_LIMIT {
            let mut fixes = fixes(&estimate);
            if let Some(unbounded) = unbounded {
                for (at, keyword) in unbounded {
                    fixes.push(format!(
                        "{keyword} to {} (the rule runs for each of its elements; unbounded, \
                         the apiserver counts {} runs)",
                        shown(at),
                        thousands(times)
                    ));
                }
            }
            push(
                path,
                format!(
                    "CEL rule `{}`: {}: {what}: estimated cost {} × {} {} = {} > the \
                     per-expression limit {}{}",
                    rule.rule,
                    budget_message("estimated rule cost", cost, PER_EXPRESSION_LIMIT),
                    thousands(estimate.cost.max),
                    thousands(times),
                    if times == 1 { "run" } else { "runs" },
                    thousands(cost),
                    thousands(PER_EXPRESSION_LIMIT),
                    fix_text(&fixes)
                ),
            );
        }
        counted.push(Counted {
            path: path.to_owned(),
            what,
            cost,
        });
        // The apiserver estimates a message expression only for a rule that
        // compiled.
        if let Some(source) = &rule.message_expression
            && let Some(message) = estimate_message(decl, source, optional)
        {
            let cost = message.cost.max;
            let what = format!("x-kubernetes-validations[{index}].messageExpression");
            if cost > PER_EXPRESSION_LIMIT {
                push(
                    path,
                    format!(
                        "CEL messageExpression `{source}`: {}: {what}: estimated cost {} > the \
                         per-expression limit {}{}",
                        budget_message(
                            "estimated messageExpression cost",
                            cost,
                            PER_EXPRESSION_LIMIT
                        ),
                        thousands(cost),
                        thousands(PER_EXPRESSION_LIMIT),
                        fix_text(&fixes(&message))
                    ),
                );
            }
            counted.push(Counted {
                path: path.to_owned(),
                what,
                cost,
            });
        }
    }
}

fn estimate_message(decl: &Decl, source: &str, optional: bool) -> Option<Estimate> {
    estimate(decl, source, optional).filter(|e| e.uncertain.is_none())
}

fn fixes(estimate: &Estimate) -> Vec<String> {
    estimate
        .derived
        .iter()
        .map(|(at, (keyword, size))| {
            format!(
                "{keyword} to {} (unbounded: estimated {} from the 3 MiB request limit)",
                shown(at),
                thousands(*size as u64)
            )
        })
        .collect()
}

fn fix_text(fixes: &[String]) -> String {
    if fixes.is_empty() {
        "; simplify the rule".into()
    } else {
        format!("; add {}", fixes.join(", "))
    }
}

fn shown(path: &str) -> &str {
    if path.is_empty() { "the root" } else { path }
}

/// The apiserver's own wording (`getCostErrorMessage`).
fn budget_message(what: &str, cost: u64, limit: u64) -> String {
    let factor = cost as f64 / limit as f64;
    let factor = if factor > 100.0 {
        "more than 100x".to_owned()
    } else if factor < 1.5 {
        format!("{factor:.6}x")
    } else {
        format!("{factor:.1}x")
    };
    format!("{what} exceeds budget by factor of {factor}")
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(max_length: Option<i64>) -> Schema {
        Schema {
            max_length,
            ..Schema::typed("string")
        }
    }

    fn list(items: Schema, max_items: Option<i64>) -> Schema {
        Schema {
            max_items,
            ..Schema::array(items)
        }
    }

    fn object(properties: Vec<(&str, Schema)>) -> Schema {
        let mut s = Schema::typed("object");
        for (name, p) in properties {
            s.properties.insert(name.into(), p);
        }
        s
    }

    /// The estimated cost of `rule` with `self` of type `node`.
    #[track_caller]
    fn cost(node: &Schema, rule: &str) -> Est {
        let decl = decl(node, "", false).expect("a declared type");
        let estimate = estimate(&decl, rule, false).expect("parses");
        assert_eq!(estimate.uncertain, None, "{rule}");
        estimate.cost
    }

    fn problems(root: &Schema) -> Vec<String> {
        let mut found = Vec::new();
        check_costs(root, &mut |path, m| found.push(format!("{path}: {m}")));
        found
    }

    fn with_rule(mut node: Schema, rule: &str) -> Schema {
        node.validations.push(Rule {
            rule: rule.into(),
            ..Rule::default()
        });
        node
    }

    #[test]
    fn sizes_come_from_the_schema_bounds_or_the_request_limit() {
        let d = |s: &Schema| decl(s, "", false).unwrap().max_elements;
        // maxLength counts characters of up to 4 bytes.
        assert_eq!(d(&string(Some(10))), 40);
        assert_eq!(d(&string(None)), 3_145_726);
        let mut e = string(None);
        e.enum_ = vec!["a".into(), "abcd".into()];
        assert_eq!(d(&e), 4);
        assert_eq!(d(&Schema::formatted("string", "date-time")), 32);
        assert_eq!(d(&Schema::formatted("string", "duration")), 32);
        assert_eq!(d(&Schema::formatted("string", "date")), 12);
        // A list of strings: each at least `""` plus a comma.
        assert_eq!(d(&list(string(None), None)), 1_048_575);
        assert_eq!(d(&list(Schema::typed("integer"), None)), 1_572_863);
        assert_eq!(d(&list(string(None), Some(7))), 7);
        // A map: each entry at least `"":` plus the value and a comma.
        assert_eq!(d(&Schema::map(string(None))), 393_215);
        // Required properties without defaults make an object bigger.
        let mut item = object(vec![("name", string(None))]);
        item.required = vec!["name".into()];
        assert_eq!(decl(&item, "", false).unwrap().min_size, 2 + 4 + 2 + 4);
        assert_eq!(d(&list(item, None)), 3_145_726 / 13);
    }

    #[test]
    fn selection_and_identifiers_cost_one_and_literals_nothing() {
        let node = object(vec![("n", Schema::typed("integer"))]);
        // self (1) + .n on an object (1); an int's estimated size is 0, so
        // the comparison itself costs nothing.
        assert_eq!(cost(&node, "self.n == 1").max, 2);
        assert_eq!(cost(&node, "has(self.n)").max, 1);
        assert_eq!(cost(&node, "self.n > 1 && self.n < 10").max, 6);
    }

    #[test]
    fn string_comparisons_cost_a_tenth_of_the_shorter_length() {
        let node = object(vec![("s", string(Some(10))), ("u", string(None))]);
        assert_eq!(cost(&node, "self.s == 'abc'").max, 3);
        assert_eq!(cost(&node, "self.s == self.u").max, 4 + 4);
        assert_eq!(cost(&node, "self.u == self.u").max, 314_573 + 4);
        assert_eq!(cost(&node, "self.u < 'abcdefghijk'").max, 2 + 2);
    }

    #[test]
    fn regular_expressions_multiply_string_and_pattern_lengths() {
        let node = object(vec![("s", string(Some(10))), ("u", string(None))]);
        // (40 + 1) × 0.1 → 5, times 8 × 0.25 → 2, plus self.s.
        assert_eq!(cost(&node, "self.s.matches('^[a-z]+$')").max, 12);
        // (3,145,726 + 1) × 0.1 → 314,573, × 2.
        assert_eq!(cost(&node, "self.u.matches('^[a-z]+$')").max, 629_148);
        assert_eq!(
            cost(&node, "self.u.matches('^[a-z]+-[0-9]+$')").max,
            1_258_294
        );
        assert_eq!(cost(&node, "self.u.contains('ab')").max, 314_573 + 2);
        assert_eq!(cost(&node, "self.u.startsWith('ab')").max, 1 + 2);
    }

    #[test]
    fn string_functions_traverse_their_target() {
        let node = object(vec![("u", string(None))]);
        assert_eq!(
            cost(&node, "self.u.lowerAscii() == 'a'").max,
            314_573 + 2 + 1
        );
        assert_eq!(cost(&node, "self.u + 'ab' != ''").max, 314_573 + 2);
        assert_eq!(
            cost(&node, "self.u.split(',').size() > 1").max,
            629_146 + 2 + 1 + 1
        );
    }

    #[test]
    fn comprehensions_multiply_the_loop_by_the_list_size() {
        let node = object(vec![("l", list(string(None), None))]);
        // Per item: the loop condition (2) and `@result && pred` (1 + 3).
        assert_eq!(
            cost(&node, "self.l.all(x, x.size() < 10)").max,
            2 + 1 + 1_048_575 * 6
        );
        let bounded = object(vec![("l", list(string(Some(5)), Some(10)))]);
        assert_eq!(
            cost(&bounded, "self.l.all(x, x.size() < 10)").max,
            2 + 1 + 10 * 6
        );
        // map builds a list: `@result + [f]` per item.
        assert_eq!(
            cost(&bounded, "self.l.map(x, x).size() > 0").max,
            // `[]` (10), per item `@result + [x]` (1 + 1 + 11), the result
            // (1), size() and `>`.
            2 + 10 + 10 * 13 + 1 + 1 + 1
        );
        // Iteration variables are sized by their item's schema.
        assert_eq!(
            cost(&bounded, "self.l.exists(x, x.matches('a'))").max,
            2 + 1 + 10 * (3 + 1 + 1 + 3)
        );
    }

    #[test]
    fn membership_in_a_list_is_linear() {
        let node = object(vec![("l", list(Schema::typed("integer"), Some(100)))]);
        assert_eq!(cost(&node, "1 in self.l").max, 100 + 2);
        let map = object(vec![("m", Schema::map(string(None)))]);
        assert_eq!(cost(&map, "'a' in self.m").max, 1 + 2);
    }

    #[test]
    fn a_bare_reserved_word_has_no_size_as_on_the_apiserver() {
        let node = object(vec![("namespace", string(Some(10)))]);
        assert_eq!(cost(&node, "self.__namespace__.matches('x')").max, 5 + 2);
        assert!(cost(&node, "self.namespace.matches('x')").max > 1_000_000_000_000);
    }

    #[test]
    fn unknown_functions_and_types_make_the_estimate_uncertain() {
        let node = object(vec![("raw", Schema::int_or_string())]);
        let decl = decl(&node, "", false).unwrap();
        for rule in ["self.raw < 5", "self.raw.foo(1)", "self.raw + 1 == 2"] {
            let e = estimate(&decl, rule, false).unwrap();
            assert!(e.uncertain.is_some(), "{rule}");
        }
    }

    #[test]
    fn a_rule_over_the_per_expression_limit_is_refused_with_the_bound_that_fixes_it() {
        let spec = |max_length| {
            object(vec![(
                "s",
                with_rule(string(max_length), "self.matches('^[a-z]+$')"),
            )])
        };
        // self (1) + 629,146: fifteen fit in 10,000,000, sixteen do not.
        let root = |max_items, max_length| {
            object(vec![(
                "spec",
                object(vec![("l", list(spec(max_length), Some(max_items)))]),
            )])
        };
        assert_eq!(problems(&root(15, None)), Vec::<String>::new());
        let found = problems(&root(16, None));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with(
                ".spec.l[*].s: CEL rule `self.matches('^[a-z]+$')`: estimated rule cost exceeds \
                 budget by factor of 1.006635x"
            ),
            "{found:?}"
        );
        assert!(
            found[0]
                .contains("629,147 × 16 runs = 10,066,352 > the per-expression limit 10,000,000"),
            "{found:?}"
        );
        assert!(
            found[0].contains("add maxLength to .spec.l[*].s (unbounded: estimated 3,145,726"),
            "{found:?}"
        );
        assert_eq!(problems(&root(16, Some(1000))), Vec::<String>::new());
    }

    #[test]
    fn unbounded_lists_multiply_by_what_fits_in_a_request() {
        let item = with_rule(string(Some(100)), "self.matches('^[a-z]+$')");
        // (400 + 1) × 0.1 → 41, × 2 = 82, + 1; the list holds 3,145,728 / 3.
        let root = object(vec![("l", list(item.clone(), None))]);
        let found = problems(&root);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("83 × 1,048,576 runs = 87,031,808"),
            "{found:?}"
        );
        assert!(
            found[0].contains("add maxItems to .l (the rule runs for each"),
            "{found:?}"
        );
        assert_eq!(
            problems(&object(vec![("l", list(item, Some(1000)))])),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_crd_total_counts_every_rule_times_its_cardinality() {
        let item = with_rule(string(None), "self.matches('^[a-z]+$')");
        // Each 629,147 × 15 = 9,437,205: ten fit in 100,000,000, eleven do not.
        let root = |lists: usize| {
            object(
                (0..lists)
                    .map(|i| {
                        (
                            ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"][i],
                            list(item.clone(), Some(15)),
                        )
                    })
                    .collect(),
            )
        };
        assert_eq!(problems(&root(10)), Vec::<String>::new());
        let found = problems(&root(11));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with(
                ": x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema \
                 exceeds budget by factor of 1.038093x"
            ),
            "{found:?}"
        );
        assert!(found[0].contains("add up to 103,809,255"), "{found:?}");
    }

    #[test]
    fn message_expressions_have_their_own_limit_and_count_toward_the_total() {
        let mut node = object(vec![("l", list(string(None), None))]);
        node.validations.push(Rule {
            rule: "true".into(),
            message_expression: Some("self.l.exists(x, x.matches('[a-z]+')) ? 'a' : 'b'".into()),
            ..Rule::default()
        });
        let found = problems(&node);
        assert!(
            found[0].contains(
                "estimated messageExpression cost exceeds budget by factor of more than 100x"
            ),
            "{found:?}"
        );
        assert!(found[0].contains("add maxItems to .l"), "{found:?}");
    }

    #[test]
    fn the_apiservers_factor_wording() {
        assert_eq!(
            budget_message("estimated rule cost", 10_380_931, 10_000_000),
            "estimated rule cost exceeds budget by factor of 1.038093x"
        );
        assert!(budget_message("x", 25, 10).ends_with("factor of 2.5x"));
        assert!(budget_message("x", 1001, 10).ends_with("factor of more than 100x"));
        assert_eq!(thousands(4_611_686_018_427_387), "4,611,686,018,427,387");
        assert_eq!(thousands(999), "999");
    }
}
