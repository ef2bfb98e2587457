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

/// Where the revision `ci` compares the CRDs against is written down.
const COMPAT_BASE: &str = "xtask/gen/compat-base";

/// The revision in [`COMPAT_BASE`]: its one line that is neither blank nor
/// a `#` comment.
fn compat_base(text: &str) -> Result<String> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    match (lines.next(), lines.next()) {
        (Some(base), None) => Ok(base.to_owned()),
        (None, _) => bail!("{COMPAT_BASE} names no revision"),
        (Some(_), Some(_)) => bail!("{COMPAT_BASE} names more than one revision"),
    }
}

/// `gen --compat <base>` for `cargo xtask ci`: an error on any breaking
/// change of the CRDs since the revision in [`COMPAT_BASE`] that the
/// allow-list does not accept.
pub(crate) fn compat() -> Result<()> {
    let root = crate::workspace_root();
    let base = compat_base(&std::fs::read_to_string(root.join(COMPAT_BASE))?)?;
    // A shallow clone lacks the base; say how to get it rather than let
    // the generator's "not a revision" stand alone.
    let known = std::process::Command::new("git")
        .args(["cat-file", "-e", &format!("{base}^{{commit}}")])
        .current_dir(&root)
        .status()?
        .success();
    if !known {
        bail!(
            "the compat base {base} (from {COMPAT_BASE}) is not in this clone; \
             fetch it (`git fetch --unshallow`, or clone without --depth)"
        );
    }
    if crate::cargo(&[
        "run",
        "--quiet",
        "--package",
        "xtask-gen",
        "--",
        "--compat",
        &base,
    ])
    .is_err()
    {
        bail!(
            "breaking CRD changes since {base} (listed above); change the types back, or \
             accept each in xtask/gen/compat-allow.yaml after review"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::compat_base;

    #[test]
    fn the_compat_base_is_the_one_uncommented_line() {
        assert_eq!(
            compat_base("# why\n\n  abc123  \n# more\n").unwrap(),
            "abc123"
        );
        assert!(compat_base("# only comments\n").is_err());
        assert!(compat_base("abc\ndef\n").is_err());
    }

    /// The checked-in file parses, and names a revision of this repository
    /// (a full hash, so it cannot become ambiguous as history grows).
    #[test]
    fn the_checked_in_compat_base_is_a_full_commit_hash() {
        let root = crate::workspace_root();
        let text = std::fs::read_to_string(root.join(super::COMPAT_BASE)).unwrap();
        let base = compat_base(&text).unwrap();
        assert_eq!(base.len(), 40, "{base}");
        assert!(base.chars().all(|c| c.is_ascii_hexdigit()), "{base}");
    }
}
