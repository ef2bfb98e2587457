//! cel-go's two-variable comprehension macros (`ext.TwoVarComprehensions`,
//! in the apiserver's environment since Kubernetes 1.32): `all(i, v, p)`,
//! `exists`, `existsOne`, `transformList`, `transformMap` and
//! `transformMapEntry`. The `cel` crate's parser expands only the
//! one-variable macros and leaves these as plain calls, so the type checker
//! and the cost estimator expand them here, into the comprehension cel-go's
//! macro builds, and check and price that as cel-go does.

use cel::common::ast::{
    CallExpr, ComprehensionExpr, Expr, IdedExpr, ListExpr, LiteralValue, MapExpr,
};

/// The accumulator's name in cel-go's macros (`@result` in the `cel`
/// crate's own expansions too).
const ACCU: &str = "@result";

fn node(expr: Expr) -> IdedExpr {
    IdedExpr { id: 0, expr }
}

fn call(function: &str, args: Vec<IdedExpr>) -> IdedExpr {
    node(Expr::Call(CallExpr {
        func_name: function.into(),
        target: None,
        args,
    }))
}

fn accu() -> IdedExpr {
    node(Expr::Ident(ACCU.into()))
}

fn literal(value: LiteralValue) -> IdedExpr {
    node(Expr::Literal(value))
}

fn ident(expr: &IdedExpr) -> Option<String> {
    match &expr.expr {
        Expr::Ident(name) => Some(name.clone()),
        _ => None,
    }
}

/// The comprehension cel-go's two-variable macro `call` expands to, if it
/// is one.
pub(super) fn two_variable(call_expr: &CallExpr) -> Option<ComprehensionExpr> {
    let target = call_expr.target.as_deref()?;
    let args = &call_expr.args;
    if !(3..=4).contains(&args.len()) {
        return None;
    }
    let first = ident(&args[0])?;
    let second = ident(&args[1])?;
    let last = args[args.len() - 1].clone();
    let filter = (args.len() == 4).then(|| args[2].clone());
    let (init, condition, step, result) = match (call_expr.func_name.as_str(), &filter) {
        ("all", None) => (
            literal(LiteralValue::Boolean(true.into())),
            call("@not_strictly_false", vec![accu()]),
            call("_&&_", vec![accu(), last]),
            accu(),
        ),
        ("exists", None) => (
            literal(LiteralValue::Boolean(false.into())),
            call("@not_strictly_false", vec![call("!_", vec![accu()])]),
            call("_||_", vec![accu(), last]),
            accu(),
        ),
        ("existsOne" | "exists_one", None) => (
            literal(LiteralValue::Int(0.into())),
            literal(LiteralValue::Boolean(true.into())),
            call(
                "_?_:_",
                vec![
                    last,
                    call("_+_", vec![accu(), literal(LiteralValue::Int(1.into()))]),
                    accu(),
                ],
            ),
            call("_==_", vec![accu(), literal(LiteralValue::Int(1.into()))]),
        ),
        ("transformList", _) => {
            let add = call(
                "_+_",
                vec![
                    accu(),
                    node(Expr::List(ListExpr {
                        elements: vec![last],
                        optional_indices: vec![],
                    })),
                ],
            );
            (
                node(Expr::List(ListExpr {
                    elements: vec![],
                    optional_indices: vec![],
                })),
                literal(LiteralValue::Boolean(true.into())),
                filtered(filter, add),
                accu(),
            )
        }
        ("transformMap" | "transformMapEntry", _) => {
            let insert = if call_expr.func_name == "transformMap" {
                call(
                    "cel.@mapInsert",
                    vec![accu(), node(Expr::Ident(first.clone())), last],
                )
            } else {
                call("cel.@mapInsert", vec![accu(), last])
            };
            (
                node(Expr::Map(MapExpr { entries: vec![] })),
                literal(LiteralValue::Boolean(true.into())),
                filtered(filter, insert),
                accu(),
            )
        }
        _ => return None,
    };
    Some(ComprehensionExpr {
        iter_range: target.clone(),
        iter_var: first,
        iter_var2: Some(second),
        accu_var: ACCU.into(),
        accu_init: init,
        loop_cond: condition,
        loop_step: step,
        result,
    })
}

/// The variable cel-go's `sortBy` macro binds the list to.
pub(super) const SORT_BY_INPUT: &str = "@__sortBy_input__";

/// cel-go's lists extension `list.sortBy(e, key)`: the list, and the call
/// the macro makes on it once bound (to [`SORT_BY_INPUT`]):
/// `@__sortBy_input__.@sortByAssociatedKeys(@__sortBy_input__.map(e, key))`.
pub(super) fn sort_by(call_expr: &CallExpr) -> Option<(&IdedExpr, CallExpr)> {
    let target = call_expr.target.as_deref()?;
    let [var, key] = call_expr.args.as_slice() else {
        return None;
    };
    if call_expr.func_name != "sortBy" {
        return None;
    }
    let var = ident(var)?;
    let input = || node(Expr::Ident(SORT_BY_INPUT.into()));
    let keys = ComprehensionExpr {
        iter_range: input(),
        iter_var: var,
        iter_var2: None,
        accu_var: ACCU.into(),
        accu_init: node(Expr::List(ListExpr {
            elements: vec![],
            optional_indices: vec![],
        })),
        loop_cond: literal(LiteralValue::Boolean(true.into())),
        loop_step: call(
            "_+_",
            vec![
                accu(),
                node(Expr::List(ListExpr {
                    elements: vec![key.clone()],
                    optional_indices: vec![],
                })),
            ],
        ),
        result: accu(),
    };
    Some((
        target,
        CallExpr {
            func_name: "@sortByAssociatedKeys".into(),
            target: Some(Box::new(input())),
            args: vec![node(Expr::Comprehension(Box::new(keys)))],
        },
    ))
}

/// cel-go's optional macros `opt.optMap(x, expr)` and
/// `opt.optFlatMap(x, expr)`: `opt.hasValue() ? optional.of(bind(x,
/// opt.value(), expr)) : optional.none()` (`optFlatMap` without the
/// `optional.of`), the bind a comprehension over an empty list.
pub(super) fn opt_map(call_expr: &CallExpr) -> Option<IdedExpr> {
    let target = call_expr.target.as_deref()?;
    let [var, expr] = call_expr.args.as_slice() else {
        return None;
    };
    let flat = match call_expr.func_name.as_str() {
        "optMap" => false,
        "optFlatMap" => true,
        _ => return None,
    };
    let var = ident(var)?;
    let member = |name: &str| {
        node(Expr::Call(CallExpr {
            func_name: name.into(),
            target: Some(Box::new(target.clone())),
            args: vec![],
        }))
    };
    let bound = node(Expr::Comprehension(Box::new(ComprehensionExpr {
        iter_range: node(Expr::List(ListExpr {
            elements: vec![],
            optional_indices: vec![],
        })),
        iter_var: "#unused".into(),
        iter_var2: None,
        accu_var: var.clone(),
        accu_init: member("value"),
        loop_cond: literal(LiteralValue::Boolean(false.into())),
        loop_step: node(Expr::Ident(var)),
        result: expr.clone(),
    })));
    let some = if flat {
        bound
    } else {
        call("optional.of", vec![bound])
    };
    Some(call(
        "_?_:_",
        vec![member("hasValue"), some, call("optional.none", vec![])],
    ))
}

/// `filter ? step : accumulator` where the macro has a filter.
fn filtered(filter: Option<IdedExpr>, step: IdedExpr) -> IdedExpr {
    match filter {
        Some(filter) => call("_?_:_", vec![filter, step, accu()]),
        None => step,
    }
}
