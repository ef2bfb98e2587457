//! The CEL half of the offline check: every `x-kubernetes-validations` rule
//! is parsed with the `cel` crate (a port of cel-go's ANTLR grammar, the one
//! kube-apiserver compiles with) and then checked against the schema it is
//! attached to, the way the apiserver's type checker would see it.
//!
//! The checker here is deliberately one-sided. It reports only what the
//! apiserver certainly refuses: syntax errors, undeclared variables, fields
//! that the schema does not declare, field selection on scalars and lists,
//! operators applied to operands of incompatible kinds, a rule whose result
//! is not a bool, a message expression whose result is not a string, and
//! `oldSelf` where the apiserver cannot correlate old and new values.
//! Whatever it cannot type (function results it does not know, `dyn`,
//! preserved unknown fields, int-or-string) becomes "unknown" and is never
//! an error, so a rule this module passes may still fail on the server (for
//! example for its cost, which [`super::cost`] estimates, where it involves a
//! construct that module does not model), but a rule it refuses never would
//! pass. The corpus in `crdforge-fixtures` proves both directions on a real
//! apiserver.

use std::collections::HashMap;

use cel::common::ast::{CallExpr, ComprehensionExpr, EntryExpr, Expr, IdedExpr, LiteralValue};
use cel::parser::Parser;

use crdforge::schema::{Rule, Schema};

/// Every problem with the rules on `root` and below, pushed with the path of
/// the node the rule is attached to.
pub(super) fn check_rules(root: &Schema, push: &mut dyn FnMut(&str, String)) {
    walk(root, "", true, push);
}

/// Walks properties, list items and map values: the places a rule can sit
/// (rules inside junctions are refused by the structural check). A node is
/// correlatable when the apiserver can pair its old and new values: the
/// root, properties and map values of correlatable nodes, and items of
/// `x-kubernetes-list-type: map` lists — not items of atomic lists or sets.
fn walk(node: &Schema, path: &str, correlatable: bool, push: &mut dyn FnMut(&str, String)) {
    for rule in &node.validations {
        check_rule(node, rule, correlatable, &mut |message| push(path, message));
    }
    for (name, child) in &node.properties {
        walk(child, &format!("{path}.{name}"), correlatable, push);
    }
    if let Some(items) = &node.items {
        let keyed = node.list_type.as_deref() == Some("map");
        walk(items, &format!("{path}[*]"), correlatable && keyed, push);
    }
    if let Some(values) = &node.additional_properties {
        walk(values, &format!("{path}[*]"), correlatable, push);
    }
}

const REASONS: [&str; 4] = [
    "FieldValueInvalid",
    "FieldValueForbidden",
    "FieldValueRequired",
    "FieldValueDuplicate",
];

fn check_rule(node: &Schema, rule: &Rule, correlatable: bool, push: &mut dyn FnMut(String)) {
    let uses_old_self = check_expression(node, "rule", &rule.rule, "bool", push);
    if uses_old_self && !correlatable {
        push(format!(
            "CEL rule `{}` uses oldSelf, but old and new values cannot be paired \
             here (under the items of a list that is not x-kubernetes-list-type: map)",
            rule.rule
        ));
    }
    if let Some(source) = &rule.message_expression {
        check_expression(node, "messageExpression", source, "string", push);
    }
    if let Some(reason) = &rule.reason
        && !REASONS.contains(&reason.as_str())
    {
        push(format!(
            "unknown CEL reason `{reason}` (expected one of {})",
            REASONS.join(", ")
        ));
    }
    if rule.optional_old_self == Some(true) && !uses_old_self {
        push("optionalOldSelf is only allowed on transition rules (rules using oldSelf)".into());
    }
    if let Some(field_path) = &rule.field_path
        && let Err(message) = resolve_field_path(node, field_path)
    {
        push(format!("fieldPath `{field_path}` {message}"));
    }
}

/// Parses and types one expression (`what` is `rule` or
/// `messageExpression`), which must evaluate to `want`. Returns whether it
/// refers to `oldSelf`; for one that does not parse, whether its text does.
fn check_expression(
    node: &Schema,
    what: &str,
    source: &str,
    want: &str,
    push: &mut dyn FnMut(String),
) -> bool {
    let expr = match parse(source) {
        Ok(expr) => expr,
        Err(message) => {
            push(format!("CEL {what} `{source}` does not compile: {message}"));
            return source.contains("oldSelf");
        }
    };
    let mut checker = Checker::new(node);
    let ty = checker.infer(&expr);
    for message in checker.errors {
        push(format!("CEL {what} `{source}` does not compile: {message}"));
    }
    if let Some(kind) = ty.kind()
        && kind != want
    {
        push(format!(
            "CEL {what} `{source}` must evaluate to a {want}, not {kind}"
        ));
    }
    checker.uses_old_self
}

/// Every problem with one expression of a ValidatingAdmissionPolicy, which
/// must evaluate to `want` (`bool` for a validation or match condition,
/// `string` for a message expression). Its variables are exactly
/// `variables`, each typed by its schema; there is no `self`.
pub(super) fn check_policy_expression(
    source: &str,
    want: &str,
    variables: &[(&str, &Schema)],
) -> Vec<String> {
    let expr = match parse(source) {
        Ok(expr) => expr,
        Err(message) => return vec![format!("CEL `{source}` does not compile: {message}")],
    };
    let mut checker = Checker::for_policy(variables);
    let ty = checker.infer(&expr);
    let mut problems: Vec<String> = checker
        .errors
        .into_iter()
        .map(|message| format!("CEL `{source}` does not compile: {message}"))
        .collect();
    if let Some(kind) = ty.kind()
        && kind != want
    {
        problems.push(format!(
            "CEL `{source}` must evaluate to a {want}, not {kind}"
        ));
    }
    problems
}

fn parse(source: &str) -> Result<IdedExpr, String> {
    if source.trim().is_empty() {
        return Err("it is empty".into());
    }
    // The apiserver's environment enables CEL's optional syntax (`.?field`,
    // `[?key]`) since Kubernetes 1.29.
    Parser::new()
        .enable_optional_syntax(true)
        .parse(source)
        .map_err(|errors| {
            errors
                .errors
                .iter()
                .map(|e| e.msg.clone())
                .collect::<Vec<_>>()
                .join("; ")
        })
}

/// A rule's `fieldPath`: `.a.b` steps and `['key']` steps, each naming a
/// declared property. Like the apiserver, list indexes are not accepted.
fn resolve_field_path(node: &Schema, path: &str) -> Result<(), String> {
    let mut rest = path;
    let mut at = node;
    if rest.is_empty() {
        return Err("is empty".into());
    }
    while !rest.is_empty() {
        let name;
        if let Some(tail) = rest.strip_prefix('.') {
            let end = tail.find(['.', '[']).unwrap_or(tail.len());
            name = &tail[..end];
            rest = &tail[end..];
        } else if let Some(tail) = rest.strip_prefix("['") {
            let Some(end) = tail.find("']") else {
                return Err("has an unclosed `['`".into());
            };
            name = &tail[..end];
            rest = &tail[end + 2..];
        } else {
            return Err("must be a path of `.field` or `['field']` steps".into());
        }
        if name.is_empty() {
            return Err("has an empty step".into());
        }
        // Below arrays and unknown fields the apiserver's own resolution
        // differs in details this check does not model; stop there.
        if at.preserve_unknown_fields || at.int_or_string || at.items.is_some() {
            return Ok(());
        }
        if let Some(values) = &at.additional_properties {
            at = values;
            continue;
        }
        match at.properties.get(name) {
            Some(child) => at = child,
            None => return Err(format!("names no field: `{name}` is not declared")),
        }
    }
    Ok(())
}

/// A CEL type as far as this checker knows it. `Dyn` is "unknown" and never
/// produces an error.
#[derive(Clone, Debug)]
enum Ty<'s> {
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
    List(Box<Ty<'s>>),
    /// A map with string keys (CRD maps) or a map literal.
    Map(Box<Ty<'s>>),
    /// An object with declared properties.
    Object(&'s Schema),
}

impl Ty<'_> {
    /// The name of the kind of value, or `None` when unknown.
    fn kind(&self) -> Option<&'static str> {
        Some(match self {
            Ty::Dyn | Ty::Null => return None,
            Ty::Bool => "bool",
            Ty::Int => "int",
            Ty::Uint => "uint",
            Ty::Double => "double",
            Ty::String => "string",
            Ty::Bytes => "bytes",
            Ty::Duration => "duration",
            Ty::Timestamp => "timestamp",
            Ty::List(_) => "list",
            Ty::Map(_) => "map",
            Ty::Object(_) => "object",
        })
    }

    /// The family used to compare operands: int, uint and double compare
    /// with each other (the apiserver enables cross-type numeric
    /// comparisons), and objects with maps.
    fn family(&self) -> Option<&'static str> {
        Some(match self.kind()? {
            "int" | "uint" | "double" => "number",
            "map" | "object" => "map",
            other => other,
        })
    }

    fn is_scalar(&self) -> bool {
        matches!(
            self,
            Ty::Bool | Ty::Int | Ty::Uint | Ty::Double | Ty::String | Ty::Bytes
        )
    }
}

/// The type of a value the schema describes, as the apiserver declares it.
fn schema_type(schema: &Schema) -> Ty<'_> {
    if schema.preserve_unknown_fields || schema.int_or_string || schema.embedded_resource {
        return Ty::Dyn;
    }
    match schema.type_.as_deref() {
        Some("boolean") => Ty::Bool,
        Some("integer") => Ty::Int,
        Some("number") => Ty::Double,
        Some("string") => match schema.format.as_deref() {
            Some("byte") => Ty::Bytes,
            Some("duration") => Ty::Duration,
            Some("date-time" | "datetime" | "date") => Ty::Timestamp,
            _ => Ty::String,
        },
        Some("array") => Ty::List(Box::new(
            schema.items.as_deref().map_or(Ty::Dyn, schema_type),
        )),
        Some("object") => match &schema.additional_properties {
            Some(values) => Ty::Map(Box::new(schema_type(values))),
            None if schema.properties.is_empty() => Ty::Dyn,
            None => Ty::Object(schema),
        },
        _ => Ty::Dyn,
    }
}

/// CEL keywords a property name must be escaped from, and the reserved
/// words the apiserver escapes the same way.
pub(super) const RESERVED: [&str; 21] = [
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// How a property is named in CEL: reserved words become `__word__`, and
/// `__`, `.`, `-` and `/` become `__underscores__`, `__dot__`, `__dash__` and
/// `__slash__`. A name with any other character is not reachable by field
/// selection at all.
pub(super) fn escape(name: &str) -> Option<String> {
    if RESERVED.contains(&name) {
        return Some(format!("__{name}__"));
    }
    let mut chars = name.chars();
    let first = chars.next()?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/');
    if first.is_ascii_digit() || !allowed(first) || !chars.all(allowed) {
        return None;
    }
    Some(
        name.replace("__", "__underscores__")
            .replace('.', "__dot__")
            .replace('-', "__dash__")
            .replace('/', "__slash__"),
    )
}

/// Namespaces of the functions the apiserver's CEL libraries declare; a
/// qualified name rooted at one of them is not a variable reference.
const NAMESPACES: [&str; 5] = ["optional", "strings", "sets", "lists", "format"];

/// Identifiers that name types (usable as values in `type(x) == int`).
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

struct Checker<'s> {
    /// The type of `self`, or `None` where there is no `self` (an
    /// admission policy's expressions).
    self_ty: Option<Ty<'s>>,
    scopes: Vec<HashMap<String, Ty<'s>>>,
    errors: Vec<String>,
    uses_old_self: bool,
}

impl<'s> Checker<'s> {
    fn new(node: &'s Schema) -> Self {
        Checker {
            self_ty: Some(schema_type(node)),
            scopes: Vec::new(),
            errors: Vec::new(),
            uses_old_self: false,
        }
    }

    /// A checker for an admission policy: no `self`, only `variables`.
    fn for_policy(variables: &[(&str, &'s Schema)]) -> Self {
        let scope = variables
            .iter()
            .map(|(name, schema)| (name.to_string(), schema_type(schema)))
            .collect();
        Checker {
            self_ty: None,
            scopes: vec![scope],
            errors: Vec::new(),
            uses_old_self: false,
        }
    }

    fn error(&mut self, message: String) {
        if !self.errors.contains(&message) {
            self.errors.push(message);
        }
    }

    fn lookup(&self, name: &str) -> Option<Ty<'s>> {
        self.scopes
            .iter()
            .rev()
            .find_map(|scope| scope.get(name).cloned())
    }

    fn infer(&mut self, expr: &IdedExpr) -> Ty<'s> {
        match &expr.expr {
            Expr::Unspecified | Expr::Struct(_) => Ty::Dyn,
            Expr::Literal(literal) => match literal {
                LiteralValue::Boolean(_) => Ty::Bool,
                LiteralValue::Bytes(_) => Ty::Bytes,
                LiteralValue::Double(_) => Ty::Double,
                LiteralValue::Int(_) => Ty::Int,
                LiteralValue::Null => Ty::Null,
                LiteralValue::String(_) => Ty::String,
                LiteralValue::UInt(_) => Ty::Uint,
            },
            Expr::List(list) => {
                let types: Vec<_> = list.elements.iter().map(|e| self.infer(e)).collect();
                let first = types.first().and_then(Ty::kind);
                if first.is_some() && types.iter().all(|t| t.kind() == first) {
                    Ty::List(Box::new(types[0].clone()))
                } else {
                    Ty::List(Box::new(Ty::Dyn))
                }
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    match &entry.expr {
                        EntryExpr::MapEntry(e) => {
                            self.infer(&e.key);
                            self.infer(&e.value);
                        }
                        EntryExpr::StructField(f) => {
                            self.infer(&f.value);
                        }
                    }
                }
                Ty::Map(Box::new(Ty::Dyn))
            }
            Expr::Ident(name) => self.ident(name, true),
            Expr::Select(select) => {
                let operand = match &select.operand.expr {
                    // A qualified name's root may be a namespace, not a value.
                    Expr::Ident(name) => self.ident(name, false),
                    _ => self.infer(&select.operand),
                };
                let field = self.select(operand, &select.field);
                if select.test { Ty::Bool } else { field }
            }
            Expr::Call(call) => self.call(call),
            Expr::Comprehension(comprehension) => self.comprehension(comprehension),
        }
    }

    fn ident(&mut self, name: &str, bare: bool) -> Ty<'s> {
        if let Some(ty) = self.lookup(name) {
            return ty;
        }
        match (name, self.self_ty.clone()) {
            ("self", Some(ty)) => ty,
            ("oldSelf", Some(ty)) => {
                self.uses_old_self = true;
                ty
            }
            _ if TYPE_NAMES.contains(&name) => Ty::Dyn,
            _ if !bare && NAMESPACES.contains(&name) => Ty::Dyn,
            _ => {
                self.error(format!("undeclared reference to `{name}`"));
                Ty::Dyn
            }
        }
    }

    fn select(&mut self, operand: Ty<'s>, field: &str) -> Ty<'s> {
        match operand {
            Ty::Object(schema) => {
                // kube-apiserver 1.36 reaches a property named by a reserved
                // word both escaped (`__namespace__`) and bare (`namespace`);
                // the true keywords (`in`, `null`, ...) fail to parse bare.
                let found = schema.properties.iter().find(|(name, _)| {
                    escape(name).as_deref() == Some(field)
                        || (RESERVED.contains(&name.as_str()) && name.as_str() == field)
                });
                match found {
                    Some((_, child)) => schema_type(child),
                    None => {
                        self.error(format!("undefined field `{field}`"));
                        Ty::Dyn
                    }
                }
            }
            Ty::Map(values) => *values,
            ty if ty.is_scalar() || matches!(ty, Ty::List(_)) => {
                let kind = ty.kind().unwrap_or("value");
                self.error(format!(
                    "`.{field}` selects a field of a {kind}, which has no fields"
                ));
                Ty::Dyn
            }
            _ => Ty::Dyn,
        }
    }

    fn comprehension(&mut self, c: &ComprehensionExpr) -> Ty<'s> {
        let range = self.infer(&c.iter_range);
        let (first, second) = match &range {
            Ty::List(item) => (
                if c.iter_var2.is_some() {
                    Ty::Int
                } else {
                    (**item).clone()
                },
                (**item).clone(),
            ),
            Ty::Map(values) => (Ty::String, (**values).clone()),
            ty if ty.is_scalar() => {
                let kind = ty.kind().unwrap_or("value");
                self.error(format!("a {kind} cannot be iterated over"));
                (Ty::Dyn, Ty::Dyn)
            }
            _ => (Ty::Dyn, Ty::Dyn),
        };
        let accu = self.infer(&c.accu_init);
        let mut scope = HashMap::new();
        scope.insert(c.iter_var.clone(), first);
        if let Some(var) = &c.iter_var2 {
            scope.insert(var.clone(), second);
        }
        scope.insert(c.accu_var.clone(), accu);
        self.scopes.push(scope);
        self.infer(&c.loop_cond);
        self.infer(&c.loop_step);
        let result = self.infer(&c.result);
        self.scopes.pop();
        result
    }

    fn call(&mut self, call: &CallExpr) -> Ty<'s> {
        if let Some(comprehension) = super::macros::two_variable(call) {
            return self.comprehension(&comprehension);
        }
        if let Some(expanded) = super::macros::opt_map(call) {
            return self.infer(&expanded);
        }
        if let Some((list, sorted)) = super::macros::sort_by(call) {
            let list = self.infer(list);
            let scope = HashMap::from([(super::macros::SORT_BY_INPUT.to_owned(), list.clone())]);
            self.scopes.push(scope);
            self.call(&sorted);
            self.scopes.pop();
            return list;
        }
        let target = match call.target.as_deref() {
            Some(IdedExpr {
                expr: Expr::Ident(name),
                ..
            }) if self.lookup(name).is_none() && NAMESPACES.contains(&name.as_str()) => {
                // `optional.of(x)`, `strings.quote(s)`: a namespace.
                Some(Ty::Dyn)
            }
            Some(target) => Some(self.infer(target)),
            None => None,
        };
        let args: Vec<Ty<'s>> = call.args.iter().map(|a| self.infer(a)).collect();
        let name = call.func_name.as_str();
        match (name, target, args.as_slice()) {
            ("_&&_" | "_||_" | "!_" | "@not_strictly_false", None, _) => {
                for arg in &args {
                    self.expect_family(name, arg, "bool");
                }
                Ty::Bool
            }
            ("_==_" | "_!=_", None, [a, b]) => {
                self.same_family(name, a, b);
                Ty::Bool
            }
            ("_<_" | "_<=_" | "_>_" | "_>=_", None, [a, b]) => {
                for arg in [a, b] {
                    if matches!(arg.family(), Some("list" | "map")) {
                        self.no_overload(name, &args);
                    }
                }
                self.same_family(name, a, b);
                Ty::Bool
            }
            ("_+_", None, [a, b]) => {
                self.same_family_or_time(name, a, b);
                match (a, b) {
                    (Ty::List(x), Ty::List(y)) if x.kind() == y.kind() => a.clone(),
                    (Ty::List(_), _) | (_, Ty::List(_)) => Ty::List(Box::new(Ty::Dyn)),
                    _ if a.kind() == b.kind() => a.clone(),
                    _ => Ty::Dyn,
                }
            }
            ("_-_" | "_*_" | "_/_" | "_%_", None, [a, b]) => {
                for arg in [a, b] {
                    if matches!(
                        arg.family(),
                        Some("string" | "bool" | "bytes" | "list" | "map")
                    ) {
                        self.no_overload(name, &args);
                    }
                }
                self.same_family_or_time(name, a, b);
                if a.kind() == b.kind() && a.family() == Some("number") {
                    a.clone()
                } else {
                    Ty::Dyn
                }
            }
            ("-_", None, [a]) => {
                if matches!(
                    a.family(),
                    Some("string" | "bool" | "bytes" | "list" | "map")
                ) {
                    self.no_overload(name, &args);
                }
                a.clone()
            }
            ("_?_:_", None, [condition, a, b]) => {
                self.expect_family(name, condition, "bool");
                if a.kind().is_some() && a.kind() == b.kind() {
                    a.clone()
                } else {
                    Ty::Dyn
                }
            }
            ("_[_]", None, [container, _]) => match container {
                Ty::List(item) => (**item).clone(),
                Ty::Map(values) => (**values).clone(),
                _ => Ty::Dyn,
            },
            ("_?._", None, [operand, _]) => {
                if let Some(IdedExpr {
                    expr: Expr::Literal(LiteralValue::String(field)),
                    ..
                }) = call.args.get(1)
                {
                    self.select(operand.clone(), field.as_ref());
                }
                Ty::Dyn
            }
            ("@in", None, _) => Ty::Bool,
            ("size", None, [a]) => {
                self.sized("size", a);
                Ty::Int
            }
            ("size", Some(a), []) => {
                self.sized("size", &a);
                Ty::Int
            }
            ("startsWith" | "endsWith" | "matches", Some(t), [arg]) => {
                self.expect_family(name, &t, "string");
                self.expect_family(name, arg, "string");
                Ty::Bool
            }
            ("lowerAscii" | "upperAscii" | "trim", Some(t), []) => {
                self.expect_family(name, &t, "string");
                Ty::String
            }
            ("int", None, [_]) => Ty::Int,
            ("uint", None, [_]) => Ty::Uint,
            ("double", None, [_]) => Ty::Double,
            ("string", None, [_]) => Ty::String,
            ("bool", None, [_]) => Ty::Bool,
            ("bytes", None, [_]) => Ty::Bytes,
            ("duration", None, [_]) => Ty::Duration,
            ("timestamp", None, [_]) => Ty::Timestamp,
            _ => Ty::Dyn,
        }
    }

    /// `size` takes strings, bytes, lists and maps.
    fn sized(&mut self, function: &str, arg: &Ty<'s>) {
        if matches!(arg.family(), Some("number" | "bool")) {
            self.no_overload(function, std::slice::from_ref(arg));
        }
    }

    fn no_overload(&mut self, function: &str, args: &[Ty<'s>]) {
        let kinds: Vec<_> = args.iter().map(|a| a.kind().unwrap_or("dyn")).collect();
        self.error(format!(
            "no matching overload for `{}` applied to ({})",
            operator(function),
            kinds.join(", ")
        ));
    }

    fn expect_family(&mut self, function: &str, arg: &Ty<'s>, family: &str) {
        if let Some(found) = arg.family()
            && found != family
        {
            self.no_overload(function, std::slice::from_ref(arg));
        }
    }

    fn same_family(&mut self, function: &str, a: &Ty<'s>, b: &Ty<'s>) {
        if let (Some(x), Some(y)) = (a.family(), b.family())
            && x != y
        {
            self.no_overload(function, &[a.clone(), b.clone()]);
        }
    }

    /// Like [`Self::same_family`], but timestamps and durations add to and
    /// subtract from each other.
    fn same_family_or_time(&mut self, function: &str, a: &Ty<'s>, b: &Ty<'s>) {
        let time = |t: &Ty<'_>| matches!(t, Ty::Duration | Ty::Timestamp);
        if time(a) && time(b) {
            return;
        }
        self.same_family(function, a, b);
    }
}

/// An operator's function name as a user wrote it.
fn operator(function: &str) -> &str {
    match function {
        "_&&_" => "&&",
        "_||_" => "||",
        "!_" => "!",
        "@not_strictly_false" => "all/exists predicate",
        "_==_" => "==",
        "_!=_" => "!=",
        "_<_" => "<",
        "_<=_" => "<=",
        "_>_" => ">",
        "_>=_" => ">=",
        "_+_" => "+",
        "_-_" => "-",
        "_*_" => "*",
        "_/_" => "/",
        "_%_" => "%",
        "-_" => "unary -",
        "_?_:_" => "?:",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Schema {
        let mut item = Schema::typed("object");
        item.properties
            .insert("name".into(), Schema::typed("string"));
        item.properties
            .insert("port".into(), Schema::typed("integer"));
        item.required = vec!["name".into()];
        let mut s = Schema::typed("object");
        s.properties
            .insert("replicas".into(), Schema::typed("integer"));
        s.properties.insert("name".into(), Schema::typed("string"));
        s.properties
            .insert("dry-run".into(), Schema::typed("boolean"));
        s.properties
            .insert("namespace".into(), Schema::typed("string"));
        s.properties.insert("in".into(), Schema::typed("string"));
        s.properties
            .insert("tags".into(), Schema::array(Schema::typed("string")));
        s.properties.insert(
            "labels".into(),
            Schema {
                additional_properties: Some(Box::new(Schema::typed("string"))),
                ..Schema::typed("object")
            },
        );
        s.properties.insert(
            "ports".into(),
            Schema {
                list_type: Some("map".into()),
                list_map_keys: vec!["name".into()],
                ..Schema::array(item.clone())
            },
        );
        s.properties.insert("atomic".into(), Schema::array(item));
        s.properties.insert(
            "raw".into(),
            Schema {
                preserve_unknown_fields: true,
                ..Schema::typed("object")
            },
        );
        s
    }

    fn problems(rule: &str) -> Vec<String> {
        let mut s = spec();
        s.validations.push(Rule {
            rule: rule.into(),
            ..Rule::default()
        });
        let mut found = Vec::new();
        check_rules(&s, &mut |path, m| found.push(format!("{path}: {m}")));
        found
    }

    #[track_caller]
    fn accepted(rule: &str) {
        assert_eq!(problems(rule), Vec::<String>::new(), "{rule}");
    }

    #[track_caller]
    fn refused(rule: &str, needle: &str) {
        let found = problems(rule);
        assert!(
            found.iter().any(|m| m.contains(needle)),
            "{rule}: expected `{needle}` in {found:?}"
        );
    }

    #[test]
    fn rules_the_apiserver_compiles_pass() {
        for rule in [
            "self.replicas >= 0",
            "self.replicas > 1.5",
            "has(self.name) ? self.name.startsWith('a') : true",
            "self.dry__dash__run || !self.dry__dash__run",
            "self.namespace == 'x' && self.__namespace__ == 'x' && self.__in__ == 'y'",
            "self.tags.all(t, t.size() < 10)",
            "self.tags.exists_one(t, t == 'x')",
            "self.tags.map(t, t + '!').size() > 0",
            "self.labels.all(k, self.labels[k] != '')",
            "self.ports.all(p, p.port > 0 && p.name.matches('^[a-z]+$'))",
            "self.raw.anything.goes == 1",
            "size(self.tags) == size(self.labels)",
            "self.?name.orValue('') != ''",
            "optional.of(1).hasValue()",
            "type(self.replicas) == int",
            "self == oldSelf",
            "self.replicas + 1 == 2 && self.name + 'x' != ''",
            "int(self.name) > 0",
            "self.tags + ['a'] == self.tags",
            "lists.range(3).size() == 3",
            "strings.quote(self.name) != ''",
            "format.dns1123Label().validate(self.name).hasValue()",
            // Two-variable comprehensions (kube-apiserver 1.32 and later).
            "self.tags.all(i, t, t.size() > i)",
            "self.labels.exists(k, v, k == v)",
            "self.tags.existsOne(i, t, t == 'x')",
            "self.tags.transformList(i, t, i > 0, t + '!').size() > 0",
            "self.labels.transformMap(k, v, v.size()).all(k, k != '')",
            "self.tags.transformMapEntry(i, t, {t: i}).size() > 0",
            "self.ports.sortBy(p, p.port)[0].name != ''",
            "self.?name.optMap(n, n + 'x').orValue('') != 'y'",
            "self.?name.optFlatMap(n, optional.of(n)).hasValue()",
        ] {
            accepted(rule);
        }
    }

    #[test]
    fn two_variable_comprehensions_type_their_variables() {
        refused(
            "self.tags.all(i, t, i.startsWith('a'))",
            "no matching overload",
        );
        refused("self.tags.all(i, t, u > 0)", "undeclared reference to `u`");
        refused("self.tags.sortBy(t, u)", "undeclared reference to `u`");
        // Neither cel.bind nor cel-go's math extension is in the
        // apiserver's environment ("undeclared reference to 'math'").
        refused("math.greatest(1, 2) == 2", "undeclared reference to `math`");
        refused("cel.bind(x, 1, x > 0)", "undeclared reference to `cel`");
        refused("cel.bind(x, 1, x > 0)", "undeclared reference to `x`");
    }

    #[test]
    fn syntax_errors_are_refused() {
        refused("size(self.tags > 1", "does not compile");
        refused("self.replicas >", "does not compile");
        refused("  ", "it is empty");
        // A true keyword cannot be selected bare, as on the apiserver.
        refused("self.in == 'y'", "does not compile");
    }

    #[test]
    fn undeclared_names_and_fields_are_refused() {
        refused("selff > 1", "undeclared reference to `selff`");
        refused("self.replica > 1", "undefined field `replica`");
        refused("has(self.nmae)", "undefined field `nmae`");
        refused("self.dry-run", "undefined field `dry`");
        refused("self.ports.all(p, p.prot > 0)", "undefined field `prot`");
        refused("self.name.first == 'a'", "selects a field of a string");
    }

    #[test]
    fn mismatched_operands_are_refused() {
        refused(
            "self.name > 5",
            "no matching overload for `>` applied to (string, int)",
        );
        refused("self.replicas == 'one'", "no matching overload for `==`");
        refused("self.replicas && true", "no matching overload for `&&`");
        refused("size(self.replicas) > 0", "no matching overload for `size`");
        refused(
            "self.tags.all(t, t + 1 > 0)",
            "no matching overload for `+`",
        );
    }

    #[test]
    fn results_must_be_bool() {
        refused("self.replicas + 1", "must evaluate to a bool, not int");
        refused("self.name", "must evaluate to a bool, not string");
    }

    #[test]
    fn old_self_needs_a_correlatable_node() {
        let mut s = spec();
        let rule = Rule {
            rule: "self == oldSelf".into(),
            ..Rule::default()
        };
        s.properties
            .get_mut("atomic")
            .unwrap()
            .items
            .as_mut()
            .unwrap()
            .validations = vec![rule.clone()];
        s.properties
            .get_mut("ports")
            .unwrap()
            .items
            .as_mut()
            .unwrap()
            .validations = vec![rule];
        let mut found = Vec::new();
        check_rules(&s, &mut |path, m| found.push(format!("{path}: {m}")));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with(".atomic[*]: "), "{found:?}");
    }

    #[test]
    fn message_expressions_must_be_strings_and_field_paths_must_resolve() {
        let mut s = spec();
        s.validations.push(Rule {
            rule: "true".into(),
            message_expression: Some("self.replicas".into()),
            field_path: Some(".nope".into()),
            ..Rule::default()
        });
        s.validations.push(Rule {
            rule: "true".into(),
            message_expression: Some("'bad: ' + self.name".into()),
            field_path: Some(".labels['a.b']".into()),
            ..Rule::default()
        });
        let mut found = Vec::new();
        check_rules(&s, &mut |_, m| found.push(m));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("must evaluate to a string, not int"));
        assert!(found[1].contains("`nope` is not declared"), "{found:?}");
    }

    #[test]
    fn property_names_escape_like_the_apiserver() {
        assert_eq!(
            escape("a-b.c/d").as_deref(),
            Some("a__dash__b__dot__c__slash__d")
        );
        assert_eq!(escape("a__b").as_deref(), Some("a__underscores__b"));
        assert_eq!(escape("namespace").as_deref(), Some("__namespace__"));
        assert_eq!(escape("1st"), None);
        assert_eq!(escape("a b"), None);
    }
}
