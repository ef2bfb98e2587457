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
//! under and just over each limit, and `cargo xtask cel-oracle` compares
//! every figure here, rule by rule, with the apiserver's own estimator run
//! on the same schemas.
//!
//! What stays unpriced (a `gen` warning, never a refusal): calls the
//! apiserver's CRD environment resolves only through a `dyn` receiver to
//! its authorizer library (`check`, `path`, `allowed`, ...), which have no
//! receiver of their own in a CRD rule, and constructs its type checker
//! refuses anyway (message literals, fields of values without fields,
//! unknown functions and names), where the offline type check speaks.
//!
//! The estimator is hand-written rather than taken from a crate because no
//! Rust crate implements cel-go's cost model; its quirks (which sizes come
//! from the schema, how `self` of an int is sized 0, how a property named by
//! a bare reserved word has no size) are the apiserver's and kept on purpose.

mod decl;
mod estimate;
mod functions;
#[cfg(test)]
mod tests;

use crdforge::schema::{Rule, Schema};

use decl::{Decl, MAX_REQUEST_SIZE, decl};
use estimate::{Estimate, estimate};

/// `StaticEstimatedCostLimit`: the largest estimated cost × cardinality of
/// one rule, and the largest estimated cost of one message expression.
pub const PER_EXPRESSION_LIMIT: u64 = 10_000_000;
/// `StaticEstimatedCRDCostLimit`: the largest sum over a CRD.
pub const PER_CRD_LIMIT: u64 = 100_000_000;

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

/// Every cost this estimator counts toward the CRD's budget, as `(path of
/// the rule's node, "x-kubernetes-validations[i].rule" or
/// "….messageExpression", cost)`: a rule's cost times the times it runs, a
/// message expression's cost alone. A rule it cannot price is absent. What
/// `cargo xtask cel-oracle` compares with the apiserver's own estimator.
pub(super) fn counted(root: &Schema) -> Vec<(String, String, u64)> {
    let mut counted = Vec::new();
    walk(
        root,
        "",
        true,
        Some(1),
        &mut Vec::new(),
        &mut counted,
        &mut |_, _| {},
    );
    counted
        .into_iter()
        .map(|c| (c.path, c.what, c.cost))
        .collect()
}

/// Every rule (and message expression) on `root` and below whose cost this
/// estimator cannot price, with the path of its node and why. The check
/// does not refuse them: a construct it does not model may well be cheap,
/// and refusing a CRD the apiserver accepts would break the promise that
/// the two verdicts agree. `gen` prints them as warnings instead, so no
/// rule passes the offline check unpriced without a word.
pub(super) fn unpriced(root: &Schema, push: &mut dyn FnMut(&str, String)) {
    fn visit(node: &Schema, path: &str, resource_root: bool, push: &mut dyn FnMut(&str, String)) {
        if !node.validations.is_empty()
            && let Some(decl) = decl(node, path, resource_root || node.embedded_resource)
        {
            for (i, rule) in node.validations.iter().enumerate() {
                let optional = rule.optional_old_self == Some(true);
                let sources = std::iter::once(("rule", &rule.rule)).chain(
                    rule.message_expression
                        .iter()
                        .map(|m| ("messageExpression", m)),
                );
                for (what, source) in sources {
                    if let Some(why) = estimate(&decl, source, optional).and_then(|e| e.uncertain) {
                        push(
                            path,
                            format!(
                                "cost not checked offline for x-kubernetes-validations[{i}].{what} \
                                 `{source}`: the estimator does not model {why}; the apiserver \
                                 prices it when the CRD is applied"
                            ),
                        );
                    }
                }
            }
        }
        for (name, child) in &node.properties {
            visit(child, &format!("{path}.{name}"), false, push);
        }
        for child in node.items.iter().chain(node.additional_properties.iter()) {
            visit(child, &format!("{path}[*]"), false, push);
        }
    }
    visit(root, "", true, push);
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
    let Some(estimate) = estimate(decl, &rule.rule, optional) else {
        return;
    };
    if estimate.uncertain.is_none() && estimate.bool {
        let cost = if estimate.cost.max == 0 {
            0
        } else {
            estimate.cost.max.saturating_mul(times)
        };
        let what = format!("x-kubernetes-validations[{index}].rule");
        if cost > PER_EXPRESSION_LIMIT {
            let mut fixes = fixes(&estimate);
            let mut fix = String::new();
            if unbounded.is_none() && times > 1 {
                fix = format!(
                    "; or lower the maxItems/maxProperties above the rule (it runs {} times \
                     per object)",
                    thousands(times)
                );
            }
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
                     per-expression limit {}{}{}",
                    rule.rule,
                    budget_message("estimated rule cost", cost, PER_EXPRESSION_LIMIT),
                    thousands(estimate.cost.max),
                    thousands(times),
                    if times == 1 { "run" } else { "runs" },
                    thousands(cost),
                    thousands(PER_EXPRESSION_LIMIT),
                    fix_text(&fixes),
                    fix
                ),
            );
        }
        counted.push(Counted {
            path: path.to_owned(),
            what,
            cost,
        });
    }
    // The apiserver estimates a message expression only for a rule that
    // compiled; a rule this estimator cannot price may well compile, so its
    // message expression is priced all the same.
    if (estimate.uncertain.is_some() || estimate.bool)
        && let Some(source) = &rule.message_expression
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

fn estimate_message(decl: &Decl, source: &str, optional: bool) -> Option<Estimate> {
    estimate(decl, source, optional).filter(|e| e.uncertain.is_none() && e.string)
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
