//! Every attribute key the front end knows, as constants, grouped by where
//! it may appear. The groups feed "did you mean" suggestions and the
//! reference table in `docs/annotations.md`.

// Resource level: `#[kube(...)]` or `#[crd(...)]` on a CustomResource spec.
pub(crate) const GROUP: &str = "group";
pub(crate) const VERSION: &str = "version";
pub(crate) const KIND: &str = "kind";
pub(crate) const ROOT: &str = "root";
pub(crate) const NAMESPACED: &str = "namespaced";
pub(crate) const SCOPE: &str = "scope";
pub(crate) const PLURAL: &str = "plural";
pub(crate) const SINGULAR: &str = "singular";
pub(crate) const SHORTNAME: &str = "shortname";
pub(crate) const CATEGORY: &str = "category";
pub(crate) const STATUS: &str = "status";
pub(crate) const SCALE: &str = "scale";
pub(crate) const PRINTCOLUMN: &str = "printcolumn";
pub(crate) const SELECTABLE: &str = "selectable";
pub(crate) const DERIVE: &str = "derive";
pub(crate) const ATTR: &str = "attr";
pub(crate) const DOC: &str = "doc";
pub(crate) const ANNOTATION: &str = "annotation";
pub(crate) const LABEL: &str = "label";
pub(crate) const STORAGE: &str = "storage";
pub(crate) const SERVED: &str = "served";
pub(crate) const DEPRECATED: &str = "deprecated";
pub(crate) const SCHEMA: &str = "schema";
pub(crate) const MAX_DESCRIPTION_LENGTH: &str = "max_description_length";
pub(crate) const OPTIONAL_SPEC: &str = "optional_spec";
/// kube-derive's `no_spec`: the spec's fields at the root of the object.
pub(crate) const NO_SPEC: &str = "no_spec";
/// kube-derive's `crates(...)`, refused with a pointer to `crate`.
pub(crate) const CRATES: &str = "crates";
/// kube-derive's client-side CEL, refused with an explanation.
pub(crate) const CEL: &str = "cel";

pub(crate) const RESOURCE_KEYS: &[&str] = &[
    GROUP,
    VERSION,
    KIND,
    ROOT,
    NAMESPACED,
    SCOPE,
    PLURAL,
    SINGULAR,
    SHORTNAME,
    CATEGORY,
    STATUS,
    SCALE,
    PRINTCOLUMN,
    SELECTABLE,
    DERIVE,
    ATTR,
    DOC,
    ANNOTATION,
    LABEL,
    STORAGE,
    SERVED,
    DEPRECATED,
    SCHEMA,
    MAX_DESCRIPTION_LENGTH,
    OPTIONAL_SPEC,
    NO_SPEC,
    CRATES,
    CEL,
];

// Type level: `#[crd(...)]` on any struct or enum.
pub(crate) const CRATE: &str = "crate";
pub(crate) const EXACTLY_ONE_OF: &str = "exactly_one_of";
pub(crate) const AT_MOST_ONE_OF: &str = "at_most_one_of";
pub(crate) const AT_LEAST_ONE_OF: &str = "at_least_one_of";
pub(crate) const APPLY: &str = "apply";

pub(crate) const TYPE_KEYS: &[&str] = &[
    CRATE,
    EXACTLY_ONE_OF,
    AT_MOST_ONE_OF,
    AT_LEAST_ONE_OF,
    APPLY,
];

// Value level: on fields, types and inside `items(...)`.
pub(crate) const MINIMUM: &str = "minimum";
pub(crate) const MAXIMUM: &str = "maximum";
pub(crate) const EXCLUSIVE_MINIMUM: &str = "exclusive_minimum";
pub(crate) const EXCLUSIVE_MAXIMUM: &str = "exclusive_maximum";
pub(crate) const MULTIPLE_OF: &str = "multiple_of";
pub(crate) const MIN_LENGTH: &str = "min_length";
pub(crate) const MAX_LENGTH: &str = "max_length";
pub(crate) const PATTERN: &str = "pattern";
pub(crate) const ENUM: &str = "enum";
pub(crate) const FORMAT: &str = "format";
pub(crate) const NO_FORMAT: &str = "no_format";
pub(crate) const MIN_ITEMS: &str = "min_items";
pub(crate) const MAX_ITEMS: &str = "max_items";
pub(crate) const UNIQUE_ITEMS: &str = "unique_items";
pub(crate) const MIN_PROPERTIES: &str = "min_properties";
pub(crate) const MAX_PROPERTIES: &str = "max_properties";
pub(crate) const ITEMS: &str = "items";
pub(crate) const NULLABLE: &str = "nullable";
pub(crate) const DEFAULT_JSON: &str = "default_json";
pub(crate) const EXAMPLE: &str = "example";
pub(crate) const EXAMPLE_JSON: &str = "example_json";
pub(crate) const TITLE: &str = "title";
pub(crate) const DESCRIPTION: &str = "description";
pub(crate) const SCHEMALESS: &str = "schemaless";
pub(crate) const EMBEDDED_RESOURCE: &str = "embedded_resource";
pub(crate) const PRESERVE_UNKNOWN_FIELDS: &str = "preserve_unknown_fields";
pub(crate) const INT_OR_STRING: &str = "int_or_string";
pub(crate) const LIST_TYPE: &str = "list_type";
pub(crate) const LIST_MAP_KEY: &str = "list_map_key";
pub(crate) const MAP_TYPE: &str = "map_type";
pub(crate) const STRUCT_TYPE: &str = "struct_type";
pub(crate) const VALIDATION: &str = "validation";

pub(crate) const VALUE_KEYS: &[&str] = &[
    MINIMUM,
    MAXIMUM,
    EXCLUSIVE_MINIMUM,
    EXCLUSIVE_MAXIMUM,
    MULTIPLE_OF,
    MIN_LENGTH,
    MAX_LENGTH,
    PATTERN,
    ENUM,
    FORMAT,
    NO_FORMAT,
    MIN_ITEMS,
    MAX_ITEMS,
    UNIQUE_ITEMS,
    MIN_PROPERTIES,
    MAX_PROPERTIES,
    ITEMS,
    NULLABLE,
    DEFAULT_JSON,
    EXAMPLE,
    EXAMPLE_JSON,
    TITLE,
    DESCRIPTION,
    SCHEMALESS,
    EMBEDDED_RESOURCE,
    PRESERVE_UNKNOWN_FIELDS,
    INT_OR_STRING,
    LIST_TYPE,
    LIST_MAP_KEY,
    MAP_TYPE,
    STRUCT_TYPE,
    VALIDATION,
];

// Field level only.
pub(crate) const REQUIRED: &str = "required";
pub(crate) const OPTIONAL: &str = "optional";
pub(crate) const DEFAULT: &str = "default";
pub(crate) const IMMUTABLE: &str = "immutable";
pub(crate) const ALLOW_FLOAT: &str = "allow_float";
pub(crate) const SCHEMA_WITH: &str = "schema_with";
pub(crate) const SCHEMARS: &str = "schemars";
pub(crate) const DEEP_COPY: &str = "deep_copy";
/// The values `deep_copy` accepts.
pub(crate) const DEEP_COPY_MODES: &[&str] = &["deep", "clone"];

pub(crate) const FIELD_KEYS: &[&str] = &[
    REQUIRED,
    OPTIONAL,
    DEFAULT,
    IMMUTABLE,
    ALLOW_FLOAT,
    SCHEMA_WITH,
    SCHEMARS,
    DEEP_COPY,
];

// Inside `validation(...)`.
pub(crate) const RULE: &str = "rule";
pub(crate) const MESSAGE: &str = "message";
pub(crate) const MESSAGE_EXPRESSION: &str = "message_expression";
pub(crate) const REASON: &str = "reason";
pub(crate) const FIELD_PATH: &str = "field_path";
pub(crate) const OPTIONAL_OLD_SELF: &str = "optional_old_self";

pub(crate) const RULE_KEYS: &[&str] = &[
    RULE,
    MESSAGE,
    MESSAGE_EXPRESSION,
    REASON,
    FIELD_PATH,
    OPTIONAL_OLD_SELF,
];

/// The reasons the apiserver accepts in `x-kubernetes-validations`.
pub(crate) const REASONS: &[&str] = &[
    "FieldValueInvalid",
    "FieldValueForbidden",
    "FieldValueRequired",
    "FieldValueDuplicate",
];

// Inside `printcolumn(...)` and `scale(...)`.
pub(crate) const NAME: &str = "name";
pub(crate) const TYPE: &str = "type";
pub(crate) const TYPE_: &str = "type_";
pub(crate) const JSON_PATH: &str = "json_path";
pub(crate) const PRIORITY: &str = "priority";
pub(crate) const PRINTCOLUMN_KEYS: &[&str] =
    &[NAME, TYPE, TYPE_, JSON_PATH, DESCRIPTION, FORMAT, PRIORITY];
pub(crate) const PRINTCOLUMN_TYPES: &[&str] = &["integer", "number", "string", "boolean", "date"];
pub(crate) const SPEC_REPLICAS_PATH: &str = "spec_replicas_path";
pub(crate) const STATUS_REPLICAS_PATH: &str = "status_replicas_path";
pub(crate) const LABEL_SELECTOR_PATH: &str = "label_selector_path";
pub(crate) const SCALE_KEYS: &[&str] = &[
    SPEC_REPLICAS_PATH,
    STATUS_REPLICAS_PATH,
    LABEL_SELECTOR_PATH,
];

/// `docs/annotations.md` is the reference users read; these lists are what
/// the front end accepts. One must not drift from the other.
#[cfg(test)]
mod docs_table {
    use std::collections::BTreeSet;

    use super::*;

    const DOC: &str = include_str!("../../../docs/annotations.md");

    /// The rows of the key tables of the sections that list keys: the key
    /// of each row (its first backticked word, `items(...)` read as
    /// `items`) and the whole row.
    fn rows() -> Vec<(String, &'static str)> {
        let mut in_key_section = false;
        let mut rows = Vec::new();
        for line in DOC.lines() {
            if let Some(heading) = line.strip_prefix("## ") {
                in_key_section = ["Resource level", "Type level", "Field level"]
                    .iter()
                    .any(|s| heading.starts_with(s));
                continue;
            }
            let Some(first) = line.strip_prefix("| `") else {
                continue;
            };
            if !in_key_section {
                continue;
            }
            let key: String = first
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rows.push((key, line));
        }
        rows
    }

    fn accepted() -> BTreeSet<&'static str> {
        [RESOURCE_KEYS, TYPE_KEYS, VALUE_KEYS, FIELD_KEYS]
            .concat()
            .into_iter()
            .collect()
    }

    #[test]
    fn every_documented_key_is_accepted() {
        let accepted = accepted();
        for (key, row) in rows() {
            assert!(
                accepted.contains(key.as_str()),
                "docs/annotations.md documents `{key}`, which the front end does not know:\n{row}"
            );
        }
    }

    #[test]
    fn every_accepted_key_is_documented() {
        let documented: BTreeSet<String> = rows().into_iter().map(|(key, _)| key).collect();
        for key in accepted() {
            if [CRATES, CEL].contains(&key) {
                // Refused with an explanation; the docs say so in prose.
                assert!(DOC.contains(&format!("`{key}")), "`{key}` is not mentioned");
                continue;
            }
            assert!(
                documented.contains(key),
                "`{key}` is accepted but has no row in docs/annotations.md"
            );
        }
    }

    #[test]
    fn nested_keys_are_shown_in_their_rows() {
        let rows = rows();
        let row = |key: &str| {
            rows.iter()
                .find(|(k, _)| k == key)
                .map(|(_, row)| *row)
                .unwrap_or_else(|| panic!("no row for `{key}`"))
        };
        let nested: [(&str, &[&str]); 3] = [
            (VALIDATION, RULE_KEYS),
            (PRINTCOLUMN, PRINTCOLUMN_KEYS),
            (SCALE, SCALE_KEYS),
        ];
        for (key, keys) in nested {
            // The field-level `validation` row shows every key of `validation(...)`.
            let text: String = rows
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, r)| *r)
                .collect();
            let text = if text.is_empty() {
                row(key).to_owned()
            } else {
                text
            };
            for nested in keys {
                assert!(
                    text.contains(nested),
                    "the row of `{key}` does not show `{nested}`:\n{text}"
                );
            }
        }
    }
}
