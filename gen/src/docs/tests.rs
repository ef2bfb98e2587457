//! The reference page of a small API, whole (a golden file), and the
//! phrases of each constraint.

use crdforge::CustomResource;
use serde::{Deserialize, Serialize};

use super::*;

/// A backup of a database.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
#[crd(
    group = "example.com",
    version = "v1",
    kind = "Backup",
    namespaced,
    status = "BackupStatus",
    validation(rule = "self.keep > 0", message = "keep at least one")
)]
#[serde(rename_all = "camelCase")]
pub(super) struct BackupSpec {
    /// How many backups to keep.
    #[crd(minimum = 1, maximum = 30)]
    pub(super) keep: i32,
    /// When to run, in cron syntax.
    #[crd(min_length = 9, pattern = "^[0-9*/, -]+$")]
    pub(super) schedule: String,
    /// Where to write: a bucket.
    #[serde(default)]
    #[crd(default = "local")]
    pub(super) target: String,
    /// Labels put on every backup object.
    #[serde(default)]
    pub(super) labels: std::collections::BTreeMap<String, String>,
    /// Tables to skip.
    #[serde(default)]
    #[crd(list_type = "set", max_items = 8)]
    pub(super) skip: Vec<String>,
}

/// What the last run did.
#[derive(Serialize, Deserialize, Clone, Debug, Default, crdforge::KubeSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct BackupStatus {
    /// Completed backups.
    pub(super) completed: Option<i64>,
}

#[test]
fn a_page_per_group_version_and_an_index() {
    let files = doc_files("docs/api", "cargo xtask gen", vec![Backup::definition()]).unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["docs/api/example.com-v1.md", "docs/api/README.md"]);
    assert!(files[1].contents.contains(
        "| [`example.com/v1`](example.com-v1.md) | [Backup](example.com-v1.md#backup) |"
    ));
    expect_test::expect_file!["golden/backup.md"].assert_eq(&files[0].contents);
}

#[test]
fn constraints_in_words() {
    let page = &doc_files("d", "gen", vec![Backup::definition()]).unwrap()[0].contents;
    for phrase in [
        "| `spec.keep` | integer (int32) | yes |  | at least 1; at most 30 | How many backups to keep. |",
        "at least 9 characters; matches `^[0-9*/, -]+$`",
        "| `spec.target` | string |  | `\"local\"` |",
        "| `spec.labels` | map of string to string |",
        "at most 8 items; items are unique (a set)",
        "| `spec` | object | yes |  | must hold: `self.keep > 0` (else: “keep at least one”) |",
        "namespaced; resource `backups` (singular `backup`). This version is the storage version; subresources: status.",
        "A backup of a database.",
    ] {
        assert!(page.contains(phrase), "missing {phrase:?} in\n{page}");
    }
}

#[test]
fn a_cell_never_breaks_the_table() {
    assert_eq!(cell("a | b\nc\n\nd"), "a \\| b c<br><br>d");
}
