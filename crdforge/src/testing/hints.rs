//! CEL rules of shapes the generator can satisfy by construction. This
//! crate cannot evaluate CEL, and filtering a whole object by its rules
//! throws most candidates away (a field group's rule alone halves them), so
//! the rules crdforge itself writes, and two common hand-written ones, are
//! read here and honoured while generating. Any other rule is left to a
//! filter; an unrecognised one is simply not a hint.

use crate::schema::Schema;

/// What a field group's rule asks of the properties it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Group {
    /// `exactly_one_of`: `[has(self.a), …].exists_one(x, x)`.
    Exactly,
    /// `at_most_one_of`: `[has(self.a), …].filter(x, x).size() <= 1`.
    AtMost,
    /// `at_least_one_of`: `[has(self.a), …].exists(x, x)`.
    AtLeast,
}

/// The field groups of an object node: which properties, and the rule.
pub(super) fn groups(schema: &Schema) -> Vec<(Group, Vec<String>)> {
    schema
        .validations
        .iter()
        .filter_map(|rule| group(rule.rule.trim()))
        .filter(|(_, names)| names.iter().all(|n| schema.properties.contains_key(n)))
        .collect()
}

fn group(rule: &str) -> Option<(Group, Vec<String>)> {
    let (list, kind) = if let Some(list) = rule.strip_suffix(".exists_one(x, x)") {
        (list, Group::Exactly)
    } else if let Some(list) = rule.strip_suffix(".filter(x, x).size() <= 1") {
        (list, Group::AtMost)
    } else if let Some(list) = rule.strip_suffix(".exists(x, x)") {
        (list, Group::AtLeast)
    } else {
        return None;
    };
    let inner = list.strip_prefix('[')?.strip_suffix(']')?;
    let names = inner
        .split(',')
        .map(|has| {
            let name = has.trim().strip_prefix("has(self.")?.strip_suffix(')')?;
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
                .then(|| name.to_owned())
        })
        .collect::<Option<Vec<String>>>()?;
    (!names.is_empty()).then_some((kind, names))
}

/// `self.a <= self.b`, alone or after `!has(self.a) || `: the pairs of
/// integer properties that must be in order.
pub(super) fn orders(schema: &Schema) -> Vec<(String, String)> {
    schema
        .validations
        .iter()
        .filter_map(|rule| {
            let rule = rule.rule.trim();
            let (guard, rest) = match rule.split_once(" || ") {
                Some((guard, rest)) => (Some(guard), rest),
                None => (None, rule),
            };
            let (a, b) = rest.split_once(" <= ")?;
            let a = a.trim().strip_prefix("self.")?;
            let b = b.trim().strip_prefix("self.")?;
            if guard.is_some_and(|g| g.trim() != format!("!has(self.{a})")) {
                return None;
            }
            (schema.properties.contains_key(a) && schema.properties.contains_key(b))
                .then(|| (a.to_owned(), b.to_owned()))
        })
        .collect()
}

/// `self.startsWith('…')` on a string node: the prefix.
pub(super) fn prefix(schema: &Schema) -> Option<String> {
    schema.validations.iter().find_map(|rule| {
        let literal = rule
            .rule
            .trim()
            .strip_prefix("self.startsWith('")?
            .strip_suffix("')")?;
        (!literal.contains(['\'', '\\'])).then(|| literal.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Rule;

    fn with(rule: &str, props: &[&str]) -> Schema {
        let mut s = Schema::typed("object");
        for p in props {
            s.properties.insert((*p).into(), Schema::typed("integer"));
        }
        s.validations.push(Rule {
            rule: rule.into(),
            ..Rule::default()
        });
        s
    }

    #[test]
    fn the_derives_group_rules_and_orders_and_prefixes_are_read() {
        let s = with("[has(self.a), has(self.b)].exists_one(x, x)", &["a", "b"]);
        assert_eq!(groups(&s), [(Group::Exactly, vec!["a".into(), "b".into()])]);
        let s = with(
            "[has(self.a), has(self.b)].filter(x, x).size() <= 1",
            &["a", "b"],
        );
        assert_eq!(groups(&s)[0].0, Group::AtMost);
        let s = with("[has(self.a), has(self.c)].exists(x, x)", &["a", "b"]);
        assert!(groups(&s).is_empty(), "c is no property");
        let s = with("!has(self.a) || self.a <= self.b", &["a", "b"]);
        assert_eq!(orders(&s), [("a".into(), "b".into())]);
        let s = with("!has(self.b) || self.a <= self.b", &["a", "b"]);
        assert!(orders(&s).is_empty(), "the guard names another field");
        let s = with("self.startsWith('https://')", &[]);
        assert_eq!(prefix(&s).as_deref(), Some("https://"));
    }
}
