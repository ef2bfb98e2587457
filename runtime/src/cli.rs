//! Flags every controller binary shares, as clap argument groups that a
//! binary's own parser takes in with `#[command(flatten)]`: one place for
//! their names, defaults and help, which the generated Deployments' args and
//! each binary's parser must agree on.
//!
//! ```
//! use clap::Parser;
//! use crdforge_runtime::cli::{LeaderElectionArgs, WebhookServingArgs};
//!
//! #[derive(Parser)]
//! struct Args {
//!     #[command(flatten)]
//!     leader: LeaderElectionArgs,
//!     #[command(flatten)]
//!     webhook: WebhookServingArgs,
//! }
//!
//! let args = Args::parse_from(["backup-controller", "--leader-elect", "--identity", "pod-0"]);
//! let identity = args.leader.identity("backup-controller");
//! let lease = args.leader.lease("backup-controller", "backup-system", &identity).unwrap();
//! assert_eq!((lease.namespace.as_str(), lease.name.as_str()), ("backup-system", "backup-controller"));
//! assert!(args.webhook.webhook_addr.is_none());
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::leader::LeaseConfig;

/// `--leader-elect` and the Lease it contends for (client-go's timings by
/// default).
#[derive(clap::Args, Clone, Debug)]
pub struct LeaderElectionArgs {
    /// Run as one of several replicas, with a Lease electing the active one.
    #[arg(long)]
    pub leader_elect: bool,
    /// Namespace of the Lease [default: set by each controller].
    #[arg(long, env = "POD_NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// Name of the Lease [default: the controller's name].
    #[arg(long)]
    pub lease_name: Option<String>,
    /// This replica's identity (the pod name in a cluster) [default: the
    /// controller's name and the process id].
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
}

impl LeaderElectionArgs {
    /// This replica's identity: `--identity` (`$POD_NAME`), or the
    /// controller's name with the process id.
    pub fn identity(&self, controller: &str) -> String {
        self.identity
            .clone()
            .unwrap_or_else(|| format!("{controller}-{}", std::process::id()))
    }

    /// The Lease to contend for, if `--leader-elect`: named after the
    /// controller and in `namespace` unless the flags say otherwise.
    pub fn lease(&self, controller: &str, namespace: &str, identity: &str) -> Option<LeaseConfig> {
        self.leader_elect.then(|| LeaseConfig {
            lease_duration: Duration::from_secs(self.lease_duration),
            renew_deadline: Duration::from_secs(self.renew_deadline),
            retry_period: Duration::from_millis(self.retry_period_ms),
            ..LeaseConfig::new(
                self.lease_namespace.as_deref().unwrap_or(namespace),
                self.lease_name.as_deref().unwrap_or(controller),
                identity,
            )
        })
    }
}

/// Where the HTTPS server of a controller's webhooks listens, and its
/// certificate.
#[derive(clap::Args, Clone, Debug)]
pub struct WebhookServingArgs {
    /// Address of the HTTPS server of the webhooks; none serves no webhook.
    #[arg(long, requires_all = ["tls_cert", "tls_key"])]
    pub webhook_addr: Option<SocketAddr>,
    /// The serving certificate (PEM).
    #[arg(long)]
    pub tls_cert: Option<PathBuf>,
    /// The serving key (PEM).
    #[arg(long)]
    pub tls_key: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser, Debug)]
    struct Args {
        #[command(flatten)]
        leader: LeaderElectionArgs,
        #[command(flatten)]
        webhook: WebhookServingArgs,
    }

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("test").chain(args.iter().copied()))
    }

    #[test]
    fn no_lease_without_leader_elect() {
        let args = parse(&["--lease-name", "x"]).unwrap();
        assert!(args.leader.lease("c", "ns", "me").is_none());
    }

    #[test]
    fn flags_override_the_controllers_defaults() {
        let args = parse(&[
            "--leader-elect",
            "--lease-namespace=ops",
            "--lease-name=other",
            "--lease-duration=30",
            "--renew-deadline=20",
            "--retry-period-ms=500",
        ])
        .unwrap();
        let lease = args.leader.lease("c", "ns", "me").unwrap();
        assert_eq!(
            (lease.namespace.as_str(), lease.name.as_str()),
            ("ops", "other")
        );
        assert_eq!(lease.lease_duration, Duration::from_secs(30));
        assert_eq!(lease.renew_deadline, Duration::from_secs(20));
        assert_eq!(lease.retry_period, Duration::from_millis(500));
        assert_eq!(lease.identity, "me");
    }

    #[test]
    fn defaults_are_client_gos() {
        let args = parse(&["--leader-elect"]).unwrap();
        let lease = args.leader.lease("c", "ns", "me").unwrap();
        let defaults = LeaseConfig::new("ns", "c", "me");
        assert_eq!(lease.lease_duration, defaults.lease_duration);
        assert_eq!(lease.renew_deadline, defaults.renew_deadline);
        assert_eq!(lease.retry_period, defaults.retry_period);
        assert!(args.leader.identity("c").starts_with("c-"));
    }

    #[test]
    fn a_webhook_address_needs_its_certificate() {
        let err = parse(&["--webhook-addr=127.0.0.1:9443"]).unwrap_err();
        assert!(err.to_string().contains("--tls-cert"), "{err}");
        let ok = parse(&[
            "--webhook-addr=127.0.0.1:9443",
            "--tls-cert=c",
            "--tls-key=k",
        ])
        .unwrap();
        assert_eq!(ok.webhook.tls_key, Some(PathBuf::from("k")));
    }
}
