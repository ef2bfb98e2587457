//! The generated Prometheus of `generated/deploy/rule-loader/` on a real
//! Prometheus (3.16, built from its Go module by `prometheus-envtest`): its
//! `prometheus.yml`, taken from the generated ConfigMap as is, loads; the
//! `rule_files` glob Prometheus reports is the loader's rule directory;
//! and with the container's own flags (only the paths and the listen
//! address moved to a scratch folder and a loopback port) `POST /-/reload`
//! — what the sidecar calls — is allowed.
//!
//! What a cluster would add and this cannot: the two containers in one pod
//! sharing the `emptyDir` (no kubelet here; the loader's end-to-end tests
//! run it against a Prometheus reading the directory it writes).
//!
//! Run with `cargo test -p rule-loader --features e2e --test
//! prometheus_config_e2e` (the first run builds Prometheus: minutes).

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::Value;

/// Kills the process when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn one(docs: &[Value], kind: &str) -> Value {
    let found: Vec<&Value> = docs.iter().filter(|d| d["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "one {kind}");
    found[0].clone()
}

#[test]
fn the_generated_prometheus_loads_its_config_and_allows_the_reload() {
    let root = crdforge_envtest::workspace_root().unwrap();
    let text =
        std::fs::read_to_string(root.join("generated/deploy/rule-loader/deployment.yaml")).unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    let config_map: ConfigMap = serde_json::from_value(one(&docs, "ConfigMap")).unwrap();
    let deployment: Deployment = serde_json::from_value(one(&docs, "Deployment")).unwrap();
    let container = deployment
        .spec
        .template
        .spec
        .unwrap()
        .containers
        .into_iter()
        .find(|c| c.name == "prometheus")
        .unwrap();

    let dir = std::env::temp_dir().join(format!(
        "rule-loader-prometheus-config-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, &config_map.data.unwrap()["prometheus.yml"]).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let args: Vec<String> = container
        .args
        .unwrap_or_default()
        .into_iter()
        .map(|arg| {
            if arg.starts_with("--config.file=") {
                format!("--config.file={}", config.display())
            } else if arg.starts_with("--storage.tsdb.path=") {
                format!("--storage.tsdb.path={}", dir.join("data").display())
            } else if arg.starts_with("--web.listen-address=") {
                format!("--web.listen-address={addr}")
            } else {
                arg
            }
        })
        .collect();

    let (binary, _) = prometheus_envtest::ensure().unwrap_or_else(|e| panic!("{e:#}"));
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let child = Command::new(binary)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut prometheus = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = prometheus.0.try_wait() {
            panic!(
                "Prometheus exited ({status}) with the generated config; its log:\n{}",
                std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
            );
        }
        if matches!(prometheus_envtest::http_get(addr, "/-/ready"), Ok((200, _))) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus not ready within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let (code, body) = prometheus_envtest::http_get(addr, "/api/v1/status/config").unwrap();
    assert_eq!(code, 200, "{body}");
    let status: Value = serde_json::from_str(&body).unwrap();
    let loaded: Value = serde_saphyr::from_str(status["data"]["yaml"].as_str().unwrap()).unwrap();
    assert_eq!(
        loaded["rule_files"],
        serde_json::json!([format!("{}/*.yaml", loader_rules_dir(&docs))])
    );
    let (code, body) = prometheus_envtest::http_post(addr, "/-/reload").unwrap();
    assert_eq!(code, 200, "the sidecar's reload is refused: {body}");
    drop(prometheus);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Where the loader's container mounts the shared `rules` volume.
fn loader_rules_dir(docs: &[Value]) -> String {
    let deployment = one(docs, "Deployment");
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .clone();
    let loader = containers
        .iter()
        .find(|c| c["name"] == rule_loader::api::NAME)
        .expect("the loader's container");
    loader["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["name"] == "rules")
        .and_then(|m| m["mountPath"].as_str())
        .expect("the loader mounts `rules`")
        .to_owned()
}
