//! `cargo xtask soak`: the property-based end-to-end suite
//! (`crdforge-fixtures`' `tests/properties_e2e.rs`) with many more cases
//! than CI runs, on a private control plane; writes the invalid-variant
//! agreement table to docs/property-agreement.md. Dispatch only: the test
//! links the product, xtask does not.

use std::ffi::OsStr;
use std::process::ExitCode;

/// `cargo xtask soak` options.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Valid objects per kind (`PROPTEST_CASES`).
    #[arg(long, default_value_t = 32)]
    cases: u32,
    /// Invalid objects per site (`CRDFORGE_INVALID_CASES`).
    #[arg(long, default_value_t = 3)]
    invalid_cases: u32,
    /// Replay a run (`CRDFORGE_PROPTEST_SEED`).
    #[arg(long)]
    seed: Option<u64>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let out = crate::workspace_root().join("docs/property-agreement.md");
    let cases = args.cases.to_string();
    let invalid = args.invalid_cases.to_string();
    let seed = args.seed.map(|s| s.to_string());
    let mut env: Vec<(&str, &OsStr)> = vec![
        ("PROPTEST_CASES", OsStr::new(&cases)),
        ("CRDFORGE_INVALID_CASES", OsStr::new(&invalid)),
        ("CRDFORGE_AGREEMENT_OUT", out.as_os_str()),
    ];
    if let Some(seed) = &seed {
        env.push(("CRDFORGE_PROPTEST_SEED", OsStr::new(seed)));
    }
    crate::cargo_env(
        &[
            "run",
            "--quiet",
            "--package",
            "xtask",
            "--",
            "envtest",
            "run",
            "--",
            "cargo",
            "test",
            "--package",
            "crdforge-fixtures",
            "--features",
            "properties-e2e",
            "--test",
            "properties_e2e",
            "--",
            "--nocapture",
        ],
        &env,
    )?;
    println!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}
