//! The test harness: the control plane, the controller as a real process
//! under its generated RBAC and fence, User fixtures and waiting.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crdforge_envtest::Instance;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, ResourceExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use user_controller::api::{Role, User, UserSpec};

/// Tests run one at a time: each starts its own controller, and two
/// controllers would both act on every User.
pub(crate) static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub(crate) fn workspace() -> PathBuf {
    crdforge_envtest::workspace_root().expect("tests run through cargo")
}

/// A client for the control plane, with the generated User CRD applied
/// (its conversion webhook a Service that does not exist here: v1, the
/// storage version, never needs it) and no User admission webhook left
/// registered by a failed run of `webhooks.rs`.
pub(crate) async fn client() -> Client {
    let client = crdforge_envtest::client()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    remove_admission_webhooks(&client).await;
    let yaml =
        std::fs::read_to_string(workspace().join("generated/crds/users.example.com.yaml")).unwrap();
    let crd: CustomResourceDefinition = serde_saphyr::from_str(&yaml).unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.patch(
        "users.example.com",
        &PatchParams::apply("user-controller-e2e").force(),
        &Patch::Apply(&crd),
    )
    .await
    .unwrap();
    tokio::time::timeout(
        Duration::from_secs(30),
        await_condition(crds, "users.example.com", conditions::is_crd_established()),
    )
    .await
    .unwrap()
    .unwrap();
    client
}

/// Deletes the User admission webhook configurations, if registered.
pub(crate) async fn remove_admission_webhooks(client: &Client) {
    let manifests =
        user_controller::api::webhooks::webhooks(user_controller::api::webhooks::in_cluster())
            .manifests();
    let validating = manifests.validating.unwrap().name_any();
    let mutating = manifests.mutating.unwrap().name_any();
    for result in [
        Api::<ValidatingWebhookConfiguration>::all(client.clone())
            .delete(&validating, &Default::default())
            .await
            .map(|_| ()),
        Api::<MutatingWebhookConfiguration>::all(client.clone())
            .delete(&mutating, &Default::default())
            .await
            .map(|_| ()),
    ] {
        match result {
            Ok(()) => {}
            Err(kube::Error::Api(status)) if status.is_not_found() => {}
            Err(e) => panic!("removing a User admission webhook: {e}"),
        }
    }
}

/// kubectl, as built by envtest, for applying generated manifests.
pub(crate) fn kubectl(args: &[&str]) -> std::process::Output {
    let instance = Instance::from_env();
    let state = instance.state().unwrap().expect("a running instance");
    Command::new(state.binaries.join("kubectl"))
        .arg("--kubeconfig")
        .arg(instance.kubeconfig())
        .args(args)
        .output()
        .unwrap()
}

/// A User to create, built up by chained calls.
pub(crate) struct UserFixture(User);

pub(crate) fn user(name: &str) -> UserFixture {
    UserFixture(User::new(
        name,
        UserSpec {
            display_name: format!("{name} (test)"),
            email: format!("{name}@example.com"),
            role: Role::Admin,
            groups: Vec::new(),
            quota: None,
        },
    ))
}

impl UserFixture {
    pub(crate) fn role(mut self, role: Role) -> Self {
        self.0.spec.role = role;
        self
    }
    pub(crate) fn groups(mut self, groups: &[&str]) -> Self {
        self.0.spec.groups = groups.iter().map(|g| g.to_string()).collect();
        self
    }
    pub(crate) fn quota(mut self, hard: &[(&str, &str)]) -> Self {
        self.0.spec.quota = Some(
            hard.iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        k8s_openapi::apimachinery::pkg::api::resource::Quantity(v.to_string()),
                    )
                })
                .collect::<BTreeMap<_, _>>(),
        );
        self
    }
    pub(crate) fn build(self) -> User {
        self.0
    }
}

/// Polls `check` every 200 ms until it returns `Some`, or panics after
/// `limit` naming what was awaited.
pub(crate) async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The Ready condition's status and reason.
pub(crate) fn ready(user: &User) -> Option<(String, String)> {
    user.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status.clone(), c.reason.clone()))
}

/// Waits until the User's Ready condition has this status and reason.
pub(crate) async fn wait_ready(users: &Api<User>, name: &str, status: &str, reason: &str) -> User {
    eventually(
        &format!("{name} Ready={status} ({reason})"),
        Duration::from_secs(60),
        || async {
            let user = users.get_opt(name).await.ok()??;
            (ready(&user) == Some((status.to_string(), reason.to_string()))).then_some(user)
        },
    )
    .await
}

/// Deletes Users and waits until they are gone (their finalizer released).
pub(crate) async fn delete_users(users: &Api<User>, names: &[&str]) {
    for name in names {
        let _ = users.delete(name, &Default::default()).await;
    }
    for name in names {
        eventually(
            &format!("{name} deleted"),
            Duration::from_secs(60),
            || async {
                users
                    .get_opt(name)
                    .await
                    .ok()
                    .and_then(|u| u.is_none().then_some(()))
            },
        )
        .await;
    }
}

/// How the controller process is started.
#[derive(Clone, Default)]
pub(crate) struct ControllerOptions {
    /// Leader election with short timings, as this identity.
    pub(crate) leader: Option<String>,
    /// Serve the webhooks over TLS on this port, with this certificate and
    /// key.
    pub(crate) webhook: Option<(u16, PathBuf, PathBuf)>,
    /// Another kubeconfig than [`controller_kubeconfig`] (the same account
    /// through a proxy, say).
    pub(crate) kubeconfig: Option<PathBuf>,
}

/// The controller's ServiceAccount, as `request.userInfo.username` has it.
pub(crate) const SERVICE_ACCOUNT: &str =
    "system:serviceaccount:user-controller-system:user-controller";
/// The namespace the generated RBAC gives the controller its Lease in.
pub(crate) const CONTROLLER_NAMESPACE: &str = "user-controller-system";

/// `kubectl apply --server-side` of a generated manifest.
pub(crate) fn apply_generated(file: &str) {
    let path = workspace()
        .join("generated/deploy/user-controller")
        .join(file);
    let out = kubectl(&["apply", "--server-side", "-f", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "applying {file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The escalation the fence exists to stop, as the controller's
/// ServiceAccount (impersonated by the admin); returns kubectl's output.
/// With `dry_run`, nothing is stored even if it is allowed.
pub(crate) fn try_escalation(dry_run: bool) -> std::process::Output {
    let mut args = vec![
        "create",
        "rolebinding",
        "escalate",
        "-n",
        "kube-system",
        "--clusterrole=admin",
        "--user=mallory",
        "--as",
        SERVICE_ACCOUNT,
    ];
    if dry_run {
        args.push("--dry-run=server");
    }
    kubectl(&args)
}

/// The message the fence denies a namespaced write outside managed
/// namespaces with (from the generated policy).
pub(crate) const FENCE_MESSAGE: &str = "user-controller may write this resource only in namespaces labelled app.kubernetes.io/managed-by=user-controller";

/// A kubeconfig that authenticates as the controller's ServiceAccount with a
/// real token, after the generated RBAC and fence are applied and the fence
/// is in force. Every controller these tests start runs with it: what the
/// suite proves, it proves under least privilege and the fence.
pub(crate) fn controller_kubeconfig() -> PathBuf {
    static KUBECONFIG: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    KUBECONFIG
        .get_or_init(|| {
            apply_generated("rbac.yaml");
            apply_generated("fence.yaml");
            let out = kubectl(&[
                "create",
                "token",
                "user-controller",
                "-n",
                CONTROLLER_NAMESPACE,
                "--duration=4h",
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let token = String::from_utf8(out.stdout).unwrap();
            let path = Instance::from_env()
                .dir()
                .join("user-controller.kubeconfig");
            Instance::from_env()
                .write_token_kubeconfig(&path, "user-controller", &token)
                .unwrap();
            // A new policy takes effect once the apiserver has loaded and
            // type-checked it, about a second later: wait until it denies.
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            loop {
                let out = try_escalation(true);
                let stderr = String::from_utf8_lossy(&out.stderr);
                if !out.status.success() && stderr.contains(FENCE_MESSAGE) {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "the fence is not in force after 30 s: {stderr}"
                );
                std::thread::sleep(Duration::from_millis(250));
            }
            path
        })
        .clone()
}

/// The leader-election timings replicas run with (short, for tests).
pub(crate) const LEASE: Duration = Duration::from_secs(4);
/// See [`LEASE`].
pub(crate) const RENEW: Duration = Duration::from_secs(3);
/// See [`LEASE`].
pub(crate) const RETRY: Duration = Duration::from_millis(500);

/// The controller binary, running.
pub(crate) struct ControllerProcess {
    child: Option<Child>,
    pub(crate) metrics: SocketAddr,
    pub(crate) log: PathBuf,
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl ControllerProcess {
    /// Starts the controller with its account directory in `directory`.
    pub(crate) fn start(directory: &Path, options: &ControllerOptions) -> Self {
        std::fs::create_dir_all(directory).unwrap();
        let metrics: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let name = options.leader.clone().unwrap_or_else(|| "single".into());
        let log = directory.join(format!("controller-{name}-{}.log", metrics.port()));
        let out = std::fs::File::create(&log).unwrap();
        let kubeconfig = options
            .kubeconfig
            .clone()
            .unwrap_or_else(controller_kubeconfig);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_user-controller"));
        cmd.arg("--directory")
            .arg(directory)
            .arg("--metrics-addr")
            .arg(metrics.to_string())
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "info,kube=warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        if let Some((port, cert, key)) = &options.webhook {
            cmd.arg(format!("--webhook-addr=127.0.0.1:{port}"))
                .arg("--tls-cert")
                .arg(cert)
                .arg("--tls-key")
                .arg(key);
        }
        if let Some(identity) = &options.leader {
            cmd.args(["--leader-elect", "--identity", identity])
                .args(["--lease-duration", &LEASE.as_secs().to_string()])
                .args(["--renew-deadline", &RENEW.as_secs().to_string()])
                .args(["--retry-period-ms", &RETRY.as_millis().to_string()])
                .args(["--lease-name", "user-controller-e2e"])
                .args(["--lease-namespace", CONTROLLER_NAMESPACE]);
        }
        Self {
            child: Some(cmd.spawn().unwrap()),
            metrics,
            log,
        }
    }

    /// SIGKILL, as a crash or an OOM kill would.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the graceful exit.
    pub(crate) fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = rustix::process::Pid::from_child(&child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        child.wait().unwrap()
    }

    /// The body of GET `path` on the metrics port.
    pub(crate) async fn get(&self, path: &str) -> Option<(u16, String)> {
        let mut stream = tokio::net::TcpStream::connect(self.metrics).await.ok()?;
        stream
            .write_all(
                format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
            )
            .await
            .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await.ok()?;
        let status = response.split_whitespace().nth(1)?.parse().ok()?;
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())?;
        Some((status, body))
    }

    /// Waits until `/readyz` answers 200.
    pub(crate) async fn wait_ready(&self) {
        eventually(
            "the controller's /readyz",
            Duration::from_secs(60),
            || async { matches!(self.get("/readyz").await, Some((200, _))).then_some(()) },
        )
        .await;
    }

    /// The value of a metric: `name{labels}` names one sample exactly, a bare
    /// name sums every sample of that name. Fails, with the log, when
    /// `/metrics` cannot be read or has no such sample: a zero read from a
    /// missing endpoint or series would pass "nothing failed" for nothing.
    pub(crate) async fn metric(&self, series: &str) -> f64 {
        let body = match self.get("/metrics").await {
            Some((200, body)) => body,
            other => panic!(
                "cannot read /metrics on {}: {other:?}\n{}",
                self.metrics,
                self.log_text()
            ),
        };
        let values: Vec<f64> = body
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit_once(' '))
            .filter(|(sample, _)| {
                *sample == series
                    || (!series.contains('{')
                        && sample.split_once('{').map(|(name, _)| name) == Some(series))
            })
            .map(|(sample, value)| {
                value
                    .parse::<f64>()
                    .unwrap_or_else(|e| panic!("{sample}: value {value:?}: {e}"))
            })
            .collect();
        assert!(
            !values.is_empty(),
            "no sample {series} on /metrics of {}:\n{body}",
            self.metrics
        );
        values.iter().sum()
    }

    /// The log so far, for assertion messages.
    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A fresh directory for one test's account directory and logs.
pub(crate) fn test_dir(name: &str) -> PathBuf {
    let dir = Instance::from_env()
        .dir()
        .join("user-controller-e2e")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The journal lines of the file directory.
pub(crate) fn journal(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("journal.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Lines of the journal about one user, by verb.
pub(crate) fn journal_count(dir: &Path, verb: &str, user: &User) -> usize {
    let uid = user.uid().unwrap();
    journal(dir)
        .iter()
        .filter(|l| l.starts_with(verb) && l.contains(&uid))
        .count()
}
