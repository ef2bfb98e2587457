//! `cargo xtask cel-oracle`: the offline check's CEL cost figures against
//! the apiserver's own estimator.
//!
//! The oracle is `xtask/cel-oracle/`, a Go program over
//! k8s.io/apiextensions-apiserver at the release the envtest control plane
//! runs, built with the Go the project already needs (and from the module
//! cache the control plane's build filled) into `target/cel-oracle/`. The
//! comparison itself is `xtask-gen --cel-oracle`, which links the generator.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// Builds the oracle (a no-op when Go finds it current) and returns its path.
fn build() -> Result<PathBuf> {
    let root = crate::workspace_root();
    let binary = root.join("target").join("cel-oracle").join("cel-oracle");
    let status = Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(root.join("xtask").join("cel-oracle"))
        .env("CGO_ENABLED", "0")
        // As for the control plane: the go.mod names the Go release
        // Kubernetes needs, and the module graph is the checked-in one.
        .env("GOTOOLCHAIN", "auto")
        .env("GOFLAGS", "-mod=readonly")
        .status()
        .context("running go (Go 1.21 or newer is needed, as for the control plane)")?;
    if !status.success() {
        bail!("building the CEL cost oracle failed ({status})");
    }
    Ok(binary)
}

/// Builds the oracle and runs the comparison; an error when a cost differs.
pub(crate) fn run() -> Result<()> {
    let started = Instant::now();
    let oracle = build()?;
    println!(
        "cel-oracle: the apiserver's estimator built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let oracle = oracle.to_str().context("a UTF-8 target path")?.to_owned();
    crate::cargo(&[
        "run",
        "--quiet",
        "--package",
        "xtask-gen",
        "--",
        "--cel-oracle",
        &oracle,
    ])
    .context("the offline check's CEL costs differ from the apiserver's (listed above)")?;
    println!(
        "cel-oracle: done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
