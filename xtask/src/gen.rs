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

/// The directories whose every file `gen` owns: a file there that is no
/// longer generated is removed (or, with `--check`, reported).
const OWNED_DIRS: &[&str] = &["generated/crds", "generated/deploy/user-controller"];

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Change nothing; exit non-zero with a diff if `generated/` is stale.
    #[arg(long)]
    check: bool,
    /// Instead of generating: time generation (the example API and a
    /// synthetic 100-kind API) and the derive's compile time against
    /// kube-derive's, as ratios in one run; writes docs/gen-benchmark.md.
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

/// Every generated file: the CRDs of every registered API, and the
/// manifests of the User controller. The one registry `gen`, `gen --check`
/// and the `generated_is_fresh` test share.
fn generated_files() -> Result<Vec<GeneratedFile>> {
    let definitions = crdforge_fixtures::definitions()
        .into_iter()
        .chain(user_api::definitions())
        .collect();
    let mut files = match generate::crd_files(definitions) {
        Ok(files) => files,
        Err(errors) => {
            for error in &errors {
                eprintln!("error: {error}");
            }
            bail!("{} CRD(s) could not be generated", errors.len());
        }
    };
    files.extend(
        crdforge_codegen::rbac::deploy_files(&user_api::deploy::controller_manifest())
            .map_err(|e| anyhow::anyhow!("rendering the user-controller manifests: {e}"))?,
    );
    Ok(files)
}

pub(crate) fn run(args: Args) -> Result<ExitCode> {
    if args.bench {
        bench::run()?;
        return Ok(ExitCode::SUCCESS);
    }
    let root = workspace_root();
    let files = generated_files()?;
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
    for owned in OWNED_DIRS {
        let dir = root.join(owned);
        if !dir.is_dir() {
            continue;
        }
        let mut extra: Vec<String> = std::fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|entry| entry.ok())
            .map(|entry| format!("{owned}/{}", entry.file_name().to_string_lossy()))
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

    const CRD_DIR: &str = OWNED_DIRS[0];

    /// A plain `cargo test` catches a forgotten `cargo xtask gen`.
    #[test]
    fn generated_is_fresh() {
        let files = generated_files().unwrap();
        let stale: Vec<String> = sync(&workspace_root(), &files, true)
            .unwrap()
            .into_iter()
            .filter(|(_, outcome)| matches!(outcome, Outcome::Stale(_)))
            .map(|(path, _)| path)
            .collect();
        assert!(
            stale.is_empty(),
            "stale: {stale:?}; run `cargo xtask gen` and commit the result"
        );
    }

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
