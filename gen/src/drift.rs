//! Keeping checked-in generated files in step with the types: write what
//! changed, remove what is no longer generated, or — in check mode — touch
//! nothing and report every difference as a unified diff. This is the only
//! code of the crate that touches the disk, and it does so only when asked.

use std::io;
use std::path::Path;

use crate::generate::GeneratedFile;

/// What happened to one file.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The file already had these contents.
    Unchanged,
    /// The file was written.
    Written,
    /// The file was no longer generated and was removed.
    Removed,
    /// In check mode: the file differs; the unified diff says how.
    Stale(String),
}

/// Brings `root` in line with `files` (paths relative to `root`): writes
/// what changed and removes files in `owned_dirs` that are no longer
/// generated. In check mode nothing is touched and every difference is an
/// [`Outcome::Stale`]. Outcomes come in the order of `files`, then removals
/// sorted by path.
pub fn sync(
    root: &Path,
    files: &[GeneratedFile],
    owned_dirs: &[&str],
    check: bool,
) -> io::Result<Vec<(String, Outcome)>> {
    let mut outcomes = Vec::new();
    for file in files {
        let outcome = ensure(&root.join(&file.path), &file.path, &file.contents, check)?;
        outcomes.push((file.path.clone(), outcome));
    }
    for owned in owned_dirs {
        let dir = root.join(owned);
        if !dir.is_dir() {
            continue;
        }
        let mut extra: Vec<String> = std::fs::read_dir(&dir)?
            .filter_map(|entry| entry.ok())
            // Folders inside an owned folder are left alone: a registry
            // writes files, never folders of its own below one.
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
            .map(|entry| format!("{owned}/{}", entry.file_name().to_string_lossy()))
            .filter(|path| !files.iter().any(|f| &f.path == path))
            .collect();
        extra.sort();
        for path in extra {
            if check {
                let old = std::fs::read_to_string(root.join(&path)).unwrap_or_default();
                outcomes.push((path.clone(), Outcome::Stale(diff(&path, &old, ""))));
            } else {
                std::fs::remove_file(root.join(&path))?;
                outcomes.push((path, Outcome::Removed));
            }
        }
    }
    Ok(outcomes)
}

/// Writes `contents` to `path` only if they differ (creating parent
/// directories); in check mode reports the difference instead.
pub fn ensure_file_contents(path: &Path, contents: &str, check: bool) -> io::Result<Outcome> {
    ensure(path, &path.display().to_string(), contents, check)
}

/// [`ensure_file_contents`], with the name diffs show.
fn ensure(path: &Path, name: &str, contents: &str, check: bool) -> io::Result<Outcome> {
    let old = match std::fs::read_to_string(path) {
        Ok(old) => Some(old),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if old.as_deref() == Some(contents) {
        return Ok(Outcome::Unchanged);
    }
    if check {
        return Ok(Outcome::Stale(diff(
            name,
            old.as_deref().unwrap_or(""),
            contents,
        )));
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, contents)?;
    Ok(Outcome::Written)
}

/// A unified diff from `old` to `new`, headed `a/name` and `b/name`.
pub fn diff(name: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: &str = "generated/crds";

    fn temp_root(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("crdforge-drift-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(DIR)).unwrap();
        dir
    }

    fn file(path: &str, contents: &str) -> GeneratedFile {
        GeneratedFile {
            path: path.into(),
            contents: contents.into(),
        }
    }

    #[test]
    fn check_mode_changes_nothing_and_reports_a_diff() {
        let root = temp_root("check");
        let path = format!("{DIR}/a.yaml");
        std::fs::write(root.join(&path), "old\n").unwrap();
        let outcomes = sync(&root, &[file(&path, "new\n")], &[DIR], true).unwrap();
        let Outcome::Stale(diff) = &outcomes[0].1 else {
            panic!("expected stale, got {outcomes:?}")
        };
        assert!(diff.contains("-old") && diff.contains("+new"), "{diff}");
        assert_eq!(std::fs::read_to_string(root.join(&path)).unwrap(), "old\n");
    }

    #[test]
    fn check_mode_reports_an_orphan_without_removing_it() {
        let root = temp_root("orphan");
        let path = format!("{DIR}/gone.yaml");
        std::fs::write(root.join(&path), "gone\n").unwrap();
        let outcomes = sync(&root, &[], &[DIR], true).unwrap();
        assert!(
            matches!(&outcomes[..], [(p, Outcome::Stale(d))] if *p == path && d.contains("-gone"))
        );
        assert!(root.join(&path).exists());
    }

    #[test]
    fn write_mode_writes_changes_skips_equal_files_and_removes_orphans() {
        let root = temp_root("write");
        let (a, b) = (format!("{DIR}/a.yaml"), format!("{DIR}/b.yaml"));
        std::fs::write(root.join(&a), "same\n").unwrap();
        std::fs::write(root.join(&b), "orphan\n").unwrap();
        let c = format!("{DIR}/c.yaml");
        let outcomes = sync(
            &root,
            &[file(&a, "same\n"), file(&c, "new\n")],
            &[DIR],
            false,
        )
        .unwrap();
        assert_eq!(
            outcomes,
            [
                (a.clone(), Outcome::Unchanged),
                (c.clone(), Outcome::Written),
                (b.clone(), Outcome::Removed)
            ]
        );
        assert!(!root.join(&b).exists());
        assert_eq!(std::fs::read_to_string(root.join(&c)).unwrap(), "new\n");
    }
}
