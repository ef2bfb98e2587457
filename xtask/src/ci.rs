//! `cargo xtask ci`: every check, in the order that fails fastest, then the
//! end-to-end tests on a control plane that is always stopped afterwards.

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crdforge_envtest::Instance;

use crate::{cargo, workspace_root};

/// Packages with end-to-end tests, each behind its own `e2e` feature, so that
/// a plain `cargo test` never needs a control plane.
const E2E_PACKAGES: &[&str] = &[
    "crdforge-envtest",
    "crdforge-runtime",
    "crdforge-fixtures",
    "crdforge-compare",
    "user-controller",
    "prometheus-envtest",
    "rule-loader",
    "leifur-controller",
    "netns-harness",
    "leifur-speaker",
];

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Skip the end-to-end tests (no control plane is started).
    #[arg(long)]
    no_e2e: bool,
}

pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let mut timings: Vec<(&str, Duration)> = Vec::new();
    let total = Instant::now();

    step(&mut timings, "preflight", preflight)?;
    step(&mut timings, "fmt", || cargo(&["fmt", "--all", "--check"]))?;
    step(&mut timings, "clippy", || {
        cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ])
    })?;
    // Broken intra-doc links and bad HTML in docs fail, as on docs.rs.
    step(&mut timings, "doc", || {
        crate::cargo_env(
            &[
                "doc",
                "--workspace",
                "--no-deps",
                "--all-features",
                "--quiet",
            ],
            &[("RUSTDOCFLAGS", "-D warnings".as_ref())],
        )
    })?;
    step(&mut timings, "gen --check", crate::r#gen::check)?;
    // Breaking CRD changes since the last landed commit: `gen --check`
    // cannot see one that `cargo xtask gen` has already written.
    step(&mut timings, "gen --compat", crate::r#gen::compat)?;
    // The offline CEL cost figures against the apiserver's own estimator.
    step(&mut timings, "cel-oracle", crate::cel_oracle::run)?;
    step(&mut timings, "unit tests", || {
        cargo(&["test", "--workspace"])
    })?;
    step(&mut timings, "package", || crate::publish::package(false))?;
    step(&mut timings, "msrv", crate::publish::msrv)?;
    // A repository other than this one: the starter, copied out, with
    // crdforge by path, running its own `cargo xtask ci` (fmt, clippy,
    // gen --check, unit tests and, with e2e, its end-to-end test on a
    // control plane of its own).
    step(&mut timings, "starter", || {
        crate::starter::check(args.no_e2e)
    })?;
    // The Rule Loader's tests and benchmark need a real Prometheus: built
    // here from its Go module on a fresh machine (cached afterwards), so its
    // minutes are reported as their own step rather than inside another.
    step(&mut timings, "prometheus", || {
        let (binary, provenance) = prometheus_envtest::ensure()?;
        println!("ci: Prometheus {provenance:?} at {}", binary.display());
        Ok(())
    })?;
    // Reuses the debug build the tests left; proves the benchmark harness
    // (Rust and Go contenders, report) still runs end to end.
    step(&mut timings, "bench --quick", crate::bench::quick)?;
    if !args.no_e2e {
        let e2e = e2e_test_args();
        // Compile first, so the control plane is not kept waiting on rustc.
        step(&mut timings, "e2e build", || {
            let mut build = e2e.clone();
            build.push("--no-run".into());
            cargo(&build.iter().map(String::as_str).collect::<Vec<_>>())
        })?;
        // Leifur's speaker's BGP tests peer with GoBGP, installed here from
        // Debian's package on a fresh machine (apt-get; cached afterwards).
        step(&mut timings, "gobgp", || {
            let (gobgp, provenance) = netns_harness::debian::ensure_gobgp()?;
            println!("ci: gobgpd {provenance:?} at {}", gobgp.gobgpd.display());
            Ok(())
        })?;
        step(&mut timings, "e2e tests", || run_e2e(&e2e))?;
    }

    println!(
        "\nci: all checks passed in {:.0} s",
        total.elapsed().as_secs_f64()
    );
    for (name, took) in &timings {
        println!("  {name:<12} {:>6.1} s", took.as_secs_f64());
    }
    Ok(ExitCode::SUCCESS)
}

fn step(
    timings: &mut Vec<(&'static str, Duration)>,
    name: &'static str,
    f: impl FnOnce() -> Result<()>,
) -> Result<()> {
    println!("\n==> ci: {name}");
    let started = Instant::now();
    f().with_context(|| format!("ci step `{name}` failed"))?;
    timings.push((name, started.elapsed()));
    Ok(())
}

/// Checks that the tools exist, naming the missing one and how to get it.
fn preflight() -> Result<()> {
    for (program, args, hint) in [
        (
            "cargo",
            &["fmt", "--version"][..],
            "rustup component add rustfmt",
        ),
        (
            "cargo",
            &["clippy", "--version"][..],
            "rustup component add clippy",
        ),
        (
            "go",
            &["version"][..],
            "install Go 1.21 or newer; it fetches the exact toolchain it needs from the Go module proxy",
        ),
    ] {
        let ok = Command::new(program)
            .args(args)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            bail!("`{program} {}` does not work: {hint}", args.join(" "));
        }
    }
    report_free_space();
    Ok(())
}

/// A clean clone's target directory grows to about 15 GiB (more with
/// incremental compilation on), and a full disk shows up minutes later as a
/// rustc I/O error in whatever step is linking; saying it up front names the
/// cause. Only a warning: `df` may be missing or the estimate too cautious.
fn report_free_space() {
    const NEEDED_GIB: u64 = 20;
    let root = workspace_root();
    let Ok(out) = Command::new("df").arg("-Pk").arg(&root).output() else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(available_kib) = text
        .lines()
        .nth(1)
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|field| field.parse::<u64>().ok())
    else {
        return;
    };
    let gib = available_kib / (1024 * 1024);
    println!(
        "ci: {gib} GiB free on the file system of {}",
        root.display()
    );
    if gib < NEEDED_GIB {
        println!(
            "ci: warning: a clean run needs about {NEEDED_GIB} GiB; steps that link may fail with \"No space left on device\""
        );
    }
}

fn e2e_test_args() -> Vec<String> {
    let mut args = vec!["test".to_string()];
    for package in E2E_PACKAGES {
        args.push("--package".into());
        args.push((*package).into());
    }
    args.push("--features".into());
    args.push(
        E2E_PACKAGES
            .iter()
            .map(|p| format!("{p}/e2e"))
            .collect::<Vec<_>>()
            .join(","),
    );
    args
}

fn run_e2e(test_args: &[String]) -> Result<()> {
    let running = Instance::named("ci").start_scoped(&[])?;
    let status = running
        .command(env!("CARGO"))
        .args(test_args)
        .current_dir(workspace_root())
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!(
            "end-to-end tests failed ({status}); control-plane logs are in {}",
            running.instance().dir().display()
        );
    }
    // On the same control plane, whose audit log now holds every request
    // each controller made over the suite: is every granted verb used?
    for check in [
        RBAC_MINIMALITY,
        RULE_LOADER_RBAC_MINIMALITY,
        LEIFUR_RBAC_MINIMALITY,
        LEIFUR_SPEAKER_RBAC_MINIMALITY,
    ] {
        let status = running
            .command(env!("CARGO"))
            .args(check)
            .current_dir(workspace_root())
            .status()
            .context("running cargo")?;
        if !status.success() {
            bail!(
                "the RBAC-minimality check `cargo {}` failed ({status}); the audit log is {}",
                check.join(" "),
                running.instance().audit_log().display()
            );
        }
    }
    Ok(())
}

/// The check that reads the e2e suite's audit log (see
/// `examples/user-controller/tests/rbac_minimality.rs`).
const RBAC_MINIMALITY: &[&str] = &[
    "test",
    "--package",
    "user-controller",
    "--features",
    "e2e,rbac-audit",
    "--test",
    "rbac_minimality",
];

/// The same check for the Rule Loader's role
/// (`examples/rule-loader/tests/rbac_minimality.rs`).
const RULE_LOADER_RBAC_MINIMALITY: &[&str] = &[
    "test",
    "--package",
    "rule-loader",
    "--features",
    "e2e,rbac-audit",
    "--test",
    "rbac_minimality",
];

/// The same check for Leifur's IPAM controller
/// (`examples/leifur-controller/tests/rbac_minimality.rs`).
const LEIFUR_RBAC_MINIMALITY: &[&str] = &[
    "test",
    "--package",
    "leifur-controller",
    "--features",
    "e2e,rbac-audit",
    "--test",
    "rbac_minimality",
];

/// The same check for Leifur's speaker, whose e2e tests run it as its
/// ServiceAccount (`examples/leifur-speaker/tests/rbac_minimality.rs`).
const LEIFUR_SPEAKER_RBAC_MINIMALITY: &[&str] = &[
    "test",
    "--package",
    "leifur-speaker",
    "--features",
    "e2e,rbac-audit",
    "--test",
    "rbac_minimality",
];
