//! What a controller was granted and what it used: the (group, resource,
//! verb) rules of generated RBAC manifests, and the successful requests a
//! ServiceAccount made according to an instance's audit log. A controller's
//! RBAC-minimality test compares the two after its end-to-end suite.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result};

/// `(API group, resource[/subresource], verb)`.
pub type Rule = (String, String, String);

/// Every rule the ClusterRoles and Roles of an RBAC manifest (YAML
/// documents separated by `---`) grant.
pub fn granted_rules(rbac_yaml: &Path) -> Result<BTreeSet<Rule>> {
    let text = std::fs::read_to_string(rbac_yaml)
        .with_context(|| format!("reading {}", rbac_yaml.display()))?;
    let mut out = BTreeSet::new();
    for doc in text.split("\n---\n") {
        let object: serde_json::Value = serde_saphyr::from_str(doc)
            .with_context(|| format!("parsing a document of {}", rbac_yaml.display()))?;
        if !matches!(object["kind"].as_str(), Some("ClusterRole" | "Role")) {
            continue;
        }
        let strings = |rule: &serde_json::Value, key: &str| -> Vec<String> {
            rule[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        };
        for rule in object["rules"].as_array().into_iter().flatten() {
            for group in strings(rule, "apiGroups") {
                for resource in strings(rule, "resources") {
                    for verb in strings(rule, "verbs") {
                        out.insert((group.clone(), resource.clone(), verb));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The rules of every successful request `user` made itself (not requests
/// impersonating it) in the audit log at `log`, and how many of its requests
/// the log holds. An apply that created an object (patch, 201) also stands
/// for `create`, which is how the apiserver authorizes it; a streaming list
/// (a watch with `sendInitialEvents=true`) also stands for `list`: it is the
/// informer's list, which it makes with a plain `list` where the server
/// lacks streaming lists, so the grant is needed all the same.
pub fn requests_by(log: &Path, user: &str) -> Result<(BTreeSet<Rule>, usize)> {
    let text = std::fs::read_to_string(log)
        .with_context(|| format!("{}: run this after the e2e suite", log.display()))?;
    let mut out = BTreeSet::new();
    let mut count = 0;
    for line in text.lines() {
        let event: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("a line of {} is not JSON", log.display()))?;
        if event["user"]["username"] != user || event.get("impersonatedUser").is_some() {
            continue;
        }
        count += 1;
        let code = event["responseStatus"]["code"].as_u64().unwrap_or(0);
        if !(200..300).contains(&code) {
            continue;
        }
        let object = &event["objectRef"];
        let group = object["apiGroup"].as_str().unwrap_or("").to_string();
        let mut resource = object["resource"].as_str().unwrap_or("").to_string();
        if let Some(sub) = object["subresource"].as_str() {
            resource = format!("{resource}/{sub}");
        }
        let verb = event["verb"].as_str().unwrap_or("").to_string();
        if verb == "patch" && code == 201 {
            out.insert((group.clone(), resource.clone(), "create".into()));
        }
        let uri = event["requestURI"].as_str().unwrap_or("");
        if verb == "watch" && uri.contains("sendInitialEvents=true") {
            out.insert((group.clone(), resource.clone(), "list".into()));
        }
        out.insert((group, resource, verb));
    }
    Ok((out, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streaming_list_stands_for_list_and_a_plain_watch_does_not() {
        let sa = "system:serviceaccount:ns:ctl";
        let event = |verb: &str, resource: &str, uri: &str| {
            serde_json::json!({
                "user": {"username": sa},
                "verb": verb,
                "requestURI": uri,
                "objectRef": {"resource": resource, "apiGroup": ""},
                "responseStatus": {"code": 200},
            })
            .to_string()
        };
        let log = std::env::temp_dir().join(format!("audit-test-{}.log", std::process::id()));
        let lines = [
            event(
                "watch",
                "namespaces",
                "/api/v1/namespaces?allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&sendInitialEvents=true&watch=true",
            ),
            event("watch", "configmaps", "/api/v1/configmaps?watch=true"),
        ];
        std::fs::write(&log, lines.join("\n")).unwrap();
        let (rules, count) = requests_by(&log, sa).unwrap();
        std::fs::remove_file(&log).unwrap();
        let rule = |r: &str, v: &str| (String::new(), r.to_string(), v.to_string());
        assert_eq!(count, 2);
        assert_eq!(
            rules,
            BTreeSet::from([
                rule("configmaps", "watch"),
                rule("namespaces", "list"),
                rule("namespaces", "watch"),
            ])
        );
    }
}
