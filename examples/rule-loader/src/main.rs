//! The Rule Loader's binary: flags, logging, signals; the rest is in the
//! library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use crdforge_runtime::leader::LeaseConfig;
use rule_loader::render::RenderOptions;
use rule_loader::rulefmt::Limits;
use rule_loader::run::{self, Options};
use rule_loader::validate::NameScheme;

#[derive(Parser)]
#[command(about = "Loads Prometheus rules from labelled ConfigMaps")]
struct Args {
    /// The directory Prometheus loads rule files from (its `rule_files`
    /// should be `<dir>/*.yaml`); the loader owns every `*.yaml` file in it.
    #[arg(long, env = "RULE_LOADER_RULES_DIR")]
    rules_dir: PathBuf,
    /// Prometheus' base URL; it must run with `--web.enable-lifecycle`.
    #[arg(long, env = "RULE_LOADER_PROMETHEUS_URL")]
    prometheus_url: String,
    /// Set this label to the ConfigMap's namespace on every rule.
    #[arg(long)]
    namespace_label: Option<String>,
    /// Accept any UTF-8 metric and label names (Prometheus 3's default),
    /// not only `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[arg(long)]
    utf8_names: bool,
    /// Largest rule file (one ConfigMap key), in bytes.
    #[arg(long, default_value_t = Limits::default().max_file_bytes)]
    max_file_bytes: usize,
    /// Most rules in one file.
    #[arg(long, default_value_t = Limits::default().max_rules)]
    max_rules: usize,
    /// Quiet period after a change before the files are written and
    /// Prometheus reloaded, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    debounce_ms: u64,
    /// Longest wait for a burst of changes to go quiet, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    max_debounce_ms: u64,
    /// Bound on one reload call, in seconds.
    #[arg(long, default_value_t = 30)]
    reload_timeout: u64,
    /// Concurrent workers.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080")]
    metrics_addr: SocketAddr,
    /// Run as one of several replicas, with a Lease electing the active one.
    #[arg(long)]
    leader_elect: bool,
    /// Namespace of the Lease.
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    lease_namespace: String,
    /// Name of the Lease.
    #[arg(long, default_value = "rule-loader")]
    lease_name: String,
    /// This replica's identity (the pod name in a cluster).
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// Lease duration in seconds.
    #[arg(long, default_value_t = 15)]
    lease_duration: u64,
    /// Renew deadline in seconds.
    #[arg(long, default_value_t = 10)]
    renew_deadline: u64,
    /// Retry period in milliseconds.
    #[arg(long, default_value_t = 2000)]
    retry_period_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,kube=warn".into()),
        )
        .init();
    let args = Args::parse();
    let identity = args
        .identity
        .unwrap_or_else(|| format!("rule-loader-{}", std::process::id()));
    let leader_election = args.leader_elect.then(|| LeaseConfig {
        lease_duration: Duration::from_secs(args.lease_duration),
        renew_deadline: Duration::from_secs(args.renew_deadline),
        retry_period: Duration::from_millis(args.retry_period_ms),
        ..LeaseConfig::new(&args.lease_namespace, &args.lease_name, &identity)
    });
    let options = Options {
        rules_dir: args.rules_dir,
        prometheus_url: args.prometheus_url,
        reload_timeout: Duration::from_secs(args.reload_timeout),
        render: RenderOptions {
            limits: Limits {
                max_file_bytes: args.max_file_bytes,
                max_rules: args.max_rules,
                ..Limits::default()
            },
            scheme: if args.utf8_names {
                NameScheme::Utf8
            } else {
                NameScheme::Legacy
            },
            namespace_label: args.namespace_label,
        },
        debounce: Duration::from_millis(args.debounce_ms),
        max_debounce: Duration::from_millis(args.max_debounce_ms),
        workers: args.workers,
        metrics_addr: args.metrics_addr,
        leader_election,
        identity,
    };
    let client = kube::Client::try_default().await?;
    let result = run::run(client, options, shutdown_signal()).await;
    if let Err(err) = &result {
        tracing::error!(error = %format!("{err:#}"), "stopping");
    }
    result
}

/// SIGTERM (from the kubelet) or Ctrl-C.
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down: draining the queue");
}
