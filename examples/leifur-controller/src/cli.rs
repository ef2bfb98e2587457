//! The binary's flags, in the library so that tests parse the generated
//! Deployment's arguments with the very parser the binary uses
//! (`tests/deployment_args.rs`).

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use crdforge_runtime::leader::LeaseConfig;

use crate::run::{NAME, Options, WebhookOptions};

/// The IPAM controller's flags.
#[derive(Parser, Debug)]
#[command(
    name = "leifur-controller",
    about = "Gives LoadBalancer Services addresses from IPPools"
)]
pub struct Args {
    /// Concurrent workers.
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// Run as one of several replicas, with a Lease electing the active one.
    #[arg(long)]
    pub leader_elect: bool,
    /// Namespace of the Lease.
    #[arg(long, env = "POD_NAMESPACE", default_value = "leifur-system")]
    pub lease_namespace: String,
    /// Name of the Lease.
    #[arg(long, default_value = NAME)]
    pub lease_name: String,
    /// This replica's identity (the pod name in a cluster).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Lease duration in seconds.
    #[arg(long, default_value_t = 15)]
    pub lease_duration: u64,
    /// Renew deadline in seconds.
    #[arg(long, default_value_t = 10)]
    pub renew_deadline: u64,
    /// Retry period in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub retry_period_ms: u64,
    /// Address of the HTTPS server of the IPPool validating webhook; none
    /// when unset.
    #[arg(long, requires_all = ["tls_cert", "tls_key"])]
    pub webhook_addr: Option<SocketAddr>,
    /// The webhook's serving certificate (PEM).
    #[arg(long)]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The webhook's key (PEM).
    #[arg(long)]
    pub tls_key: Option<std::path::PathBuf>,
}

impl Args {
    /// The run options these flags ask for.
    pub fn options(self) -> Options {
        let identity = self
            .identity
            .unwrap_or_else(|| format!("{NAME}-{}", std::process::id()));
        let leader_election = self.leader_elect.then(|| LeaseConfig {
            lease_duration: Duration::from_secs(self.lease_duration),
            renew_deadline: Duration::from_secs(self.renew_deadline),
            retry_period: Duration::from_millis(self.retry_period_ms),
            ..LeaseConfig::new(&self.lease_namespace, &self.lease_name, &identity)
        });
        Options {
            workers: self.workers,
            metrics_addr: self.metrics_addr,
            leader_election,
            identity,
            webhook: self.webhook_addr.map(|addr| WebhookOptions {
                addr,
                cert: self.tls_cert.clone().unwrap_or_default(),
                key: self.tls_key.clone().unwrap_or_default(),
            }),
        }
    }
}
