//! cel-go's static cost estimator (`checker/cost.go`, v0.26) with the
//! apiserver's library estimator (`cel/library/cost.go`) and size estimator
//! (`schema/cel/compilation.go`), over the AST the `cel` crate parses.

use std::collections::BTreeMap;

use cel::common::ast::{CallExpr, ComprehensionExpr, EntryExpr, Expr, IdedExpr, LiteralValue};
use cel::parser::Parser;

use super::super::cel::RESERVED;
use super::decl::{Decl, Kind, MAP_KEY};

// cel-go's unit costs (`common/cost.go`).
pub(super) const LIST_CREATE: u64 = 10;
const MAP_CREATE: u64 = 30;
const STRUCT_CREATE: u64 = 40;

/// A range of sizes or costs, saturating at `u64::MAX` like cel-go's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Est {
    pub min: u64,
    pub max: u64,
}

impl Est {
    pub(super) const UNKNOWN: Est = Est {
        min: 0,
        max: u64::MAX,
    };

    pub(super) const fn fixed(n: u64) -> Est {
        Est { min: n, max: n }
    }

    pub(super) fn add(self, other: Est) -> Est {
        Est {
            min: self.min.saturating_add(other.min),
            max: self.max.saturating_add(other.max),
        }
    }

    pub(super) fn mul(self, other: Est) -> Est {
        Est {
            min: self.min.saturating_mul(other.min),
            max: self.max.saturating_mul(other.max),
        }
    }

    /// Times a cost factor, rounded up (cel-go's `MultiplyByCostFactor`).
    pub(super) fn factor(self, factor: f64) -> Est {
        Est {
            min: by_factor(self.min, factor),
            max: by_factor(self.max, factor),
        }
    }

    pub(super) fn union(self, other: Est) -> Est {
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

/// A CEL type as far as cost estimation needs it.
#[derive(Clone, Debug)]
pub(super) enum Ty<'d> {
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
    /// A Kubernetes library type, whose equality the apiserver prices by
    /// kind.
    Opaque(Lib),
}

/// The Kubernetes library types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lib {
    Ip,
    Cidr,
    Quantity,
    Semver,
    Url,
    Format,
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
    pub(super) fn is_fixed(&self) -> bool {
        self.is_number() || matches!(self, Ty::Bool | Ty::Duration | Ty::Timestamp)
    }

    pub(super) fn same_kind(&self, other: &Ty<'_>) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// Size of a container's entries (cel-go's `entrySizeEstimate`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Entry {
    pub list: bool,
    pub key: Est,
    pub val: Est,
}

pub(super) fn union_entries(a: Option<Entry>, b: Option<Entry>) -> Option<Entry> {
    let (a, b) = (a?, b?);
    Some(Entry {
        list: a.list,
        key: a.key.union(b.key),
        val: a.val.union(b.val),
    })
}

/// What estimation knows of one expression.
#[derive(Clone, Debug)]
pub(super) struct Info<'d> {
    pub cost: Est,
    pub ty: Ty<'d>,
    /// The field path from a variable (`self`, `spec`, `@items`, ...), as
    /// cel-go tracks it for the size estimator.
    pub path: Vec<String>,
    pub size: Option<Est>,
    pub entry: Option<Entry>,
}

impl Info<'_> {
    pub(super) fn size(&self) -> Est {
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
    /// Whether the expression is a bool, and whether a string: the
    /// apiserver prices only a rule that is a bool and a message
    /// expression that is a string (others fail to compile and count 0).
    pub bool: bool,
    pub string: bool,
}

pub(super) struct Estimator<'d> {
    root: &'d Decl,
    self_ty: Ty<'d>,
    optional_old_self: bool,
    locals: Vec<Local<'d>>,
    uncertain: Option<String>,
    derived: BTreeMap<String, (&'static str, i64)>,
}

/// Estimates the cost of `source` with `self` of type `root`.
pub(super) fn estimate(root: &Decl, source: &str, optional_old_self: bool) -> Option<Estimate> {
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
        bool: matches!(info.ty, Ty::Bool),
        string: matches!(info.ty, Ty::String),
    })
}

impl<'d> Estimator<'d> {
    pub(super) fn unsure(&mut self, why: impl Into<String>) {
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
    pub(super) fn field(&mut self, operand: &Ty<'d>, field: &str) -> Ty<'d> {
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
        let list = match (range.entry, &range.ty) {
            (Some(entry), _) => entry.list,
            (None, Ty::List(_)) => true,
            (None, Ty::Map(..)) => false,
            // An int-or-string (`dyn`): cel-go's checker lets it be a range
            // and its estimator, finding no list type, iterates it as a
            // map's keys (`@keys`, `@values`), as many as its size.
            (None, Ty::Dyn) => false,
            (None, _) => {
                self.unsure("iterating over a value that is not a list or map");
                true
            }
        };
        let (key_ty, value_ty) = match &range.ty {
            Ty::List(item) => (Ty::Int, (**item).clone()),
            Ty::Map(key, value) => ((**key).clone(), (**value).clone()),
            _ => (Ty::Dyn, Ty::Dyn),
        };
        let within = |step: &str| {
            let mut path = range.path.clone();
            path.push(step.into());
            path
        };
        // cel-go's pushIterSingle / pushIterKey / pushIterValue: one
        // variable is a list's items or a map's keys; of two, the first is
        // the index or key (`@indices` / `@keys`), the second the item or
        // value (`@items` / `@values`).
        let key = Local {
            name: c.iter_var.clone(),
            path: within(if list { "@indices" } else { "@keys" }),
            ty: key_ty,
            size: range.entry.map(|e| e.key),
            entry: None,
        };
        let value = Local {
            name: c.iter_var2.clone().unwrap_or_else(|| c.iter_var.clone()),
            path: within(if list { "@items" } else { "@values" }),
            ty: value_ty,
            size: range.entry.map(|e| e.val),
            entry: None,
        };
        let iterators = match (&c.iter_var2, list) {
            (Some(_), _) => vec![key, value],
            (None, true) => vec![value],
            (None, false) => vec![Local {
                path: within("@keys"),
                ..key
            }],
        };
        let pushed = iterators.len();
        self.locals.push(Local {
            name: c.accu_var.clone(),
            path: init.path.clone(),
            ty: init.ty.clone(),
            size: init.size,
            entry: init.entry,
        });
        self.locals.extend(iterators);
        let condition = self.expr(&c.loop_cond);
        let step = self.expr(&c.loop_step);
        self.locals.truncate(self.locals.len() - pushed);
        // cel-go types the accumulator by what the step builds (`map` and
        // `filter` start from `[]` and add typed items), so the result of a
        // comprehension is a list of the step's items, not of `dyn`.
        if let (Some(accu), Ty::List(_) | Ty::Map(..)) = (self.locals.last_mut(), &step.ty) {
            accu.ty = step.ty.clone();
        }
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
        if let Some(comprehension) = super::super::macros::two_variable(call) {
            return self.comprehension(&comprehension);
        }
        if let Some((list, sorted)) = super::super::macros::sort_by(call) {
            return self.sort_by(list, &sorted);
        }
        if let Some(expanded) = super::super::macros::opt_map(call) {
            return self.expr(&expanded);
        }
        let mut name = call.func_name.clone();
        let mut target = call.target.as_deref();
        // `optional.of(x)`, `strings.quote(s)`: a namespaced global.
        if let Some(IdedExpr {
            expr: Expr::Ident(ns),
            ..
        }) = target
            && self.local(ns).is_none()
            && ["optional", "math", "strings", "sets", "lists", "format"].contains(&ns.as_str())
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

    /// cel-go's `sortBy` macro: the list bound to a variable (a bind: an
    /// empty list's 10, the list's cost) and `sorted`, the bound list's
    /// `@sortByAssociatedKeys` of the mapped keys.
    fn sort_by(&mut self, list: &IdedExpr, sorted: &CallExpr) -> Info<'d> {
        let list = self.expr(list);
        self.locals.push(Local {
            name: super::super::macros::SORT_BY_INPUT.into(),
            path: list.path.clone(),
            ty: list.ty.clone(),
            size: list.size,
            entry: list.entry,
        });
        let result = self.call(sorted);
        self.locals.pop();
        Info {
            cost: Est::fixed(LIST_CREATE).add(list.cost).add(result.cost),
            ..result
        }
    }

    /// The size of a list's items as the apiserver's library sees them: by
    /// path where the list has one (and is not an accumulator), else
    /// unknown.
    pub(super) fn item_size(&mut self, list: &Info<'d>) -> Est {
        if list.path.is_empty() || ACCUMULATORS.contains(&list.path[0].as_str()) {
            return Est::UNKNOWN;
        }
        let mut path = list.path.clone();
        path.push("@items".into());
        self.size_from_path(&path).unwrap_or(Est::UNKNOWN)
    }
}
