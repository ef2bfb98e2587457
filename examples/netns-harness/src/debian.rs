//! Real daemons the tests talk to, installed from Debian's packages by
//! `apt-get` when missing (never a downloaded binary): for the speaker's BGP
//! tests, GoBGP's `gobgpd` and its `gobgp` CLI, both in package `gobgpd`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

/// The Debian package holding GoBGP's daemon and CLI.
pub const GOBGP_PACKAGE: &str = "gobgpd";

/// What [`ensure_gobgp`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provenance {
    /// The binaries were already installed.
    Installed,
    /// `apt-get install` installed them now, taking this long.
    InstalledNow(Duration),
}

/// GoBGP's binaries.
#[derive(Debug, Clone)]
pub struct Gobgp {
    /// The daemon.
    pub gobgpd: PathBuf,
    /// Its CLI (talks to the daemon's gRPC API).
    pub gobgp: PathBuf,
}

/// Returns GoBGP's binaries, installing package `gobgpd` with `apt-get`
/// when either is missing (running `apt-get update` first when the package
/// is unknown to apt). Needs root, as CI and the developers' machines have.
pub fn ensure_gobgp() -> Result<(Gobgp, Provenance)> {
    if let Some(found) = find_gobgp() {
        return Ok((found, Provenance::Installed));
    }
    let started = Instant::now();
    eprintln!("netns-harness: installing Debian package {GOBGP_PACKAGE} (apt-get install -y)");
    if !apt_get(&["install", "-y", "--no-install-recommends", GOBGP_PACKAGE])? {
        eprintln!("netns-harness: apt-get install failed; running apt-get update and retrying");
        apt_get(&["update"])?;
        if !apt_get(&["install", "-y", "--no-install-recommends", GOBGP_PACKAGE])? {
            bail!("apt-get install -y {GOBGP_PACKAGE} failed (see its output above)");
        }
    }
    match find_gobgp() {
        Some(found) => Ok((found, Provenance::InstalledNow(started.elapsed()))),
        None => bail!("package {GOBGP_PACKAGE} is installed but gobgpd/gobgp are not on PATH"),
    }
}

fn find_gobgp() -> Option<Gobgp> {
    Some(Gobgp {
        gobgpd: which("gobgpd")?,
        gobgp: which("gobgp")?,
    })
}

/// The first executable `name` on PATH (and in /usr/sbin, which a non-login
/// root shell may lack).
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Runs `apt-get <args>` non-interactively, its output on our stderr;
/// whether it succeeded.
fn apt_get(args: &[&str]) -> Result<bool> {
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|err| {
            anyhow::anyhow!("cannot run apt-get ({err}): install {GOBGP_PACKAGE} by hand")
        })?;
    Ok(status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_finds_a_shell_and_not_nonsense() {
        assert!(which("sh").is_some());
        assert!(which("no-such-binary-here").is_none());
    }
}
