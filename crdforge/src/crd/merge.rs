//! One CRD from the versions of one kind: [`merge`] for definitions (what
//! `gen` does) and [`merge_crds`] for finished CRDs (kube's function).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as api;

use super::{Definition, Error};

/// Merges the definitions of one kind's versions (kube's `merge_crds`):
/// everything but the versions must agree, version names must differ, and
/// exactly one version must be the storage version.
pub fn merge(definitions: Vec<Definition>) -> Result<Definition, Error> {
    let mut iter = definitions.into_iter();
    let Some(mut merged) = iter.next() else {
        return Err(Error::Merge {
            crd: String::new(),
            message: "no definitions to merge".into(),
        });
    };
    for other in iter {
        let same = |a: &str, b: &str, what: &str| {
            if a == b {
                Ok(())
            } else {
                Err(Error::Merge {
                    crd: merged.name(),
                    message: format!("versions disagree on {what}: `{a}` and `{b}`"),
                })
            }
        };
        same(&merged.group, &other.group, "the group")?;
        same(&merged.kind, &other.kind, "the kind")?;
        same(&merged.plural, &other.plural, "the plural")?;
        same(&merged.singular, &other.singular, "the singular")?;
        if merged.namespaced != other.namespaced {
            return Err(Error::Merge {
                crd: merged.name(),
                message: "versions disagree on the scope (namespaced or cluster)".into(),
            });
        }
        match (&merged.conversion, other.conversion) {
            (Some(a), Some(b)) if *a != b => {
                return Err(Error::Merge {
                    crd: merged.name(),
                    message: "versions disagree on the conversion webhook".into(),
                });
            }
            (None, Some(b)) => merged.conversion = Some(b),
            _ => {}
        }
        for version in other.versions {
            if merged.versions.iter().any(|v| v.name == version.name) {
                return Err(Error::Merge {
                    crd: merged.name(),
                    message: format!("version {} is defined twice", version.name),
                });
            }
            merged.versions.push(version);
        }
        for (list, extra) in [
            (&mut merged.short_names, other.short_names),
            (&mut merged.categories, other.categories),
        ] {
            for item in extra {
                if !list.contains(&item) {
                    list.push(item);
                }
            }
        }
        for (list, extra) in [
            (&mut merged.labels, other.labels),
            (&mut merged.annotations, other.annotations),
        ] {
            for item in extra {
                if !list.contains(&item) {
                    list.push(item);
                }
            }
        }
    }
    let storage: Vec<&str> = merged
        .versions
        .iter()
        .filter(|v| v.storage)
        .map(|v| v.name.as_str())
        .collect();
    if storage.len() != 1 {
        return Err(Error::Merge {
            crd: merged.name(),
            message: format!(
                "exactly one version must be the storage version, found {} ({}); mark the others \
                 #[kube(storage = false)]",
                storage.len(),
                storage.join(", ")
            ),
        });
    }
    // The apiserver lists versions by priority, but stores them as given;
    // sorting keeps the output independent of registration order.
    merged.versions.sort_by_key(|v| version_priority(&v.name));
    Ok(merged)
}

/// kube's `merge_crds` for finished CRDs, as a kube-derive user calls it:
/// one CRD per version of the same kind in, one CRD with all versions out,
/// and `stored_apiversion` (a version name) the only storage version.
pub fn merge_crds(
    crds: Vec<api::CustomResourceDefinition>,
    stored_apiversion: &str,
) -> Result<api::CustomResourceDefinition, Error> {
    let mut iter = crds.into_iter();
    let Some(mut merged) = iter.next() else {
        return Err(Error::Merge {
            crd: String::new(),
            message: "no CRDs to merge".into(),
        });
    };
    let name = merged.metadata.name.clone().unwrap_or_default();
    for crd in iter {
        let (a, b) = (&merged.spec, &crd.spec);
        if a.group != b.group || a.names.kind != b.names.kind || a.scope != b.scope {
            return Err(Error::Merge {
                crd: name,
                message: "CRDs of different kinds, groups or scopes cannot be merged".into(),
            });
        }
        for version in crd.spec.versions {
            if merged.spec.versions.iter().any(|v| v.name == version.name) {
                return Err(Error::Merge {
                    crd: name,
                    message: format!("version {} is defined twice", version.name),
                });
            }
            merged.spec.versions.push(version);
        }
    }
    if !merged
        .spec
        .versions
        .iter()
        .any(|v| v.name == stored_apiversion)
    {
        return Err(Error::Merge {
            crd: name,
            message: format!("the stored version {stored_apiversion} is not among the versions"),
        });
    }
    for version in &mut merged.spec.versions {
        version.storage = version.name == stored_apiversion;
    }
    merged
        .spec
        .versions
        .sort_by_key(|v| version_priority(&v.name));
    Ok(merged)
}

/// Kubernetes' version order: GA before beta before alpha, higher numbers
/// first, then anything else alphabetically.
fn version_priority(name: &str) -> (u8, std::cmp::Reverse<u64>, std::cmp::Reverse<u64>, String) {
    use std::cmp::Reverse;
    let parse = || -> Option<(u8, u64, u64)> {
        let rest = name.strip_prefix('v')?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let major: u64 = digits.parse().ok()?;
        let tail = &rest[digits.len()..];
        if tail.is_empty() {
            return Some((0, major, 0));
        }
        let (rank, n) = if let Some(n) = tail.strip_prefix("beta") {
            (1, n)
        } else if let Some(n) = tail.strip_prefix("alpha") {
            (2, n)
        } else {
            return None;
        };
        Some((rank, major, n.parse().ok()?))
    };
    match parse() {
        Some((rank, major, minor)) => (rank, Reverse(major), Reverse(minor), String::new()),
        None => (3, Reverse(0), Reverse(0), name.to_owned()),
    }
}
