//! `cargo xtask envtest …`: the `crdforge-envtest` command line, under this
//! workspace's name for it (its messages say `cargo xtask envtest`).

use std::process::ExitCode;

use anyhow::Result;

pub(crate) use crdforge_envtest::cli::Command as Cmd;

/// What `cargo xtask envtest` is called in messages, here and in the
/// commands and tests it starts.
pub(crate) const TOOL_NAME: &str = "cargo xtask envtest";

pub(crate) fn run(cmd: Cmd) -> Result<ExitCode> {
    crdforge_envtest::cli::run(cmd)
}
