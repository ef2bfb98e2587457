//! The Prometheus rule-file format as serde types, and its parsing under
//! limits that bound memory and time whatever a ConfigMap holds.
//!
//! The fields are those of Prometheus 3's `model/rulefmt`: groups with
//! `name`, `interval`, `query_offset`, `limit`, `labels` and `rules`; rules
//! with `record` or `alert`, `expr`, `for`, `keep_firing_for`, `labels` and
//! `annotations`. Unknown fields are refused, as Prometheus refuses them.
//! Maps are ordered, so the same file always renders to the same bytes and
//! an unchanged ConfigMap never rewrites its file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A rule file: its groups.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// The rule groups, evaluated independently.
    #[serde(default)]
    pub groups: Vec<RuleGroup>,
}

/// A group of rules evaluated together at one interval.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleGroup {
    /// Unique within its file.
    #[serde(default)]
    pub name: String,
    /// Evaluation interval; the global one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// How far in the past to evaluate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_offset: Option<String>,
    /// At most this many alerts or series per evaluation; 0 is no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// Labels added to every rule of the group.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The rules.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// An alerting rule (`alert`) or a recording rule (`record`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The series a recording rule writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// The name of an alerting rule's alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    /// The PromQL expression.
    #[serde(default)]
    pub expr: String,
    /// How long an alert is pending before it fires.
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    /// How long an alert keeps firing after its condition clears.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_firing_for: Option<String>,
    /// Labels added to the result.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Alert annotations (Go templates).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Rule {
    /// The rule's name, `alert` or `record`, for messages.
    pub fn name(&self) -> &str {
        self.alert
            .as_deref()
            .or(self.record.as_deref())
            .unwrap_or("")
    }
}

/// Bounds on what one rule file may cost. Every check runs before anything
/// of the file is kept, so a hostile file costs at most these.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Bytes of one file (a ConfigMap key's value).
    pub max_file_bytes: usize,
    /// Groups in one file.
    pub max_groups: usize,
    /// Rules in one file, all groups together.
    pub max_rules: usize,
    /// YAML alias (`*ref`) uses in one file: rule files have no need for
    /// many, and each one may replay a whole subtree (the "billion laughs").
    pub max_aliases: usize,
    /// Parser events replayed through aliases in one file.
    pub max_replayed_events: usize,
    /// YAML nodes (scalars, sequences, mappings) in one file.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 512 * 1024,
            max_groups: 1_000,
            max_rules: 10_000,
            max_aliases: 1_000,
            max_replayed_events: 100_000,
            max_nodes: 250_000,
        }
    }
}

/// Why a file could not even be read as a rule file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Larger than [`Limits::max_file_bytes`].
    #[error("the file is {size} bytes, more than the limit of {limit}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not YAML of the rule-file shape, or over a YAML budget.
    #[error("invalid YAML: {0}")]
    Yaml(String),
    /// More groups than [`Limits::max_groups`].
    #[error("{count} groups, more than the limit of {limit}")]
    TooManyGroups {
        /// How many.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// More rules than [`Limits::max_rules`].
    #[error("{count} rules, more than the limit of {limit}")]
    TooManyRules {
        /// How many.
        count: usize,
        /// The limit.
        limit: usize,
    },
}

/// Parses one rule file within `limits`. Structure only: see
/// [`crate::validate`] for what the values must be.
pub fn parse(text: &str, limits: &Limits) -> Result<RuleFile, ParseError> {
    if text.len() > limits.max_file_bytes {
        return Err(ParseError::TooLarge {
            size: text.len(),
            limit: limits.max_file_bytes,
        });
    }
    let mut options = serde_saphyr::Options::default();
    let mut budget = serde_saphyr::Budget::default();
    budget.max_aliases = limits.max_aliases;
    budget.max_nodes = limits.max_nodes;
    budget.max_events = limits.max_nodes.saturating_mul(2);
    budget.max_documents = 1;
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = limits.max_replayed_events;
    let file: RuleFile = if text.trim().is_empty() {
        // An empty file has no groups, as Prometheus reads it.
        RuleFile::default()
    } else {
        serde_saphyr::from_str_with_options(text, options)
            .map_err(|e| ParseError::Yaml(one_line(&e.to_string())))?
    };
    if file.groups.len() > limits.max_groups {
        return Err(ParseError::TooManyGroups {
            count: file.groups.len(),
            limit: limits.max_groups,
        });
    }
    let rules: usize = file.groups.iter().map(|g| g.rules.len()).sum();
    if rules > limits.max_rules {
        return Err(ParseError::TooManyRules {
            count: rules,
            limit: limits.max_rules,
        });
    }
    Ok(file)
}

/// Error messages go into an annotation and an Event: one line each.
pub(crate) fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Renders a file as YAML (deterministic: the same file, the same bytes).
pub fn render(file: &RuleFile) -> String {
    serde_saphyr::to_string(file).expect("rule files serialize: strings, numbers and maps only")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
groups:
  - name: api
    interval: 30s
    labels: {team: a}
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: Down
        expr: up == 0
        for: 5m
        keep_firing_for: 1m
        labels: {severity: page}
        annotations:
          summary: "{{ $labels.instance }} is down"
"#;

    #[test]
    fn reads_every_field_of_the_format() {
        let file = parse(GOOD, &Limits::default()).unwrap();
        let group = &file.groups[0];
        assert_eq!(group.name, "api");
        assert_eq!(group.interval.as_deref(), Some("30s"));
        assert_eq!(group.labels["team"], "a");
        assert_eq!(group.rules[0].record.as_deref(), Some("job:up:sum"));
        let alert = &group.rules[1];
        assert_eq!(alert.name(), "Down");
        assert_eq!(alert.for_.as_deref(), Some("5m"));
        assert_eq!(alert.keep_firing_for.as_deref(), Some("1m"));
        assert_eq!(
            alert.annotations["summary"],
            "{{ $labels.instance }} is down"
        );
    }

    #[test]
    fn rendering_round_trips_and_is_deterministic() {
        let file = parse(GOOD, &Limits::default()).unwrap();
        let text = render(&file);
        assert_eq!(parse(&text, &Limits::default()).unwrap(), file);
        assert_eq!(render(&file), text);
        assert!(text.contains("for: 5m"), "{text}");
    }

    #[test]
    fn unknown_fields_are_refused_by_name() {
        let err = parse(
            "groups: [{name: a, rules: [{alert: A, expr: up, fro: 5m}]}]",
            &Limits::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("fro"), "{err}");
    }

    #[test]
    fn an_empty_file_has_no_groups() {
        assert_eq!(parse("", &Limits::default()).unwrap(), RuleFile::default());
        assert_eq!(
            parse("groups: []", &Limits::default()).unwrap(),
            RuleFile::default()
        );
    }

    #[test]
    fn numbers_are_read_as_the_strings_prometheus_sees() {
        let file = parse(
            "groups: [{name: a, rules: [{record: one, expr: 1, labels: {n: 2}}]}]",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(file.groups[0].rules[0].expr, "1");
        assert_eq!(file.groups[0].rules[0].labels["n"], "2");
    }

    #[test]
    fn a_large_file_is_refused_before_it_is_parsed() {
        let limits = Limits {
            max_file_bytes: 100,
            ..Limits::default()
        };
        let err = parse(&"#".repeat(101), &limits).unwrap_err();
        assert_eq!(
            err,
            ParseError::TooLarge {
                size: 101,
                limit: 100
            }
        );
    }

    #[test]
    fn a_yaml_bomb_is_refused_quickly() {
        // Nine levels of nine aliases: 9^9 (387 million) rules once expanded.
        let mut text = String::from("a0: &a0 {record: r, expr: up}\n");
        for level in 1..=9 {
            let refs = vec![format!("*a{}", level - 1); 9].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
        }
        text.push_str("groups: [{name: g, rules: *a9}]\n");
        let started = std::time::Instant::now();
        let err = parse(&text, &Limits::default()).unwrap_err();
        assert!(matches!(err, ParseError::Yaml(_)), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn aliases_beyond_the_budget_are_refused() {
        // Shaped like a rule file, so only the alias budget can refuse it:
        // 2,000 uses of one anchored rule.
        let limits = Limits::default();
        let text = format!(
            "groups: [{{name: g, rules: [&r {{record: r, expr: up}}{}]}}]",
            ", *r".repeat(2 * limits.max_aliases)
        );
        let err = parse(&text, &limits).unwrap_err();
        let message = err.to_string().to_lowercase();
        assert!(message.contains("alias"), "{err}");
        let within = format!(
            "groups: [{{name: g, rules: [&r {{record: r, expr: up}}{}]}}]",
            ", *r".repeat(50)
        );
        assert_eq!(parse(&within, &limits).unwrap().groups[0].rules.len(), 51);
    }

    #[test]
    fn a_million_rules_are_refused_by_count_within_bounded_work() {
        // A million rules fit in a file only through aliases; written out
        // they are 20 MB, refused by size. Both are bounded.
        let line = "- {record: r, expr: up}\n";
        let huge = format!("groups:\n- name: g\n  rules:\n{}", line.repeat(1_000_000));
        assert!(matches!(
            parse(&huge, &Limits::default()),
            Err(ParseError::TooLarge { .. })
        ));
        let limits = Limits {
            max_file_bytes: usize::MAX,
            ..Limits::default()
        };
        let many = format!(
            "groups:\n- name: g\n  rules:\n{}",
            line.replace("- ", "  - ").repeat(20_000)
        );
        let err = parse(&many, &limits).unwrap_err();
        assert!(
            matches!(
                err,
                ParseError::TooManyRules {
                    count: 20_000,
                    limit: 10_000
                }
            ),
            "{err}"
        );
    }
}
