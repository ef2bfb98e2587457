//! `cargo xtask`: crdforge's developer commands. One binary, one `match`;
//! each subcommand lives in a module named for it.

mod bench;
mod cel_oracle;
mod ci;
mod demo;
mod demo_rules;
mod envtest;
mod r#gen;
mod matrix;
mod publish;
mod soak;
mod starter;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "crdforge's developer commands")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a real control plane (etcd, kube-apiserver, kube-controller-manager)
    /// built from Go modules.
    Envtest {
        #[command(subcommand)]
        command: envtest::Cmd,
    },
    /// Every check CI runs: format, clippy, unit tests, then the end-to-end
    /// tests against a control plane it starts and always stops.
    Ci(ci::Args),
    /// Write every generated file (CRDs into generated/crds); `--check`
    /// only reports stale files, with a diff.
    Gen(r#gen::Args),
    /// The whole idea in one command: a control plane, the generated CRD and
    /// RBAC, the User controller, Users provisioned and one cleaned up.
    Demo(demo::Args),
    /// The Rule Loader in one command: a control plane, a Prometheus built
    /// from its Go module, rule files as ConfigMaps, one broken and fixed.
    DemoRules(demo_rules::Args),
    /// `cargo package` of every publishable crate (`--verify`: also build
    /// each from its packaged sources).
    Package {
        #[arg(long)]
        verify: bool,
    },
    /// Check the publishable crates with the oldest Rust they claim
    /// (`rust-version`), installing it through rustup when missing.
    Msrv,
    /// Benchmarks against client-go and kube-runtime, run side by side;
    /// writes docs/benchmarks.md (`--quick`: a fast check of the harness).
    Bench(Box<bench::Args>),
    /// The starter (starter/) as its own repository: copied out, crdforge
    /// by path, its own `cargo xtask ci` (fmt, clippy, gen --check, unit
    /// tests, end-to-end test).
    Starter,
    /// The end-to-end suites on every Kubernetes release the control plane
    /// can run; writes docs/kubernetes-versions.md.
    Matrix(matrix::Args),
    /// The property-based end-to-end suite with many cases; writes
    /// docs/property-agreement.md.
    Soak(soak::Args),
    /// Every CEL rule of the corpus and the checked-in APIs priced by the
    /// apiserver's own estimator (a Go program built from the module
    /// cache); fails on any cost the offline check does not reproduce.
    CelOracle,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Every message of the control-plane tool, here and in the commands and
    // tests it starts, names the command this workspace has.
    crdforge_envtest::set_tool_name(envtest::TOOL_NAME);
    let result = match cli.command {
        Cmd::Envtest { command } => envtest::run(command),
        Cmd::Ci(args) => ci::run(args),
        Cmd::Gen(args) => r#gen::run(args),
        Cmd::Demo(args) => demo::run(args),
        Cmd::DemoRules(args) => demo_rules::run(args),
        Cmd::Bench(args) => bench::run(*args),
        Cmd::Soak(args) => soak::run(args),
        Cmd::Matrix(args) => matrix::run(args),
        Cmd::Msrv => publish::msrv().map(|()| ExitCode::SUCCESS),
        Cmd::CelOracle => cel_oracle::run().map(|()| ExitCode::SUCCESS),
        Cmd::Starter => starter::run().map(|()| ExitCode::SUCCESS),
        Cmd::Package { verify } => publish::package(verify).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root, for commands that run cargo or read sources: the
/// one definition every crate of the workspace shares.
fn workspace_root() -> std::path::PathBuf {
    crdforge_envtest::workspace_root().expect("cargo xtask runs inside the workspace")
}

/// Runs `cargo ARGS` in the workspace root; an error names the command.
fn cargo(args: &[&str]) -> anyhow::Result<()> {
    cargo_env(args, &[])
}

/// [`cargo`] with extra environment variables, which the error names too.
fn cargo_env(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let status = std::process::Command::new(env!("CARGO"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(workspace_root())
        .status()
        .context("running cargo")?;
    if !status.success() {
        let env: Vec<String> = env
            .iter()
            .map(|(k, v)| format!("{k}={} ", v.to_string_lossy()))
            .collect();
        anyhow::bail!(
            "`{}cargo {}` failed ({status})",
            env.concat(),
            args.join(" ")
        );
    }
    Ok(())
}
