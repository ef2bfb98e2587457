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
