//! What the speaker's end-to-end tests share: the control plane's objects
//! (CRD, namespace, Nodes, a LoadBalancer Service whose status the test
//! writes itself, since the IPAM controller is not part of these tests) and
//! speakers spawned in the host namespace with their data plane in a node's
//! network namespace.

#![allow(dead_code, unreachable_pub)]

pub mod gobgp;
pub mod l2lab;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::{Namespace, Node, Service};
use kube::Client;
use kube::CustomResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use leifur_api::IPPool;
use netns_harness::{Netns, Process};
use serde_json::json;

pub const MANAGER: &str = "leifur-speaker-e2e";
pub const NAMESPACE: &str = "leifur-system";

pub async fn setup() -> Result<Client> {
    let client = crdforge_envtest::client().await?;
    crdforge_envtest::apply_crd(&client, MANAGER, &IPPool::crd()).await?;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": NAMESPACE}}))?;
    match namespaces.create(&PostParams::default(), &namespace).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(err) => return Err(err.into()),
    }
    clear_foreign_load_balancers(&client).await?;
    Ok(client)
}

/// Deletes every LoadBalancer Service with an address that these tests did
/// not make (theirs are named `lf-<pid>-…`), and waits until they are gone.
///
/// The speakers announce every address a Service holds in a pool, whoever
/// made it, and the tests count announcements exactly. In one control plane
/// shared by the whole e2e run, the IPAM controller's tests (which clean up
/// when they start, not when they end) leave Services holding addresses of
/// the same documentation ranges.
async fn clear_foreign_load_balancers(client: &Client) -> Result<()> {
    let foreign = |service: &Service| {
        !service
            .metadata
            .name
            .as_deref()
            .unwrap_or("")
            .starts_with("lf-")
            && service.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer")
            && service
                .status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_ref())
                .is_some_and(|ingress| !ingress.is_empty())
    };
    let all: Api<Service> = Api::all(client.clone());
    for service in all.list(&Default::default()).await?.items {
        if foreign(&service) {
            let (Some(name), Some(namespace)) =
                (&service.metadata.name, &service.metadata.namespace)
            else {
                continue;
            };
            let _ = Api::<Service>::namespaced(client.clone(), namespace)
                .delete(name, &DeleteParams::default())
                .await;
        }
    }
    eventually(
        "no LoadBalancer Service of other tests holds an address",
        Duration::from_secs(30),
        async || {
            let left = all.list(&Default::default()).await?.items;
            Ok((!left.iter().any(&foreign)).then_some(()))
        },
    )
    .await
}

/// Objects a test made in the control plane, deleted on drop (best effort,
/// on a thread of its own so a panicking test still cleans up).
pub struct Cluster {
    pub client: Client,
    nodes: Vec<String>,
    pools: Vec<String>,
    services: Vec<String>,
}

impl Cluster {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            nodes: Vec::new(),
            pools: Vec::new(),
            services: Vec::new(),
        }
    }

    pub async fn node(&mut self, name: &str) -> Result<()> {
        let api: Api<Node> = Api::all(self.client.clone());
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"leifur-e2e": "true"}}
        }))?;
        api.patch(
            name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&node),
        )
        .await
        .with_context(|| format!("creating Node {name}"))?;
        self.nodes.push(name.to_owned());
        Ok(())
    }

    pub async fn pool(&mut self, name: &str, spec: serde_json::Value) -> Result<()> {
        let api: Api<IPPool> = Api::all(self.client.clone());
        let pool = json!({
            "apiVersion": "leifur.crdforge.dev/v1alpha1", "kind": "IPPool",
            "metadata": {"name": name}, "spec": spec
        });
        api.patch(
            name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&pool),
        )
        .await
        .with_context(|| format!("creating IPPool {name}"))?;
        self.pools.push(name.to_owned());
        Ok(())
    }

    /// A LoadBalancer Service in `default` whose status (written by the
    /// test, as the IPAM controller would) holds `ips`.
    pub async fn service(&mut self, name: &str, ips: &[IpAddr]) -> Result<()> {
        let api: Api<Service> = Api::namespaced(self.client.clone(), "default");
        let service = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 8080}]}
        });
        api.patch(
            name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&service),
        )
        .await
        .with_context(|| format!("creating Service {name}"))?;
        self.services.push(name.to_owned());
        self.set_ingress(name, ips).await
    }

    pub async fn set_ingress(&self, name: &str, ips: &[IpAddr]) -> Result<()> {
        let api: Api<Service> = Api::namespaced(self.client.clone(), "default");
        let ingress: Vec<_> = ips.iter().map(|ip| json!({"ip": ip.to_string()})).collect();
        let status = json!({"status": {"loadBalancer": {"ingress": ingress}}});
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .with_context(|| format!("writing the status of Service {name}"))?;
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let client = self.client.clone();
        let (nodes, pools, services) = (
            std::mem::take(&mut self.nodes),
            std::mem::take(&mut self.pools),
            std::mem::take(&mut self.services),
        );
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let dp = DeleteParams::default();
                for name in services {
                    let _ = Api::<Service>::namespaced(client.clone(), "default")
                        .delete(&name, &dp)
                        .await;
                }
                for name in pools {
                    let _ = Api::<IPPool>::all(client.clone()).delete(&name, &dp).await;
                }
                for name in nodes {
                    let _ = Api::<Node>::all(client.clone()).delete(&name, &dp).await;
                    let _ = Api::<k8s_openapi::api::coordination::v1::Lease>::namespaced(
                        client.clone(),
                        NAMESPACE,
                    )
                    .delete(&leifur_api::speaker_lease_name(&name), &dp)
                    .await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// Runs the envtest's `kubectl` with the admin kubeconfig; its stdout.
fn kubectl(args: &[&str]) -> Result<String> {
    let instance = crdforge_envtest::Instance::from_env();
    let state = instance.state()?.context("no running envtest instance")?;
    let out = std::process::Command::new(state.binaries.join("kubectl"))
        .arg("--kubeconfig")
        .arg(instance.kubeconfig())
        .args(args)
        .output()?;
    if !out.status.success() {
        bail!("kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// A kubeconfig holding a token of the speaker's ServiceAccount, after the
/// generated RBAC (`generated/deploy/leifur-speaker/rbac.yaml`) is applied:
/// every speaker of these tests runs with exactly those permissions, and
/// `tests/rbac_minimality.rs` checks afterwards that it used all of them.
pub fn speaker_kubeconfig() -> Result<std::path::PathBuf> {
    static KUBECONFIG: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    if let Some(path) = KUBECONFIG.get() {
        return Ok(path.clone());
    }
    let root = crdforge_envtest::workspace_root()?;
    let rbac = root.join("generated/deploy/leifur-speaker/rbac.yaml");
    kubectl(&[
        "apply",
        "--server-side",
        "-f",
        rbac.to_str().context("rbac path")?,
    ])?;
    let name = leifur_speaker_deploy::NAME;
    let token = kubectl(&["create", "token", name, "-n", NAMESPACE, "--duration=4h"])?;
    let instance = crdforge_envtest::Instance::from_env();
    let path = instance.dir().join(format!("{name}.kubeconfig"));
    instance.write_token_kubeconfig(&path, name, token.trim())?;
    Ok(KUBECONFIG.get_or_init(|| path).clone())
}

/// Starts a speaker for `node` in the host namespace (it reaches the
/// apiserver on loopback) as the speaker's ServiceAccount, its data plane
/// in `netns`. Output goes to `target/leifur-e2e/<node>.log`.
pub fn speaker(node: &str, netns: &Netns, extra: &[&str]) -> Result<Process> {
    speaker_as(node, netns, extra, &speaker_kubeconfig()?)
}

/// As [`speaker`], authenticating with the kubeconfig at `kubeconfig`.
pub fn speaker_as(
    node: &str,
    netns: &Netns,
    extra: &[&str],
    kubeconfig: &std::path::Path,
) -> Result<Process> {
    let path = speaker_log(node);
    std::fs::create_dir_all(path.parent().expect("a log directory"))?;
    let log = std::fs::File::create(path)?;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_leifur-speaker"));
    command
        .args(["--node", node])
        // Unless the test names another (clap takes a flag once).
        .args(if extra.contains(&"--namespace") {
            &[][..]
        } else {
            &["--namespace", NAMESPACE][..]
        })
        .args([
            "--lease-duration-seconds",
            "2",
            "--renew-interval-ms",
            "400",
        ])
        .args(["--tick-ms", "100"])
        // A free port chosen by the kernel; `metrics_addr` reads it back.
        .args(["--metrics-addr", "127.0.0.1:0"])
        .arg("--netns")
        .arg(netns.path())
        .args(extra)
        .env("KUBECONFIG", kubeconfig)
        .env("RUST_LOG", "info,leifur_speaker=debug")
        .stdout(log.try_clone()?)
        .stderr(log);
    Netns::spawn(&mut command)
}

/// The log file of `node`'s speaker (see [`speaker`]).
pub fn speaker_log(node: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("leifur-e2e")
        .join(format!("{node}.log"))
}

/// Where `node`'s speaker serves `/metrics` (from its log), once it does.
pub fn metrics_addr(node: &str) -> Option<SocketAddr> {
    let log = std::fs::read_to_string(speaker_log(node)).ok()?;
    let line = log.lines().find(|l| l.contains("serving /metrics"))?;
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("addr="))?;
    addr.parse().ok()
}

/// `GET path` from `node`'s speaker: status and body. Bounded: 5 s per
/// connect, read and write.
pub fn http_get(node: &str, path: &str) -> Result<(u16, String)> {
    let addr = metrics_addr(node).with_context(|| format!("{node}'s speaker serves no metrics"))?;
    let limit = Duration::from_secs(5);
    let mut stream = TcpStream::connect_timeout(&addr, limit)?;
    stream.set_read_timeout(Some(limit))?;
    stream.set_write_timeout(Some(limit))?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("no HTTP status in {response:?}"))?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, body.to_owned()))
}

/// The value of the series `series` (name and labels, as exposed) on
/// `node`'s `/metrics`, 0 when absent.
pub fn metric(node: &str, series: &str) -> Result<f64> {
    let (status, body) = http_get(node, "/metrics")?;
    if status != 200 {
        bail!("/metrics of {node}: {status}");
    }
    Ok(body
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(Ok(0.0), str::parse)?)
}

/// Waits until every speaker in `nodes` has logged a membership that holds
/// all of `nodes`: from then on they elect from the same candidates, so a
/// test that asserts who answers first does not race the speakers' own
/// Lease caches (a speaker that has not yet seen a peer's Lease elects
/// among fewer nodes, as it should, and may answer for a moment).
pub async fn full_membership(nodes: &[&str], limit: Duration) -> Result<()> {
    eventually("every speaker sees every other", limit, async || {
        for node in nodes {
            let log = std::fs::read_to_string(speaker_log(node)).unwrap_or_default();
            let Some(line) = log.lines().rev().find(|l| l.contains("membership changed")) else {
                return Ok(None);
            };
            if !nodes.iter().all(|n| line.contains(&format!("\"{n}\""))) {
                return Ok(None);
            }
        }
        Ok(Some(()))
    })
    .await
}

/// Listeners that tell each client which node it reached: each serves its
/// node's name to every connection, until dropped (or two minutes pass).
#[derive(Default)]
pub struct Listeners {
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Listeners {
    /// Listens on `addr` inside `ns`, answering `node`.
    pub fn serve(&mut self, ns: &Netns, addr: SocketAddr, node: String) -> Result<()> {
        let listener = ns.enter(move || TcpListener::bind(addr))??;
        listener.set_nonblocking(true)?;
        let stop = Arc::clone(&self.stop);
        self.threads.push(thread::spawn(move || {
            let started = Instant::now();
            while !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(120) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        let _ = stream.write_all(node.as_bytes());
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        }));
        Ok(())
    }
}

impl Drop for Listeners {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
    }
}

/// Polls `check` every 100 ms until it returns `Some`, for at most `limit`.
pub async fn eventually<T>(
    what: &str,
    limit: Duration,
    mut check: impl AsyncFnMut() -> Result<Option<T>>,
) -> Result<T> {
    let started = Instant::now();
    let mut last_err = None;
    // Bounded by count as well as by time.
    for _ in 0..(limit.as_millis() / 100 + 1) {
        match check().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(err) => last_err = Some(err),
        }
        if started.elapsed() > limit {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{what}: not within {limit:?} (last error: {last_err:?})")
}
