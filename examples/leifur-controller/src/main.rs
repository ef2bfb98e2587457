//! Leifur's IPAM controller binary: flags, logging, signals; the rest is in
//! the library.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use crdforge_runtime::leader::LeaseConfig;
use leifur_controller::run::{self, NAME, Options};

#[derive(Parser)]
#[command(about = "Gives LoadBalancer Services addresses from IPPools")]
struct Args {
    /// Concurrent workers.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080")]
    metrics_addr: SocketAddr,
    /// Run as one of several replicas, with a Lease electing the active one.
    #[arg(long)]
    leader_elect: bool,
    /// Namespace of the Lease.
    #[arg(long, env = "POD_NAMESPACE", default_value = "leifur-system")]
    lease_namespace: String,
    /// Name of the Lease.
    #[arg(long, default_value = NAME)]
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
        .unwrap_or_else(|| format!("{NAME}-{}", std::process::id()));
    let leader_election = args.leader_elect.then(|| LeaseConfig {
        lease_duration: Duration::from_secs(args.lease_duration),
        renew_deadline: Duration::from_secs(args.renew_deadline),
        retry_period: Duration::from_millis(args.retry_period_ms),
        ..LeaseConfig::new(&args.lease_namespace, &args.lease_name, &identity)
    });
    let options = Options {
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
