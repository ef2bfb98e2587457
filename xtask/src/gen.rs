//! `cargo xtask gen`: writes every generated artifact into `generated/`.
//! `--check` writes nothing and fails, with a unified diff and the command
//! that fixes it, when a file is stale, missing or no longer generated.
//!
//! Generation itself is a library call (`crdforge_codegen::generate`); this
//! module is the only place that touches the disk.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use crdforge_codegen::generate::{self, GeneratedFile};

use crate::workspace_root;

#[path = "gen_bench.rs"]
mod bench;

/// The directory whose every file `gen` owns.
const CRD_DIR: &str = "generated/crds";

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Change nothing; exit non-zero with a diff if `generated/` is stale.
    #[arg(long)]
    check: bool,
    /// Instead of generating: time generation, and the compile time of 100
    /// resource types with crdforge's derive versus kube-derive; writes
    /// docs/gen-benchmark.md.
    #[arg(long, conflicts_with = "check")]
    bench: bool,
}

/// What happened to one file.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Unchanged,
    Written,
    Removed,
    /// In check mode: the file differs; the diff says how.
    Stale(String),
}

/// `gen --check` for `cargo xtask ci`: an error when anything is stale.
pub(crate) fn check() -> Result<()> {
    if run(Args {
        check: true,
        bench: false,
    })? != ExitCode::SUCCESS
    {
        bail!("generated/ is stale; run `cargo xtask gen`");
    }
    Ok(())
}

pub(crate) fn run(args: Args) -> Result<ExitCode> {
    if args.bench {
        bench::run()?;
        return Ok(ExitCode::SUCCESS);
    }
    let root = workspace_root();
    let files = match generate::crd_files(crdforge_fixtures::definitions()) {
        Ok(files) => files,
        Err(errors) => {
            for error in &errors {
                eprintln!("error: {error}");
            }
            bail!("{} CRD(s) could not be generated", errors.len());
        }
    };
    let mut stale = 0;
    for (path, outcome) in sync(&root, &files, args.check)? {
        match outcome {
            Outcome::Unchanged => println!("unchanged {path}"),
            Outcome::Written => println!("written   {path}"),
            Outcome::Removed => println!("removed   {path}"),
            Outcome::Stale(diff) => {
                stale += 1;
                println!("stale     {path}");
                print!("{diff}");
            }
        }
    }
    if stale > 0 {
        eprintln!(
            "error: {stale} generated file(s) are stale; run `cargo xtask gen` and commit the result"
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Brings `root/generated/crds` in line with `files`: writes what changed,
/// removes what is no longer generated. In check mode nothing is touched and
/// every difference is reported as [`Outcome::Stale`].
fn sync(root: &Path, files: &[GeneratedFile], check: bool) -> Result<Vec<(String, Outcome)>> {
    let mut outcomes = Vec::new();
    for file in files {
        let outcome = ensure_file_contents(&root.join(&file.path), &file.contents, check)?;
        outcomes.push((file.path.clone(), outcome));
    }
    let dir = root.join(CRD_DIR);
    if dir.is_dir() {
        let mut extra: Vec<String> = std::fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|entry| entry.ok())
            .map(|entry| format!("{CRD_DIR}/{}", entry.file_name().to_string_lossy()))
            .filter(|path| !files.iter().any(|f| &f.path == path))
            .collect();
        extra.sort();
        for path in extra {
            if check {
                let old = std::fs::read_to_string(root.join(&path)).unwrap_or_default();
                outcomes.push((path.clone(), Outcome::Stale(diff(&path, &old, ""))));
            } else {
                std::fs::remove_file(root.join(&path))
                    .with_context(|| format!("removing {path}"))?;
                outcomes.push((path, Outcome::Removed));
            }
        }
    }
    Ok(outcomes)
}

/// Writes `contents` to `path` only if they differ; in check mode reports
/// the difference instead.
fn ensure_file_contents(path: &Path, contents: &str, check: bool) -> Result<Outcome> {
    let old = match std::fs::read_to_string(path) {
        Ok(old) => Some(old),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if old.as_deref() == Some(contents) {
        return Ok(Outcome::Unchanged);
    }
    if check {
        let name = path.display().to_string();
        return Ok(Outcome::Stale(diff(
            &name,
            old.as_deref().unwrap_or(""),
            contents,
        )));
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    Ok(Outcome::Written)
}

fn diff(name: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_root(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("crdforge-gen-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(CRD_DIR)).unwrap();
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
        let path = format!("{CRD_DIR}/a.yaml");
        std::fs::write(root.join(&path), "old\n").unwrap();
        let outcomes = sync(&root, &[file(&path, "new\n")], true).unwrap();
        let Outcome::Stale(diff) = &outcomes[0].1 else {
            panic!("expected stale, got {outcomes:?}")
        };
        assert!(diff.contains("-old") && diff.contains("+new"), "{diff}");
        assert_eq!(std::fs::read_to_string(root.join(&path)).unwrap(), "old\n");
    }

    #[test]
    fn write_mode_writes_changes_skips_equal_files_and_removes_orphans() {
        let root = temp_root("write");
        let (a, b) = (format!("{CRD_DIR}/a.yaml"), format!("{CRD_DIR}/b.yaml"));
        std::fs::write(root.join(&a), "same\n").unwrap();
        std::fs::write(root.join(&b), "orphan\n").unwrap();
        let c = format!("{CRD_DIR}/c.yaml");
        let outcomes = sync(&root, &[file(&a, "same\n"), file(&c, "new\n")], false).unwrap();
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
