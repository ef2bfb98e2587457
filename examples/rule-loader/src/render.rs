//! From a ConfigMap to the rule files it stands for: one file per data key,
//! named so that no two ConfigMaps (in any namespaces) can collide, with the
//! enforced namespace label on every rule. Invalid keys produce problems
//! instead of files; the other keys of the same ConfigMap still load.
//!
//! Everything here is a pure function of the ConfigMap and the options, so
//! the desired set of files is computed from the informer cache alone, the
//! same way after every restart.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;

use crate::rulefmt::{self, Limits};
use crate::validate::{self, NameScheme, Problem};

/// How ConfigMaps become rule files.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Limits on each file.
    pub limits: Limits,
    /// Names accepted for metrics and labels.
    pub scheme: NameScheme,
    /// A label set on every rule to the ConfigMap's namespace, overriding
    /// any value the file gives it (prometheus-operator's
    /// `enforcedNamespaceLabel`, without its rewriting of expressions).
    pub namespace_label: Option<String>,
}

/// A problem in one data key of a ConfigMap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    /// The data key (the file).
    pub file: String,
    /// What is wrong, with group and rule where there are.
    pub problem: Problem,
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "file {:?}, {}", self.file, self.problem)
    }
}

/// What one ConfigMap yields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    /// Output file name → contents, for every valid key.
    pub files: BTreeMap<String, String>,
    /// Every problem of every invalid key.
    pub problems: Vec<FileProblem>,
    /// Groups in the valid files.
    pub groups: usize,
    /// Rules in the valid files.
    pub rules: usize,
    /// Keys refused.
    pub invalid_files: usize,
}

/// The suffix of every output file: Prometheus loads `<dir>/*.yaml`, and
/// temporary files (which end otherwise) are never loaded half-written.
pub const SUFFIX: &str = ".yaml";

/// The longest file name most filesystems allow.
const MAX_FILE_NAME: usize = 255;

/// The output file of `key` in ConfigMap `namespace/name`:
/// `<namespace>_<name>_<key>.yaml`. Namespaces and ConfigMap names cannot
/// contain `_` (they are DNS labels and subdomains) and keys cannot contain
/// `/`, so the first two `_` always separate the parts and different
/// ConfigMaps never share a file. Names too long for a file fall back to
/// `<namespace>_<hash>.yaml`, which has one `_` and so cannot collide with
/// the long form either.
pub fn file_name(namespace: &str, name: &str, key: &str) -> String {
    let full = format!("{namespace}_{name}_{key}{SUFFIX}");
    if full.len() <= MAX_FILE_NAME {
        return full;
    }
    format!(
        "{namespace}_{:016x}{SUFFIX}",
        fnv64(format!("{namespace}/{name}/{key}").as_bytes())
    )
}

/// FNV-1a: stable across Rust releases (a file name must not change when
/// the toolchain does), which `std`'s hasher does not promise.
fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The rule files and problems of one ConfigMap.
pub fn render(cm: &ConfigMap, options: &RenderOptions) -> Rendered {
    let namespace = cm.namespace().unwrap_or_default();
    let name = cm.name_any();
    let mut out = Rendered::default();
    let refuse = |out: &mut Rendered, file: &str, problems: Vec<Problem>| {
        out.invalid_files += 1;
        out.problems
            .extend(problems.into_iter().map(|problem| FileProblem {
                file: file.to_string(),
                problem,
            }));
    };
    for key in cm.binary_data.iter().flatten().map(|(k, _)| k) {
        refuse(
            &mut out,
            key,
            vec![problem(
                "binaryData is not read: a rule file is UTF-8 text under data",
            )],
        );
    }
    for (key, text) in cm.data.iter().flatten() {
        let mut file = match rulefmt::parse(text, &options.limits) {
            Ok(file) => file,
            Err(err) => {
                refuse(&mut out, key, vec![problem(&err.to_string())]);
                continue;
            }
        };
        let problems = validate::validate(&file, options.scheme);
        if !problems.is_empty() {
            refuse(&mut out, key, problems);
            continue;
        }
        if let Some(label) = &options.namespace_label {
            for rule in file.groups.iter_mut().flat_map(|g| g.rules.iter_mut()) {
                rule.labels.insert(label.clone(), namespace.clone());
            }
        }
        out.groups += file.groups.len();
        out.rules += file.groups.iter().map(|g| g.rules.len()).sum::<usize>();
        let header = format!(
            "# Generated by rule-loader from ConfigMap {namespace}/{name}, key {key:?}; \
             edit the ConfigMap, not this file.\n"
        );
        out.files.insert(
            file_name(&namespace, &name, key),
            header + &rulefmt::render(&file),
        );
    }
    out
}

fn problem(message: &str) -> Problem {
    Problem {
        group: None,
        rule: None,
        message: message.to_string(),
    }
}

/// The status annotation's value: every problem, one per line, at most
/// `MAX_LINES` of them and 16 KiB in all (annotations share a 256 KiB
/// budget with the rest of the object's metadata).
pub fn status_text(problems: &[FileProblem]) -> Option<String> {
    const MAX_LINES: usize = 20;
    const MAX_LINE: usize = 800;
    if problems.is_empty() {
        return None;
    }
    let mut lines: Vec<String> = problems
        .iter()
        .take(MAX_LINES)
        .map(|p| truncate(&p.to_string(), MAX_LINE))
        .collect();
    if problems.len() > MAX_LINES {
        lines.push(format!("and {} more", problems.len() - MAX_LINES));
    }
    Some(lines.join("\n"))
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use kube::api::ObjectMeta;

    fn configmap(namespace: &str, name: &str, data: &[(&str, &str)]) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                namespace: Some(namespace.into()),
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..ConfigMap::default()
        }
    }

    const VALID: &str =
        "groups: [{name: g, rules: [{record: 'a:b', expr: up, labels: {namespace: spoofed}}]}]";
    const INVALID: &str = "groups: [{name: g, rules: [{alert: Bad, expr: 'up{'}]}]";

    #[test]
    fn one_file_per_key_and_an_invalid_key_does_not_stop_the_others() {
        let cm = configmap("team-a", "rules", &[("good.yaml", VALID), ("bad", INVALID)]);
        let out = render(&cm, &RenderOptions::default());
        assert_eq!(
            out.files.keys().collect::<Vec<_>>(),
            ["team-a_rules_good.yaml.yaml"]
        );
        assert_eq!((out.groups, out.rules, out.invalid_files), (1, 1, 1));
        let text = status_text(&out.problems).unwrap();
        assert!(
            text.starts_with(
                "file \"bad\", group \"g\", rule 1 \"Bad\", could not parse expression: "
            ),
            "{text}"
        );
        assert!(
            out.files["team-a_rules_good.yaml.yaml"]
                .starts_with("# Generated by rule-loader from ConfigMap team-a/rules")
        );
    }

    #[test]
    fn the_enforced_namespace_label_overrides_the_file() {
        let cm = configmap("team-a", "rules", &[("r", VALID)]);
        let options = RenderOptions {
            namespace_label: Some("namespace".into()),
            ..RenderOptions::default()
        };
        let text = &render(&cm, &options).files["team-a_rules_r.yaml"];
        assert!(text.contains("namespace: team-a"), "{text}");
        assert!(!text.contains("spoofed"), "{text}");
        let text = &render(&cm, &RenderOptions::default()).files["team-a_rules_r.yaml"];
        assert!(text.contains("namespace: spoofed"), "{text}");
    }

    #[test]
    fn names_never_collide_across_namespaces_and_names() {
        // a_b in namespace x vs b in namespace x_a is impossible, since
        // names hold no `_`; keys may, and stay after the second `_`.
        assert_eq!(file_name("x", "a", "b_c"), "x_a_b_c.yaml");
        assert_ne!(file_name("x", "a", "b"), file_name("x", "a-b", ""));
        let long = "k".repeat(253);
        let hashed = file_name("ns", &"n".repeat(200), &long);
        assert!(hashed.len() < 64 && hashed.starts_with("ns_"), "{hashed}");
        assert_eq!(hashed.matches('_').count(), 1);
        assert_ne!(hashed, file_name("ns", &"n".repeat(200), &"j".repeat(253)));
    }

    #[test]
    fn binary_data_is_refused_by_key() {
        let mut cm = configmap("a", "b", &[("ok", VALID)]);
        cm.binary_data = Some([("blob".to_string(), ByteString(vec![0, 159, 146, 150]))].into());
        let out = render(&cm, &RenderOptions::default());
        assert_eq!(out.files.len(), 1);
        assert!(
            status_text(&out.problems)
                .unwrap()
                .contains("file \"blob\", binaryData is not read")
        );
    }

    #[test]
    fn the_status_text_is_bounded() {
        let problems: Vec<FileProblem> = (0..100)
            .map(|i| FileProblem {
                file: format!("f{i}"),
                problem: problem(&"x".repeat(5000)),
            })
            .collect();
        let text = status_text(&problems).unwrap();
        assert!(text.len() < 20 * 810 + 100, "{}", text.len());
        assert!(text.ends_with("and 80 more"));
        assert_eq!(status_text(&[]), None);
    }
}
