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

/// One Kubernetes release a control plane can run, and the Go wrapper module
/// its binaries are built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    /// `vMAJOR.MINOR.PATCH` of kube-apiserver, kube-controller-manager and
    /// kubectl.
    pub kubernetes: &'static str,
    /// The etcd release it runs on.
    pub etcd: &'static str,
    /// The wrapper module's directory under `go/`.
    module: &'static str,
}

/// Every release the control plane can run, oldest first: the default and
/// its neighbours, so that `cargo xtask envtest matrix` can show what a
/// generated CRD does on the releases users run. Each module directory pins
/// its release (a unit test checks it); etcd is the default release's for
/// all, since the apiserver's etcd client is compatible across them and one
/// etcd build is enough.
pub const RELEASES: [Release; 3] = [
    Release {
        kubernetes: "v1.35.4",
        etcd: "v3.6.8",
        module: "kubernetes-1.35",
    },
    Release {
        kubernetes: "v1.36.3",
        // The release Kubernetes v1.36's `hack/lib/etcd.sh` tests with.
        etcd: "v3.6.8",
        module: "kubernetes-1.36",
    },
    DEFAULT_RELEASE,
];

/// The release a control plane runs unless told otherwise: the newest the
/// Go module proxy serves. The `k8s-openapi` feature in the workspace
/// manifest names the same minor.
pub const DEFAULT_RELEASE: Release = Release {
    kubernetes: "v1.37.2",
    // Kubernetes 1.37 is tested upstream with etcd 3.7.0; its etcd client
    // works with 3.6.8 (every suite passes on it), so one etcd build serves
    // all three releases.
    etcd: "v3.6.8",
    module: "kubernetes-1.37",
};

/// The default release's Kubernetes version.
pub const KUBERNETES_VERSION: &str = DEFAULT_RELEASE.kubernetes;

/// The default release's etcd version.
pub const ETCD_VERSION: &str = DEFAULT_RELEASE.etcd;

/// The environment variable that picks a release (`1.35`, `v1.35.4`, ...)
/// for every control plane a process and its children start; `envtest run
/// --kubernetes` sets it for the command it runs.
pub const RELEASE_ENV: &str = "CRDFORGE_KUBERNETES_VERSION";

impl Release {
    /// The release a version names: `1.35`, `v1.35`, `1.35.4` or `v1.35.4`
    /// (a patch other than the one built is refused rather than silently
    /// replaced).
    pub fn parse(version: &str) -> Result<Release> {
        let wanted = version.trim().trim_start_matches('v');
        RELEASES
            .into_iter()
            .find(|r| {
                let full = r.kubernetes.trim_start_matches('v');
                wanted == full || wanted == r.minor_version()
            })
            .with_context(|| {
                format!(
                    "no Kubernetes release {version:?} here; the control plane can run {}",
                    RELEASES
                        .iter()
                        .map(|r| r.kubernetes)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }

    /// The release named by [`RELEASE_ENV`], or the default.
    pub fn selected() -> Result<Release> {
        match std::env::var(RELEASE_ENV) {
            Ok(v) if !v.trim().is_empty() => {
                Release::parse(&v).with_context(|| format!("${RELEASE_ENV}"))
            }
            _ => Ok(DEFAULT_RELEASE),
        }
    }

    /// The minor version, e.g. 36.
    pub fn minor(&self) -> u32 {
        self.minor_version()
            .split('.')
            .nth(1)
            .and_then(|m| m.parse().ok())
            .unwrap_or(0)
    }

    /// `MAJOR.MINOR`, e.g. `1.36`.
    pub fn minor_version(&self) -> &'static str {
        let v = self.kubernetes.trim_start_matches('v');
        match v.rfind('.') {
            Some(i) => &v[..i],
            None => v,
        }
    }

    fn modules(&self) -> [GoModule; 2] {
        [
            GoModule {
                dir: "etcd",
                packages: &["go.etcd.io/etcd/server/v3"],
                stamp_kubernetes_version: None,
            },
            GoModule {
                dir: self.module,
                packages: &[
                    "k8s.io/kubernetes/cmd/kube-apiserver",
                    "k8s.io/kubernetes/cmd/kube-controller-manager",
                    "k8s.io/kubernetes/cmd/kubectl",
                ],
                stamp_kubernetes_version: Some(self.kubernetes),
            },
        ]
    }
}

/// One Go wrapper module and the commands built from it.
struct GoModule {
    /// Directory name under `go/`.
    dir: &'static str,
    /// Package paths passed to `go build`; the binary takes the last element.
    packages: &'static [&'static str],
    /// The release to stamp into Kubernetes' version variables, so that
    /// `/version` and `kubectl version` report it rather than
    /// `v0.0.0-master`.
    stamp_kubernetes_version: Option<&'static str>,
}

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

/// The cache directory of the selected release ([`Release::selected`]).
pub fn cache_dir() -> Result<PathBuf> {
    release_cache_dir(Release::selected()?)
}

/// The cache directory for this exact set of versions and wrapper modules.
/// The key includes a hash of the wrapper modules' go.mod and go.sum, so that
/// editing them (a new patch release, say) builds afresh instead of reusing
/// binaries of another version.
pub fn release_cache_dir(release: Release) -> Result<PathBuf> {
    let mut hasher = Fnv64::new();
    for module in release.modules() {
        for file in ["go.mod", "go.sum"] {
            let path = go_modules_dir().join(module.dir).join(file);
            let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            hasher.write(file.as_bytes());
            hasher.write(&bytes);
        }
    }
    Ok(cache_root()?.join(format!(
        "kubernetes-{}-etcd-{}-{:016x}",
        release.kubernetes,
        release.etcd,
        hasher.finish()
    )))
}

/// Returns the selected release's cached binaries ([`Release::selected`]),
/// building them first when any is missing.
pub fn ensure() -> Result<(Binaries, Provenance)> {
    ensure_release(Release::selected()?)
}

/// Returns a release's cached binaries, building them first when any is
/// missing.
pub fn ensure_release(release: Release) -> Result<(Binaries, Provenance)> {
    let dir = release_cache_dir(release)?;
    let binaries = Binaries { dir: dir.clone() };
    if binaries.all().iter().all(|path| path.is_file()) {
        return Ok((binaries, Provenance::Cached));
    }
    let started = Instant::now();
    build_into(release, &dir)?;
    Ok((binaries, Provenance::Built(started.elapsed())))
}

fn build_into(release: Release, dir: &Path) -> Result<()> {
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

    for module in &release.modules() {
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
    if let Some(version) = module.stamp_kubernetes_version {
        let minor = version.split('.').nth(1).unwrap_or("0");
        for pkg in [
            "k8s.io/component-base/version",
            "k8s.io/client-go/pkg/version",
        ] {
            flags.push_str(&format!(
                " -X {pkg}.gitVersion={version} -X {pkg}.gitMajor=1 \
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
        let modules = DEFAULT_RELEASE.modules();
        let flags = ldflags(&modules[1]);
        assert!(flags.contains("k8s.io/component-base/version.gitVersion=v1.37.2"));
        assert!(flags.contains("k8s.io/client-go/pkg/version.gitMinor=37"));
        assert_eq!(ldflags(&modules[0]), "-s -w");
        let flags = ldflags(&RELEASES[0].modules()[1]);
        assert!(flags.contains("k8s.io/component-base/version.gitVersion=v1.35.4"));
    }

    #[test]
    fn every_wrapper_module_pins_its_release_and_every_staging_module_to_it() {
        for release in RELEASES {
            let module = go_modules_dir().join(release.module);
            let go_mod = fs::read_to_string(module.join("go.mod")).unwrap();
            assert!(
                go_mod.contains(&format!("k8s.io/kubernetes {}", release.kubernetes)),
                "{}",
                module.display()
            );
            let staging = release.kubernetes.replacen("v1.", "v0.", 1);
            for line in go_mod.lines().filter(|l| l.contains(" => k8s.io/")) {
                assert!(line.ends_with(&staging), "{}: {line}", module.display());
            }
            assert!(go_mod.contains(&format!("k8s.io/client-go => k8s.io/client-go {staging}")));
            let etcd_mod = fs::read_to_string(go_modules_dir().join("etcd/go.mod")).unwrap();
            assert!(etcd_mod.contains(&format!("go.etcd.io/etcd/server/v3 {}", release.etcd)));
        }
    }

    #[test]
    fn releases_are_named_by_minor_or_full_version_and_unknown_ones_list_the_choices() {
        assert_eq!(Release::parse("1.35").unwrap(), RELEASES[0]);
        assert_eq!(Release::parse("v1.37.2").unwrap(), RELEASES[2]);
        assert_eq!(Release::parse("1.37.2").unwrap(), DEFAULT_RELEASE);
        assert_eq!(DEFAULT_RELEASE.minor_version(), "1.37");
        assert_eq!(DEFAULT_RELEASE.minor(), 37);
        let err = format!("{:#}", Release::parse("1.36.1").unwrap_err());
        assert!(err.contains("v1.35.4, v1.36.3, v1.37.2"), "{err}");
        // Oldest first, no two alike, the default among them.
        assert!(
            RELEASES
                .windows(2)
                .all(|w| w[0].minor_version() < w[1].minor_version())
        );
        assert!(RELEASES.contains(&DEFAULT_RELEASE));
    }

    #[test]
    fn the_k8s_openapi_feature_names_the_default_minor() {
        let manifest =
            fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml"))
                .unwrap();
        let feature = format!("v{}", DEFAULT_RELEASE.minor_version().replace('.', "_"));
        assert!(
            manifest.contains(&format!("features = [\"{feature}\"]")),
            "the workspace's k8s-openapi feature is not {feature}"
        );
    }

    #[test]
    fn fnv_matches_reference_vectors() {
        let mut h = Fnv64::new();
        assert_eq!(h.finish(), 0xcbf29ce484222325);
        h.write(b"a");
        assert_eq!(h.finish(), 0xaf63dc4c8601ec8c);
    }
}
