//! CEL rules evaluated on a value, as the apiserver does on create: every
//! `x-kubernetes-validations` rule on a node the value has is run with
//! `self` bound to that node, and a rule that is false — or that fails to
//! evaluate, which the apiserver reports as invalid too — is an error at
//! the node's path. Transition rules (those naming `oldSelf`) do not run on
//! create and are skipped.
//!
//! The interpreter is the `cel` crate's, the same that parses the rules for
//! the static check in the `cel` module; JSON numbers become CEL `int`
//! where they are integers (the apiserver's `int64`), else `double`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use serde_json::Value;

use crdforge::schema::Schema;

/// Every rule of `schema` and below that `value` breaks on create, each as
/// "path: message".
pub fn evaluate_rules(schema: &Schema, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    walk(schema, value, "", true, &mut errors);
    errors
}

/// What the apiserver does with a new object: defaults, then the schema's
/// value validation, then the CEL rules (only if the schema passes, as the
/// apiserver skips CEL on an object that already failed).
pub fn admit_on_create(schema: &Schema, value: &Value) -> Result<Value, Vec<String>> {
    let admitted = super::admit(schema, value)?;
    let errors = evaluate_rules(schema, &admitted);
    if errors.is_empty() {
        Ok(admitted)
    } else {
        Err(errors)
    }
}

fn walk(schema: &Schema, value: &Value, path: &str, root: bool, errors: &mut Vec<String>) {
    if value.is_null() {
        return;
    }
    let here = if path.is_empty() { "<root>" } else { path };
    for rule in &schema.validations {
        if rule.rule.contains("oldSelf") {
            continue;
        }
        let verdict = run(&rule.rule, value);
        if verdict != Some(true) {
            let message = rule
                .message
                .clone()
                .unwrap_or_else(|| format!("failed rule: {}", rule.rule));
            errors.push(format!("{here}: {message}"));
        }
    }
    match value {
        Value::Object(map) => {
            for (name, child) in map {
                // ObjectMeta's own rules are the apiserver's, not the CRD's.
                if root && name == "metadata" {
                    continue;
                }
                let child_path = format!("{path}.{name}");
                if let Some(property) = schema.properties.get(name) {
                    walk(property, child, &child_path, false, errors);
                } else if let Some(values) = &schema.additional_properties {
                    walk(values, child, &child_path, false, errors);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = &schema.items {
                for (i, item) in items.iter().enumerate() {
                    walk(item_schema, item, &format!("{path}[{i}]"), false, errors);
                }
            }
        }
        _ => {}
    }
}

thread_local! {
    /// Compiled rules by their text. Property tests evaluate the same few
    /// rules on thousands of values; compiling one costs far more than
    /// running it. A rule that does not compile is cached as `None`.
    static PROGRAMS: RefCell<HashMap<String, Option<Rc<cel::Program>>>> =
        RefCell::new(HashMap::new());
}

/// The compiled rule, from the cache of this thread.
fn compiled(rule: &str) -> Option<Rc<cel::Program>> {
    PROGRAMS.with(|programs| {
        if let Some(program) = programs.borrow().get(rule) {
            return program.clone();
        }
        let program = cel::Program::compile(rule).ok().map(Rc::new);
        programs
            .borrow_mut()
            .insert(rule.to_owned(), program.clone());
        program
    })
}

/// The rule's result on `value`: `Some(bool)`, or `None` when it does not
/// compile or evaluate to a bool.
fn run(rule: &str, value: &Value) -> Option<bool> {
    let program = compiled(rule)?;
    let mut context = cel::Context::default();
    context.add_variable_from_value("self", to_cel(value));
    match program.execute(&context) {
        Ok(cel::Value::Bool(b)) => Some(b),
        _ => None,
    }
}

fn to_cel(value: &Value) -> cel::Value {
    match value {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => cel::Value::Int(i),
            None => cel::Value::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => cel::Value::String(Arc::new(s.clone())),
        Value::Array(items) => cel::Value::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(map) => {
            let map: HashMap<String, cel::Value> =
                map.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            cel::Value::Map(map.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crdforge::schema::Rule;

    fn with_rule(rule: &str) -> Schema {
        let mut s = Schema::typed("object");
        s.properties.insert("a".into(), Schema::typed("integer"));
        s.properties.insert("b".into(), Schema::typed("integer"));
        s.validations.push(Rule {
            rule: rule.into(),
            ..Rule::default()
        });
        s
    }

    #[test]
    fn a_false_rule_is_an_error_at_its_node_and_a_true_one_is_not() {
        let s = with_rule("!has(self.a) || self.a <= self.b");
        assert!(evaluate_rules(&s, &json!({"a": 1, "b": 2})).is_empty());
        assert!(evaluate_rules(&s, &json!({"b": 2})).is_empty());
        assert_eq!(
            evaluate_rules(&s, &json!({"a": 3, "b": 2})),
            ["<root>: failed rule: !has(self.a) || self.a <= self.b"]
        );
    }

    #[test]
    fn a_rule_that_cannot_evaluate_fails_and_transition_rules_are_skipped() {
        assert_eq!(
            evaluate_rules(&with_rule("self.a > 0"), &json!({})).len(),
            1
        );
        assert!(evaluate_rules(&with_rule("self.a >= oldSelf.a"), &json!({"a": 1})).is_empty());
    }
}
