//! The cost of each function call: cel-go's `functionCost` for the
//! standard library, after the apiserver's library estimator for its own
//! functions (string, list, regex, URL, IP, quantity, semver).

use cel::common::ast::{CallExpr, Expr, IdedExpr, LiteralValue};

use super::estimate::{Est, Estimator, Info, Lib, Ty, union_entries};

/// cel-go's traversal factor: a tenth of a unit per character.
const STRING_TRAVERSAL: f64 = 0.1;
/// cel-go's regex factor: a quarter of a unit per pattern character.
const REGEX_LENGTH: f64 = 0.25;
/// apiserver's `MaxNameFormatRegexSize`: the longest regex of a named
/// format, which `validate` is priced at.
const MAX_NAME_FORMAT_REGEX_SIZE: f64 = 128.0;
/// The format library's named formats (`format.dns1123Label()`, ...).
const FORMATS: [&str; 13] = [
    "format.dns1123Label",
    "format.dns1123Subdomain",
    "format.dns1035Label",
    "format.qualifiedName",
    "format.dns1123LabelPrefix",
    "format.dns1123SubdomainPrefix",
    "format.dns1035LabelPrefix",
    "format.labelValue",
    "format.uri",
    "format.uuid",
    "format.byte",
    "format.date",
    "format.datetime",
];

impl<'d> Estimator<'d> {
    /// A function's cost (arguments included, its target not), result type,
    /// and where known its result's size, entries and path — cel-go's
    /// `functionCost` after the apiserver's library estimator.
    pub(super) fn function(
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
        // A string method on an int-or-string (`dyn`) resolves to its
        // string overload, the only one there is.
        let target_string = target.is_some_and(|t| matches!(t.ty, Ty::String | Ty::Dyn));
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
                // The apiserver's library prices equality of its own types:
                // O(1) but for a URL (its size) and a format.
                let cost = match (&a.ty, &b.ty) {
                    (Ty::Opaque(x), Ty::Opaque(y)) if x == y => match x {
                        // Both sizes are the right operand's there.
                        Lib::Url => Est {
                            min: 1,
                            max: b.size.map_or(1, |s| s.max),
                        }
                        .factor(STRING_TRAVERSAL),
                        Lib::Format => Est { min: 1, max: 64 }.factor(STRING_TRAVERSAL),
                        _ => Est::fixed(1),
                    },
                    // Of a library value and a `dyn` (the only other type
                    // the checker lets it meet), cel-go's own equality: the
                    // smaller size.
                    (Ty::Opaque(_), Ty::Dyn) | (Ty::Dyn, Ty::Opaque(_)) => compare(a, b),
                    (Ty::Opaque(_), _) | (_, Ty::Opaque(_)) => {
                        self.unsure("equality of Kubernetes library values");
                        compare(a, b)
                    }
                    _ => compare(a, b),
                };
                plain(cost.add(arg_sum), Ty::Bool)
            }
            ("_<_" | "_<=_" | "_>_" | "_>=_", None, [a, b]) => {
                let cost = match (&a.ty, &b.ty) {
                    (Ty::String, Ty::String) | (Ty::Bytes, Ty::Bytes) => compare(a, b),
                    (x, y) if x.is_fixed() && y.is_fixed() => Est::fixed(1),
                    // An int-or-string (`dyn`): cel-go prices every
                    // overload the other operand allows and takes the range
                    // that covers them all.
                    (Ty::Dyn, Ty::String | Ty::Bytes) | (Ty::String | Ty::Bytes, Ty::Dyn) => {
                        compare(a, b)
                    }
                    (Ty::Dyn, x) | (x, Ty::Dyn) if x.is_fixed() => Est::fixed(1),
                    (Ty::Dyn, Ty::Dyn) => compare(a, b).union(Est::fixed(1)),
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
                (Ty::Dyn, other) | (other, Ty::Dyn) => {
                    let size = a.size().add(b.size());
                    let concatenated = size.factor(STRING_TRAVERSAL);
                    let (cost, ty, size) = match other {
                        Ty::String | Ty::Bytes => (concatenated, other.clone(), Some(size)),
                        Ty::List(_) => (Est::fixed(1), other.clone(), Some(size)),
                        Ty::Int | Ty::Uint | Ty::Double => (Est::fixed(1), other.clone(), None),
                        x if x.is_fixed() => (Est::fixed(1), Ty::Dyn, None),
                        // Both unknown: every `+` overload, the string one
                        // the dearest.
                        Ty::Dyn => (concatenated.union(Est::fixed(1)), Ty::Dyn, Some(size)),
                        _ => {
                            self.unsure("`+` on values of unknown types");
                            (Est::fixed(1), Ty::Dyn, None)
                        }
                    };
                    Info {
                        cost: cost.add(arg_sum),
                        ty,
                        path: Vec::new(),
                        size,
                        entry: None,
                    }
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
                    // A `dyn` matches both index overloads, each O(1); the
                    // map's, checked last, names the path.
                    Ty::Dyn => ("@values", Ty::Dyn),
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
                // A `dyn` matches both overloads: the list's (its size) and
                // the map's (1), and the range covers them.
                Ty::Dyn => plain(
                    container
                        .size()
                        .factor(1.0)
                        .union(Est::fixed(1))
                        .add(arg_sum),
                    Ty::Bool,
                ),
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
                    Ty::Opaque(Lib::Url)
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
                let ty = match name {
                    "cidr" => Ty::Opaque(Lib::Cidr),
                    "quantity" => Ty::Opaque(Lib::Quantity),
                    "semver" => Ty::Opaque(Lib::Semver),
                    "ip" => Ty::Opaque(Lib::Ip),
                    _ => Ty::Bool,
                };
                plain(s.size().factor(STRING_TRAVERSAL).add(arg_sum), ty)
            }
            ("ip.isCanonical", None, [s]) => plain(
                s.size().factor(2.0 * STRING_TRAVERSAL).add(arg_sum),
                Ty::Bool,
            ),
            // The apiserver's CIDR library: comparing two addresses of 4
            // or 16 bytes (and, for a CIDR, its mask and prefix), plus
            // parsing the argument when it is a string.
            ("containsIP" | "containsCIDR", Some(_), [other]) => {
                let bytes = Est { min: 4, max: 16 };
                let mut cost = bytes.add(bytes).factor(STRING_TRAVERSAL);
                if name == "containsCIDR" {
                    cost = cost.add(bytes.factor(STRING_TRAVERSAL)).add(Est::fixed(1));
                }
                let parse = cost.add(other.size().factor(STRING_TRAVERSAL));
                let cost = match other.ty {
                    Ty::String => parse,
                    Ty::Opaque(_) => cost,
                    _ => cost.union(parse),
                };
                plain(cost.add(arg_sum), Ty::Bool)
            }
            // The format library: a named format's regex (at most 128
            // characters) run over the string.
            ("validate", Some(t), [s]) if matches!(t.ty, Ty::Opaque(Lib::Format)) => plain(
                s.size()
                    .factor(STRING_TRAVERSAL)
                    .factor(MAX_NAME_FORMAT_REGEX_SIZE * REGEX_LENGTH)
                    .add(arg_sum),
                Ty::Optional(Box::new(Ty::List(Box::new(Ty::String)))),
            ),
            ("format.named", None, [_]) => {
                plain(one, Ty::Optional(Box::new(Ty::Opaque(Lib::Format))))
            }
            (format, None, []) if FORMATS.contains(&format) => plain(one, Ty::Opaque(Lib::Format)),
            (
                "ip"
                | "masked"
                | "add"
                | "sub"
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
                | "getQuery"
                | "isURL",
                _,
                _,
            ) => {
                let ty = match name {
                    "sign" | "asInteger" | "compareTo" | "major" | "minor" | "patch"
                    | "prefixLength" | "family" => Ty::Int,
                    "asApproximateFloat" => Ty::Double,
                    _ if name.starts_with("is") => Ty::Bool,
                    _ if name.starts_with("get") => Ty::String,
                    "ip" => Ty::Opaque(Lib::Ip),
                    "masked" => Ty::Opaque(Lib::Cidr),
                    "add" | "sub" => Ty::Opaque(Lib::Quantity),
                    _ => Ty::Dyn,
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
            // An int-or-string: the O(1) conversions and bytes → string
            // (a traversal) are all candidates.
            ("string", None, [s]) if matches!(s.ty, Ty::Dyn) => {
                let size = s.size();
                Info {
                    cost: size
                        .factor(STRING_TRAVERSAL)
                        .union(Est::fixed(1))
                        .add(arg_sum),
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
            // cel-go's sets extension: |a| × |b| × factor, plus the call.
            ("sets.contains" | "sets.intersects" | "sets.equivalent", None, [a, b]) => {
                let factor = if name == "sets.equivalent" { 2.0 } else { 1.0 };
                plain(
                    a.size()
                        .mul(b.size())
                        .factor(factor)
                        .add(Est::fixed(1))
                        .add(arg_sum),
                    Ty::Bool,
                )
            }
            // cel-go's lists extension (v3): the result list's size times a
            // factor, plus the call and the list it allocates.
            ("slice", Some(t), [_, _]) if matches!(t.ty, Ty::List(_)) => {
                let from = int_literal(&call.args[0]).unwrap_or(0);
                let to = int_literal(&call.args[1]).unwrap_or(t.size().max);
                allocating(
                    1.0,
                    Est::fixed(to.wrapping_sub(from)),
                    arg_sum,
                    t.ty.clone(),
                )
            }
            ("reverse", Some(t), []) if matches!(t.ty, Ty::List(_)) => {
                allocating(1.0, t.size(), arg_sum, t.ty.clone())
            }
            ("flatten", Some(t), depth) if matches!(t.ty, Ty::List(_)) && depth.len() <= 1 => {
                let depth = match call.args.first() {
                    Some(arg) => int_literal(arg).unwrap_or(u64::MAX),
                    None => 1,
                };
                let ty = match &t.ty {
                    Ty::List(item) => match &**item {
                        Ty::List(inner) => Ty::List(inner.clone()),
                        _ => Ty::List(Box::new(Ty::Dyn)),
                    },
                    _ => Ty::Dyn,
                };
                allocating(depth as f64, t.size(), arg_sum, ty)
            }
            ("distinct", Some(t), []) if matches!(t.ty, Ty::List(_)) => {
                allocating(2.0, t.size().mul(t.size()), arg_sum, t.ty.clone())
            }
            ("sort", Some(t), []) if matches!(t.ty, Ty::List(_)) => {
                let factor = match &t.ty {
                    Ty::List(item) if matches!(**item, Ty::String | Ty::Bytes) => {
                        2.0 + STRING_TRAVERSAL
                    }
                    _ => 2.0,
                };
                allocating(factor, t.size().mul(t.size()), arg_sum, t.ty.clone())
            }
            // Timestamp and duration accessors: O(1).
            (
                "getFullYear" | "getMonth" | "getDayOfYear" | "getDayOfMonth" | "getDate"
                | "getDayOfWeek" | "getHours" | "getMinutes" | "getSeconds" | "getMilliseconds",
                Some(t),
                _,
            ) if matches!(t.ty, Ty::Timestamp | Ty::Duration) => plain(one, Ty::Int),
            // `sortBy`'s sort: by the keys' type, over the keys' count.
            ("@sortByAssociatedKeys", Some(t), [keys]) => {
                let factor = match &keys.ty {
                    Ty::List(item) if matches!(**item, Ty::String | Ty::Bytes) => {
                        2.0 + STRING_TRAVERSAL
                    }
                    _ => 2.0,
                };
                let size = keys.size();
                allocating(factor, size.mul(size), arg_sum, t.ty.clone())
            }
            ("lists.range", None, [_]) => allocating(
                1.0,
                Est::fixed(int_literal(&call.args[0]).unwrap_or(u64::MAX)),
                arg_sum,
                Ty::List(Box::new(Ty::Int)),
            ),
            ("first" | "last", Some(t), []) => {
                let item = match &t.ty {
                    Ty::List(item) => (**item).clone(),
                    _ => Ty::Dyn,
                };
                plain(one, Ty::Optional(Box::new(item)))
            }
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
            // Two-variable comprehensions' map building: O(1) to cel-go.
            ("cel.@mapInsert", None, _) => {
                plain(one, Ty::Map(Box::new(Ty::Dyn), Box::new(Ty::Dyn)))
            }
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

/// An int literal's value as cel-go's lists extension reads it
/// (`nodeAsIntValue`): a negative one is 0, anything else no value.
fn int_literal(expr: &IdedExpr) -> Option<u64> {
    match &expr.expr {
        Expr::Literal(LiteralValue::Int(i)) => Some((*i.inner()).max(0) as u64),
        _ => None,
    }
}

/// `estimateAllocatingListCall`: `size` × `factor`, plus 1 for the call and
/// 10 for the list, with the arguments' costs; the result has `size` items.
fn allocating<'d>(factor: f64, size: Est, arg_sum: Est, ty: Ty<'d>) -> Info<'d> {
    Info {
        cost: size
            .factor(factor)
            .add(Est::fixed(1 + super::estimate::LIST_CREATE))
            .add(arg_sum),
        ty,
        path: Vec::new(),
        size: Some(size),
        entry: None,
    }
}
