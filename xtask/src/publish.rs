//! The crates a user depends on, and the checks that they could be
//! published today: complete metadata (a unit test reads `cargo metadata`)
//! and `cargo package` for all of them. CI packages without verification
//! (manifests, file lists, and dependencies resolved against each other's
//! packages); `cargo xtask package --verify` also builds every package from
//! its packaged sources, which compiles the dependency graph once more per
//! feature set (about 7 minutes on two cores), too long for every CI run.

use anyhow::Result;

/// Every publishable crate, dependencies before dependents. Every other
/// workspace member has `publish = false`; a test keeps the two in step.
pub(crate) const PUBLISHABLE: &[&str] = &[
    "crdforge-schema",
    "crdforge-derive",
    "crdforge",
    "crdforge-gen",
    "crdforge-runtime",
    "crdforge-envtest",
];

/// `cargo package` of every publishable crate; with `verify`, each package
/// is also built as it would be published. With the target directory named
/// explicitly, cargo verifies in it instead of in a fresh one per package.
pub(crate) fn package(verify: bool) -> Result<()> {
    let mut args = vec!["package", "--allow-dirty", "--quiet"];
    if !verify {
        args.push("--no-verify");
    }
    for krate in PUBLISHABLE {
        args.extend(["--package", krate]);
    }
    let target = crdforge_envtest::target_dir()?;
    crate::cargo_env(&args, &[("CARGO_TARGET_DIR", target.as_os_str())])
}

/// The publishable crates build with the oldest Rust they claim
/// (`rust-version` of the workspace): that release's toolchain, installed
/// through rustup when missing (minimal profile), checks them with the
/// locked dependency versions in a target directory of its own. A claim no
/// build checks drifts the first time a newer std API is used.
pub(crate) fn msrv() -> Result<()> {
    use anyhow::{Context, bail};
    use std::process::Command;

    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(crate::workspace_root())
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let mut versions: Vec<&str> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| PUBLISHABLE.contains(&p["name"].as_str().unwrap_or("")))
        .map(|p| p["rust_version"].as_str().unwrap_or(""))
        .collect();
    versions.sort_unstable();
    versions.dedup();
    let [version] = versions[..] else {
        bail!("the publishable crates must claim one rust-version, not {versions:?}");
    };
    if version.is_empty() {
        bail!("the publishable crates claim no rust-version");
    }
    let rustup = |args: &[&str]| -> Result<()> {
        let status = Command::new("rustup")
            .args(args)
            .current_dir(crate::workspace_root())
            .status()
            .context("running rustup (the MSRV check installs the toolchain it names)")?;
        if !status.success() {
            bail!("`rustup {}` failed ({status})", args.join(" "));
        }
        Ok(())
    };
    rustup(&[
        "toolchain",
        "install",
        version,
        "--profile",
        "minimal",
        "--no-self-update",
    ])?;
    let target = crdforge_envtest::target_dir()?.join("msrv");
    let target = target.to_string_lossy();
    let mut args = vec![
        "run",
        version,
        "cargo",
        "check",
        "--locked",
        "--quiet",
        "--target-dir",
        &target,
    ];
    for krate in PUBLISHABLE {
        args.extend(["--package", krate]);
    }
    rustup(&args)?;
    println!("msrv: every publishable crate checks with Rust {version}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use serde_json::Value;

    use super::*;

    fn members() -> Vec<Value> {
        let output = Command::new(env!("CARGO"))
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(crate::workspace_root())
            .output()
            .expect("running cargo metadata");
        assert!(output.status.success());
        let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
        metadata["packages"].as_array().unwrap().clone()
    }

    #[test]
    fn publishable_crates_have_complete_metadata() {
        for package in members() {
            let name = package["name"].as_str().unwrap();
            // `publish = false` is an empty registry list.
            let publishable = package["publish"] != serde_json::json!([]);
            assert_eq!(
                publishable,
                PUBLISHABLE.contains(&name),
                "{name}: publish setting and PUBLISHABLE disagree"
            );
            if !publishable {
                continue;
            }
            for key in ["description", "license", "readme", "documentation"] {
                let value = package[key].as_str().unwrap_or_default();
                assert!(!value.is_empty(), "{name} has no {key}");
                assert!(
                    !value.contains("example.invalid"),
                    "{name}: placeholder {key}"
                );
            }
            assert_eq!(
                package["documentation"].as_str(),
                Some(
                    format!(
                        "https://docs.rs/{}",
                        if name == "crdforge-derive" {
                            "crdforge"
                        } else {
                            name
                        }
                    )
                    .as_str()
                ),
                "{name}: documentation should be its docs.rs page"
            );
            for key in ["keywords", "categories"] {
                let list = package[key].as_array().cloned().unwrap_or_default();
                assert!(
                    !list.is_empty() && list.len() <= 5,
                    "{name}: {key} must have 1 to 5 entries"
                );
            }
            let manifest = std::path::Path::new(package["manifest_path"].as_str().unwrap());
            let readme = manifest
                .parent()
                .unwrap()
                .join(package["readme"].as_str().unwrap());
            let text = std::fs::read_to_string(&readme).unwrap_or_default();
            assert!(
                text.contains("```rust"),
                "{name}: its README needs a minimal example (it is the crate's doctest)"
            );
            let lib = manifest.parent().unwrap().join("src/lib.rs");
            let lib = std::fs::read_to_string(lib).unwrap();
            assert!(
                lib.contains("#![doc = include_str!(\"../README.md\")]"),
                "{name}: the README must be the crate docs, so its example is tested"
            );
        }
    }
}
