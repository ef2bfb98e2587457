//! One source between the generated manifests and the binary: the loader's
//! arguments in the generated Prometheus Deployment are parsed with the
//! binary's own flags ([`rule_loader::cli::Args`]) and accepted in sidecar
//! mode; the rule directory they name is where the loader mounts the shared
//! volume, where Prometheus mounts the same volume, and what the generated
//! `prometheus.yml` loads; the reload URL is the Prometheus container's
//! port on loopback; the metrics port is the container's.

use std::path::Path;

use clap::Parser;
use crdforge_envtest::manifests::{documents, mount_path, one, port};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use rule_loader::cli::Args;
use serde_json::Value;

#[test]
fn the_generated_sidecar_is_what_the_binary_parses() {
    let docs = documents("generated/deploy/rule-loader/deployment.yaml");
    let deployment: Deployment = one(&docs, "Deployment");
    let pod = deployment.spec.template.spec.unwrap();
    let loader = pod
        .containers
        .iter()
        .find(|c| c.name == rule_loader::api::NAME)
        .unwrap();
    let prometheus = pod
        .containers
        .iter()
        .find(|c| c.name == "prometheus")
        .unwrap();
    let args = Args::try_parse_from(
        std::iter::once("rule-loader".to_string()).chain(loader.args.clone().unwrap_or_default()),
    )
    .unwrap_or_else(|e| panic!("the loader's args do not parse: {e}"));
    assert!(args.sidecar && !args.leader.leader_elect);
    let rules_dir = args.rules_dir.clone();
    let prometheus_url = args.prometheus_url.clone();
    let metrics_port = args.metrics_addr.port();
    let options = args.options().expect("valid sidecar flags");
    assert!(options.leader_election.is_none());

    // The shared volume: an emptyDir, the loader's rule directory, and
    // Prometheus's (read-only) at the same path.
    assert_eq!(rules_dir, Path::new(mount_path(loader, "rules")));
    assert_eq!(rules_dir, Path::new(mount_path(prometheus, "rules")));
    let rules = pod
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == "rules")
        .unwrap();
    assert!(rules.empty_dir.is_some(), "{rules:?}");

    // prometheus.yml, from the generated ConfigMap mounted where
    // `--config.file` points, loads every file the loader writes.
    let prometheus_args = prometheus.args.clone().unwrap_or_default();
    let flag = |name: &str| {
        prometheus_args
            .iter()
            .find_map(|a| a.strip_prefix(&format!("--{name}=")))
            .map(str::to_owned)
    };
    let config_file = flag("config.file").expect("--config.file");
    let config_file = Path::new(&config_file);
    assert_eq!(
        config_file.parent(),
        Some(Path::new(mount_path(prometheus, "config")))
    );
    let config_volume = pod
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == "config")
        .and_then(|v| v.config_map.clone())
        .unwrap();
    let config_map: ConfigMap = one(&docs, "ConfigMap");
    assert_eq!(
        config_map.metadata.name.as_deref(),
        Some(config_volume.name.as_str())
    );
    let text = &config_map.data.unwrap()[config_file.file_name().unwrap().to_str().unwrap()];
    let config: Value = serde_saphyr::from_str(text).unwrap();
    assert_eq!(
        config["rule_files"],
        serde_json::json!([format!("{}/*.yaml", rules_dir.display())])
    );

    // The reload goes to the Prometheus beside it, which allows it.
    assert!(
        prometheus_args
            .iter()
            .any(|a| a == "--web.enable-lifecycle")
    );
    let web = port(prometheus, "web");
    assert_eq!(prometheus_url, format!("http://127.0.0.1:{web}"));
    assert_eq!(flag("web.listen-address"), Some(format!("0.0.0.0:{web}")));
    assert_eq!(i32::from(metrics_port), port(loader, "metrics"));
}
