//! `bench-leifur-harness`: one run of Leifur's allocation benchmark against
//! one contender (Leifur's IPAM controller, or MetalLB's controller), on the
//! control plane in `KUBECONFIG`.
//!
//! 1. the pool: an `IPPool` (Leifur) or an `IPAddressPool` in
//!    `metallb-system` (MetalLB; its CRDs are applied by xtask, from
//!    MetalLB's module) over `--cidr`;
//! 2. the contender starts; it is ready once a first Service (not counted)
//!    has an address, which both contenders are measured the same way by;
//! 3. `--services` LoadBalancer Services are created in a burst (16 in
//!    flight) in a namespace of their own; a watch records when each first
//!    shows an address in `status.loadBalancer.ingress`, and the latency of
//!    each is that instant minus when its create was sent;
//! 4. every Service must hold a distinct address inside `--cidr`;
//! 5. the contender's CPU (utime + stime) over the burst, its peak RSS, and
//!    its requests over the burst (the audit log, `crdforge_bench::audit`)
//!    are reported, on one JSON line; then it is stopped and the namespace
//!    and pool deleted.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;
use crdforge_bench::audit::{Requests, count_requests, file_len, harness_client};
use crdforge_bench::emit;
use crdforge_bench::process::LoggedChild;
use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, CustomResourceExt};
use serde::Serialize;
use serde_json::json;

const MANAGER: &str = "bench-leifur";
/// MetalLB's namespace for its configuration (the controller's
/// `--namespace`).
const METALLB_NAMESPACE: &str = "metallb-system";
/// How long the contender may take to give the first Service an address.
const READY_LIMIT: Duration = Duration::from_secs(120);
/// How long the burst may take to be fully allocated.
const BURST_LIMIT: Duration = Duration::from_secs(600);
/// Creates in flight.
const CONCURRENCY: usize = 16;

#[derive(Parser)]
struct Args {
    /// `crdforge` (Leifur's controller) or `metallb`.
    #[arg(long)]
    contender: String,
    /// LoadBalancer Services of the burst.
    #[arg(long)]
    services: usize,
    /// The pool, an IPv4 CIDR (distinct per run: pools of earlier runs may
    /// not be deleted yet).
    #[arg(long)]
    cidr: String,
    /// Names of this run's namespace and pool.
    #[arg(long)]
    prefix: String,
    /// The control plane's audit log.
    #[arg(long)]
    audit_log: PathBuf,
    /// Where the contender's log goes.
    #[arg(long)]
    work_dir: PathBuf,
    /// The contender's command line (`{metrics}` is replaced by a free
    /// loopback port's address, `{port}` by the port alone).
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

/// Per Service: when its address was first seen, and its addresses.
type Seen = Mutex<HashMap<String, (Instant, Vec<String>)>>;

#[derive(Serialize)]
struct Outcome {
    #[serde(rename = "impl")]
    implementation: String,
    services: usize,
    /// Create sent → address seen, per Service, in seconds (sorted).
    latencies: Vec<f64>,
    /// First create sent → last address seen.
    total_seconds: f64,
    requests: Requests,
    cpu_seconds: f64,
    peak_rss_bytes: u64,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.services > 0, "--services must be positive");
    let (network, prefix_len) = parse_cidr(&args.cidr)?;
    ensure!(
        args.services < (1usize << (32 - prefix_len)),
        "{} Services do not fit in {}",
        args.services,
        args.cidr
    );
    fs::create_dir_all(&args.work_dir)?;
    let client = harness_client().await?;
    let namespace = args.prefix.clone();
    apply(
        &Api::<Namespace>::all(client.clone()),
        &namespace,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
    )
    .await?;
    let pool = Pool::create(&client, &args).await?;

    let seen: Arc<Seen> = Arc::default();
    let watch = tokio::spawn(watch_addresses(
        Api::namespaced(client.clone(), &namespace),
        Arc::clone(&seen),
    ));
    let services: Api<Service> = Api::namespaced(client.clone(), &namespace);
    let mut contender = Contender::spawn(&args)?;
    let result = async {
        // Ready: a first Service has its address.
        create_service(&services, "warm-up").await?;
        wait_for(&seen, &mut contender, 1, READY_LIMIT).await?;

        let audit_start = file_len(&args.audit_log)?;
        let cpu_before = contender.cpu_seconds()?;
        let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let started = Instant::now();
        stream::iter((0..args.services).map(|i| {
            let services = services.clone();
            let sent = Arc::clone(&sent);
            async move {
                let name = format!("s-{i}");
                sent.lock().unwrap().insert(name.clone(), Instant::now());
                create_service(&services, &name).await
            }
        }))
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
        wait_for(&seen, &mut contender, args.services + 1, BURST_LIMIT).await?;
        let cpu_seconds = contender.cpu_seconds()? - cpu_before;
        let peak_rss_bytes = contender.peak_rss_bytes()?;
        // The apiserver writes a request's audit event before answering it,
        // so the log holds every request that has been answered by now.
        let requests = count_requests(&args.audit_log, audit_start)?;

        let seen = seen.lock().unwrap();
        let sent = sent.lock().unwrap();
        let mut latencies = Vec::with_capacity(args.services);
        let mut last = started;
        let mut addresses = BTreeSet::new();
        for (name, at) in sent.iter() {
            let (assigned, ips) = seen
                .get(name)
                .with_context(|| format!("no address seen for {name}"))?;
            latencies.push(assigned.saturating_duration_since(*at).as_secs_f64());
            last = last.max(*assigned);
            for ip in ips {
                let parsed: Ipv4Addr = ip.parse().with_context(|| format!("{name}: {ip}"))?;
                ensure!(
                    in_cidr(parsed, network, prefix_len),
                    "{name} got {ip}, outside {}",
                    args.cidr
                );
                ensure!(addresses.insert(parsed), "{ip} was given twice");
            }
        }
        latencies.sort_by(f64::total_cmp);
        Ok::<_, anyhow::Error>(Outcome {
            implementation: args.contender.clone(),
            services: args.services,
            latencies,
            total_seconds: last.duration_since(started).as_secs_f64(),
            requests,
            cpu_seconds,
            peak_rss_bytes,
        })
    }
    .await;
    contender.stop();
    watch.abort();
    let cleanup = async {
        Api::<Namespace>::all(client.clone())
            .delete(&namespace, &DeleteParams::default())
            .await?;
        pool.delete(&client).await
    }
    .await;
    let outcome = result?;
    cleanup?;
    emit(&outcome)
}

/// `a.b.c.d/n` → (network, n).
fn parse_cidr(cidr: &str) -> Result<(Ipv4Addr, u32)> {
    let (address, length) = cidr
        .split_once('/')
        .with_context(|| format!("--cidr {cidr:?}: not a.b.c.d/n"))?;
    let length: u32 = length.parse().context("--cidr: the prefix length")?;
    ensure!(length <= 32, "--cidr: a prefix of {length} bits");
    Ok((address.parse().context("--cidr: the address")?, length))
}

fn in_cidr(ip: Ipv4Addr, network: Ipv4Addr, length: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - length).unwrap_or(0);
    u32::from(ip) & mask == u32::from(network) & mask
}

/// Server-side apply of `object` named `name`.
async fn apply<K>(api: &Api<K>, name: &str, object: serde_json::Value) -> Result<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch(
        name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&object),
    )
    .await
    .with_context(|| format!("applying {name}"))?;
    Ok(())
}

async fn create_service(api: &Api<Service>, name: &str) -> Result<()> {
    let service: Service = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}
    }))?;
    api.create(&Default::default(), &service)
        .await
        .with_context(|| format!("creating Service {name}"))?;
    Ok(())
}

/// Records, per Service, when an address first showed in its status.
async fn watch_addresses(api: Api<Service>, seen: Arc<Seen>) -> Result<()> {
    let mut events = watcher(api, watcher::Config::default())
        .applied_objects()
        .boxed();
    while let Some(service) = events.try_next().await? {
        let ips: Vec<String> = service
            .status
            .iter()
            .filter_map(|s| s.load_balancer.as_ref())
            .flat_map(|lb| lb.ingress.iter().flatten())
            .filter_map(|i| i.ip.clone())
            .collect();
        if let (false, Some(name)) = (ips.is_empty(), service.metadata.name) {
            seen.lock()
                .unwrap()
                .entry(name)
                .or_insert((Instant::now(), ips));
        }
    }
    Ok(())
}

/// Waits until `count` Services have addresses, failing if the contender
/// exits or `limit` passes.
async fn wait_for(
    seen: &Seen,
    contender: &mut Contender,
    count: usize,
    limit: Duration,
) -> Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if seen.lock().unwrap().len() >= count {
            return Ok(());
        }
        contender.check_alive()?;
        if Instant::now() > deadline {
            bail!(
                "{} of {count} Services have an address after {} s; the contender's log is {}",
                seen.lock().unwrap().len(),
                limit.as_secs(),
                contender.log().display()
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The run's pool, in the contender's own kind.
enum Pool {
    Leifur(String),
    MetalLb(String),
}

impl Pool {
    async fn create(client: &Client, args: &Args) -> Result<Self> {
        match args.contender.as_str() {
            "crdforge" => {
                let crd = leifur_api::IPPool::crd();
                let name = crd.metadata.name.clone().context("the CRD's name")?;
                let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
                crds.patch(
                    &name,
                    &PatchParams::apply(MANAGER).force(),
                    &Patch::Apply(&crd),
                )
                .await
                .context("applying the IPPool CRD")?;
                tokio::time::timeout(
                    Duration::from_secs(30),
                    await_condition(crds, &name, conditions::is_crd_established()),
                )
                .await
                .context("the IPPool CRD not established within 30 s")??;
                apply(
                    &Api::<leifur_api::IPPool>::all(client.clone()),
                    &args.prefix,
                    json!({
                        "apiVersion": "leifur.crdforge.dev/v1alpha1", "kind": "IPPool",
                        "metadata": {"name": args.prefix},
                        // Announcement is the speakers' business; the
                        // controller only reads the addresses.
                        "spec": {"addresses": [args.cidr], "announce": {"l2": {}}}
                    }),
                )
                .await?;
                Ok(Self::Leifur(args.prefix.clone()))
            }
            "metallb" => {
                apply(
                    &Api::<Namespace>::all(client.clone()),
                    METALLB_NAMESPACE,
                    json!({"apiVersion": "v1", "kind": "Namespace",
                           "metadata": {"name": METALLB_NAMESPACE}}),
                )
                .await?;
                apply(
                    &metallb_pools(client),
                    &args.prefix,
                    json!({
                        "apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
                        "metadata": {"name": args.prefix, "namespace": METALLB_NAMESPACE},
                        "spec": {"addresses": [args.cidr]}
                    }),
                )
                .await?;
                Ok(Self::MetalLb(args.prefix.clone()))
            }
            other => bail!("--contender {other:?}: crdforge or metallb"),
        }
    }

    async fn delete(&self, client: &Client) -> Result<()> {
        let dp = DeleteParams::default();
        match self {
            Self::Leifur(name) => {
                Api::<leifur_api::IPPool>::all(client.clone())
                    .delete(name, &dp)
                    .await?;
            }
            Self::MetalLb(name) => {
                metallb_pools(client).delete(name, &dp).await?;
            }
        }
        Ok(())
    }
}

fn metallb_pools(client: &Client) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("metallb.io", "v1beta1", "IPAddressPool"),
        "ipaddresspools",
    );
    Api::namespaced_with(client.clone(), METALLB_NAMESPACE, &resource)
}

/// A running contender.
struct Contender(LoggedChild);

impl Contender {
    fn spawn(args: &Args) -> Result<Self> {
        let metrics = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let log = args.work_dir.join(format!("{}.log", args.prefix));
        Ok(Self(LoggedChild::spawn(
            &args.command,
            &[
                ("metrics", &metrics.to_string()),
                ("port", &metrics.port().to_string()),
            ],
            &log,
        )?))
    }

    /// SIGKILL: nothing is measured after the burst.
    fn stop(&mut self) {
        self.0.kill();
    }
}

impl std::ops::Deref for Contender {
    type Target = LoggedChild;
    fn deref(&self) -> &LoggedChild {
        &self.0
    }
}

impl std::ops::DerefMut for Contender {
    fn deref_mut(&mut self) -> &mut LoggedChild {
        &mut self.0
    }
}

impl Drop for Contender {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_membership() {
        let (network, length) = parse_cidr("10.1.4.0/22").unwrap();
        assert!(in_cidr("10.1.7.255".parse().unwrap(), network, length));
        assert!(!in_cidr("10.1.8.0".parse().unwrap(), network, length));
        assert!(in_cidr("1.2.3.4".parse().unwrap(), network, 0));
        assert!(parse_cidr("10.1.4.0").is_err());
    }
}
