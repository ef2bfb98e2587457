//! Which Prometheus, where it is cached, and how it is built from its Go
//! module when the cache lacks it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The Go module Prometheus is built from.
pub const MODULE: &str = "github.com/prometheus/prometheus";

/// The module version. Prometheus tags its Go module `v0.3XX.Y` for
/// release `3.XX.Y` (Go modules cannot be v3 without a `/v3` path), so this
/// is Prometheus 3.16.0.
pub const VERSION: &str = "v0.316.0";

/// The Prometheus release [`VERSION`] is, as `prometheus --version` and
/// `/api/v1/status/buildinfo` report it.
pub const PROMETHEUS_RELEASE: &str = "3.16.0";

/// Build tags. `remove_all_sd` leaves out every service-discovery plugin
/// (AWS, Azure, GCE, Kubernetes, ...): the tests scrape static targets, and
/// the plugins are most of the build's time and size. Rule loading, the
/// lifecycle API and the HTTP API are untouched by it.
pub const BUILD_TAGS: &str = "remove_all_sd";

/// What [`ensure`] did.
#[derive(Debug, Clone, Copy)]
pub enum Provenance {
    /// The binary was already cached.
    Cached,
    /// It was built now, taking this long.
    Built(Duration),
}

/// Root of the cache: `$CRDFORGE_PROMETHEUS_CACHE`, else
/// `$XDG_CACHE_HOME/crdforge/prometheus`, else `~/.cache/crdforge/prometheus`:
/// outside the work tree, so every clone on a machine shares one build.
pub fn cache_root() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CRDFORGE_PROMETHEUS_CACHE") {
        return Ok(PathBuf::from(dir));
    }
    let base = match std::env::var_os("XDG_CACHE_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(
            std::env::var_os("HOME").context("neither XDG_CACHE_HOME nor HOME is set")?,
        )
        .join(".cache"),
    };
    Ok(base.join("crdforge").join("prometheus"))
}

/// The cache directory of this exact version and set of tags.
fn cache_dir() -> Result<PathBuf> {
    Ok(cache_root()?.join(format!("prometheus-{VERSION}-{BUILD_TAGS}")))
}

/// Where the binary is (or will be) cached.
pub fn binary_path() -> Result<PathBuf> {
    Ok(cache_dir()?.join("prometheus"))
}

/// Returns the cached binary, building it first when it is missing. Safe to
/// call from several processes at once: each builds into its own temporary
/// directory and the first rename wins.
pub fn ensure() -> Result<(PathBuf, Provenance)> {
    let binary = binary_path()?;
    if binary.is_file() {
        return Ok((binary, Provenance::Cached));
    }
    let started = Instant::now();
    build_into(&cache_dir()?)?;
    Ok((binary, Provenance::Built(started.elapsed())))
}

fn build_into(dir: &Path) -> Result<()> {
    let parent = dir.parent().context("cache directory has no parent")?;
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let partial = parent.join(format!(
        "{}.partial-{}",
        dir.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&partial);
    fs::create_dir_all(&partial)?;
    let log_path = parent.join("build-prometheus.log");
    eprintln!(
        "prometheus-envtest: building Prometheus {PROMETHEUS_RELEASE} from the Go module \
         {MODULE}@{VERSION} (first run only, several minutes; log: {})",
        log_path.display()
    );
    let log = fs::File::create(&log_path)?;
    let status = Command::new("go")
        // Outside any module, so `go install pkg@version` uses the
        // Prometheus module's own go.mod and go.sum.
        .current_dir(parent)
        .env("GOBIN", &partial)
        .env("CGO_ENABLED", "0")
        // go.mod names the Go release Prometheus needs; an older local Go
        // fetches that toolchain through the module proxy.
        .env("GOTOOLCHAIN", "auto")
        .args(["install", "-trimpath", "-tags", BUILD_TAGS, "-ldflags"])
        .arg(ldflags())
        .arg(format!("{MODULE}/cmd/prometheus@{VERSION}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .map_err(|err| {
            anyhow::anyhow!(
                "cannot run `go` ({err}): Prometheus is built from its Go module and needs Go \
                 1.21 or newer on PATH"
            )
        })?;
    if !status.success() || !partial.join("prometheus").is_file() {
        let _ = fs::remove_dir_all(&partial);
        bail!(
            "building Prometheus failed ({status}); last lines of {}:\n{}",
            log_path.display(),
            crdforge_envtest::process::tail(&log_path, 30)
        );
    }
    match fs::rename(&partial, dir) {
        Ok(()) => Ok(()),
        // Another process finished the same build first.
        Err(_) if dir.join("prometheus").is_file() => {
            let _ = fs::remove_dir_all(&partial);
            Ok(())
        }
        Err(err) => Err(err).with_context(|| format!("moving the build into {}", dir.display())),
    }
}

/// Strips debug information and stamps the release, so `/api/v1/status/buildinfo`
/// reports it rather than an empty version.
fn ldflags() -> String {
    format!(
        "-s -w -X github.com/prometheus/common/version.Version={PROMETHEUS_RELEASE} \
         -X github.com/prometheus/common/version.Branch=HEAD"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_module_version_is_the_release() {
        // v0.MMM.P is release 3.(MMM-300).P.
        let rest = VERSION.strip_prefix("v0.3").unwrap();
        let (minor, patch) = rest.split_once('.').unwrap();
        assert_eq!(
            PROMETHEUS_RELEASE,
            format!("3.{}.{patch}", minor.parse::<u32>().unwrap())
        );
    }

    #[test]
    fn the_cache_key_names_version_and_tags() {
        let dir = cache_dir().unwrap();
        let name = dir.file_name().unwrap().to_string_lossy();
        assert!(
            name.contains(VERSION) && name.contains(BUILD_TAGS),
            "{name}"
        );
        assert!(ldflags().contains(PROMETHEUS_RELEASE));
    }
}
