//! The starter (`starter/`), built and tested as a user's repository would
//! be: copied out of this workspace, with crdforge's crates by path through
//! `[patch.crates-io]` (what a user does until they are published), and
//! its own `cargo xtask ci`: fmt, clippy, `gen --check`, unit tests and its
//! end-to-end test on a control plane.
//!
//! The copy shares this workspace's target dir, so the dependencies both
//! build with the same versions and features are compiled once; the
//! workspace's `Cargo.lock` seeds the copy's for that reason.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::publish::PUBLISHABLE;
use crate::workspace_root;

/// Where the copy lives: under the target dir, outside every workspace of
/// this repository's source tree.
fn copy_dir() -> Result<PathBuf> {
    Ok(crdforge_envtest::target_dir()?.join("starter-check"))
}

/// The folder of a publishable crate in this workspace.
fn crate_dir(name: &str) -> &str {
    name.strip_prefix("crdforge-").unwrap_or(name)
}

/// Copies the starter out and points its crdforge dependencies here.
pub(crate) fn prepare() -> Result<PathBuf> {
    let root = workspace_root();
    let dir = copy_dir()?;
    let _ = fs::remove_dir_all(&dir);
    copy_tree(&root.join("starter"), &dir)?;
    let mut config = fs::read_to_string(dir.join(".cargo/config.toml")).unwrap_or_default();
    config.push_str(
        "\n# Written by `cargo xtask ci`: crdforge from this checkout.\n[patch.crates-io]\n",
    );
    for name in PUBLISHABLE {
        let path = root.join(crate_dir(name));
        config.push_str(&format!(
            "{name} = {{ path = {:?} }}\n",
            path.display().to_string()
        ));
    }
    fs::create_dir_all(dir.join(".cargo"))?;
    fs::write(dir.join(".cargo/config.toml"), config)?;
    if !dir.join("Cargo.lock").exists() {
        fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"))
            .context("seeding the starter's Cargo.lock")?;
    }
    Ok(dir)
}

/// `cargo ARGS` in the starter's copy, sharing this workspace's target dir.
pub(crate) fn cargo_in(dir: &Path, program: Command) -> Command {
    let mut command = program;
    command
        .current_dir(dir)
        .env(
            "CARGO_TARGET_DIR",
            crdforge_envtest::target_dir().expect("the workspace has a target dir"),
        )
        // The copy's own crates are not this workspace's members.
        .env_remove("CARGO_MANIFEST_DIR");
    command
}

/// The starter's own `cargo xtask ci` in the copy: fmt, clippy, its
/// `gen --check`, its unit tests and (unless `no_e2e`) its end-to-end test
/// on a control plane it starts itself — the one command its CI runs.
pub(crate) fn check(no_e2e: bool) -> Result<()> {
    let dir = prepare()?;
    let mut args = vec!["xtask", "ci"];
    if no_e2e {
        args.push("--no-e2e");
    }
    let mut cargo = Command::new(env!("CARGO"));
    cargo.args(&args);
    let status = cargo_in(&dir, cargo)
        .status()
        .context("running cargo in the starter")?;
    if !status.success() {
        bail!(
            "the starter's `cargo {}` failed ({status}) in {}",
            args.join(" "),
            dir.display()
        );
    }
    Ok(())
}

/// `cargo xtask starter`: the whole of the starter's `cargo xtask ci`.
pub(crate) fn run() -> Result<()> {
    check(false)
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            fs::copy(&src, &dst).with_context(|| format!("copying {}", src.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_publishable_crate_is_in_the_folder_the_patch_names() {
        let root = workspace_root();
        for name in PUBLISHABLE {
            let manifest =
                fs::read_to_string(root.join(crate_dir(name)).join("Cargo.toml")).unwrap();
            assert!(manifest.contains(&format!("name = \"{name}\"")), "{name}");
        }
    }

    /// The region of `text` between `// ANCHOR: name` and
    /// `// ANCHOR_END: name`, without its common indentation.
    fn anchored(text: &str, name: &str) -> Option<String> {
        let start = text.find(&format!("// ANCHOR: {name}\n"))?;
        let body = &text[start..];
        let body = &body[body.find('\n')? + 1..];
        let end = body.find(&format!("// ANCHOR_END: {name}"))?;
        let lines: Vec<&str> = body[..end].trim_end().lines().collect();
        let indent = lines
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())
            .min()?;
        Some(
            lines
                .iter()
                .map(|l| l.get(indent..).unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n"),
        )
    }

    /// Every Rust block of the guide is a region of a starter file, which
    /// CI compiles and tests; no block is anything else.
    #[test]
    fn every_rust_block_of_the_guide_is_compiled_starter_code() {
        let root = workspace_root();
        let guide = fs::read_to_string(root.join("docs/first-controller.md")).unwrap();
        let regions: Vec<String> = [
            ("starter/api/src/lib.rs", "types"),
            ("starter/api/src/lib.rs", "deploy"),
            ("starter/xtask/src/main.rs", "xtask"),
            ("starter/controller/src/lib.rs", "reconcile"),
            ("starter/controller/src/lib.rs", "run"),
        ]
        .iter()
        .map(|(file, name)| {
            let text = fs::read_to_string(root.join(file)).unwrap();
            anchored(&text, name).unwrap_or_else(|| panic!("{file} has no anchor {name}"))
        })
        .collect();
        let blocks: Vec<&str> = guide
            .split("```rust\n")
            .skip(1)
            .map(|rest| rest.split("\n```").next().unwrap())
            .collect();
        assert_eq!(
            blocks.len(),
            regions.len(),
            "one Rust block per anchored region"
        );
        for (block, region) in blocks.iter().zip(&regions) {
            assert_eq!(
                block, region,
                "docs/first-controller.md differs from the starter's code; copy the region again"
            );
        }
    }

    #[test]
    fn the_starter_depends_on_crdforge_as_a_user_would() {
        let manifest = fs::read_to_string(workspace_root().join("starter/Cargo.toml")).unwrap();
        assert!(
            manifest.contains("[workspace]"),
            "the starter is a workspace of its own"
        );
        for name in [
            "crdforge",
            "crdforge-gen",
            "crdforge-runtime",
            "crdforge-envtest",
        ] {
            let line = manifest
                .lines()
                .find(|l| l.starts_with(&format!("{name} = ")))
                .unwrap_or_else(|| panic!("starter/Cargo.toml lacks {name}"));
            assert!(
                !line.contains("path"),
                "{name} must be a version dependency: {line}"
            );
        }
    }
}
