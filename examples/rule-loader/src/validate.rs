//! Everything Prometheus would refuse in a rule file, found before the file
//! reaches it, each problem naming its group and rule.
//!
//! The checks follow Prometheus 3's `rulefmt` validation: group names
//! present and unique in the file; exactly one of `record` and `alert`; an
//! `expr` that parses as PromQL; no `for`, `keep_firing_for` or
//! `annotations` on a recording rule; valid durations, metric and label
//! names; and the templates of an alert's labels and annotations.

use std::collections::BTreeSet;
use std::fmt;

use crate::rulefmt::{Rule, RuleFile, one_line};

/// Which metric and label names are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameScheme {
    /// `[a-zA-Z_][a-zA-Z0-9_]*` (and `:` in metric names): the names every
    /// Prometheus release and every PromQL client accepts. The default:
    /// rules written for it load anywhere.
    #[default]
    Legacy,
    /// Prometheus 3's default: any non-empty UTF-8 name.
    Utf8,
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The group's name, when the problem is in a group.
    pub group: Option<String>,
    /// The rule's 1-based position in its group and its name, when the
    /// problem is in a rule.
    pub rule: Option<(usize, String)>,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    fn file(message: impl Into<String>) -> Self {
        Self {
            group: None,
            rule: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(group) = &self.group {
            write!(f, "group {group:?}, ")?;
        }
        if let Some((index, name)) = &self.rule {
            write!(f, "rule {index} {name:?}, ")?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem of a parsed file; empty when Prometheus would load it.
pub fn validate(file: &RuleFile, scheme: NameScheme) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for group in &file.groups {
        let at_group = |message: String| Problem {
            group: Some(group.name.clone()),
            rule: None,
            message,
        };
        if group.name.is_empty() {
            problems.push(Problem::file("a group has no name"));
        } else if !seen.insert(group.name.as_str()) {
            problems.push(at_group(
                "the group name is repeated in the same file".into(),
            ));
        }
        for (field, value) in [
            ("interval", &group.interval),
            ("query_offset", &group.query_offset),
        ] {
            if let Some(value) = value
                && let Err(err) = crate::duration::parse(value)
            {
                problems.push(at_group(format!("{field}: {err}")));
            }
        }
        for name in group.labels.keys() {
            if let Err(err) = label_name(name, scheme) {
                problems.push(at_group(format!("labels: {err}")));
            }
        }
        for (index, rule) in group.rules.iter().enumerate() {
            for message in validate_rule(rule, scheme) {
                problems.push(Problem {
                    group: Some(group.name.clone()),
                    rule: Some((index + 1, rule.name().to_string())),
                    message,
                });
            }
        }
    }
    problems
}

fn validate_rule(rule: &Rule, scheme: NameScheme) -> Vec<String> {
    let mut problems = Vec::new();
    let record = rule.record.as_deref().filter(|r| !r.is_empty());
    let alert = rule.alert.as_deref().filter(|a| !a.is_empty());
    match (record, alert) {
        (Some(_), Some(_)) => problems.push("only one of 'record' and 'alert' may be set".into()),
        (None, None) => problems.push("one of 'record' or 'alert' must be set".into()),
        _ => {}
    }
    if rule.expr.trim().is_empty() {
        problems.push("field 'expr' must be set".into());
    } else if let Err(err) = promql_parser::parser::parse(&rule.expr) {
        problems.push(format!("could not parse expression: {}", one_line(&err)));
    }
    for (field, value) in [
        ("for", &rule.for_),
        ("keep_firing_for", &rule.keep_firing_for),
    ] {
        if let Some(value) = value
            && let Err(err) = crate::duration::parse(value)
        {
            problems.push(format!("{field}: {err}"));
        }
    }
    if let Some(record) = record {
        if !rule.annotations.is_empty() {
            problems.push("a recording rule has no 'annotations'".into());
        }
        if rule.for_.is_some() {
            problems.push("a recording rule has no 'for'".into());
        }
        if rule.keep_firing_for.is_some() {
            problems.push("a recording rule has no 'keep_firing_for'".into());
        }
        if record.contains(['{', '}']) {
            problems.push(format!(
                "braces in the recording rule name {record:?}: should they be in 'expr'?"
            ));
        } else if let Err(err) = metric_name(record, scheme) {
            problems.push(err);
        }
    }
    for name in rule.labels.keys() {
        if let Err(err) = label_name(name, scheme) {
            problems.push(format!("labels: {err}"));
        }
    }
    for name in rule.annotations.keys() {
        if let Err(err) = label_name(name, scheme) {
            problems.push(format!("annotations: {err}"));
        }
    }
    // Only alerts expand templates; a recording rule's labels are literal.
    if alert.is_some() {
        for (field, map) in [("label", &rule.labels), ("annotation", &rule.annotations)] {
            for (name, value) in map {
                if let Err(err) = crate::template::check(value) {
                    problems.push(format!("{field} {name:?}: template: {err}"));
                }
            }
        }
    }
    problems
}

/// A label (or annotation) name in `scheme`; `__name__` is never one a rule
/// may set.
pub fn label_name(name: &str, scheme: NameScheme) -> Result<(), String> {
    let valid = match scheme {
        NameScheme::Legacy => {
            let mut chars = name.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        NameScheme::Utf8 => !name.is_empty(),
    };
    if !valid {
        Err(format!(
            "invalid label name {name:?}: it must match [a-zA-Z_][a-zA-Z0-9_]*"
        ))
    } else if name == "__name__" {
        Err("the label name \"__name__\" is reserved".into())
    } else {
        Ok(())
    }
}

fn metric_name(name: &str, scheme: NameScheme) -> Result<(), String> {
    let valid = match scheme {
        NameScheme::Legacy => {
            let mut chars = name.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        }
        NameScheme::Utf8 => !name.is_empty(),
    };
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid recording rule name {name:?}: it must match [a-zA-Z_:][a-zA-Z0-9_:]*"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rulefmt::{Limits, parse};

    fn problems(text: &str) -> Vec<String> {
        validate(
            &parse(text, &Limits::default()).unwrap(),
            NameScheme::Legacy,
        )
        .iter()
        .map(ToString::to_string)
        .collect()
    }

    #[test]
    fn a_valid_file_has_no_problems() {
        let text = r#"
groups:
  - name: a
    interval: 1m
    query_offset: 30s
    limit: 10
    rules:
      - record: "job:http_requests:rate5m"
        expr: sum by (job) (rate(http_requests_total[5m]))
      - alert: HighErrorRate
        expr: job:http_requests:rate5m{code=~"5.."} > 0.1
        for: 10m
        keep_firing_for: 5m
        labels: {severity: page}
        annotations: {summary: "{{ $labels.job }} at {{ $value | humanizePercentage }}"}
  - name: b
    rules: []
"#;
        assert_eq!(problems(text), Vec::<String>::new());
    }

    #[test]
    fn a_bad_expression_names_group_rule_and_the_parser_message() {
        let found = problems(
            "groups: [{name: api, rules: [{record: ok, expr: up}, {alert: Broken, expr: 'sum(rate(x[5m])'}]}]",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("group \"api\", rule 2 \"Broken\", could not parse expression: "),
            "{}",
            found[0]
        );
    }

    #[test]
    fn every_rulefmt_check_is_made() {
        let found = problems(
            r#"
groups:
  - name: g
    interval: 1.5m
    labels: {"bad-label": x}
    rules:
      - {expr: up}
      - {record: r, alert: A, expr: up}
      - {record: r}
      - {record: "r{a=\"b\"}", expr: up}
      - {record: "1r", expr: up, for: 1m, keep_firing_for: 1m, annotations: {a: b}}
      - {alert: A, expr: up, for: 5, labels: {__name__: x}, annotations: {"a b": "{{ if }}"}}
  - name: g
"#,
        );
        let expected = [
            "group \"g\", interval: not a valid duration string: \"1.5m\"",
            "group \"g\", labels: invalid label name \"bad-label\"",
            "group \"g\", rule 1 \"\", one of 'record' or 'alert' must be set",
            "group \"g\", rule 2 \"A\", only one of 'record' and 'alert' may be set",
            "group \"g\", rule 3 \"r\", field 'expr' must be set",
            "group \"g\", rule 4 \"r{a=\\\"b\\\"}\", braces in the recording rule name",
            "group \"g\", rule 5 \"1r\", a recording rule has no 'annotations'",
            "group \"g\", rule 5 \"1r\", a recording rule has no 'for'",
            "group \"g\", rule 5 \"1r\", a recording rule has no 'keep_firing_for'",
            "group \"g\", rule 5 \"1r\", invalid recording rule name \"1r\"",
            "group \"g\", rule 6 \"A\", for: not a valid duration string: \"5\"",
            "group \"g\", rule 6 \"A\", labels: the label name \"__name__\" is reserved",
            "group \"g\", rule 6 \"A\", annotations: invalid label name \"a b\"",
            "group \"g\", rule 6 \"A\", annotation \"a b\": template: missing {{end}} for {{if}}",
            "group \"g\", the group name is repeated in the same file",
        ];
        for want in expected {
            assert!(
                found.iter().any(|f| f.starts_with(want)),
                "missing {want:?} in {found:#?}"
            );
        }
        assert_eq!(found.len(), expected.len(), "{found:#?}");
    }

    #[test]
    fn utf8_names_are_accepted_only_in_that_scheme() {
        assert!(label_name("app.kubernetes.io/name", NameScheme::Legacy).is_err());
        assert!(label_name("app.kubernetes.io/name", NameScheme::Utf8).is_ok());
        assert!(label_name("", NameScheme::Utf8).is_err());
    }
}
