//! The binary's flags, in the library so that tests parse the generated
//! Deployment's arguments with the very parser the binary uses.
//!
//! ## Two ways to run, and who reports
//!
//! - **Standalone** (`--leader-elect`, several replicas): one elected
//!   loader writes the rule files into a directory Prometheus reads (a
//!   volume both reach) and reloads it by its Service URL.
//! - **Sidecar** (`--sidecar`): the loader runs in each Prometheus pod,
//!   writes that pod's rule files into a volume shared with it and reloads
//!   the Prometheus beside it over loopback. With two Prometheus replicas
//!   (HA), each replica's loader must write its own pod's files, so there
//!   is no leader election: `--sidecar` refuses `--leader-elect`, and
//!   refuses a `--prometheus-url` that is not loopback (the Prometheus of
//!   another pod is not this loader's to reload). The desired files are
//!   computed from the informer cache alone, so every replica converges to
//!   the same files.
//!
//! Status and Events in sidecar mode: **every replica reports, and they
//! agree instead of fighting.** The status annotation is a function of the
//! ConfigMap's content alone and is written only when it differs from what
//! the ConfigMap holds, by a merge patch that carries the resourceVersion
//! read; of two replicas, the second gets a conflict (or sees the first's
//! identical annotation in its cache) and writes nothing more. The Warning
//! Event has a fixed name per ConfigMap and is applied with one field
//! manager (the loader's name) by each replica that sees the difference:
//! the later apply replaces the earlier with the same reason and message,
//! so there is one Event, not one per replica (its `reportingInstance`
//! names the replica that wrote last), and removing it is a delete that
//! takes a 404 as done. Nothing either replica writes changes what the
//! other computes, so the writes stop once both have seen the annotation.
//! Electing a reporter would add a Lease and a second moving part for no
//! different outcome.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use crdforge_runtime::cli::LeaderElectionArgs;

use crate::render::RenderOptions;
use crate::rulefmt::Limits;
use crate::run::Options;
use crate::validate::NameScheme;

/// The Rule Loader's flags.
#[derive(Parser, Debug)]
#[command(
    name = "rule-loader",
    about = "Loads Prometheus rules from labelled ConfigMaps"
)]
pub struct Args {
    /// The directory Prometheus loads rule files from (its `rule_files`
    /// should be `<dir>/*.yaml`); the loader owns every `*.yaml` file in it.
    #[arg(long, env = "RULE_LOADER_RULES_DIR")]
    pub rules_dir: PathBuf,
    /// Prometheus' base URL; it must run with `--web.enable-lifecycle`.
    #[arg(long, env = "RULE_LOADER_PROMETHEUS_URL")]
    pub prometheus_url: String,
    /// Set this label to the ConfigMap's namespace on every rule.
    #[arg(long)]
    pub namespace_label: Option<String>,
    /// Accept any UTF-8 metric and label names (Prometheus 3's default),
    /// not only `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[arg(long)]
    pub utf8_names: bool,
    /// Largest rule file (one ConfigMap key), in bytes.
    #[arg(long, default_value_t = Limits::default().max_file_bytes)]
    pub max_file_bytes: usize,
    /// Most rules in one file.
    #[arg(long, default_value_t = Limits::default().max_rules)]
    pub max_rules: usize,
    /// Quiet period after a change before the files are written and
    /// Prometheus reloaded, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub debounce_ms: u64,
    /// Longest wait for a burst of changes to go quiet, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub max_debounce_ms: u64,
    /// Bound on one reload call, in seconds.
    #[arg(long, default_value_t = 30)]
    pub reload_timeout: u64,
    /// Concurrent workers.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// Run beside Prometheus in its pod: every replica works alone on its
    /// own pod's files and reloads the Prometheus on loopback; no leader
    /// election (see the module docs).
    #[arg(long, conflicts_with = "leader_elect")]
    pub sidecar: bool,
    /// Leader election among replicas.
    #[command(flatten)]
    pub leader: LeaderElectionArgs,
}

impl Args {
    /// The run options, or why the flags do not make sense together.
    pub fn options(self) -> Result<Options, String> {
        if self.sidecar && !is_loopback_url(&self.prometheus_url) {
            return Err(format!(
                "--sidecar reloads the Prometheus in its own pod: --prometheus-url {:?} must be http://127.0.0.1:<port> or http://localhost:<port>",
                self.prometheus_url
            ));
        }
        let identity = self.leader.identity("rule-loader");
        let leader_election = self.leader.lease("rule-loader", "default", &identity);
        Ok(Options {
            rules_dir: self.rules_dir,
            prometheus_url: self.prometheus_url,
            reload_timeout: Duration::from_secs(self.reload_timeout),
            render: RenderOptions {
                limits: Limits {
                    max_file_bytes: self.max_file_bytes,
                    max_rules: self.max_rules,
                    ..Limits::default()
                },
                scheme: if self.utf8_names {
                    NameScheme::Utf8
                } else {
                    NameScheme::Legacy
                },
                namespace_label: self.namespace_label,
            },
            debounce: Duration::from_millis(self.debounce_ms),
            max_debounce: Duration::from_millis(self.max_debounce_ms),
            workers: self.workers,
            metrics_addr: self.metrics_addr,
            leader_election,
            identity,
        })
    }
}

/// `http://127.0.0.1:…`, `http://[::1]:…` or `http://localhost:…`.
fn is_loopback_url(url: &str) -> bool {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return false;
    };
    match uri.host() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &[&str]) -> Result<Args, clap::Error> {
        let mut args = vec!["rule-loader", "--rules-dir=/rules"];
        args.extend_from_slice(extra);
        Args::try_parse_from(args)
    }

    #[test]
    fn sidecar_mode_has_no_leader_election() {
        let options = parse(&["--sidecar", "--prometheus-url=http://127.0.0.1:9090"])
            .unwrap()
            .options()
            .unwrap();
        assert!(options.leader_election.is_none());
        let err = parse(&[
            "--sidecar",
            "--leader-elect",
            "--prometheus-url=http://127.0.0.1:9090",
        ])
        .unwrap_err();
        assert_eq!(
            err.kind(),
            clap::error::ErrorKind::ArgumentConflict,
            "{err}"
        );
        assert!(err.to_string().contains("--leader-elect"), "{err}");
    }

    #[test]
    fn sidecar_mode_reloads_only_the_prometheus_on_loopback() {
        for url in [
            "http://127.0.0.1:9090",
            "http://localhost:9090",
            "http://[::1]:9090/",
        ] {
            let args = parse(&["--sidecar", &format!("--prometheus-url={url}")]).unwrap();
            assert!(args.options().is_ok(), "{url}");
        }
        for url in [
            "http://prometheus:9090",
            "http://10.0.0.7:9090",
            "not a url",
        ] {
            let args = parse(&["--sidecar", &format!("--prometheus-url={url}")]).unwrap();
            let err = args.options().unwrap_err();
            assert!(
                err.contains("--sidecar reloads the Prometheus in its own pod"),
                "{err}"
            );
        }
        // Standalone, any Prometheus will do.
        let args = parse(&["--leader-elect", "--prometheus-url=http://prometheus:9090"]).unwrap();
        assert!(args.options().unwrap().leader_election.is_some());
    }
}
