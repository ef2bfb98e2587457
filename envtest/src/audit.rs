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

/// A controller's RBAC-minimality check: every rule its generated roles grant
/// was used by its ServiceAccount over the end-to-end suite, and nothing it
/// used is missing from them.
#[derive(Debug, Clone)]
pub struct Minimality<'a> {
    /// The generated RBAC manifest, relative to the workspace root.
    pub rbac_yaml: &'a str,
    /// The ServiceAccount's user name, `system:serviceaccount:NS:NAME`.
    pub user: &'a str,
    /// Fewer requests than this in the log means the e2e suite did not run
    /// on this instance, and the check would prove nothing.
    pub min_requests: usize,
    /// Rules whose use is an authorization check inside another request, so
    /// they never appear as a request of their own (each must be shown needed
    /// by a test that removes it), as `(group, resource, verb)`.
    pub checked_inside_other_requests: &'a [(&'a str, &'a str, &'a str)],
}

impl Minimality<'_> {
    /// Reads the manifest and the current instance's audit log and panics
    /// with every rule at fault.
    pub fn assert(&self) {
        let root = crate::workspace_root().unwrap_or_else(|e| panic!("{e:#}"));
        let granted = granted_rules(&root.join(self.rbac_yaml)).unwrap_or_else(|e| panic!("{e:#}"));
        let (exercised, requests) =
            requests_by(&crate::Instance::from_env().audit_log(), self.user)
                .unwrap_or_else(|e| panic!("{e:#}"));
        if let Err(why) = self.verdict(&granted, &exercised, requests) {
            panic!("{why}");
        }
    }

    /// The check itself, on rules already read; prints a table of every
    /// granted rule and how it was used.
    pub fn verdict(
        &self,
        granted: &BTreeSet<Rule>,
        exercised: &BTreeSet<Rule>,
        requests: usize,
    ) -> std::result::Result<(), String> {
        let user = self.user;
        if requests < self.min_requests {
            return Err(format!(
                "only {requests} requests by {user} in the audit log (expected at least {}): \
                 run this after the e2e suite on the same control plane",
                self.min_requests
            ));
        }
        let inside: BTreeSet<Rule> = self
            .checked_inside_other_requests
            .iter()
            .map(|(g, r, v)| (g.to_string(), r.to_string(), v.to_string()))
            .collect();
        for rule in granted {
            eprintln!(
                "{:<28} {:<18} {:<7} {}",
                if rule.0.is_empty() { "\"\"" } else { &rule.0 },
                rule.1,
                rule.2,
                if exercised.contains(rule) {
                    "requested"
                } else if inside.contains(rule) {
                    "checked inside another request"
                } else {
                    "UNUSED"
                }
            );
        }
        let mut faults = Vec::new();
        let unused: Vec<_> = granted
            .iter()
            .filter(|r| !exercised.contains(*r) && !inside.contains(*r))
            .collect();
        if !unused.is_empty() {
            faults.push(format!(
                "granted to {user} but never used over the e2e suite: {unused:?}"
            ));
        }
        let stale: Vec<_> = inside.difference(granted).collect();
        if !stale.is_empty() {
            faults.push(format!(
                "named as checked inside other requests but no longer granted: {stale:?}"
            ));
        }
        // Something that succeeded without a grant means the log is not the
        // controller's, or RBAC is not what we think.
        let extra: Vec<_> = exercised.difference(granted).collect();
        if !extra.is_empty() {
            faults.push(format!("used by {user} but not granted: {extra:?}"));
        }
        if faults.is_empty() {
            Ok(())
        } else {
            Err(faults.join("\n"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimality_names_unused_ungranted_and_stale_rules_and_a_log_too_short() {
        let rule = |g: &str, r: &str, v: &str| (g.to_string(), r.to_string(), v.to_string());
        let check = Minimality {
            rbac_yaml: "unused.yaml",
            user: "system:serviceaccount:ns:ctl",
            min_requests: 3,
            checked_inside_other_requests: &[("rbac.authorization.k8s.io", "clusterroles", "bind")],
        };
        let granted = BTreeSet::from([
            rule("", "configmaps", "get"),
            rule("rbac.authorization.k8s.io", "clusterroles", "bind"),
        ]);
        let used = BTreeSet::from([rule("", "configmaps", "get")]);
        assert_eq!(check.verdict(&granted, &used, 3), Ok(()));
        let short = check.verdict(&granted, &used, 2).unwrap_err();
        assert!(short.contains("only 2 requests"), "{short}");
        let unused = check.verdict(&granted, &BTreeSet::new(), 3).unwrap_err();
        assert!(
            unused.contains("never used") && unused.contains("configmaps"),
            "{unused}"
        );
        let mut more = used.clone();
        more.insert(rule("", "secrets", "list"));
        let extra = check.verdict(&granted, &more, 3).unwrap_err();
        assert!(
            extra.contains("not granted") && extra.contains("secrets"),
            "{extra}"
        );
        let stale = check
            .verdict(&BTreeSet::from([rule("", "configmaps", "get")]), &used, 3)
            .unwrap_err();
        assert!(stale.contains("no longer granted"), "{stale}");
    }

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
