//! The harness of the controller benchmark: runs one contender (the limit
//! client, the User controller or a peer) as a child process against the
//! running control plane and measures it from outside, then cleans up.
//!
//! 1. **Converge**: starts the contender, waits for its `/readyz`, creates
//!    `--users` Users (eight creates in flight) and watches them until every
//!    one has `Ready=True`. Time runs from the first create to the last Ready
//!    seen by this watch; CPU is the child's utime+stime over that window,
//!    peak RSS its `VmHWM` at the end. Then SIGTERM.
//! 2. **Restart** (`--restart`): starts the contender again with every User
//!    provisioned and times it from spawn until `/readyz` answers and its
//!    `controller_runtime_reconcile_total` reaches the number of Users (cache
//!    sync plus one no-op reconcile each); then measures its CPU over an idle
//!    window of `--idle-seconds`. Then SIGTERM.
//! 3. **Requests**: the apiserver's audit log (one `Metadata` event per
//!    request, by `auditID`) is read from the offset where each life of the
//!    contender began to where it ended. Only the admin user's requests are
//!    logged; the harness's own carry the User-Agent `HARNESS_AGENT` and are
//!    left out, and only one contender ever runs at a time, so what remains
//!    is exactly the contender's.
//! 4. **Clean-up**: removes the finalizers, deletes the Users and their
//!    namespaces and waits until both are gone, so that the next contender
//!    starts from an empty cluster.
//!
//! Prints one JSON line. Placeholders `{metrics}` and `{directory}` in the
//! contender's command line are replaced by a free loopback address and a
//! fresh folder.

use std::collections::HashSet;
use std::fs;
use std::io::Read as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;
use crdforge_bench::audit::{Requests, count_requests, file_len, harness_client};
use crdforge_bench::emit;
use crdforge_bench::process::LoggedChild;
use crdforge_bench::user::{BENCH_LABEL, MANAGED_BY, MANAGER, User};
use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::{Event, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use serde::Serialize;
use serde_json::json;

#[derive(Parser)]
#[command(about = "Runs one contender of the controller benchmark and measures it")]
struct Args {
    /// The contender's name, echoed in the result.
    #[arg(long)]
    contender: String,
    /// Users to converge.
    #[arg(long, default_value_t = 100)]
    users: usize,
    /// Prefix of the Users' names (distinct per run, so no name is reused).
    #[arg(long)]
    prefix: String,
    /// The apiserver's audit log.
    #[arg(long)]
    audit_log: PathBuf,
    /// Folder for the contender's logs and account directory.
    #[arg(long)]
    work_dir: PathBuf,
    /// Also measure a restart with every User provisioned, and idle CPU.
    #[arg(long)]
    restart: bool,
    /// Length of the idle-CPU window.
    #[arg(long, default_value_t = 10.0)]
    idle_seconds: f64,
    /// Give up on convergence after this long.
    #[arg(long, default_value_t = 600.0)]
    timeout_seconds: f64,
    /// Leave the Users and namespaces behind: the control plane is thrown
    /// away after this run (deleting thousands of namespaces would take the
    /// namespace controller minutes).
    #[arg(long)]
    keep: bool,
    /// The contender's command line.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

/// The result line.
#[derive(Serialize)]
struct Outcome {
    suite: &'static str,
    #[serde(rename = "impl")]
    implementation: String,
    workload: &'static str,
    users: usize,
    converge_seconds: f64,
    /// Seconds from the first create at which each User was seen Ready, sorted.
    ready_at: Vec<f64>,
    requests: Requests,
    cpu_seconds: f64,
    peak_rss_bytes: u64,
    restart: Option<Restart>,
}

#[derive(Serialize)]
struct Restart {
    seconds: f64,
    requests: Requests,
    idle_cpu_seconds: f64,
    idle_window_seconds: f64,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    fs::create_dir_all(&args.work_dir)?;
    let client = harness_client().await?;
    install_crd(&client).await?;
    clean_up(&client)
        .await
        .context("cleaning up before the run")?;

    let ready = Arc::new(Mutex::new(ReadyLog::default()));
    let watch = tokio::spawn(watch_ready(client.clone(), Arc::clone(&ready)));

    let audit_start = file_len(&args.audit_log)?;
    let mut child = Contender::spawn(&args, "converge")?;
    child.wait_ready(Duration::from_secs(120)).await?;
    let cpu_before = child.process.cpu_seconds()?;
    let started = Instant::now();
    ready.lock().unwrap().reset(started);
    create_users(&client, &args.prefix, args.users).await?;
    let deadline = started + Duration::from_secs_f64(args.timeout_seconds);
    let ready_at = loop {
        {
            let log = ready.lock().unwrap();
            if log.times.len() >= args.users {
                break log.times.clone();
            }
        }
        child.process.check_alive()?;
        if Instant::now() > deadline {
            let seen = ready.lock().unwrap().times.len();
            bail!(
                "{}: only {seen} of {} Users were Ready after {} s; its log is {}",
                args.contender,
                args.users,
                args.timeout_seconds,
                child.process.log().display()
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let converge_seconds = ready_at.last().copied().unwrap_or_default();
    let cpu_seconds = child.process.cpu_seconds()? - cpu_before;
    let peak_rss_bytes = child.process.peak_rss_bytes()?;
    // Requests still in flight when the last User turned Ready (the no-op
    // reconciles its own status write triggers) belong to this phase.
    tokio::time::sleep(Duration::from_millis(500)).await;
    child.stop()?;
    let requests = count_requests(&args.audit_log, audit_start)?;

    let restart = if args.restart {
        Some(measure_restart(&args).await?)
    } else {
        None
    };
    watch.abort();
    if !args.keep {
        clean_up(&client)
            .await
            .context("cleaning up after the run")?;
    }

    emit(&Outcome {
        suite: "controller",
        implementation: args.contender.clone(),
        workload: "converge",
        users: args.users,
        converge_seconds,
        ready_at,
        requests,
        cpu_seconds,
        peak_rss_bytes,
        restart,
    })
}

async fn measure_restart(args: &Args) -> Result<Restart> {
    let audit_start = file_len(&args.audit_log)?;
    let started = Instant::now();
    let mut child = Contender::spawn(args, "restart")?;
    let deadline = started + Duration::from_secs_f64(args.timeout_seconds);
    loop {
        child.process.check_alive()?;
        // Errors mean the server is not listening yet.
        if child.get("/readyz").await.is_ok_and(|(ok, _)| ok)
            && child
                .reconciles()
                .await
                .is_ok_and(|n| n >= args.users as f64)
        {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "{} did not reconcile {} Users within {} s of a restart; its log is {}",
            args.contender,
            args.users,
            args.timeout_seconds,
            child.process.log().display()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    // Let the last no-op reconciles finish before the idle window opens.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cpu_before = child.process.cpu_seconds()?;
    let window = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(args.idle_seconds)).await;
    let idle_cpu_seconds = child.process.cpu_seconds()? - cpu_before;
    let idle_window_seconds = window.elapsed().as_secs_f64();
    child.stop()?;
    Ok(Restart {
        seconds,
        requests: count_requests(&args.audit_log, audit_start)?,
        idle_cpu_seconds,
        idle_window_seconds,
    })
}

/// Applies the generated User CRD and waits until it is established.
async fn install_crd(client: &Client) -> Result<()> {
    // Spawned by xtask rather than by cargo, so the root is found from where
    // this program was built.
    let path = crdforge_envtest::find_root(Path::new(env!("CARGO_MANIFEST_DIR")))
        .context("finding the workspace root")?
        .join("generated/crds/users.example.com.yaml");
    let yaml = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let crd: CustomResourceDefinition =
        serde_saphyr::from_str(&yaml).with_context(|| format!("parsing {}", path.display()))?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.patch(
        "users.example.com",
        &PatchParams::apply("crdforge-bench").force(),
        &Patch::Apply(&crd),
    )
    .await
    .context("applying the User CRD")?;
    tokio::time::timeout(
        Duration::from_secs(60),
        await_condition(crds, "users.example.com", conditions::is_crd_established()),
    )
    .await
    .context("the User CRD was not established within 60 s")??;
    Ok(())
}

/// When each User was first seen Ready, from `origin`.
#[derive(Default)]
struct ReadyLog {
    origin: Option<Instant>,
    seen: HashSet<String>,
    times: Vec<f64>,
}

impl ReadyLog {
    fn reset(&mut self, origin: Instant) {
        self.origin = Some(origin);
        self.seen.clear();
        self.times.clear();
    }
}

async fn watch_ready(client: Client, log: Arc<Mutex<ReadyLog>>) -> Result<()> {
    let users: Api<User> = Api::all(client);
    let config = watcher::Config::default().labels(&format!("{BENCH_LABEL}=true"));
    let mut stream = std::pin::pin!(watcher(users, config).default_backoff().applied_objects());
    while let Some(user) = stream.try_next().await? {
        if !user.is_ready() {
            continue;
        }
        let mut log = log.lock().unwrap();
        let Some(origin) = log.origin else { continue };
        if log.seen.insert(user.name().to_string()) {
            log.times.push(origin.elapsed().as_secs_f64());
        }
    }
    Ok(())
}

async fn create_users(client: &Client, prefix: &str, n: usize) -> Result<()> {
    let users: Api<User> = Api::all(client.clone());
    stream::iter(0..n)
        .map(|i| {
            let users = users.clone();
            async move {
                let user = User::fixture(&format!("{prefix}-{i:05}"));
                users
                    .create(&PostParams::default(), &user)
                    .await
                    .with_context(|| format!("creating User {}", user.name()))
            }
        })
        .buffer_unordered(8)
        .try_for_each(|_| async { Ok(()) })
        .await
}

/// Deletes every benchmark User (releasing finalizers, since no controller
/// runs now) and every namespace a contender made, plus the Events in
/// `default`, and waits until the Users and namespaces are gone.
async fn clean_up(client: &Client) -> Result<()> {
    let users: Api<User> = Api::all(client.clone());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let bench_users = ListParams::default().labels(&format!("{BENCH_LABEL}=true"));
    let ours = ListParams::default().labels(&format!("{MANAGED_BY}={MANAGER}"));
    let listed = users.list(&bench_users).await?;
    stream::iter(listed.items.into_iter().filter(User::has_finalizer))
        .map(|user| {
            let users = users.clone();
            async move {
                users
                    .patch(
                        user.name(),
                        &PatchParams::default(),
                        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
                    )
                    .await
            }
        })
        .buffer_unordered(8)
        .try_for_each(|_| async { Ok(()) })
        .await
        .context("releasing finalizers")?;
    users
        .delete_collection(&DeleteParams::default(), &bench_users)
        .await
        .context("deleting Users")?;
    let listed = namespaces.list(&ours).await?;
    stream::iter(listed.items)
        .map(|ns| {
            let namespaces = namespaces.clone();
            async move {
                let name = ns.metadata.name.unwrap_or_default();
                match namespaces.delete(&name, &DeleteParams::default()).await {
                    Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
                    Err(e) => Err(e),
                    Ok(_) => Ok(()),
                }
            }
        })
        .buffer_unordered(8)
        .try_for_each(|_| async { Ok(()) })
        .await
        .context("deleting namespaces")?;
    Api::<Event>::namespaced(client.clone(), "default")
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await
        .context("deleting Events")?;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let left_users = users.list_metadata(&bench_users).await?.items.len();
        let left_ns = namespaces.list_metadata(&ours).await?.items.len();
        if left_users == 0 && left_ns == 0 {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "{left_users} Users and {left_ns} namespaces were still there 600 s after deletion"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A running contender.
struct Contender {
    process: LoggedChild,
    metrics: SocketAddr,
}

impl Contender {
    fn spawn(args: &Args, phase: &str) -> Result<Self> {
        let metrics: SocketAddr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let directory = args.work_dir.join(format!("{}-accounts", args.prefix));
        let log = args.work_dir.join(format!("{}-{phase}.log", args.prefix));
        let process = LoggedChild::spawn(
            &args.command,
            &[
                ("metrics", &metrics.to_string()),
                ("directory", &directory.display().to_string()),
            ],
            &log,
        )?;
        Ok(Self { process, metrics })
    }

    async fn wait_ready(&mut self, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            self.process.check_alive()?;
            if self.get("/readyz").await.is_ok_and(|(ok, _)| ok) {
                return Ok(());
            }
            ensure!(
                Instant::now() < deadline,
                "the contender was not ready within {} s; its log is {}",
                limit.as_secs(),
                self.process.log().display()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// One plain-HTTP GET on the contender's metrics address: whether it
    /// answered 200, and the body.
    async fn get(&self, path: &str) -> Result<(bool, String)> {
        let addr = self.metrics;
        let path = path.to_string();
        tokio::task::spawn_blocking(move || -> Result<(bool, String)> {
            use std::io::Write as _;
            let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            // One write: a server that answers after its first read would
            // otherwise close the socket under the rest of the request.
            stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())?;
            let mut response = String::new();
            stream.read_to_string(&mut response)?;
            let ok = response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200");
            let body = response
                .split_once("\r\n\r\n")
                .map_or(String::new(), |(_, b)| b.to_string());
            Ok((ok, body))
        })
        .await?
    }

    /// Reconciles finished: the sum of `controller_runtime_reconcile_total`
    /// over its labels.
    async fn reconciles(&self) -> Result<f64> {
        let (_, body) = self.get("/metrics").await?;
        Ok(sum_metric(&body, "controller_runtime_reconcile_total"))
    }

    /// SIGTERM, then SIGKILL after 15 s.
    fn stop(&mut self) -> Result<()> {
        self.process.terminate(Duration::from_secs(15))?;
        // The apiserver writes a watch's audit event when the watch ends,
        // which it notices a moment after the client is gone.
        std::thread::sleep(Duration::from_millis(500));
        Ok(())
    }
}

impl Drop for Contender {
    fn drop(&mut self) {
        self.process.kill();
    }
}

/// The sum of every sample of `name` in Prometheus or OpenMetrics text.
fn sum_metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crdforge_bench::audit::{ADMIN_USER, tally};

    #[test]
    fn metric_sums_cover_labelled_and_bare_samples_only_of_that_name() {
        let text = "# TYPE controller_runtime_reconcile counter\n\
                    controller_runtime_reconcile_total{controller=\"user\",result=\"success\"} 7\n\
                    controller_runtime_reconcile_total{controller=\"user\",result=\"error\"} 2\n\
                    controller_runtime_reconcile_total_created 1.5e9\n\
                    other_total 100\n";
        assert_eq!(sum_metric(text, "controller_runtime_reconcile_total"), 9.0);
        assert_eq!(
            sum_metric(
                "controller_runtime_reconcile_total 4\n",
                "controller_runtime_reconcile_total"
            ),
            4.0
        );
    }

    #[test]
    fn audit_tally_counts_each_request_once_and_skips_others() {
        let line = |id: &str, verb: &str, user: &str, agent: &str, res: &str, sub: &str| {
            format!(
                r#"{{"auditID":"{id}","stage":"ResponseComplete","verb":"{verb}","userAgent":"{agent}","user":{{"username":"{user}"}},"objectRef":{{"resource":"{res}","subresource":"{sub}"}}}}"#
            )
        };
        let text = [
            line("1", "watch", ADMIN_USER, "kube", "users", ""),
            line("1", "watch", ADMIN_USER, "kube", "users", ""),
            line("2", "patch", ADMIN_USER, "kube", "users", "status"),
            line(
                "3",
                "create",
                ADMIN_USER,
                "crdforge-bench-harness/1",
                "users",
                "",
            ),
            line(
                "4",
                "create",
                "system:serviceaccount:x",
                "kcm",
                "namespaces",
                "",
            ),
            line(
                "5",
                "create",
                ADMIN_USER,
                "Go-http-client/2.0",
                "namespaces",
                "",
            ),
            r#"{"auditID":"6","verb":"#.to_string(),
        ]
        .join("\n");
        let r = tally(&text).unwrap();
        assert_eq!((r.total, r.writes), (3, 2));
        assert_eq!(r.by_kind.get("patch users/status"), Some(&1));
        assert_eq!(r.by_kind.get("watch users"), Some(&1));
    }
}
