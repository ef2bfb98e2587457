//! One control plane: etcd, kube-apiserver and kube-controller-manager on
//! loopback, with the state needed to find, restart and stop them later.
//!
//! An instance lives in a directory (by default `target/envtest/<name>` in the
//! workspace) holding its certificates, kubeconfigs, etcd data, one log per
//! component and `state.json`, which records ports, pids and the exact command
//! lines. Commands in other processes (`envtest down`, a test that restarts the
//! apiserver) work from that file alone.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::assets::{self, Binaries, Provenance, Release};
use crate::pki::{ADMIN_USER, Pki};
use crate::process::{self, Launched};

/// A component of the control plane, in start order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Component {
    /// etcd, the store.
    Etcd,
    /// kube-apiserver.
    KubeApiserver,
    /// kube-controller-manager, for garbage collection, namespace deletion,
    /// service accounts, quotas and aggregated cluster roles.
    KubeControllerManager,
}

impl Component {
    /// All components in start order; stop in reverse.
    pub const ALL: [Component; 3] = [
        Component::Etcd,
        Component::KubeApiserver,
        Component::KubeControllerManager,
    ];

    /// The component's usual name, also its log file's stem.
    pub fn name(self) -> &'static str {
        match self {
            Component::Etcd => "etcd",
            Component::KubeApiserver => "kube-apiserver",
            Component::KubeControllerManager => "kube-controller-manager",
        }
    }

    /// Parses a component name as users type it.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "etcd" => Ok(Component::Etcd),
            "kube-apiserver" | "apiserver" => Ok(Component::KubeApiserver),
            "kube-controller-manager" | "controller-manager" => {
                Ok(Component::KubeControllerManager)
            }
            other => bail!(
                "unknown component `{other}`; expected one of: etcd, kube-apiserver, kube-controller-manager"
            ),
        }
    }
}

/// How long each component may take to become ready. Generous for two busy
/// cores; a component that exits early is reported at once instead.
fn ready_timeout(component: Component) -> Duration {
    match component {
        Component::Etcd => Duration::from_secs(30),
        Component::KubeApiserver => Duration::from_secs(120),
        Component::KubeControllerManager => Duration::from_secs(90),
    }
}

/// Ports the instance listens on, all on 127.0.0.1.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ports {
    /// etcd clients.
    pub etcd_client: u16,
    /// etcd peers (unused by a single member, but must not collide).
    pub etcd_peer: u16,
    /// kube-apiserver's secure port.
    pub apiserver: u16,
    /// kube-controller-manager's secure port.
    pub controller_manager: u16,
}

/// The contents of `state.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// Kubernetes release.
    pub kubernetes_version: String,
    /// etcd release.
    pub etcd_version: String,
    /// Where the binaries are.
    pub binaries: PathBuf,
    /// Listening ports.
    pub ports: Ports,
    /// Command-line arguments of each component, for restarts.
    pub args: Vec<(Component, Vec<String>)>,
    /// Running processes.
    pub processes: Vec<(Component, Launched)>,
    /// Seconds from the first start until everything was ready.
    pub ready_seconds: f64,
}

/// A control plane instance, running or not.
#[derive(Debug, Clone)]
pub struct Instance {
    dir: PathBuf,
    /// The release to start; `None` is [`Release::selected`] at start.
    release: Option<Release>,
}

/// The outcome of [`Instance::start`].
#[derive(Debug)]
pub struct Started {
    /// Whether the binaries were cached or just built (and how long that took).
    pub provenance: Provenance,
    /// Time from starting etcd until kube-controller-manager was ready.
    pub ready_in: Duration,
    /// The release it runs.
    pub release: Release,
}

impl Instance {
    /// The instance with the given name under the workspace's target directory.
    pub fn named(name: &str) -> Self {
        Self {
            dir: instances_root().join(name),
            release: None,
        }
    }

    /// The instance tests should use: `$CRDFORGE_ENVTEST_DIR` when set (as
    /// `envtest run` does), else the `default` instance that `envtest up` starts.
    pub fn from_env() -> Self {
        match std::env::var_os("CRDFORGE_ENVTEST_DIR") {
            Some(dir) => Self::at(PathBuf::from(dir)),
            None => Self::named("default"),
        }
    }

    /// The instance in `dir`.
    pub fn at(dir: PathBuf) -> Self {
        Self { dir, release: None }
    }

    /// The same instance, started with `release` rather than the one
    /// [`Release::selected`] picks.
    pub fn with_release(mut self, release: Release) -> Self {
        self.release = Some(release);
        self
    }

    /// The instance directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The admin kubeconfig (user `crdforge-admin`, group `system:masters`).
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("admin.kubeconfig")
    }

    /// Writes a kubeconfig at `path` that authenticates with a bearer token
    /// (a ServiceAccount's, say) instead of the admin certificate, so a
    /// process can run with exactly that account's permissions.
    pub fn write_token_kubeconfig(&self, path: &Path, user: &str, token: &str) -> Result<()> {
        let state = self
            .state()?
            .with_context(|| format!("no envtest instance in {}", self.dir.display()))?;
        let text = format!(
            "apiVersion: v1\n\
             kind: Config\n\
             clusters:\n\
             - name: envtest\n  cluster:\n    server: https://127.0.0.1:{port}\n    certificate-authority: {ca:?}\n\
             users:\n\
             - name: {user:?}\n  user:\n    token: {token:?}\n\
             contexts:\n\
             - name: envtest\n  context:\n    cluster: envtest\n    user: {user:?}\n\
             current-context: envtest\n",
            port = state.ports.apiserver,
            ca = Pki::at(&self.dir.join("pki")).ca_cert.display().to_string(),
            token = token.trim(),
        );
        fs::write(path, text).with_context(|| format!("writing {}", path.display()))
    }

    /// The apiserver's audit log: one `Metadata`-level event per request
    /// made by a ServiceAccount outside `kube-system` (controllers under
    /// test, not the control plane's own), JSON lines. Written unless the
    /// instance was started with an `--audit-policy-file` of its own.
    pub fn audit_log(&self) -> PathBuf {
        self.dir.join("audit.log")
    }

    /// The log file of a component.
    pub fn log(&self, component: Component) -> PathBuf {
        self.dir.join(format!("{}.log", component.name()))
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// The recorded state, if the instance was ever started.
    pub fn state(&self) -> Result<Option<State>> {
        let path = self.state_path();
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
                format!("{} is not a valid state file", path.display())
            })?)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).with_context(|| format!("reading {}", path.display())),
        }
    }

    fn save(&self, state: &State) -> Result<()> {
        let tmp = self.dir.join("state.json.tmp");
        fs::write(&tmp, serde_json::to_vec_pretty(state)?)?;
        fs::rename(&tmp, self.state_path())?;
        Ok(())
    }

    /// Which components are running now.
    pub fn running(&self) -> Result<Vec<(Component, Launched)>> {
        Ok(self
            .state()?
            .map(|s| s.processes)
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, launched)| process::is_running(launched))
            .collect())
    }

    /// Builds or finds the binaries, then starts all three components and
    /// waits until each is ready. Refuses if this instance is already running;
    /// clears the leftovers of a crashed one.
    pub fn start(&self) -> Result<Started> {
        self.start_with_apiserver_args(&[])
    }

    /// [`Instance::start`], with `extra` appended to kube-apiserver's
    /// command line (an audit log for a benchmark that counts requests, say).
    pub fn start_with_apiserver_args(&self, extra: &[String]) -> Result<Started> {
        if let Some((component, launched)) = self.running()?.into_iter().next() {
            let name = self.dir.file_name().unwrap_or_default().to_string_lossy();
            let flag = if name == "default" {
                String::new()
            } else {
                format!(" --name {name}")
            };
            bail!(
                "envtest instance {} is already running ({} pid {}); stop it with `{} down{flag}`",
                self.dir.display(),
                component.name(),
                launched.pid,
                crate::tool_name()
            );
        }
        let release = match self.release {
            Some(release) => release,
            None => Release::selected()?,
        };
        let (binaries, provenance) = assets::ensure_release(release)?;
        if self.dir.exists() {
            fs::remove_dir_all(&self.dir)
                .with_context(|| format!("clearing {}", self.dir.display()))?;
        }
        fs::create_dir_all(&self.dir)?;
        let pki = Pki::generate(&self.dir.join("pki"))?;
        let ports = Ports {
            etcd_client: free_port()?,
            etcd_peer: free_port()?,
            apiserver: free_port()?,
            controller_manager: free_port()?,
        };
        write_kubeconfig(
            &self.kubeconfig(),
            ports.apiserver,
            &pki.ca_cert,
            &pki.admin_cert,
            &pki.admin_key,
            ADMIN_USER,
        )?;
        let kcm_kubeconfig = self.dir.join("controller-manager.kubeconfig");
        write_kubeconfig(
            &kcm_kubeconfig,
            ports.apiserver,
            &pki.ca_cert,
            &pki.controller_manager_cert,
            &pki.controller_manager_key,
            "system:kube-controller-manager",
        )?;

        // A caller with its own audit policy (a benchmark counting the
        // admin's requests) replaces this one rather than fight over flags.
        let audit = if extra.iter().any(|a| a.starts_with("--audit-policy-file")) {
            Vec::new()
        } else {
            let policy = self.dir.join("audit-policy.yaml");
            fs::write(&policy, AUDIT_POLICY)?;
            vec![
                format!("--audit-policy-file={}", policy.display()),
                format!("--audit-log-path={}", self.audit_log().display()),
                // Written before the response is sent, so a test that saw
                // the answer finds the event.
                "--audit-log-mode=blocking".into(),
                "--audit-log-maxsize=0".into(),
            ]
        };
        let args = vec![
            (Component::Etcd, etcd_args(&self.dir, &ports)),
            (
                Component::KubeApiserver,
                apiserver_args(&self.dir, &ports, &pki, release)
                    .into_iter()
                    .chain(audit)
                    .chain(extra.iter().cloned())
                    .collect(),
            ),
            (
                Component::KubeControllerManager,
                controller_manager_args(&ports, &pki, &kcm_kubeconfig),
            ),
        ];
        let mut state = State {
            kubernetes_version: release.kubernetes.into(),
            etcd_version: release.etcd.into(),
            binaries: binaries.dir.clone(),
            ports,
            args,
            processes: Vec::new(),
            ready_seconds: 0.0,
        };

        let started = Instant::now();
        for component in Component::ALL {
            let launched = self.launch(&state, component)?;
            state.processes.push((component, launched));
            // Saved after each start so that `down` finds whatever did start
            // even if a later component fails.
            self.save(&state)?;
            if let Err(err) = self.wait_ready(&state, component) {
                let _ = self.stop();
                return Err(err);
            }
        }
        state.ready_seconds = started.elapsed().as_secs_f64();
        self.save(&state)?;
        Ok(Started {
            provenance,
            ready_in: started.elapsed(),
            release,
        })
    }

    fn launch(&self, state: &State, component: Component) -> Result<Launched> {
        let binaries = Binaries {
            dir: state.binaries.clone(),
        };
        let binary = match component {
            Component::Etcd => binaries.etcd(),
            Component::KubeApiserver => binaries.kube_apiserver(),
            Component::KubeControllerManager => binaries.kube_controller_manager(),
        };
        let args = state
            .args
            .iter()
            .find(|(c, _)| *c == component)
            .map(|(_, a)| a.clone())
            .context("state.json has no arguments for the component")?;
        process::spawn(&binary, &args, &self.log(component))
    }

    /// Waits until `component` is ready, failing early with its log when it
    /// exits, and with a timeout naming it otherwise.
    fn wait_ready(&self, state: &State, component: Component) -> Result<()> {
        let launched = state
            .processes
            .iter()
            .find(|(c, _)| *c == component)
            .map(|(_, l)| l.clone())
            .context("component was not started")?;
        let deadline = Instant::now() + ready_timeout(component);
        loop {
            if !process::is_running(&launched) {
                bail!(
                    "{} exited during start-up; last lines of {}:\n{}",
                    component.name(),
                    self.log(component).display(),
                    process::tail(&self.log(component), 25)
                );
            }
            let last_problem = match self.probe(state, component) {
                Ok(()) => return Ok(()),
                Err(problem) => problem,
            };
            if Instant::now() >= deadline {
                bail!(
                    "{} did not become ready within {} s ({last_problem}); last lines of {}:\n{}",
                    component.name(),
                    ready_timeout(component).as_secs(),
                    self.log(component).display(),
                    process::tail(&self.log(component), 25)
                );
            }
            sleep(Duration::from_millis(250));
        }
    }

    /// One readiness check. etcd answers `/health` over plain HTTP. The
    /// apiserver's `/readyz` and the controller manager's effect are checked
    /// through kubectl, which saves this crate an HTTP and TLS stack: the
    /// controller manager counts as ready once its service-account controller
    /// has created `default/default`, which proves it is connected, authorised
    /// and running controllers.
    fn probe(&self, state: &State, component: Component) -> std::result::Result<(), String> {
        match component {
            Component::Etcd => etcd_healthy(state.ports.etcd_client),
            Component::KubeApiserver => self
                .kubectl(state, &["get", "--raw", "/readyz"])
                .map(|_| ()),
            Component::KubeControllerManager => self
                .kubectl(
                    state,
                    &[
                        "get",
                        "serviceaccount",
                        "default",
                        "--namespace",
                        "default",
                        "-o",
                        "name",
                    ],
                )
                .map(|_| ()),
        }
    }

    fn kubectl(&self, state: &State, args: &[&str]) -> std::result::Result<String, String> {
        let out = Command::new(state.binaries.join("kubectl"))
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .arg("--request-timeout=5s")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running kubectl: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }

    /// Stops every running component, newest first. Idempotent.
    pub fn stop(&self) -> Result<Vec<Component>> {
        let Some(mut state) = self.state()? else {
            return Ok(Vec::new());
        };
        let mut stopped = Vec::new();
        let mut failures = Vec::new();
        for (component, launched) in state.processes.iter().rev() {
            if process::is_running(launched) {
                match process::stop(launched, Duration::from_secs(10)) {
                    Ok(()) => stopped.push(*component),
                    Err(err) => failures.push(format!("{}: {err}", component.name())),
                }
            }
        }
        state.processes.clear();
        self.save(&state)?;
        if !failures.is_empty() {
            bail!("could not stop: {}", failures.join("; "));
        }
        Ok(stopped)
    }

    /// Stops one component (gracefully, or with SIGKILL as a crash would)
    /// and starts it again with the same arguments, then waits until it is
    /// ready. Clients reconnect to the same port; etcd keeps its data.
    pub fn restart(&self, component: Component, crash: bool) -> Result<()> {
        let mut state = self
            .state()?
            .with_context(|| format!("no envtest instance in {}", self.dir.display()))?;
        if let Some(pos) = state.processes.iter().position(|(c, _)| *c == component) {
            let (_, launched) = state.processes.remove(pos);
            if crash {
                process::kill(&launched)?;
            } else {
                process::stop(&launched, Duration::from_secs(10))?;
            }
        }
        // A killed process can look gone (its pid a zombie) a moment before
        // the kernel has closed its listening socket; binding then fails
        // with "address already in use". Wait until the ports are free.
        for port in ports_of(&state.ports, component) {
            wait_port_free(port, Duration::from_secs(15))
                .with_context(|| format!("{} cannot restart", component.name()))?;
        }
        let launched = self.launch(&state, component)?;
        state.processes.push((component, launched));
        state.processes.sort_by_key(|(c, _)| *c);
        self.save(&state)?;
        self.wait_ready(&state, component)
    }
}

/// Where named instances live: `envtest/` in the target directory of the
/// workspace being run or tested (see [`crate::workspace_root`]), or in the
/// system's temporary directory when no workspace can be found.
pub fn instances_root() -> PathBuf {
    crate::workspace::target_dir()
        .unwrap_or_else(|_| std::env::temp_dir())
        .join("envtest")
}

/// The ports a component listens on.
fn ports_of(ports: &Ports, component: Component) -> Vec<u16> {
    match component {
        Component::Etcd => vec![ports.etcd_client, ports.etcd_peer],
        Component::KubeApiserver => vec![ports.apiserver],
        Component::KubeControllerManager => vec![ports.controller_manager],
    }
}

/// Waits until `port` on 127.0.0.1 can be bound, or fails after `limit`.
fn wait_port_free(port: u16, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("port {port} is still in use after {} s", limit.as_secs());
        }
        sleep(Duration::from_millis(50));
    }
}

/// Asks the kernel for a free port. Another process could take it before the
/// component binds it; the component then exits at once and the start-up
/// error shows the "address already in use" line from its log.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

fn etcd_args(dir: &Path, ports: &Ports) -> Vec<String> {
    let client = format!("http://127.0.0.1:{}", ports.etcd_client);
    let peer = format!("http://127.0.0.1:{}", ports.etcd_peer);
    vec![
        "--name=default".into(),
        format!("--data-dir={}", dir.join("etcd-data").display()),
        format!("--listen-client-urls={client}"),
        format!("--advertise-client-urls={client}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=default={peer}"),
        // A throwaway test store: skipping fsync makes every write several
        // times faster on shared disks, and durability across power loss is
        // not something these tests need.
        "--unsafe-no-fsync".into(),
        "--log-level=warn".into(),
    ]
}

/// See [`Instance::audit_log`]: the controller manager's controllers are
/// ServiceAccounts in `kube-system` and are left out; `RequestReceived` and
/// `ResponseStarted` are omitted so each request is one event.
const AUDIT_POLICY: &str = "apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [\"RequestReceived\", \"ResponseStarted\"]
rules:
- level: None
  userGroups: [\"system:serviceaccounts:kube-system\"]
- level: Metadata
  userGroups: [\"system:serviceaccounts\"]
- level: None
";

fn apiserver_args(dir: &Path, ports: &Ports, pki: &Pki, release: Release) -> Vec<String> {
    let mut args = vec![
        format!("--etcd-servers=http://127.0.0.1:{}", ports.etcd_client),
        "--bind-address=127.0.0.1".into(),
        "--advertise-address=127.0.0.1".into(),
        format!("--secure-port={}", ports.apiserver),
        format!("--cert-dir={}", dir.join("apiserver-certs").display()),
        format!("--tls-cert-file={}", pki.serving_cert.display()),
        format!("--tls-private-key-file={}", pki.serving_key.display()),
        format!("--client-ca-file={}", pki.ca_cert.display()),
        "--authorization-mode=RBAC".into(),
        // As OpenShift and hardened clusters do: setting blockOwnerDeletion
        // on an ownerReference needs `update` on the owner's `finalizers`
        // subresource, so a controller's RBAC that forgets it fails here.
        "--enable-admission-plugins=OwnerReferencesPermissionEnforcement".into(),
        // Dual stack, so Services may ask for both families (Leifur's IPAM
        // tests do); IPv4 first, so a Service that names no family is
        // IPv4 and SingleStack as before. A /20 leaves room for the
        // thousand LoadBalancer Services of Leifur's large IPAM run, each
        // of which needs a cluster IP.
        "--service-cluster-ip-range=10.0.0.0/20,fd00:10::/112".into(),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
        format!(
            "--service-account-key-file={}",
            pki.service_account_pub.display()
        ),
        format!(
            "--service-account-signing-key-file={}",
            pki.service_account_key.display()
        ),
        "--allow-privileged=true".into(),
        "--profiling=false".into(),
    ];
    // From 1.37 the apiserver refuses a loopback advertise address while it
    // reconciles the `kubernetes` Service's endpoints ("may not be in the
    // loopback range"); a control plane on loopback has no other address,
    // and nothing here reaches the apiserver through that Service. Earlier
    // releases keep the reconciler, as CI has always run them.
    if release.minor() >= 37 {
        args.push("--endpoint-reconciler-type=none".into());
    }
    args
}

fn controller_manager_args(ports: &Ports, pki: &Pki, kubeconfig: &Path) -> Vec<String> {
    vec![
        format!("--kubeconfig={}", kubeconfig.display()),
        "--bind-address=127.0.0.1".into(),
        format!("--secure-port={}", ports.controller_manager),
        "--leader-elect=false".into(),
        // Only what objects on an API server without nodes need: garbage
        // collection (ownerReference cascades), namespace deletion, service
        // accounts and their tokens, the root CA config map, quota usage and
        // the aggregated admin/edit/view roles.
        "--controllers=garbage-collector-controller,namespace-controller,\
         serviceaccount-controller,serviceaccount-token-controller,\
         root-ca-certificate-publisher-controller,resourcequota-controller,\
         clusterrole-aggregation-controller"
            .into(),
        // As kubeadm does: each controller acts as its own service account,
        // so RBAC is exercised as in a real cluster.
        "--use-service-account-credentials=true".into(),
        format!(
            "--service-account-private-key-file={}",
            pki.service_account_key.display()
        ),
        format!("--root-ca-file={}", pki.ca_cert.display()),
        "--profiling=false".into(),
    ]
}

fn write_kubeconfig(
    path: &Path,
    port: u16,
    ca: &Path,
    cert: &Path,
    key: &Path,
    user: &str,
) -> Result<()> {
    // Paths are quoted as YAML strings; they come from our own directories.
    let text = format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: envtest\n  cluster:\n    server: https://127.0.0.1:{port}\n    certificate-authority: {ca:?}\n\
         users:\n\
         - name: {user:?}\n  user:\n    client-certificate: {cert:?}\n    client-key: {key:?}\n\
         contexts:\n\
         - name: envtest\n  context:\n    cluster: envtest\n    user: {user:?}\n\
         current-context: envtest\n",
        ca = ca.display().to_string(),
        cert = cert.display().to_string(),
        key = key.display().to_string(),
    );
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Plain-HTTP `GET /health` against etcd's client port. Hand-rolled: one
/// loopback request does not justify an HTTP client dependency.
fn etcd_healthy(port: u16) -> std::result::Result<(), String> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    if response.contains("\"health\":\"true\"") {
        Ok(())
    } else {
        Err(format!(
            "etcd /health answered: {}",
            response.lines().last().unwrap_or("")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_names_round_trip() {
        for component in Component::ALL {
            assert_eq!(Component::parse(component.name()).unwrap(), component);
        }
        assert_eq!(
            Component::parse("apiserver").unwrap(),
            Component::KubeApiserver
        );
        let err = Component::parse("kubelet").unwrap_err().to_string();
        assert!(err.contains("unknown component `kubelet`"), "{err}");
    }

    #[test]
    fn kubeconfig_names_server_and_credentials() {
        let dir = std::env::temp_dir().join(format!("crdforge-kubeconfig-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k");
        write_kubeconfig(
            &path,
            6443,
            Path::new("/c/ca.crt"),
            Path::new("/c/a.crt"),
            Path::new("/c/a.key"),
            "admin",
        )
        .unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("server: https://127.0.0.1:6443"));
        assert!(text.contains("client-key: \"/c/a.key\""));
        assert!(text.contains("current-context: envtest"));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_never_started_instance_has_nothing_running() {
        let instance = Instance::at(std::env::temp_dir().join("crdforge-never-started"));
        assert!(instance.state().unwrap().is_none());
        assert!(instance.running().unwrap().is_empty());
        assert!(instance.stop().unwrap().is_empty());
    }

    #[test]
    fn waiting_for_a_port_ends_when_it_is_released() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let err = wait_port_free(port, Duration::from_millis(100)).unwrap_err();
        assert!(err.to_string().contains("still in use"), "{err}");
        drop(listener);
        wait_port_free(port, Duration::from_secs(5)).unwrap();
    }

    #[test]
    fn instances_live_in_the_workspace_target_dir() {
        let root = instances_root();
        assert!(root.ends_with("target/envtest"), "{}", root.display());
        assert!(
            root.parent()
                .unwrap()
                .parent()
                .unwrap()
                .join("Cargo.toml")
                .is_file()
        );
    }
}
