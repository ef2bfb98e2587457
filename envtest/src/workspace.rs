//! The one way every tool and test of a workspace finds its root: the
//! nearest ancestor of the running package's manifest directory whose
//! `Cargo.toml` declares a `[workspace]`. Cargo sets `CARGO_MANIFEST_DIR` for
//! `cargo run` and `cargo test`; outside cargo the current directory is the
//! starting point. A package that is not in a workspace is its own root.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The root of the workspace of the package being run or tested.
pub fn workspace_root() -> Result<PathBuf> {
    let start = match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_dir().context("reading the current directory")?,
    };
    find_root(&start).with_context(|| {
        format!(
            "no Cargo.toml at or above {}; run this through cargo",
            start.display()
        )
    })
}

/// The nearest ancestor of `start` (itself included) with a `Cargo.toml`
/// declaring `[workspace]`, else the nearest with any `Cargo.toml`.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    let mut package = None;
    for dir in start.ancestors() {
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        if manifest.lines().any(|line| line.trim() == "[workspace]") {
            return Some(dir.to_path_buf());
        }
        package.get_or_insert_with(|| dir.to_path_buf());
    }
    package
}

/// The workspace's target directory: `$CARGO_TARGET_DIR` when set (relative
/// to the workspace root, as cargo reads it), else `<root>/target`.
pub fn target_dir() -> Result<PathBuf> {
    let root = workspace_root()?;
    Ok(match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_workspace_above_a_member_and_a_lone_package_itself() {
        let base = std::env::temp_dir().join(format!("crdforge-root-{}", std::process::id()));
        let member = base.join("ws/crates/a/src");
        std::fs::create_dir_all(&member).unwrap();
        std::fs::write(base.join("ws/Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
        std::fs::write(base.join("ws/crates/a/Cargo.toml"), "[package]\n").unwrap();
        assert_eq!(find_root(&member), Some(base.join("ws")));

        let lone = base.join("lone/src");
        std::fs::create_dir_all(&lone).unwrap();
        std::fs::write(base.join("lone/Cargo.toml"), "[package]\n").unwrap();
        assert_eq!(find_root(&lone), Some(base.join("lone")));
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn this_crate_is_inside_the_crdforge_workspace() {
        let root = workspace_root().unwrap();
        assert!(
            root.join("envtest/Cargo.toml").is_file(),
            "{}",
            root.display()
        );
    }
}
