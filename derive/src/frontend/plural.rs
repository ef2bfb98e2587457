//! English plurals of kinds, for `names.plural` (Policy → policies,
//! Ingress → ingresses, Gateway → gateways). The user can always override
//! with `plural = "..."`.

/// The lowercase plural of `kind`.
pub(crate) fn plural(kind: &str) -> String {
    let lower = kind.to_lowercase();
    let vowel = |c: char| "aeiou".contains(c);
    let mut chars = lower.chars().rev();
    let last = chars.next();
    let before = chars.next();
    if lower.ends_with("ss")
        || lower.ends_with("sh")
        || lower.ends_with("ch")
        || lower.ends_with('x')
        || lower.ends_with('z')
    {
        format!("{lower}es")
    } else if last == Some('s') {
        // "Status", "Endpoints": already plural or Latin; adding "es" is the
        // Kubernetes convention (statuses) for the former.
        if lower.ends_with("us") {
            format!("{lower}es")
        } else {
            lower
        }
    } else if last == Some('y') && before.is_some_and(|c| !vowel(c)) {
        format!("{}ies", &lower[..lower.len() - 1])
    } else {
        format!("{lower}s")
    }
}

#[cfg(test)]
mod tests {
    use super::plural;

    #[test]
    fn english_plurals_of_common_kinds() {
        for (kind, expected) in [
            ("Policy", "policies"),
            ("Ingress", "ingresses"),
            ("Proxy", "proxies"),
            ("Gateway", "gateways"),
            ("Box", "boxes"),
            ("Mesh", "meshes"),
            ("Patch", "patches"),
            ("Status", "statuses"),
            ("Endpoints", "endpoints"),
            ("Database", "databases"),
            ("User", "users"),
        ] {
            assert_eq!(plural(kind), expected, "{kind}");
        }
    }
}
