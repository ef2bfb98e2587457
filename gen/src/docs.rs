//! API reference docs from the types: one Markdown page per group/version
//! — every kind in it, every field with its type, whether it is required,
//! its default, its validation and CEL rules in words, and its doc comment
//! — and an index of the pages. The schemas documented are the ones the
//! apiserver validates with (after the passes), so the page and the CRD
//! never disagree.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crdforge::crd::{Definition, Error, Version, final_schema};
use crdforge::schema::{Rule, Schema};
use serde_json::Value;

use crate::generate::{GeneratedFile, by_kind, join, markdown_header};

/// The kinds of one group/version, each with its definition and version.
type Page<'a> = Vec<(&'a Definition, &'a Version)>;

/// `<dir>/<group>-<version>.md` per group/version and `<dir>/README.md`,
/// headed as written by `command`. Kinds are merged across versions first,
/// so a kind defined inconsistently is an error, as for its CRD.
pub fn doc_files(
    dir: &str,
    command: &str,
    definitions: Vec<Definition>,
) -> Result<Vec<GeneratedFile>, Vec<Error>> {
    let mut kinds = Vec::new();
    let mut errors = Vec::new();
    for (_, versions) in by_kind(definitions) {
        match crdforge::crd::merge(versions) {
            Ok(kind) => kinds.push(kind),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut pages: BTreeMap<(String, String), Page<'_>> = BTreeMap::new();
    for kind in &kinds {
        for version in &kind.versions {
            pages
                .entry((kind.group.clone(), version.name.clone()))
                .or_default()
                .push((kind, version));
        }
    }
    let mut files = Vec::new();
    let mut index = markdown_header(command);
    index.push_str("# API reference\n\n| API version | kinds |\n| --- | --- |\n");
    for ((group, version), mut kinds) in pages {
        kinds.sort_by(|a, b| a.0.kind.cmp(&b.0.kind));
        let file = format!("{group}-{version}.md");
        let names: Vec<String> = kinds
            .iter()
            .map(|(k, _)| format!("[{}]({file}#{})", k.kind, k.kind.to_lowercase()))
            .collect();
        let _ = writeln!(
            index,
            "| [`{group}/{version}`]({file}) | {} |",
            names.join(", ")
        );
        files.push(GeneratedFile {
            path: join(dir, &file),
            contents: page(command, &group, &version, &kinds),
        });
    }
    files.push(GeneratedFile {
        path: join(dir, "README.md"),
        contents: index,
    });
    Ok(files)
}

/// One group/version's page.
fn page(command: &str, group: &str, version: &str, kinds: &Page<'_>) -> String {
    let mut out = markdown_header(command);
    let _ = writeln!(out, "# {group}/{version}\n");
    let names: Vec<String> = kinds
        .iter()
        .map(|(k, _)| format!("[{}](#{})", k.kind, k.kind.to_lowercase()))
        .collect();
    let _ = writeln!(out, "Kinds: {}.\n", names.join(", "));
    for (kind, version) in kinds {
        kind_section(&mut out, group, kind, version);
    }
    format!("{}\n", out.trim_end())
}

fn kind_section(out: &mut String, group: &str, kind: &Definition, version: &Version) {
    let (schema, _) = final_schema(version);
    let _ = writeln!(out, "## {}\n", kind.kind);
    // A kind's doc comment is its spec's (the derive puts it there).
    let description = schema.description.as_ref().or_else(|| {
        schema
            .properties
            .get("spec")
            .and_then(|spec| spec.description.as_ref())
    });
    if let Some(description) = description {
        let _ = writeln!(out, "{}\n", description.trim());
    }
    let scope = if kind.namespaced {
        "namespaced"
    } else {
        "cluster-scoped"
    };
    let _ = write!(
        out,
        "`apiVersion: {group}/{}`, `kind: {}`; {scope}; resource `{}` (singular `{}`",
        version.name, kind.kind, kind.plural, kind.singular
    );
    if !kind.short_names.is_empty() {
        let _ = write!(out, ", short names {}", code_list(&kind.short_names));
    }
    out.push_str(").");
    let mut notes = Vec::new();
    if version.storage {
        notes.push("the storage version".to_owned());
    }
    if !version.served {
        notes.push("not served".to_owned());
    }
    if version.deprecated {
        notes.push(match &version.deprecation_warning {
            Some(warning) => format!("deprecated: {warning}"),
            None => "deprecated".to_owned(),
        });
    }
    let mut subresources = Vec::new();
    if version.status {
        subresources.push("status".to_owned());
    }
    if let Some(scale) = &version.scale {
        subresources.push(format!(
            "scale (replicas at `{}`, `{}`)",
            scale.spec_replicas_path, scale.status_replicas_path
        ));
    }
    if !subresources.is_empty() {
        notes.push(format!("subresources: {}", subresources.join(", ")));
    }
    if !notes.is_empty() {
        let _ = write!(out, " This version is {}.", notes.join("; "));
    }
    out.push_str("\n\n");
    if !schema.validations.is_empty() {
        out.push_str("Rules on the whole object:\n\n");
        for rule in &schema.validations {
            let _ = writeln!(out, "- {}", rule_in_words(rule));
        }
        out.push('\n');
    }
    out.push_str(
        "| field | type | required | default | validation | description |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for (name, field) in &schema.properties {
        if matches!(name.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        rows(out, name, field, schema.required.contains(name));
    }
    out.push('\n');
}

/// The row of `schema` at `path`, then the rows of what it holds.
fn rows(out: &mut String, path: &str, schema: &Schema, required: bool) {
    let _ = writeln!(
        out,
        "| `{path}` | {} | {} | {} | {} | {} |",
        type_in_words(schema),
        if required { "yes" } else { "" },
        schema
            .default
            .as_ref()
            .map(|d| format!("`{}`", cell(&d.to_string())))
            .unwrap_or_default(),
        cell(&validation_in_words(schema).join("; ")),
        schema.description.as_deref().map(cell).unwrap_or_default(),
    );
    for (name, field) in &schema.properties {
        rows(
            out,
            &format!("{path}.{name}"),
            field,
            schema.required.contains(name),
        );
    }
    if let Some(items) = &schema.items
        && !(items.properties.is_empty()
            && items.items.is_none()
            && items.additional_properties.is_none())
    {
        for (name, field) in &items.properties {
            rows(
                out,
                &format!("{path}[].{name}"),
                field,
                items.required.contains(name),
            );
        }
        if let Some(inner) = &items.items {
            rows(out, &format!("{path}[][]"), inner, false);
        }
        if let Some(values) = &items.additional_properties {
            rows(out, &format!("{path}[].*"), values, false);
        }
    }
    if let Some(values) = &schema.additional_properties
        && !(values.properties.is_empty()
            && values.items.is_none()
            && values.additional_properties.is_none())
    {
        rows(out, &format!("{path}.*"), values, false);
    }
}

/// `string (email)`, `array of object`, `map of string to integer`, …
fn type_in_words(schema: &Schema) -> String {
    if schema.int_or_string {
        return "integer or string".into();
    }
    let base = match schema.type_name() {
        "" if schema.preserve_unknown_fields => "any value".to_owned(),
        "" => "any value".to_owned(),
        "array" => match &schema.items {
            Some(items) => format!("array of {}", type_in_words(items)),
            None => "array".to_owned(),
        },
        "object" => match &schema.additional_properties {
            Some(values) if schema.properties.is_empty() => {
                format!("map of string to {}", type_in_words(values))
            }
            _ => "object".to_owned(),
        },
        other => other.to_owned(),
    };
    match &schema.format {
        Some(format) => format!("{base} ({format})"),
        None => base,
    }
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        v.to_string()
    }
}

/// Each constraint of `schema`, as a short phrase.
fn validation_in_words(schema: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(min) = schema.minimum {
        out.push(if schema.exclusive_minimum {
            format!("greater than {}", num(min))
        } else {
            format!("at least {}", num(min))
        });
    }
    if let Some(max) = schema.maximum {
        out.push(if schema.exclusive_maximum {
            format!("less than {}", num(max))
        } else {
            format!("at most {}", num(max))
        });
    }
    if let Some(m) = schema.multiple_of {
        out.push(format!("a multiple of {}", num(m)));
    }
    let counted =
        |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    for (bound, value, one, many) in [
        ("at least", schema.min_length, "character", "characters"),
        ("at most", schema.max_length, "character", "characters"),
        ("at least", schema.min_items, "item", "items"),
        ("at most", schema.max_items, "item", "items"),
        ("at least", schema.min_properties, "entry", "entries"),
        ("at most", schema.max_properties, "entry", "entries"),
    ] {
        if let Some(n) = value {
            out.push(format!("{bound} {}", counted(n, one, many)));
        }
    }
    if let Some(pattern) = &schema.pattern {
        out.push(format!("matches `{pattern}`"));
    }
    if !schema.enum_.is_empty() {
        let values: Vec<String> = schema.enum_.iter().map(shown).collect();
        out.push(format!("one of {}", values.join(", ")));
    }
    if schema.nullable {
        out.push("may be null".into());
    }
    match schema.list_type.as_deref() {
        Some("set") => out.push("items are unique (a set)".into()),
        Some("map") => out.push(format!(
            "a list map keyed by {}",
            code_list(&schema.list_map_keys)
        )),
        _ => {}
    }
    if schema.map_type.as_deref() == Some("atomic") {
        out.push("replaced as a whole by server-side apply".into());
    }
    if schema.embedded_resource {
        out.push("an embedded Kubernetes object (apiVersion, kind, metadata)".into());
    }
    if schema.preserve_unknown_fields && schema.type_name() == "object" {
        out.push("unknown fields are kept".into());
    }
    for (keyword, branches) in [
        ("all of", &schema.all_of),
        ("any of", &schema.any_of),
        ("one of", &schema.one_of),
    ] {
        if !branches.is_empty() {
            let shapes: Vec<String> = branches.iter().map(branch_in_words).collect();
            out.push(format!("{keyword}: {}", shapes.join(" / ")));
        }
    }
    if let Some(not) = &schema.not {
        out.push(format!("not: {}", branch_in_words(not)));
    }
    out.extend(schema.validations.iter().map(rule_in_words));
    out
}

/// A combinator's branch, in words: its required fields and constraints.
fn branch_in_words(branch: &Schema) -> String {
    let mut parts = Vec::new();
    if branch.type_.is_some() || branch.int_or_string {
        parts.push(type_in_words(branch));
    }
    if !branch.required.is_empty() {
        parts.push(format!("has {}", code_list(&branch.required)));
    }
    parts.extend(validation_in_words(branch));
    // What tells the branches apart is often a property's constraint (a
    // tag's enum), so say those too.
    for (name, property) in &branch.properties {
        let words = validation_in_words(property);
        if !words.is_empty() {
            parts.push(format!("`{name}` {}", words.join(", ")));
        }
    }
    if parts.is_empty() {
        "anything".into()
    } else {
        parts.join(", ")
    }
}

/// A CEL rule in words: what must hold, the message, where it is reported.
fn rule_in_words(rule: &Rule) -> String {
    let when = if rule.rule.contains("oldSelf") {
        "on update, must hold"
    } else {
        "must hold"
    };
    let mut text = format!("{when}: `{}`", rule.rule);
    if let Some(message) = &rule.message {
        let _ = write!(text, " (else: “{message}”)");
    } else if let Some(expression) = &rule.message_expression {
        let _ = write!(text, " (else: the message `{expression}`)");
    }
    if let Some(path) = &rule.field_path {
        let _ = write!(text, ", reported at `{path}`");
    }
    text
}

fn shown(value: &Value) -> String {
    format!("`{value}`")
}

fn code_list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Text fit for one table cell: no line breaks, no bare `|`.
fn cell(text: &str) -> String {
    text.trim()
        .replace('|', "\\|")
        .replace("\n\n", "<br><br>")
        .replace('\n', " ")
}

#[cfg(test)]
mod tests;
