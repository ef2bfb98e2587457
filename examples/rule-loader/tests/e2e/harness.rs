//! The test harness: the control plane, a real Prometheus, and the Rule
//! Loader as a process under its generated RBAC.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crdforge_envtest::Instance;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use prometheus_envtest::{Prometheus, PrometheusConfig};
use rule_loader::api::{NAME, NAMESPACE, RULES_LABEL};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Tests run one at a time: every loader watches every namespace.
pub(crate) static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub(crate) fn workspace() -> PathBuf {
    crdforge_envtest::workspace_root().expect("tests run through cargo")
}

/// A client for the control plane.
pub(crate) async fn client() -> Client {
    crdforge_envtest::client()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
}

fn kubectl(args: &[&str]) -> std::process::Output {
    let instance = Instance::from_env();
    let state = instance.state().unwrap().expect("a running instance");
    Command::new(state.binaries.join("kubectl"))
        .arg("--kubeconfig")
        .arg(instance.kubeconfig())
        .args(args)
        .output()
        .unwrap()
}

/// A kubeconfig with a token of the loader's ServiceAccount, after the
/// generated RBAC is applied: every loader these tests start runs with
/// exactly the permissions `generated/deploy/rule-loader/` grants.
pub(crate) fn loader_kubeconfig() -> PathBuf {
    static KUBECONFIG: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    KUBECONFIG
        .get_or_init(|| {
            let rbac = workspace().join("generated/deploy/rule-loader/rbac.yaml");
            let out = kubectl(&["apply", "--server-side", "-f", rbac.to_str().unwrap()]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let out = kubectl(&["create", "token", NAME, "-n", NAMESPACE, "--duration=4h"]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let token = String::from_utf8(out.stdout).unwrap();
            let path = Instance::from_env().dir().join("rule-loader.kubeconfig");
            Instance::from_env()
                .write_token_kubeconfig(&path, NAME, &token)
                .unwrap();
            path
        })
        .clone()
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh directory for one test.
pub(crate) fn test_dir(name: &str) -> PathBuf {
    let dir = Instance::from_env()
        .dir()
        .join("rule-loader-e2e")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Flags of a replica under leader election, with short timings.
pub(crate) fn leader_args(identity: &str) -> Vec<String> {
    [
        "--leader-elect",
        "--identity",
        identity,
        "--lease-duration=4",
        "--renew-deadline=3",
        "--retry-period-ms=500",
        "--lease-name=rule-loader-e2e",
        "--lease-namespace",
        NAMESPACE,
    ]
    .iter()
    .map(|a| a.to_string())
    .collect()
}

/// The loader's quiet period in these tests.
pub(crate) const DEBOUNCE_MS: u64 = 300;

/// The loader binary, running.
pub(crate) struct Loader {
    child: Option<Child>,
    pub(crate) metrics: SocketAddr,
    log: PathBuf,
    args: Vec<String>,
}

impl Loader {
    /// Starts the loader writing into `rules` and reloading `prometheus`.
    pub(crate) fn start(dir: &Path, rules: &Path, prometheus: &str, extra: &[&str]) -> Self {
        let metrics: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let mut args: Vec<String> = vec![
            format!("--rules-dir={}", rules.display()),
            format!("--prometheus-url={prometheus}"),
            format!("--metrics-addr={metrics}"),
            format!("--debounce-ms={DEBOUNCE_MS}"),
            "--namespace-label=namespace".into(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let mut loader = Self {
            child: None,
            metrics,
            log: dir.join(format!("loader-{}.log", metrics.port())),
            args,
        };
        loader.spawn();
        loader
    }

    fn spawn(&mut self) {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_rule-loader"))
            .args(&self.args)
            .env("KUBECONFIG", loader_kubeconfig())
            .env("RUST_LOG", "info,kube=warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// SIGKILL, as a crash or an OOM kill would.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again with the same flags (and metrics port).
    pub(crate) fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Whether the process still runs.
    pub(crate) fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// The pid, while running.
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    async fn get(&self, path: &str) -> Option<(u16, String)> {
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
        eventually("the loader's /readyz", Duration::from_secs(60), || async {
            matches!(self.get("/readyz").await, Some((200, _))).then_some(())
        })
        .await;
    }

    /// A metric's value (summed over its series); fails when absent.
    pub(crate) async fn metric(&self, name: &str) -> f64 {
        let body = match self.get("/metrics").await {
            Some((200, body)) => body,
            other => panic!("cannot read /metrics: {other:?}\n{}", self.log_text()),
        };
        let values: Vec<f64> = body
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit_once(' '))
            .filter(|(sample, _)| {
                *sample == name || sample.split_once('{').map(|(n, _)| n) == Some(name)
            })
            .map(|(_, v)| v.parse().unwrap())
            .collect();
        assert!(!values.is_empty(), "no sample {name} on /metrics:\n{body}");
        values.iter().sum()
    }

    /// The log so far.
    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One test's world: a directory, Prometheus loading its rule directory,
/// and a loader writing it.
pub(crate) struct Env {
    pub(crate) client: Client,
    pub(crate) rules: PathBuf,
    pub(crate) prometheus: Prometheus,
    pub(crate) loader: Loader,
}

impl Env {
    pub(crate) async fn start(name: &str) -> Self {
        Self::start_with(name, &[]).await
    }

    pub(crate) async fn start_with(name: &str, extra: &[&str]) -> Self {
        let client = client().await;
        delete_all_rule_configmaps(&client).await;
        let dir = test_dir(name);
        let rules = dir.join("rules");
        std::fs::create_dir_all(&rules).unwrap();
        let prometheus = Prometheus::start(
            &dir.join("prometheus"),
            PrometheusConfig::rules(format!("{}/*.yaml", rules.display())),
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
        let loader = Loader::start(&dir, &rules, &prometheus.url(), extra);
        loader.wait_ready().await;
        Self {
            client,
            rules,
            prometheus,
            loader,
        }
    }

    /// The groups Prometheus has loaded: name → (file, rule names).
    pub(crate) fn groups(&self) -> BTreeMap<String, (String, Vec<String>)> {
        let (status, body) = self.prometheus.get("/api/v1/rules").unwrap();
        assert_eq!(status, 200, "{body}");
        let json: Value = serde_json::from_str(&body).unwrap();
        json["data"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                let rules = g["rules"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["name"].as_str().unwrap().to_string())
                    .collect();
                (
                    g["name"].as_str().unwrap().to_string(),
                    (g["file"].as_str().unwrap().to_string(), rules),
                )
            })
            .collect()
    }

    /// Waits until `check` holds of the loaded groups.
    pub(crate) async fn wait_groups(
        &self,
        what: &str,
        check: impl Fn(&BTreeMap<String, (String, Vec<String>)>) -> bool,
    ) -> BTreeMap<String, (String, Vec<String>)> {
        eventually(what, Duration::from_secs(30), || async {
            let groups = self.groups();
            check(&groups).then_some(groups)
        })
        .await
    }

    /// The rule files on disk.
    pub(crate) fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.rules)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yaml"))
            .collect();
        names.sort();
        names
    }

    /// When Prometheus last loaded its configuration and rule files
    /// (`/api/v1/status/runtimeinfo`), and whether that succeeded.
    pub(crate) fn last_reload(&self) -> (String, bool) {
        let (status, body) = self.prometheus.get("/api/v1/status/runtimeinfo").unwrap();
        assert_eq!(status, 200, "{body}");
        let json: Value = serde_json::from_str(&body).unwrap();
        let data = &json["data"];
        let time = data["lastConfigTime"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"));
        (time.to_string(), data["reloadConfigSuccess"] == true)
    }

    /// The rule files on disk of ConfigMaps in `namespace`.
    pub(crate) fn files_of(&self, namespace: &str) -> Vec<String> {
        let prefix = format!("{namespace}_");
        self.files()
            .into_iter()
            .filter(|f| f.starts_with(&prefix))
            .collect()
    }
}

/// Deletes every labelled ConfigMap in the cluster, so each test starts from
/// none, whatever an earlier (failed) test left.
async fn delete_all_rule_configmaps(client: &Client) {
    let all: Api<ConfigMap> = Api::all(client.clone());
    let selector = rule_loader::api::rules_selector();
    let list = all
        .list(&kube::api::ListParams::default().labels(&selector))
        .await
        .unwrap();
    for cm in &list.items {
        delete(client, &cm.namespace().unwrap(), &[&cm.name_any()]).await;
    }
    eventually(
        "no labelled ConfigMaps left",
        Duration::from_secs(30),
        || async {
            let left = all
                .list(&kube::api::ListParams::default().labels(&selector))
                .await
                .ok()?;
            left.items.is_empty().then_some(())
        },
    )
    .await;
}

/// Creates the namespace if needed.
pub(crate) async fn namespace(client: &Client, name: &str) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    match namespaces.create(&PostParams::default(), &ns).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => panic!("creating namespace {name}: {e}"),
    }
}

/// A labelled ConfigMap with these files.
pub(crate) fn rules_configmap(namespace: &str, name: &str, files: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            labels: Some([(RULES_LABEL.0.to_string(), RULES_LABEL.1.to_string())].into()),
            ..ObjectMeta::default()
        },
        data: Some(
            files
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        ..ConfigMap::default()
    }
}

/// Applies a ConfigMap as the test (server-side, forced).
pub(crate) async fn apply(client: &Client, cm: &ConfigMap) -> ConfigMap {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &cm.namespace().unwrap());
    let mut cm = cm.clone();
    cm.metadata.managed_fields = None;
    cm.metadata.resource_version = None;
    let mut body = serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": cm.name_any(), "namespace": cm.namespace(), "labels": cm.metadata.labels},
    });
    if let Some(data) = &cm.data {
        body["data"] = serde_json::to_value(data).unwrap();
    }
    if let Some(binary) = &cm.binary_data {
        body["binaryData"] = serde_json::to_value(binary).unwrap();
    }
    api.patch(
        &cm.name_any(),
        &PatchParams::apply("rule-loader-e2e").force(),
        &Patch::Apply(body),
    )
    .await
    .unwrap_or_else(|e| panic!("applying {}: {e}", cm.name_any()))
}

/// Deletes ConfigMaps, ignoring those already gone.
pub(crate) async fn delete(client: &Client, namespace: &str, names: &[&str]) {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    for name in names {
        let _ = api.delete(name, &DeleteParams::default()).await;
    }
}

/// A recording rule file with one group.
pub(crate) fn recording(group: &str, record: &str, expr: &str) -> String {
    format!(
        "groups:\n  - name: {group}\n    rules:\n      - record: {record}\n        expr: {expr:?}\n"
    )
}
