//! The directory Prometheus loads rule files from, owned by the loader:
//! every `*.yaml` file in it is one the loader wrote, and one no ConfigMap
//! asks for any more is removed.
//!
//! Writes are atomic (a temporary file in the same directory, flushed to
//! disk, then renamed over the old one), so Prometheus never reads half a
//! file. A marker file records that files changed and Prometheus has not
//! yet confirmed a reload: it survives a crash between the write and the
//! reload, so a restart reloads then, and only then.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::render::SUFFIX;

/// The marker of a reload owed to Prometheus.
const PENDING: &str = ".reload-pending";
/// Temporary files start with this (and do not end in `.yaml`).
const TEMP_PREFIX: &str = ".tmp-";

/// What one [`RulesDir::sync`] changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Files written (new or changed).
    pub written: Vec<String>,
    /// Files removed.
    pub removed: Vec<String>,
}

impl Changes {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.written.is_empty() && self.removed.is_empty()
    }
}

/// The rule directory.
#[derive(Debug, Clone)]
pub struct RulesDir {
    dir: PathBuf,
}

impl RulesDir {
    /// Opens (creating) the directory and removes temporary files a crash
    /// may have left.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(Self { dir })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The rule files there now, by name.
    pub fn current(&self) -> io::Result<BTreeSet<String>> {
        let mut names = BTreeSet::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(SUFFIX) && !name.starts_with('.') && entry.file_type()?.is_file() {
                names.insert(name);
            }
        }
        Ok(names)
    }

    /// Makes the directory hold exactly `desired` (name → contents):
    /// writes what differs, removes what is not desired, and marks a reload
    /// as owed before the first change.
    pub fn sync(&self, desired: &BTreeMap<String, String>) -> io::Result<Changes> {
        let current = self.current()?;
        let mut changes = Changes::default();
        for (name, contents) in desired {
            let path = self.dir.join(name);
            let same = current.contains(name)
                && fs::read(&path).is_ok_and(|bytes| bytes == contents.as_bytes());
            if !same {
                changes.written.push(name.clone());
            }
        }
        changes.removed = current
            .iter()
            .filter(|name| !desired.contains_key(*name))
            .cloned()
            .collect();
        if changes.is_empty() {
            return Ok(changes);
        }
        self.mark_pending()?;
        for name in &changes.written {
            self.write_atomically(name, desired[name].as_bytes())?;
        }
        for name in &changes.removed {
            match fs::remove_file(self.dir.join(name)) {
                Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
                _ => {}
            }
        }
        sync_dir(&self.dir)?;
        Ok(changes)
    }

    fn write_atomically(&self, name: &str, contents: &[u8]) -> io::Result<()> {
        let temp = self
            .dir
            .join(format!("{TEMP_PREFIX}{}-{name}.part", std::process::id()));
        let result = (|| {
            let mut file = fs::File::create(&temp)?;
            file.write_all(contents)?;
            file.sync_all()?;
            fs::rename(&temp, self.dir.join(name))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result
    }

    /// Whether a reload is owed.
    pub fn reload_pending(&self) -> bool {
        self.dir.join(PENDING).exists()
    }

    fn mark_pending(&self) -> io::Result<()> {
        if !self.reload_pending() {
            fs::write(self.dir.join(PENDING), b"")?;
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Records that Prometheus confirmed a reload.
    pub fn clear_pending(&self) -> io::Result<()> {
        match fs::remove_file(self.dir.join(PENDING)) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        }
    }
}

/// Flushes the directory's entries (renames, removals) to disk.
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rule-loader-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn files(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn sync_writes_changes_removes_stale_files_and_owes_a_reload() {
        let path = temp_dir("sync");
        let dir = RulesDir::open(&path).unwrap();
        assert!(!dir.reload_pending());
        let changes = dir
            .sync(&files(&[("a.yaml", "1"), ("b.yaml", "2")]))
            .unwrap();
        assert_eq!(changes.written, ["a.yaml", "b.yaml"]);
        assert!(dir.reload_pending());
        dir.clear_pending().unwrap();

        // The same set again: nothing written, no reload owed.
        assert!(
            dir.sync(&files(&[("a.yaml", "1"), ("b.yaml", "2")]))
                .unwrap()
                .is_empty()
        );
        assert!(!dir.reload_pending());

        let changes = dir.sync(&files(&[("a.yaml", "changed")])).unwrap();
        assert_eq!(
            (changes.written, changes.removed),
            (vec!["a.yaml".to_string()], vec!["b.yaml".to_string()])
        );
        assert_eq!(fs::read_to_string(path.join("a.yaml")).unwrap(), "changed");
        assert!(!path.join("b.yaml").exists());
        assert!(dir.reload_pending());
        let _ = fs::remove_dir_all(path);
    }

    #[test]
    fn leftover_temporary_files_are_removed_and_never_count_as_rules() {
        let path = temp_dir("temp");
        fs::create_dir_all(&path).unwrap();
        fs::write(path.join(".tmp-1-a.yaml.part"), "half").unwrap();
        fs::write(path.join("README"), "not a rule file").unwrap();
        let dir = RulesDir::open(&path).unwrap();
        assert!(!path.join(".tmp-1-a.yaml.part").exists());
        assert!(dir.current().unwrap().is_empty());
        // Files not ending in .yaml are not the loader's: left alone.
        dir.sync(&BTreeMap::new()).unwrap();
        assert!(path.join("README").exists());
        let _ = fs::remove_dir_all(path);
    }
}
