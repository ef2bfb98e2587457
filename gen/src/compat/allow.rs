//! The allow-list: breaking changes accepted on review, in a checked-in
//! YAML file. Each entry names one finding exactly — CRD, version, field
//! path and change — and says why it is acceptable, so the review of the
//! file is the review of the break:
//!
//! ```yaml
//! - crd: backups.example.com
//!   version: v1
//!   path: .spec.retention
//!   change: field-removed
//!   reason: replaced by .spec.keep in 0.3; no release ever set it
//! ```

use serde::Deserialize;

use super::{Change, Finding};

/// One accepted finding.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowed {
    /// The CRD's name, `plural.group`.
    pub crd: String,
    /// The version, as the finding names it (`""` or absent for the CRD).
    #[serde(default)]
    pub version: String,
    /// The field path, as the finding names it (`""` or absent for none).
    #[serde(default)]
    pub path: String,
    /// The change's id (`field-removed`, …).
    pub change: String,
    /// Why breaking is acceptable here; required.
    pub reason: String,
}

impl Allowed {
    /// Whether this entry accepts `finding`.
    pub fn matches(&self, finding: &Finding) -> bool {
        self.crd == finding.crd
            && self.version == finding.version
            && self.path == finding.path
            && self.change == finding.change.id()
    }
}

/// The accepted findings of one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowList {
    /// The entries, in the file's order.
    pub entries: Vec<Allowed>,
}

impl AllowList {
    /// Parses the file's text; `source` names it in errors. An entry with
    /// an unknown change or an empty reason is an error naming its index.
    pub fn parse(source: &str, text: &str) -> Result<AllowList, String> {
        if text
            .trim()
            .lines()
            .all(|l| l.trim().is_empty() || l.trim().starts_with('#'))
        {
            return Ok(AllowList::default());
        }
        let entries: Vec<Allowed> =
            serde_saphyr::from_str(text).map_err(|e| format!("{source}: {e}"))?;
        let mut problems = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            if Change::from_id(&entry.change).is_none() {
                let known: Vec<&str> = Change::ALL.iter().map(|c| c.id()).collect();
                problems.push(format!(
                    "{source}: entry {i} ({}): unknown change `{}`; one of {}",
                    entry.crd,
                    entry.change,
                    known.join(", ")
                ));
            }
            if entry.reason.trim().is_empty() {
                problems.push(format!(
                    "{source}: entry {i} ({} {} {}): `reason` is empty; say why the break is \
                     acceptable",
                    entry.crd, entry.version, entry.path
                ));
            }
        }
        if problems.is_empty() {
            Ok(AllowList { entries })
        } else {
            Err(problems.join("\n"))
        }
    }

    /// The entry accepting `finding`, if any.
    pub fn allows(&self, finding: &Finding) -> Option<&Allowed> {
        self.entries.iter().find(|e| e.matches(finding))
    }

    /// The entry that would accept `finding`, as YAML to paste.
    pub fn entry_for(finding: &Finding) -> String {
        format!(
            "- crd: {}\n  version: {:?}\n  path: {:?}\n  change: {}\n  reason: <why this break is acceptable>\n",
            finding.crd, finding.version, finding.path, finding.change
        )
    }
}
