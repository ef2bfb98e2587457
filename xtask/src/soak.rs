//! `cargo xtask soak`: the property-based end-to-end suites
//! (`crdforge-fixtures`' `tests/properties_e2e.rs`, and
//! `tests/roundtrip_property.rs` over more random kinds) with many more
//! cases than CI runs, on a private control plane; writes the invalid-variant
//! agreement table to docs/property-agreement.md. `--chaos` instead runs the
//! User controller's chaos test at scale with etcd killed and a partition
//! longer than a watch, and writes docs/soak.md. Dispatch only: the tests
//! link the product, xtask does not.

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
    /// Random kinds of the round-trip property (`CRDFORGE_ROUNDTRIP_KINDS`).
    #[arg(long, default_value_t = 120)]
    kinds: u32,
    /// Replay a run (`CRDFORGE_PROPTEST_SEED`).
    #[arg(long)]
    seed: Option<u64>,
    /// Instead: the User controller's chaos test with `--users` Users,
    /// apiserver and controller kills, etcd killed and restarted, and the
    /// controller cut off for `--partition-secs`.
    #[arg(long)]
    chaos: bool,
    /// Users in the chaos soak.
    #[arg(long, default_value_t = 5000, requires = "chaos")]
    users: u32,
    /// How long the chaos soak cuts the controller off (longer than the
    /// 290 s a watch lasts, by default).
    #[arg(long, default_value_t = 300, requires = "chaos")]
    partition_secs: u32,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.chaos {
        return chaos(&args);
    }
    let out = crate::workspace_root().join("docs/property-agreement.md");
    let cases = args.cases.to_string();
    let invalid = args.invalid_cases.to_string();
    let kinds = args.kinds.to_string();
    let seed = args.seed.map(|s| s.to_string());
    let mut env: Vec<(&str, &OsStr)> = vec![
        ("PROPTEST_CASES", OsStr::new(&cases)),
        ("CRDFORGE_INVALID_CASES", OsStr::new(&invalid)),
        ("CRDFORGE_AGREEMENT_OUT", out.as_os_str()),
        ("CRDFORGE_ROUNDTRIP_KINDS", OsStr::new(&kinds)),
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
            "--test",
            "roundtrip_property",
            "--",
            "--nocapture",
        ],
        &env,
    )?;
    println!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}

fn chaos(args: &Args) -> anyhow::Result<ExitCode> {
    let out = crate::workspace_root().join("docs/soak.md");
    let users = args.users.to_string();
    let partition = args.partition_secs.to_string();
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
            "user-controller",
            "--features",
            "e2e",
            "--test",
            "e2e",
            "chaos::users_converge_exactly_through_apiserver_restarts_and_controller_kills",
            "--",
            "--exact",
            "--nocapture",
        ],
        &[
            ("CHAOS_SOAK", OsStr::new("1")),
            ("CHAOS_USERS", OsStr::new(&users)),
            ("CHAOS_PARTITION_SECS", OsStr::new(&partition)),
            ("CHAOS_REPORT", out.as_os_str()),
        ],
    )?;
    println!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}
