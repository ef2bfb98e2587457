//! Breaking-change detection: what a new CRD does to the clients and the
//! stored objects of an old one.
//!
//! [`detect`] compares two finished CRDs — the one committed (or given as
//! a file) and the one the types make now — and returns a [`Finding`] per
//! change that breaks someone: a CRD, served version or field removed, the
//! storage version dropped or changed, a type narrowed, a field newly
//! required without a default, a validation tightened, an enum value
//! removed. Each names the CRD, the version and the field path and says why
//! it breaks. Widening changes (a new optional field, a looser bound, a new
//! enum value) are not findings.
//!
//! Tightened validations are judged with Kubernetes' validation ratcheting
//! in mind (GA since 1.33): on an update, the apiserver ignores a failing
//! value that the update did not change — for most keywords. For those,
//! stored objects keep saving while the offending value is unchanged; what
//! breaks is every create and every change to such a value, which is what
//! an old client does. For the keywords that are not ratcheted
//! ([`ratcheted`]), every stored object that breaks the new rule fails its
//! next update, whatever the update changes. `crdforge-fixtures`'
//! `compat_e2e` test applies each pair to a real apiserver and checks that
//! the harm is the one stated here, ratcheting included.
//!
//! An [`allow::AllowList`] — a checked-in, reviewed file — accepts a finding
//! by its CRD, version, path and change.

pub mod allow;
mod schema;

use std::fmt;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as api;

use crdforge::crd::from_props;
use crdforge::schema::Schema;

/// The kind of a breaking change; its [`Change::id`] is how an allow-list
/// entry names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    /// The whole CRD is gone.
    CrdRemoved,
    /// Namespaced became cluster-scoped or back.
    ScopeChanged,
    /// A version clients used is no longer served.
    ServedVersionRemoved,
    /// The version objects are stored in is no longer in the CRD.
    StorageVersionRemoved,
    /// Objects are stored in another version.
    StorageVersionChanged,
    /// A subresource (status, scale) is gone.
    SubresourceRemoved,
    /// A field is gone (or renamed), or unknown fields are now pruned.
    FieldRemoved,
    /// A field's type accepts fewer values.
    TypeNarrowed,
    /// A field must now be present and has no default.
    NewlyRequired,
    /// A validation refuses values it accepted.
    ValidationTightened,
    /// An enum lost a value.
    EnumValueRemoved,
}

impl Change {
    /// Every change, in the order findings are reported.
    pub const ALL: [Change; 11] = [
        Change::CrdRemoved,
        Change::ScopeChanged,
        Change::ServedVersionRemoved,
        Change::StorageVersionRemoved,
        Change::StorageVersionChanged,
        Change::SubresourceRemoved,
        Change::FieldRemoved,
        Change::TypeNarrowed,
        Change::NewlyRequired,
        Change::ValidationTightened,
        Change::EnumValueRemoved,
    ];

    /// The name an allow-list entry uses.
    pub fn id(self) -> &'static str {
        match self {
            Change::CrdRemoved => "crd-removed",
            Change::ScopeChanged => "scope-changed",
            Change::ServedVersionRemoved => "served-version-removed",
            Change::StorageVersionRemoved => "storage-version-removed",
            Change::StorageVersionChanged => "storage-version-changed",
            Change::SubresourceRemoved => "subresource-removed",
            Change::FieldRemoved => "field-removed",
            Change::TypeNarrowed => "type-narrowed",
            Change::NewlyRequired => "newly-required",
            Change::ValidationTightened => "validation-tightened",
            Change::EnumValueRemoved => "enum-value-removed",
        }
    }

    /// The change an allow-list name stands for.
    pub fn from_id(id: &str) -> Option<Change> {
        Change::ALL.into_iter().find(|c| c.id() == id)
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One breaking change.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The CRD's name, `plural.group`.
    pub crd: String,
    /// The version, or `""` for a change to the whole CRD.
    pub version: String,
    /// The field path (`.spec.replicas`, `.spec.items[*].name`), or `""`.
    pub path: String,
    /// What kind of change.
    pub change: Change,
    /// What changed, e.g. "maximum lowered from 10 to 5".
    pub detail: String,
    /// Why it breaks clients or stored data.
    pub why: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.crd)?;
        if !self.version.is_empty() {
            write!(f, "{} ", self.version)?;
        }
        if !self.path.is_empty() {
            write!(f, "{} ", self.path)?;
        }
        write!(f, "[{}]: {}; {}", self.change, self.detail, self.why)
    }
}

/// Whether the apiserver ratchets a failure of this schema keyword (or, for
/// `x-kubernetes-validations`, of a rule without `oldSelf`): an update that
/// leaves the failing value as it was is accepted.
///
/// The list follows KEP-4008 and the CustomResourceDefinition docs, except
/// where the real apiserver (1.36) was seen to differ: `compat_e2e` applies
/// a tightening of each kind to stored objects and fails when this table
/// and the apiserver disagree.
pub fn ratcheted(keyword: &str) -> bool {
    match keyword {
        // Not ratcheted per the docs: the combinators and anything below
        // them, list-map keys, and transition rules (they compare with
        // oldSelf, so "unchanged" says nothing).
        "allOf" | "anyOf" | "oneOf" | "not" | "x-kubernetes-list-map-keys" | "transition rule" => {
            false
        }
        // The docs say neither is ratcheted; kube-apiserver 1.36 ratchets
        // both (compat_e2e): an object lacking a newly required field saves
        // while the object that should hold it is unchanged, and a list
        // with duplicates keeps saving after `set` is added — even when it
        // changes into another list with duplicates.
        "required" | "x-kubernetes-list-type" => true,
        _ => true,
    }
}

/// Every breaking change from `old` to `new` (`None`: the CRD is gone), in
/// a stable order.
pub fn detect(
    old: &api::CustomResourceDefinition,
    new: Option<&api::CustomResourceDefinition>,
) -> Vec<Finding> {
    let crd = old.metadata.name.clone().unwrap_or_default();
    let mut out = Findings {
        crd: crd.clone(),
        version: String::new(),
        found: Vec::new(),
    };
    let Some(new) = new else {
        out.push(
            "",
            Change::CrdRemoved,
            "the CRD is no longer generated".into(),
            "deleting it deletes every stored object of the kind, and every client of it gets \
             404"
            .into(),
        );
        return out.found;
    };
    if old.spec.scope != new.spec.scope {
        out.push(
            "",
            Change::ScopeChanged,
            format!("scope {} became {}", old.spec.scope, new.spec.scope),
            "the apiserver refuses the change (spec.scope is immutable), and clients address \
             objects by the old scope"
                .into(),
        );
    }
    let find = |crd: &api::CustomResourceDefinition, name: &str| {
        crd.spec.versions.iter().find(|v| v.name == name).cloned()
    };
    for version in old.spec.versions.iter().filter(|v| v.served) {
        if !find(new, &version.name).is_some_and(|v| v.served) {
            out.version = version.name.clone();
            out.push(
                "",
                Change::ServedVersionRemoved,
                format!("version {} is no longer served", version.name),
                format!("clients of {} get 404 for every request", version.name),
            );
        }
    }
    let storage = |crd: &api::CustomResourceDefinition| {
        crd.spec
            .versions
            .iter()
            .find(|v| v.storage)
            .map(|v| v.name.clone())
    };
    if let (Some(old_storage), Some(new_storage)) = (storage(old), storage(new))
        && old_storage != new_storage
    {
        out.version = old_storage.clone();
        if find(new, &old_storage).is_none() {
            out.push(
                "",
                Change::StorageVersionRemoved,
                format!("storage version {old_storage} is gone (storage is now {new_storage})"),
                format!(
                    "objects are stored as {old_storage}: the apiserver refuses a CRD without a \
                     version listed in status.storedVersions, so every stored object must be \
                     migrated and storedVersions trimmed first"
                ),
            );
        } else {
            out.push(
                "",
                Change::StorageVersionChanged,
                format!("storage version {old_storage} became {new_storage}"),
                format!(
                    "without a conversion webhook objects stored as {old_storage} are served as \
                     {new_storage} with only apiVersion rewritten: what {new_storage}'s schema \
                     lacks is pruned on read and what it refuses fails the next update"
                ),
            );
        }
        // What the stored objects meet: the old storage version's schema
        // against the new storage version's, when nothing converts them.
        let webhook = new
            .spec
            .conversion
            .as_ref()
            .is_some_and(|c| c.strategy == "Webhook");
        if let (false, Some(from), Some(to)) = (
            webhook,
            find(old, &old_storage).as_ref().and_then(root),
            find(new, &new_storage).as_ref().and_then(root),
        ) {
            out.version = format!("{new_storage} (objects stored as {old_storage})");
            schema::diff(&mut out, "", &from, &to);
        }
    }
    for old_version in &old.spec.versions {
        let Some(new_version) = find(new, &old_version.name) else {
            continue;
        };
        out.version = old_version.name.clone();
        let subresources = |v: &api::CustomResourceDefinitionVersion| {
            let s = v.subresources.as_ref();
            (
                s.is_some_and(|s| s.status.is_some()),
                s.is_some_and(|s| s.scale.is_some()),
            )
        };
        let (old_status, old_scale) = subresources(old_version);
        let (new_status, new_scale) = subresources(&new_version);
        for (name, was, is) in [
            ("status", old_status, new_status),
            ("scale", old_scale, new_scale),
        ] {
            if was && !is {
                out.push(
                    "",
                    Change::SubresourceRemoved,
                    format!("the {name} subresource is gone"),
                    format!("clients of /{name} (controllers writing status, autoscalers) get 404"),
                );
            }
        }
        if let (Some(from), Some(to)) = (root(old_version), root(&new_version)) {
            schema::diff(&mut out, "", &from, &to);
        }
    }
    out.found.sort();
    out.found.dedup();
    out.found
}

/// A version's root schema in crdforge's model.
fn root(version: &api::CustomResourceDefinitionVersion) -> Option<Schema> {
    version
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .map(from_props)
}

/// Findings of one CRD as they are collected, with the version at hand.
pub(crate) struct Findings {
    crd: String,
    version: String,
    found: Vec<Finding>,
}

impl Findings {
    fn push(&mut self, path: &str, change: Change, detail: String, why: String) {
        self.found.push(Finding {
            crd: self.crd.clone(),
            version: self.version.clone(),
            path: path.to_owned(),
            change,
            detail,
            why,
        });
    }
}

#[cfg(test)]
mod tests;
