//! The User controller's binary: flags, logging, signals; the rest is in
//! the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use crdforge_runtime::leader::LeaseConfig;
use user_controller::run::{self, Options, WebhookOptions};

#[derive(Parser)]
#[command(about = "Provisions a namespace, role binding and quota for every User")]
struct Args {
    /// Folder of the file-backed account directory.
    #[arg(
        long,
        env = "USER_CONTROLLER_DIRECTORY",
        default_value = "/var/lib/user-controller"
    )]
    directory: PathBuf,
    /// Concurrent reconciles.
    #[arg(long, default_value_t = 4)]
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
    #[arg(long, default_value = "user-controller")]
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
    /// Address of the HTTPS server of the conversion and admission
    /// webhooks; none serves no webhook.
    #[arg(long, requires_all = ["tls_cert", "tls_key"])]
    webhook_addr: Option<SocketAddr>,
    /// The webhooks' serving certificate (PEM), read again when it changes.
    #[arg(long)]
    tls_cert: Option<PathBuf>,
    /// The webhooks' key (PEM).
    #[arg(long)]
    tls_key: Option<PathBuf>,
    /// Namespace of the admission policy ConfigMap (`user-policy`).
    #[arg(long, env = "POD_NAMESPACE", default_value = user_controller::api::CONTROLLER_NAMESPACE)]
    policy_namespace: String,
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
        .unwrap_or_else(|| format!("user-controller-{}", std::process::id()));
    let leader_election = args.leader_elect.then(|| LeaseConfig {
        lease_duration: Duration::from_secs(args.lease_duration),
        renew_deadline: Duration::from_secs(args.renew_deadline),
        retry_period: Duration::from_millis(args.retry_period_ms),
        ..LeaseConfig::new(&args.lease_namespace, &args.lease_name, &identity)
    });
    let client = kube::Client::try_default().await?;
    let options = Options {
        directory: args.directory,
        workers: args.workers,
        metrics_addr: args.metrics_addr,
        leader_election,
        identity,
        webhook: args.webhook_addr.map(|addr| WebhookOptions {
            addr,
            cert: args.tls_cert.clone().unwrap_or_default(),
            key: args.tls_key.clone().unwrap_or_default(),
            cert_poll: Duration::from_secs(10),
            policy_namespace: args.policy_namespace.clone(),
        }),
    };
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
