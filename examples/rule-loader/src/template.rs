//! What can be checked of a Go `text/template` without Prometheus' Go code:
//! every `{{` action is closed, strings inside actions are closed, and
//! `if`/`range`/`with`/`define`/`block` are matched by `end` (`else` only
//! inside one of them).
//!
//! Hand-rolled: no maintained Rust crate parses Go templates with
//! Prometheus' functions, and the structural checks above are the errors
//! people make. Function names and field paths are left to Prometheus,
//! which only reports them when an alert fires.

/// Checks one template; the first problem found.
pub fn check(text: &str) -> Result<(), String> {
    let mut open: Vec<&str> = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(start) = rest.find("{{") {
        let action_start = offset + start;
        let body_and_rest = &rest[start + 2..];
        let Some(len) = action_length(body_and_rest) else {
            return Err(format!(
                "unclosed action starting at byte {action_start}: no matching }}}}"
            ));
        };
        let body = body_and_rest[..len].trim_start_matches('-');
        let body = body.strip_suffix('-').unwrap_or(body).trim();
        if body.starts_with("/*") {
            if !body.ends_with("*/") {
                return Err(format!("unclosed comment at byte {action_start}"));
            }
        } else {
            let keyword = body.split_whitespace().next().unwrap_or("");
            match keyword {
                "" => return Err(format!("empty action at byte {action_start}")),
                "if" | "range" | "with" | "define" | "block" => open.push(keyword),
                "end" if open.pop().is_none() => {
                    return Err(format!("unexpected {{{{end}}}} at byte {action_start}"));
                }
                "else" if open.is_empty() => {
                    return Err(format!("unexpected {{{{else}}}} at byte {action_start}"));
                }
                _ => {}
            }
        }
        let consumed = start + 2 + len + 2;
        rest = &rest[consumed..];
        offset += consumed;
    }
    match open.last() {
        Some(keyword) => Err(format!("missing {{{{end}}}} for {{{{{keyword}}}}}")),
        None => Ok(()),
    }
}

/// The length of an action's body up to its `}}`, skipping quoted strings
/// (`"..."` with escapes, `` `...` ``, `'.'`); `None` if it never closes.
fn action_length(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'}' if bytes.get(i + 1) == Some(&b'}') => return Some(i),
            quote @ (b'"' | b'\'' | b'`') => {
                i += 1;
                loop {
                    match bytes.get(i)? {
                        b'\\' if quote != b'`' => i += 2,
                        &b if b == quote => break,
                        b'\n' if quote != b'`' => return None,
                        _ => i += 1,
                    }
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_templates_alerts_use() {
        for good in [
            "plain text",
            "{{ $labels.instance }} is down",
            "{{- $value | humanize -}}%",
            "{{ if gt $value 1.0 }}high{{ else }}low{{ end }}",
            r#"{{ "}}" }} and {{ `{{` }}"#,
            "{{/* a comment */}}",
            "{{ range $i, $x := query \"up\" }}{{ $x.Value }}{{ end }}",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn names_the_structural_mistakes() {
        assert!(
            check("{{ $labels.instance }")
                .unwrap_err()
                .contains("unclosed action")
        );
        assert!(
            check("{{ if $value }}x")
                .unwrap_err()
                .contains("missing {{end}} for {{if}}")
        );
        assert!(
            check("x{{ end }}")
                .unwrap_err()
                .contains("unexpected {{end}}")
        );
        assert!(
            check("{{ else }}")
                .unwrap_err()
                .contains("unexpected {{else}}")
        );
        assert!(check("{{ }}").unwrap_err().contains("empty action"));
        assert!(check(r#"{{ "abc }}"#).unwrap_err().contains("unclosed"));
    }
}
