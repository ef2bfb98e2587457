//! `cargo xtask gen`: runs the `xtask-gen` program (`xtask/gen/`), which
//! links the generator and the APIs whose output is checked in. It is a
//! separate program so that xtask builds and runs while they do not compile.

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::{Result, bail};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Arguments for `xtask-gen` (`--check`, `--compat BASE`, `--bench`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let mut command = vec![
        "run".into(),
        "--quiet".into(),
        "--package".into(),
        "xtask-gen".into(),
        "--".into(),
    ];
    command.extend(args.args);
    let status = std::process::Command::new(env!("CARGO"))
        .args(&command)
        .current_dir(crate::workspace_root())
        .status()?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `gen --check` for `cargo xtask ci`: an error when anything is stale.
pub(crate) fn check() -> Result<()> {
    if crate::cargo(&["run", "--quiet", "--package", "xtask-gen", "--", "--check"]).is_err() {
        bail!("generated files are stale (diff above); run `cargo xtask gen`");
    }
    Ok(())
}
