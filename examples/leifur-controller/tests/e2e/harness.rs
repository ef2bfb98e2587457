//! The test harness: the control plane, the IPPool CRD, and the IPAM
//! controller as a process under its generated RBAC.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crdforge_envtest::Instance;
use k8s_openapi::api::core::v1::{Event, Namespace, Service, ServicePort, ServiceSpec};
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams};
use kube::{Client, ResourceExt};
use leifur_api::{Announce, CONTROLLER_NAME, IPPool, IPPoolSpec, L2Announce, SPEAKER_NAMESPACE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Tests run one at a time: the controller sees every pool and Service.
pub(crate) static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Prefix of every namespace these tests make.
pub(crate) const NS_PREFIX: &str = "lfe-";

pub(crate) fn workspace() -> PathBuf {
    crdforge_envtest::workspace_root().expect("tests run through cargo")
}

pub(crate) async fn client() -> Client {
    crdforge_envtest::client()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
}

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

fn kubectl_ok(args: &[&str]) -> String {
    let out = kubectl(args);
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The CRD, installed once and established.
pub(crate) fn install_crd() {
    static DONE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        let crd = workspace().join("generated/crds/ippools.leifur.crdforge.dev.yaml");
        kubectl_ok(&["apply", "--server-side", "-f", crd.to_str().unwrap()]);
        kubectl_ok(&[
            "wait",
            "--for=condition=established",
            "crd/ippools.leifur.crdforge.dev",
            "--timeout=60s",
        ]);
    });
}

/// A kubeconfig with a token of the controller's ServiceAccount, after the
/// generated RBAC is applied: the controller runs with exactly the
/// permissions `generated/deploy/leifur-controller/` grants.
pub(crate) fn controller_kubeconfig() -> PathBuf {
    static KUBECONFIG: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    KUBECONFIG
        .get_or_init(|| {
            let rbac = workspace().join("generated/deploy/leifur-controller/rbac.yaml");
            kubectl_ok(&["apply", "--server-side", "-f", rbac.to_str().unwrap()]);
            let token = kubectl_ok(&[
                "create",
                "token",
                CONTROLLER_NAME,
                "-n",
                SPEAKER_NAMESPACE,
                "--duration=4h",
            ]);
            let path = Instance::from_env()
                .dir()
                .join("leifur-controller.kubeconfig");
            Instance::from_env()
                .write_token_kubeconfig(&path, CONTROLLER_NAME, &token)
                .unwrap();
            path
        })
        .clone()
}

/// Polls `check` every 100 ms until it returns `Some`, or panics after
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
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The controller binary, running.
pub(crate) struct Controller {
    child: Option<Child>,
    pub(crate) metrics: SocketAddr,
    log: PathBuf,
    args: Vec<String>,
}

impl Controller {
    /// Starts the controller with `extra` flags.
    pub(crate) fn start(test: &str, extra: &[&str]) -> Self {
        let metrics: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let mut args = vec![format!("--metrics-addr={metrics}")];
        args.extend(extra.iter().map(|a| a.to_string()));
        let dir = Instance::from_env().dir().join("leifur-e2e");
        std::fs::create_dir_all(&dir).unwrap();
        let mut controller = Self {
            child: None,
            metrics,
            log: dir.join(format!("{test}-{}.log", metrics.port())),
            args,
        };
        controller.spawn();
        controller
    }

    fn spawn(&mut self) {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_leifur-controller"))
            .args(&self.args)
            .env("KUBECONFIG", controller_kubeconfig())
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

    /// Starts again with the same flags.
    pub(crate) fn restart(&mut self) {
        self.kill();
        self.spawn();
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
        eventually(
            "the controller's /readyz",
            Duration::from_secs(60),
            || async { matches!(self.get("/readyz").await, Some((200, _))).then_some(()) },
        )
        .await;
    }

    /// The samples of a metric, as (labels text, value).
    pub(crate) async fn metric(&self, name: &str) -> Vec<(String, f64)> {
        let body = match self.get("/metrics").await {
            Some((200, body)) => body,
            other => panic!("cannot read /metrics: {other:?}\n{}", self.log_text()),
        };
        body.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit_once(' '))
            .filter(|(sample, _)| {
                *sample == name || sample.split_once('{').map(|(n, _)| n) == Some(name)
            })
            .map(|(sample, v)| (sample.to_string(), v.parse().unwrap()))
            .collect()
    }

    /// The log so far.
    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Removes what earlier tests (or failed runs) left: every IPPool and every
/// Service in the tests' namespaces, waiting until they are gone.
pub(crate) async fn clean(client: &Client) {
    install_crd();
    let pools: Api<IPPool> = Api::all(client.clone());
    let _ = pools
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for ns in namespaces.list(&ListParams::default()).await.unwrap() {
        let name = ns.name_any();
        if name.starts_with(NS_PREFIX) {
            let services: Api<Service> = Api::namespaced(client.clone(), &name);
            let _ = services
                .delete_collection(&DeleteParams::default(), &ListParams::default())
                .await;
        }
    }
    eventually("a clean slate", Duration::from_secs(60), || async {
        let pools_left = pools.list(&ListParams::default()).await.ok()?.items.len();
        let all: Api<Service> = Api::all(client.clone());
        let services_left = all
            .list(&ListParams::default())
            .await
            .ok()?
            .items
            .iter()
            .filter(|s| s.namespace().unwrap_or_default().starts_with(NS_PREFIX))
            .count();
        (pools_left == 0 && services_left == 0).then_some(())
    })
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

/// An L2 pool of these entries.
pub(crate) fn pool(name: &str, addresses: &[&str]) -> IPPool {
    IPPool::new(
        name,
        IPPoolSpec {
            addresses: addresses.iter().map(|s| s.to_string()).collect(),
            auto_assign: true,
            avoid_buggy_ips: false,
            priority: None,
            service_allocation: None,
            announce: Announce {
                l2: Some(L2Announce::default()),
                bgp: None,
            },
        },
    )
}

pub(crate) async fn create_pool(client: &Client, pool: &IPPool) -> IPPool {
    Api::<IPPool>::all(client.clone())
        .create(&PostParams::default(), pool)
        .await
        .unwrap_or_else(|e| panic!("creating IPPool {}: {e}", pool.name_any()))
}

/// A LoadBalancer Service exposing TCP `port`, without node ports.
pub(crate) fn lb(namespace: &str, name: &str, port: i32) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            allocate_load_balancer_node_ports: Some(false),
            ports: Some(vec![ServicePort {
                port,
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            selector: Some([("app".to_string(), name.to_string())].into()),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// Sets an annotation on a Service under construction.
pub(crate) fn annotated(mut svc: Service, key: &str, value: &str) -> Service {
    svc.metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(key.into(), value.into());
    svc
}

pub(crate) async fn create_service(client: &Client, svc: &Service) -> Service {
    Api::<Service>::namespaced(client.clone(), &svc.namespace().unwrap())
        .create(&PostParams::default(), svc)
        .await
        .unwrap_or_else(|e| panic!("creating Service {}: {e}", svc.name_any()))
}

/// A Service's `status.loadBalancer.ingress[].ip`.
pub(crate) fn ingress(svc: &Service) -> Vec<IpAddr> {
    svc.status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|i| i.ip.as_deref()?.parse().ok())
        .collect()
}

/// Waits until the Service has `n` addresses; returns them.
pub(crate) async fn addresses(
    client: &Client,
    namespace: &str,
    name: &str,
    n: usize,
) -> Vec<IpAddr> {
    let api: Api<Service> = Api::namespaced(client.clone(), namespace);
    eventually(
        &format!("{n} address(es) on Service {namespace}/{name}"),
        Duration::from_secs(30),
        || async {
            let ips = ingress(&api.get(name).await.ok()?);
            (ips.len() == n).then_some(ips)
        },
    )
    .await
}

/// The Events about a Service: (type, reason, message).
pub(crate) async fn events(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Vec<(String, String, String)> {
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    api.list(&ListParams::default().fields(&format!("involvedObject.name={name}")))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| {
            (
                e.type_.unwrap_or_default(),
                e.reason.unwrap_or_default(),
                e.message.unwrap_or_default(),
            )
        })
        .collect()
}

/// Waits for an Event with `reason` about a Service; returns its message.
pub(crate) async fn event(client: &Client, namespace: &str, name: &str, reason: &str) -> String {
    eventually(
        &format!("a {reason} Event on {namespace}/{name}"),
        Duration::from_secs(30),
        || async {
            events(client, namespace, name)
                .await
                .into_iter()
                .find(|(_, r, _)| r == reason)
                .map(|(_, _, m)| m)
        },
    )
    .await
}
