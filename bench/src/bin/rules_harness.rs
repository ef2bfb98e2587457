//! The harness of the Rule Loader benchmark: runs one contender (the Rule
//! Loader, at some debounce, or the naive reload-per-change baseline) as a
//! child process against the running control plane and a real Prometheus
//! it starts itself, and measures from outside.
//!
//! 1. **Warm-up**: a labelled ConfigMap with one recording rule; the run
//!    starts once Prometheus serves that rule, so the contender's start-up
//!    and cache sync are not measured.
//! 2. **Latency** (`--changes`): one ConfigMap is changed `--changes`
//!    times, each change a new recording rule; for each, the time from the
//!    apply request to the first `/api/v1/rules` answer of Prometheus that
//!    holds the new rule (polled every 5 ms). The next change waits for the
//!    previous one to be visible and for `--gap-ms`.
//! 3. **Burst** (`--burst`): another ConfigMap is changed `--burst` times
//!    as fast as the apiserver takes it; measured are the time from the
//!    first write until Prometheus serves the last rule, and the reloads
//!    Prometheus made from the first write until `--settle-ms` after that.
//!
//! Reloads are counted in Prometheus' own log (one "Completed loading of
//! configuration file" line per reload), the same way for every
//! contender. Prints one JSON line.

use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;
use crdforge_bench::emit;
use crdforge_bench::process::LoggedChild;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use prometheus_envtest::{Prometheus, PrometheusConfig};
use serde::Serialize;
use serde_json::{Value, json};

/// The namespace of the benchmark's ConfigMaps.
const NAMESPACE: &str = "bench-rules";
/// What Prometheus logs once per reload (and once at start-up).
const RELOAD_LINE: &str = "Completed loading of configuration file";
/// Bound on any one wait for a rule to show up.
const VISIBLE_WITHIN: Duration = Duration::from_secs(60);

#[derive(Parser)]
#[command(about = "Runs one contender of the Rule Loader benchmark and measures it")]
struct Args {
    /// The contender's name in the report.
    #[arg(long)]
    contender: String,
    /// Sequential changes timed one by one.
    #[arg(long, default_value_t = 50)]
    changes: usize,
    /// Pause after each timed change became visible, in milliseconds.
    #[arg(long, default_value_t = 200)]
    gap_ms: u64,
    /// Changes written back to back.
    #[arg(long, default_value_t = 100)]
    burst: usize,
    /// How long after the last rule of the burst is visible reloads are
    /// still counted, in milliseconds; longer than any contender's debounce.
    #[arg(long, default_value_t = 3_000)]
    settle_ms: u64,
    /// A fresh folder for Prometheus, the rule files and the logs.
    #[arg(long)]
    work_dir: PathBuf,
    /// The contender's command line; `{rules}`, `{prometheus}` and
    /// `{metrics}` are replaced by the rules folder, Prometheus' URL and a
    /// free loopback address.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

#[derive(Serialize)]
struct Outcome {
    suite: &'static str,
    #[serde(rename = "impl")]
    implementation: String,
    workload: &'static str,
    latency_seconds: Vec<f64>,
    latency_reloads: usize,
    burst_changes: usize,
    burst_seconds: f64,
    burst_reloads: usize,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(
        args.changes > 0 && args.burst > 0,
        "--changes and --burst must be positive"
    );
    if args.work_dir.exists() {
        fs::remove_dir_all(&args.work_dir)?;
    }
    let rules = args.work_dir.join("rules");
    fs::create_dir_all(&rules)?;
    let client = Client::try_default().await?;
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    prepare_namespace(&client, &configmaps).await?;

    let prometheus = Prometheus::start(
        &args.work_dir.join("prometheus"),
        PrometheusConfig::rules(format!("{}/*.yaml", rules.display())),
    )?;
    let mut contender = Contender::spawn(&args, &rules, &prometheus)?;

    apply(&configmaps, "bench-warmup", "bench:warmup", 0).await?;
    wait_visible(
        &prometheus,
        &mut contender,
        "bench:warmup",
        Duration::from_secs(120),
    )
    .await?;
    ensure!(
        reloads(&prometheus)? >= 2,
        "Prometheus' log {} has no {RELOAD_LINE:?} line after a reload: the reload count \
         would be wrong",
        prometheus.log().display()
    );

    let before = reloads(&prometheus)?;
    let mut latency_seconds = Vec::with_capacity(args.changes);
    for i in 0..args.changes {
        let rule = format!("bench:latency_{i}");
        let started = Instant::now();
        apply(&configmaps, "bench-latency", &rule, i).await?;
        wait_visible(&prometheus, &mut contender, &rule, VISIBLE_WITHIN).await?;
        latency_seconds.push(started.elapsed().as_secs_f64());
        tokio::time::sleep(Duration::from_millis(args.gap_ms)).await;
    }
    // The settle window also lets a reload owed by the last change land.
    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
    let latency_reloads = reloads(&prometheus)? - before;

    let before = reloads(&prometheus)?;
    let started = Instant::now();
    let mut last = String::new();
    for i in 0..args.burst {
        last = format!("bench:burst_{i}");
        apply(&configmaps, "bench-burst", &last, i).await?;
    }
    wait_visible(&prometheus, &mut contender, &last, VISIBLE_WITHIN).await?;
    let burst_seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
    contender.check_alive()?;
    let burst_reloads = reloads(&prometheus)? - before;

    contender.stop();
    drop(prometheus);
    configmaps
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await?;
    emit(&Outcome {
        suite: "rules",
        implementation: args.contender,
        workload: "change-to-visible",
        latency_seconds,
        latency_reloads,
        burst_changes: args.burst,
        burst_seconds,
        burst_reloads,
    })
}

/// The namespace exists and holds no ConfigMap of an earlier run.
async fn prepare_namespace(client: &Client, configmaps: &Api<ConfigMap>) -> Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": NAMESPACE}}))?;
    match namespaces.create(&PostParams::default(), &namespace).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {}
        Err(e) => return Err(e).context("creating the benchmark's namespace"),
    }
    configmaps
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await?;
    Ok(())
}

/// Server-side applies the ConfigMap `name` holding one group with one
/// recording rule `rule`.
async fn apply(configmaps: &Api<ConfigMap>, name: &str, rule: &str, value: usize) -> Result<()> {
    let (key, label) = rule_loader_api::RULES_LABEL;
    let file = format!(
        "groups:\n- name: {name}\n  rules:\n  - record: {rule}\n    expr: vector({value})\n"
    );
    let cm = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {key: label}},
        "data": {"rules.yaml": file},
    });
    configmaps
        .patch(
            name,
            &PatchParams::apply("bench-rules-harness").force(),
            &Patch::Apply(&cm),
        )
        .await
        .with_context(|| format!("applying ConfigMap {name}"))?;
    Ok(())
}

/// Polls `/api/v1/rules` every 5 ms until a rule named `rule` is served.
async fn wait_visible(
    prometheus: &Prometheus,
    contender: &mut Contender,
    rule: &str,
    limit: Duration,
) -> Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        let addr = prometheus.addr();
        let (status, body) = tokio::task::spawn_blocking(move || {
            prometheus_envtest::http_get(addr, "/api/v1/rules?type=record")
        })
        .await??;
        if status == 200 && serves(&body, rule)? {
            return Ok(());
        }
        contender.check_alive()?;
        if Instant::now() > deadline {
            bail!(
                "{rule} was not served by Prometheus within {} s; the contender's log is {}",
                limit.as_secs(),
                contender.0.log().display()
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Whether a `/api/v1/rules` answer holds a rule named `rule`.
fn serves(body: &str, rule: &str) -> Result<bool> {
    let answer: Value = serde_json::from_str(body).context("parsing /api/v1/rules")?;
    let groups = answer["data"]["groups"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    Ok(groups
        .iter()
        .filter_map(|g| g["rules"].as_array())
        .flatten()
        .any(|r| r["name"] == rule))
}

/// Reloads so far, start-up included: the reload lines in Prometheus' log.
fn reloads(prometheus: &Prometheus) -> Result<usize> {
    let log = fs::read_to_string(prometheus.log())
        .with_context(|| format!("reading {}", prometheus.log().display()))?;
    Ok(count_reloads(&log))
}

fn count_reloads(log: &str) -> usize {
    log.lines().filter(|l| l.contains(RELOAD_LINE)).count()
}

struct Contender(LoggedChild);

impl Contender {
    fn spawn(args: &Args, rules: &Path, prometheus: &Prometheus) -> Result<Self> {
        let metrics: SocketAddr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let log = args.work_dir.join("contender.log");
        Ok(Self(LoggedChild::spawn(
            &args.command,
            &[
                ("rules", &rules.display().to_string()),
                ("prometheus", &prometheus.url()),
                ("metrics", &metrics.to_string()),
            ],
            &log,
        )?))
    }

    fn check_alive(&mut self) -> Result<()> {
        self.0.check_alive()
    }

    /// SIGTERM, then SIGKILL after 15 s.
    fn stop(&mut self) {
        if self.0.terminate(Duration::from_secs(15)).is_err() {
            self.0.kill();
        }
    }
}

impl Drop for Contender {
    fn drop(&mut self) {
        self.0.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_is_found_by_its_exact_name_in_any_group() {
        let body = r#"{"status":"success","data":{"groups":[
            {"name":"a","rules":[{"name":"bench:latency_3"}]},
            {"name":"b","rules":[{"name":"bench:latency_30"},{"name":"x"}]}]}}"#;
        assert!(serves(body, "bench:latency_30").unwrap());
        assert!(serves(body, "bench:latency_3").unwrap());
        assert!(!serves(body, "bench:latency_4").unwrap());
        assert!(serves("not json", "x").is_err());
    }

    #[test]
    fn reloads_are_the_completed_loading_lines() {
        let log = "time=1 level=INFO msg=\"Loading configuration file\"\n\
                   time=2 level=INFO msg=\"Completed loading of configuration file\" db_storage=1\n\
                   time=3 level=INFO msg=\"Server is ready\"\n\
                   time=4 level=INFO msg=\"Completed loading of configuration file\"\n";
        assert_eq!(count_reloads(log), 2);
    }
}
