//! The control-plane binaries: which versions, where they are cached, and how
//! they are built from Go modules when the cache lacks them.
//!
//! Nothing is downloaded as a binary. kube-apiserver, kube-controller-manager
//! and kubectl come from `k8s.io/kubernetes`, etcd from
//! `go.etcd.io/etcd/server/v3`, each through a small wrapper module under
//! `envtest/go/` that pins versions the module proxy serves. A build
//! lands in a temporary directory and is renamed into place only when every
//! binary is there, so an interrupted build never leaves a half cache behind.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

mod progress;

/// The Kubernetes release the control plane runs. The wrapper module in
/// `go/kubernetes/go.mod` and the `k8s-openapi` feature in the workspace
/// manifest must name the same release.
pub const KUBERNETES_VERSION: &str = "v1.36.3";

/// The etcd release, the one Kubernetes v1.36's `hack/lib/etcd.sh` tests with.
pub const ETCD_VERSION: &str = "v3.6.8";

/// One Go wrapper module and the commands built from it.
struct GoModule {
    /// Directory name under `go/`.
    dir: &'static str,
    /// Package paths passed to `go build`; the binary takes the last element.
    packages: &'static [&'static str],
    /// Whether to stamp Kubernetes' version variables, so that `/version` and
    /// `kubectl version` report the release rather than `v0.0.0-master`.
    stamp_kubernetes_version: bool,
}

const MODULES: &[GoModule] = &[
    GoModule {
        dir: "etcd",
        packages: &["go.etcd.io/etcd/server/v3"],
        stamp_kubernetes_version: false,
    },
    GoModule {
        dir: "kubernetes",
        packages: &[
            "k8s.io/kubernetes/cmd/kube-apiserver",
            "k8s.io/kubernetes/cmd/kube-controller-manager",
            "k8s.io/kubernetes/cmd/kubectl",
        ],
        stamp_kubernetes_version: true,
    },
];

/// Paths of the four binaries in the cache.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// The versioned cache directory holding all four.
    pub dir: PathBuf,
}

impl Binaries {
    /// etcd. The module root builds a binary named `v3`, renamed on build.
    pub fn etcd(&self) -> PathBuf {
        self.dir.join("etcd")
    }
    /// kube-apiserver.
    pub fn kube_apiserver(&self) -> PathBuf {
        self.dir.join("kube-apiserver")
    }
    /// kube-controller-manager.
    pub fn kube_controller_manager(&self) -> PathBuf {
        self.dir.join("kube-controller-manager")
    }
    /// kubectl.
    pub fn kubectl(&self) -> PathBuf {
        self.dir.join("kubectl")
    }
    fn all(&self) -> [PathBuf; 4] {
        [
            self.etcd(),
            self.kube_apiserver(),
            self.kube_controller_manager(),
            self.kubectl(),
        ]
    }
}

/// What [`ensure`] did.
#[derive(Debug, Clone, Copy)]
pub enum Provenance {
    /// The binaries were already cached.
    Cached,
    /// They were built now, taking this long.
    Built(Duration),
}

/// The directory of the Go wrapper modules in this source tree.
pub fn go_modules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("go")
}

/// Root of the binary cache: `$CRDFORGE_ENVTEST_CACHE`, else
/// `$XDG_CACHE_HOME/crdforge/envtest`, else `~/.cache/crdforge/envtest`.
/// It lives outside the work tree so that every clone on a machine shares it.
pub fn cache_root() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CRDFORGE_ENVTEST_CACHE") {
        return Ok(PathBuf::from(dir));
    }
    let base = match std::env::var_os("XDG_CACHE_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(
            std::env::var_os("HOME").context("neither XDG_CACHE_HOME nor HOME is set")?,
        )
        .join(".cache"),
    };
    Ok(base.join("crdforge").join("envtest"))
}

/// The cache directory for this exact set of versions and wrapper modules.
/// The key includes a hash of the wrapper modules' go.mod and go.sum, so that
/// editing them (a new patch release, say) builds afresh instead of reusing
/// binaries of another version.
pub fn cache_dir() -> Result<PathBuf> {
    let mut hasher = Fnv64::new();
    for module in MODULES {
        for file in ["go.mod", "go.sum"] {
            let path = go_modules_dir().join(module.dir).join(file);
            let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            hasher.write(file.as_bytes());
            hasher.write(&bytes);
        }
    }
    Ok(cache_root()?.join(format!(
        "kubernetes-{KUBERNETES_VERSION}-etcd-{ETCD_VERSION}-{:016x}",
        hasher.finish()
    )))
}

/// Returns the cached binaries, building them first when any is missing.
pub fn ensure() -> Result<(Binaries, Provenance)> {
    let dir = cache_dir()?;
    let binaries = Binaries { dir: dir.clone() };
    if binaries.all().iter().all(|path| path.is_file()) {
        return Ok((binaries, Provenance::Cached));
    }
    let started = Instant::now();
    build_into(&dir)?;
    Ok((binaries, Provenance::Built(started.elapsed())))
}

fn build_into(dir: &Path) -> Result<()> {
    check_go()?;
    let started_at = Instant::now();
    let parent = dir.parent().context("cache directory has no parent")?;
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let partial = parent.join(format!(
        "{}.partial-{}",
        dir.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&partial);
    fs::create_dir_all(&partial)?;

    for module in MODULES {
        let log_path = parent.join(format!("build-{}.log", module.dir));
        eprintln!(
            "envtest: building {} from Go modules (first run only; log: {})",
            module
                .packages
                .iter()
                .map(|p| binary_name(p))
                .collect::<Vec<_>>()
                .join(", "),
            log_path.display()
        );
        let log = fs::File::create(&log_path)?;
        // How many packages the build compiles at most, for the progress
        // line; `go list` also fetches the modules, which is the first
        // minute or two of a cold build.
        let total = count_packages(module, &log)?;
        let mut cmd = Command::new("go");
        go_env(&mut cmd, module)
            .arg("build")
            // -v names each package as it is compiled: the progress below.
            .arg("-v")
            .arg("-trimpath")
            .arg("-ldflags")
            .arg(ldflags(module))
            .arg("-o");
        if module.packages.len() == 1 {
            cmd.arg(partial.join(binary_name(module.packages[0])));
        } else {
            // With several packages, -o names a directory.
            cmd.arg(format!("{}/", partial.display()));
        }
        cmd.args(module.packages)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().context("running `go build`")?;
        let stderr = child.stderr.take().context("go build's stderr")?;
        progress::follow(module.dir, stderr, log, total, started_at);
        let status = child.wait().context("waiting for `go build`")?;
        if !status.success() {
            let _ = fs::remove_dir_all(&partial);
            bail!(
                "building {} failed ({status}); last lines of {}:\n{}",
                module.dir,
                log_path.display(),
                crate::process::tail(&log_path, 30)
            );
        }
    }

    match fs::rename(&partial, dir) {
        Ok(()) => Ok(()),
        // Another process finished the same build first; its result is as good.
        Err(_) if dir.join("kubectl").is_file() => {
            let _ = fs::remove_dir_all(&partial);
            Ok(())
        }
        Err(err) => Err(err).with_context(|| format!("moving the build into {}", dir.display())),
    }
}

/// The environment every `go` command of a build runs in.
fn go_env<'c>(cmd: &'c mut Command, module: &GoModule) -> &'c mut Command {
    cmd.current_dir(go_modules_dir().join(module.dir))
        .env("CGO_ENABLED", "0")
        // The wrapper go.mod names the Go release Kubernetes needs; an
        // older local Go fetches that toolchain through the module proxy.
        .env("GOTOOLCHAIN", "auto")
        .env("GOFLAGS", "-mod=readonly")
}

/// The number of packages `go build` of this module may compile (its
/// dependency closure, standard library included): the denominator of the
/// progress line. Module downloads happen here, logged to `log`.
fn count_packages(module: &GoModule, log: &fs::File) -> Result<usize> {
    let output = go_env(&mut Command::new("go"), module)
        .args(["list", "-deps"])
        .args(module.packages)
        .stdin(Stdio::null())
        .stderr(log.try_clone()?)
        .output()
        .context("running `go list -deps`")?;
    if !output.status.success() {
        bail!(
            "`go list -deps` of the {} wrapper module failed ({}); its output is in the build log",
            module.dir,
            output.status,
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).lines().count())
}

fn binary_name(package: &str) -> &str {
    match package.rsplit('/').next() {
        // etcd's module root ends in the major version.
        Some("v3") => "etcd",
        Some(name) => name,
        None => package,
    }
}

fn ldflags(module: &GoModule) -> String {
    let mut flags = String::from("-s -w");
    if module.stamp_kubernetes_version {
        let minor = KUBERNETES_VERSION.split('.').nth(1).unwrap_or("0");
        for pkg in [
            "k8s.io/component-base/version",
            "k8s.io/client-go/pkg/version",
        ] {
            flags.push_str(&format!(
                " -X {pkg}.gitVersion={KUBERNETES_VERSION} -X {pkg}.gitMajor=1 \
                 -X {pkg}.gitMinor={minor} -X {pkg}.gitTreeState=clean"
            ));
        }
    }
    flags
}

fn check_go() -> Result<()> {
    let output = Command::new("go").arg("version").output();
    match output {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => bail!(
            "`go version` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(err) => bail!(
            "Go is not installed or not on PATH ({err}). The control plane is built from Go \
             modules and needs Go 1.21 or newer; it fetches the exact toolchain that \
             envtest/go/*/go.mod names through the Go module proxy."
        ),
    }
}

/// FNV-1a, 64 bit. Hand-rolled because the cache key must stay the same across
/// Rust releases, which `std`'s `DefaultHasher` does not promise, and ten lines
/// do not justify a dependency.
struct Fnv64(u64);

impl Fnv64 {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_module_root_builds_a_binary_named_etcd() {
        assert_eq!(binary_name("go.etcd.io/etcd/server/v3"), "etcd");
        assert_eq!(binary_name("k8s.io/kubernetes/cmd/kubectl"), "kubectl");
    }

    #[test]
    fn kubernetes_build_stamps_the_release() {
        let flags = ldflags(&MODULES[1]);
        assert!(flags.contains("k8s.io/component-base/version.gitVersion=v1.36.3"));
        assert!(flags.contains("k8s.io/client-go/pkg/version.gitMinor=36"));
        assert_eq!(ldflags(&MODULES[0]), "-s -w");
    }

    #[test]
    fn wrapper_module_pins_the_same_kubernetes_release() {
        let go_mod = fs::read_to_string(go_modules_dir().join("kubernetes/go.mod")).unwrap();
        assert!(go_mod.contains(&format!("k8s.io/kubernetes {KUBERNETES_VERSION}")));
        let staging = KUBERNETES_VERSION.replacen("v1.", "v0.", 1);
        assert!(go_mod.contains(&format!("k8s.io/client-go => k8s.io/client-go {staging}")));
        let etcd_mod = fs::read_to_string(go_modules_dir().join("etcd/go.mod")).unwrap();
        assert!(etcd_mod.contains(&format!("go.etcd.io/etcd/server/v3 {ETCD_VERSION}")));
    }

    #[test]
    fn fnv_matches_reference_vectors() {
        let mut h = Fnv64::new();
        assert_eq!(h.finish(), 0xcbf29ce484222325);
        h.write(b"a");
        assert_eq!(h.finish(), 0xaf63dc4c8601ec8c);
    }
}
