//! `leifur-speaker`: run one per node (a DaemonSet with hostNetwork).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use leifur_speaker::speaker::{self, Options};

/// Announces Leifur's Service addresses from this node over ARP/NDP and BGP.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// This node's name (the downward API's spec.nodeName).
    #[arg(long, env = "NODE_NAME")]
    node: String,
    /// Namespace of the speakers' membership Leases.
    #[arg(long, env = "POD_NAMESPACE", default_value = leifur_api::SPEAKER_NAMESPACE)]
    namespace: String,
    /// How long this speaker's Lease holds without renewal, in seconds: how
    /// long a dead node keeps its addresses.
    #[arg(long, default_value_t = 15)]
    lease_duration_seconds: u64,
    /// How often the Lease is renewed, in milliseconds (default: a third of
    /// the lease duration).
    #[arg(long)]
    renew_interval_ms: Option<u64>,
    /// How often the announcements are recomputed, in milliseconds.
    #[arg(long, default_value_t = 500)]
    tick_ms: u64,
    /// Network namespace for the data plane (ARP/NDP/BGP sockets), e.g.
    /// /run/netns/node-a. For tests that run speakers outside their node's
    /// namespace; a deployment uses hostNetwork and leaves it unset.
    #[arg(long)]
    netns: Option<PathBuf>,
    /// Interfaces to answer ARP/NDP on (repeatable; default: every
    /// interface that is up, not loopback, with a MAC).
    #[arg(long = "interface")]
    interfaces: Vec<String>,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, default_value_t = SocketAddr::from(([0, 0, 0, 0], leifur_speaker::METRICS_PORT)))]
    metrics_addr: SocketAddr,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        // Colour only on a terminal: logs collected from a file or a
        // container runtime stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let args = Args::parse();
    let lease_duration = Duration::from_secs(args.lease_duration_seconds.max(1));
    let options = Options {
        node: args.node,
        namespace: args.namespace,
        lease_duration,
        renew_interval: args
            .renew_interval_ms
            .map(Duration::from_millis)
            .unwrap_or(lease_duration / 3),
        tick: Duration::from_millis(args.tick_ms.max(10)),
        netns: args.netns,
        interfaces: args.interfaces,
        metrics_addr: args.metrics_addr,
    };
    let client = kube::Client::try_default().await?;
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    };
    speaker::run(client, options, shutdown).await
}
