//! The binary's flags, in the library so that tests parse the generated
//! Deployment's arguments with the very parser the binary uses
//! (`tests/deployment_args.rs`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use crdforge_runtime::cli::{LeaderElectionArgs, WebhookServingArgs};

use crate::run::{Options, WebhookOptions};

/// The User controller's flags.
#[derive(Parser, Debug)]
#[command(
    name = "user-controller",
    about = "Provisions a namespace, role binding and quota for every User"
)]
pub struct Args {
    /// Folder of the file-backed account directory.
    #[arg(
        long,
        env = "USER_CONTROLLER_DIRECTORY",
        default_value = "/var/lib/user-controller"
    )]
    pub directory: PathBuf,
    /// Concurrent reconciles.
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
    /// Namespace of the admission policy ConfigMap (`user-policy`).
    #[arg(long, env = "POD_NAMESPACE", default_value = crate::api::CONTROLLER_NAMESPACE)]
    pub policy_namespace: String,
}

impl Args {
    /// The run options these flags ask for.
    pub fn options(self) -> Options {
        let identity = self.leader.identity("user-controller");
        let leader_election = self.leader.lease("user-controller", "default", &identity);
        Options {
            directory: self.directory,
            workers: self.workers,
            metrics_addr: self.metrics_addr,
            leader_election,
            identity,
            webhook: self.webhook.webhook_addr.map(|addr| WebhookOptions {
                addr,
                cert: self.webhook.tls_cert.clone().unwrap_or_default(),
                key: self.webhook.tls_key.clone().unwrap_or_default(),
                cert_poll: Duration::from_secs(10),
                policy_namespace: self.policy_namespace.clone(),
            }),
        }
    }
}
