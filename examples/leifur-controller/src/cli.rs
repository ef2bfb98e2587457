//! The binary's flags, in the library so that tests parse the generated
//! Deployment's arguments with the very parser the binary uses
//! (`tests/deployment_args.rs`).

use std::net::SocketAddr;

use clap::Parser;
use crdforge_runtime::cli::{LeaderElectionArgs, WebhookServingArgs};

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
    /// Leader election among replicas.
    #[command(flatten)]
    pub leader: LeaderElectionArgs,
    /// The webhooks' HTTPS server.
    #[command(flatten)]
    pub webhook: WebhookServingArgs,
}

impl Args {
    /// The run options these flags ask for.
    pub fn options(self) -> Options {
        let identity = self.leader.identity(NAME);
        let leader_election = self.leader.lease(NAME, "leifur-system", &identity);
        Options {
            workers: self.workers,
            metrics_addr: self.metrics_addr,
            leader_election,
            identity,
            webhook: self.webhook.webhook_addr.map(|addr| WebhookOptions {
                addr,
                cert: self.webhook.tls_cert.clone().unwrap_or_default(),
                key: self.webhook.tls_key.clone().unwrap_or_default(),
            }),
        }
    }
}
