//! What the Rule Loader needs to run: its permissions and the Prometheus
//! it loads rules into, with the loader as a sidecar, rendered by `cargo
//! xtask gen` into `generated/deploy/rule-loader/`.
//!
//! As for the User controller, the declaration is the single source of the
//! controller's permissions, and its end-to-end tests run it under exactly
//! the generated role.
//!
//! The Deployment is Prometheus's (`prometheus`, two replicas for HA), and
//! each pod holds a loader in sidecar mode (`--sidecar`, no leader
//! election: each replica writes its own pod's files, see
//! `rule_loader::cli`). The two containers share an `emptyDir` at
//! [`RULES_DIR`]: the loader writes the rule files there and Prometheus's
//! generated `prometheus.yml` ([`prometheus_config`], mounted from a
//! ConfigMap) loads `RULES_DIR/*.yaml`; the loader reloads it at
//! `http://127.0.0.1:9090`, in the same pod. The Role on Leases stays: the
//! same binary also runs standalone with `--leader-elect` (its end-to-end
//! tests do), and its RBAC minimality test holds that role to what they use.

use std::collections::BTreeMap;

use crdforge_gen::pod::{ConfigFiles, Mount, Pod, Port, SideContainer, Source, Volume};
use crdforge_gen::rbac::{ControllerManifest, Op, Probes, Uses};

/// Where the rule files are, in both containers: the shared volume.
pub const RULES_DIR: &str = "/etc/prometheus/rules";
/// Where Prometheus reads its configuration (the ConfigMap
/// [`PROMETHEUS_CONFIG`]).
pub const CONFIG_DIR: &str = "/etc/prometheus/config";
/// The ConfigMap of `prometheus.yml`.
pub const PROMETHEUS_CONFIG: &str = "prometheus-config";
/// The port Prometheus serves its API (and `/-/reload`) on.
pub const PROMETHEUS_PORT: u16 = 9090;
/// The Prometheus image beside the loader (the release its end-to-end
/// tests build from the Go module proxy, v0.316.0 = Prometheus 3.16).
pub const PROMETHEUS_IMAGE: &str = "quay.io/prometheus/prometheus:v3.16.0";

/// Prometheus's configuration: it loads every rule file the loader writes,
/// and scrapes itself and the loader.
pub fn prometheus_config() -> String {
    format!(
        r#"# The rule files are written by the rule-loader sidecar of this pod.
global:
  scrape_interval: 15s
  evaluation_interval: 15s
rule_files:
  - {RULES_DIR}/*.yaml
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:{PROMETHEUS_PORT}"]
  - job_name: rule-loader
    static_configs:
      - targets: ["127.0.0.1:{LOADER_METRICS_PORT}"]
"#
    )
}

/// The loader's `/metrics` port in the pod.
const LOADER_METRICS_PORT: i32 = 8080;

/// The controller's manifest: what its code does, resource by resource.
pub fn controller_manifest() -> ControllerManifest {
    ControllerManifest {
        name: super::NAME,
        namespace: super::NAMESPACE,
        image: "ghcr.io/crdforge/rule-loader:0.1.0",
        uses: vec![
            // Labelled ConfigMaps are read through an informer; the status
            // annotation is written by a merge patch with a resourceVersion
            // precondition (never an apply, which could re-create a
            // ConfigMap deleted since the cache read). No fence: which
            // ConfigMaps it may patch is a label on the object, not on its
            // namespace, which the generated fence cannot express yet.
            Uses::new("", "configmaps", &[Op::Watch, Op::Patch]),
            // One Warning Event per invalid ConfigMap, applied under a fixed
            // name and deleted when the ConfigMap is fixed.
            Uses::new("", "events", &[Op::Apply, Op::Delete]),
        ],
        own_namespace_uses: vec![Uses::new(
            "coordination.k8s.io",
            "leases",
            &[Op::Get, Op::Create, Op::Update],
        )],
        managed_namespaces: None,
        // Two Prometheus replicas, each with its own loader.
        replicas: 2,
        args: vec![
            "--sidecar".into(),
            format!("--rules-dir={RULES_DIR}"),
            format!("--prometheus-url=http://127.0.0.1:{PROMETHEUS_PORT}"),
        ],
        metrics_port: LOADER_METRICS_PORT,
        // The loader serves /healthz and /readyz beside /metrics.
        probes: Some(Probes::HEALTHZ_READYZ),
        pod: Pod {
            name: Some("prometheus"),
            volumes: vec![
                Volume {
                    name: "rules",
                    source: Source::EmptyDir,
                },
                Volume {
                    name: "config",
                    source: Source::ConfigMap {
                        name: PROMETHEUS_CONFIG,
                        items: vec![],
                    },
                },
                Volume {
                    name: "data",
                    source: Source::EmptyDir,
                },
            ],
            mounts: vec![Mount::writable("rules", RULES_DIR)],
            containers: vec![SideContainer {
                name: "prometheus",
                image: PROMETHEUS_IMAGE,
                args: vec![
                    format!("--config.file={CONFIG_DIR}/prometheus.yml"),
                    "--storage.tsdb.path=/prometheus".into(),
                    format!("--web.listen-address=0.0.0.0:{PROMETHEUS_PORT}"),
                    // The loader's reload is a POST to /-/reload.
                    "--web.enable-lifecycle".into(),
                ],
                ports: vec![Port {
                    name: "web",
                    port: PROMETHEUS_PORT,
                }],
                mounts: vec![
                    Mount::read_only("rules", RULES_DIR),
                    Mount::read_only("config", CONFIG_DIR),
                    Mount::writable("data", "/prometheus"),
                ],
                probes: Some((
                    "web",
                    Probes {
                        liveness: "/-/healthy",
                        readiness: "/-/ready",
                        period_seconds: 10,
                    },
                )),
            }],
            config_maps: vec![ConfigFiles {
                name: PROMETHEUS_CONFIG,
                data: BTreeMap::from([("prometheus.yml".to_string(), prometheus_config())]),
            }],
            ..Pod::default()
        },
    }
}
