//! The repository's own commands:
//! - `cargo xtask gen [--check | --compat BASE]`: the CRDs, the
//!   controller's manifests and the API reference, generated from the types;
//! - `cargo xtask envtest up|down|status|run|build`: a real control plane
//!   on loopback for the end-to-end tests;
//! - `cargo xtask ci [--compat BASE] [--no-e2e]`: every check CI runs.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::Parser;

// ANCHOR: xtask
/// Every generated file of this repository.
fn registry() -> crdforge_gen::Registry {
    crdforge_gen::Registry::new(root(), "cargo xtask gen")
        .crds("config/crds", backup_api::definitions())
        .controller(
            "config/deploy/backup-controller",
            backup_api::deploy::controller(),
        )
        .docs("docs/api", backup_api::definitions())
}

/// `cargo xtask gen [--check | --compat BASE]`: writes the files, or
/// checks them (a diff and exit 1 when stale), or lists the breaking
/// changes of the CRDs against a git revision or a CRD file.
fn generate(check: bool, compat: Option<String>) -> ExitCode {
    let report = registry().run(&crdforge_gen::Options { check, compat });
    report.print();
    report.exit_code()
}
// ANCHOR_END: xtask

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[derive(Parser)]
#[command(name = "cargo xtask")]
enum Xtask {
    /// Write the generated files (or check them, or compare the CRDs).
    Gen {
        /// Change nothing; exit 1 with a diff if a file is stale.
        #[arg(long)]
        check: bool,
        /// Change nothing; exit 1 on a breaking change of the CRDs against
        /// BASE (a git revision or a CRD file).
        #[arg(long, value_name = "BASE")]
        compat: Option<String>,
    },
    /// A real control plane on loopback (etcd, kube-apiserver,
    /// kube-controller-manager, built once from Go modules).
    Envtest {
        #[command(subcommand)]
        command: crdforge_envtest::cli::Command,
    },
    /// Every check, as CI runs them: fmt, clippy, `gen --check`, the unit
    /// tests and the end-to-end test on a control plane of its own.
    Ci {
        /// Also fail on breaking CRD changes since BASE (e.g. the tag of
        /// the last release).
        #[arg(long, value_name = "BASE")]
        compat: Option<String>,
        /// Skip the end-to-end test.
        #[arg(long)]
        no_e2e: bool,
    },
}

fn main() -> ExitCode {
    crdforge_envtest::set_tool_name("cargo xtask envtest");
    let result = match Xtask::parse() {
        Xtask::Gen { check, compat } => Ok(generate(check, compat)),
        Xtask::Envtest { command } => crdforge_envtest::cli::run(command),
        Xtask::Ci { compat, no_e2e } => ci(compat, no_e2e),
    };
    result.unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        ExitCode::FAILURE
    })
}

/// The end-to-end test, run with `KUBECONFIG` set.
const E2E: &[&str] = &["test", "-p", "backup-controller", "--features", "e2e"];

fn ci(compat: Option<String>, no_e2e: bool) -> anyhow::Result<ExitCode> {
    let cargo = |args: &[&str]| -> anyhow::Result<()> {
        cargo_status(Command::new(cargo_bin()).args(args), args)
    };
    cargo(&["fmt", "--all", "--check"])?;
    let clippy = [
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ];
    cargo(&clippy)?;
    // Stale files, and breaking changes against BASE when one is given.
    let code = generate(true, compat);
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }
    cargo(&["test", "--workspace"])?;
    if !no_e2e {
        let running = crdforge_envtest::Instance::named("ci").start_scoped(&[])?;
        cargo_status(running.command(cargo_bin()).args(E2E), E2E)?;
    }
    println!("ci: all checks passed");
    Ok(ExitCode::SUCCESS)
}

fn cargo_bin() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Runs `command` in the repository's root; an error names `cargo ARGS`.
fn cargo_status(command: &mut Command, args: &[&str]) -> anyhow::Result<()> {
    let status = command.current_dir(root()).status()?;
    anyhow::ensure!(
        status.success(),
        "`cargo {}` failed ({status})",
        args.join(" ")
    );
    Ok(())
}
