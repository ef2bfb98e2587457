//! `cargo xtask demo-rules`: the Rule Loader in one command. Starts a
//! control plane and a Prometheus built from its Go module, runs the loader
//! under its generated ServiceAccount, commits rule files as ConfigMaps in
//! two namespaces (one with a broken expression), shows what Prometheus
//! loaded and what the broken ConfigMap says, fixes it and shows it loaded.

use std::process::{Child, Command, ExitCode, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crdforge_envtest::Instance;
use prometheus_envtest::{Prometheus, PrometheusConfig};

use crate::workspace_root;

#[derive(clap::Args)]
pub(crate) struct Args {}

const TEAM_A: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: prometheus-rules
  namespace: team-a
  labels: {prometheus.example.com/rules: "true"}
data:
  self.yaml: |
    groups:
      - name: team-a-self
        rules:
          - record: job:up:sum
            expr: sum by (job) (up)
          - alert: PrometheusDown
            expr: job:up:sum{job="prometheus"} == 0
            for: 1m
            labels: {severity: page}
            annotations: {summary: "{{ $labels.job }} is down"}
"#;

const TEAM_B: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: team-b}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: prometheus-rules
  namespace: team-b
  labels: {prometheus.example.com/rules: "true"}
data:
  http.yaml: |
    groups:
      - name: team-b-http
        rules:
          - alert: HighErrorRate
            expr: sum(rate(http_requests_total{code=~"5.."}[5m]) / sum(rate(http_requests_total[5m])) > 0.05
            for: 10m
"#;

/// A process killed when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn kubectl(
    binary: &std::path::Path,
    kubeconfig: &std::path::Path,
    args: &[&str],
    stdin: Option<&str>,
) -> Result<String> {
    let mut child = Command::new(binary)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running kubectl")?;
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .context("kubectl stdin")?
            .write_all(text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "kubectl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn wait(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + limit;
    while !ok() {
        if Instant::now() > deadline {
            bail!("timed out after {} s waiting for {what}", limit.as_secs());
        }
        sleep(Duration::from_millis(300));
    }
    Ok(())
}

/// The groups Prometheus reports, as `name  (file)` lines.
fn loaded_groups(prometheus: &Prometheus) -> Result<Vec<String>> {
    let (_, body) = prometheus.get("/api/v1/rules")?;
    let json: serde_json::Value = serde_json::from_str(&body)?;
    Ok(json["data"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            let file = g["file"].as_str().unwrap_or_default();
            let file = file.rsplit('/').next().unwrap_or(file);
            format!("{:<14} {file}", g["name"].as_str().unwrap_or_default())
        })
        .collect())
}

pub(crate) fn run(_args: Args) -> Result<ExitCode> {
    let root = workspace_root();
    println!("==> building the Rule Loader");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--package", "rule-loader"])
        .current_dir(&root)
        .status()?;
    if !status.success() {
        bail!("building the Rule Loader failed");
    }
    let binary = crdforge_envtest::target_dir()?.join("debug/rule-loader");

    println!("==> starting a control plane (etcd, kube-apiserver, kube-controller-manager)");
    let running = Instance::named("demo-rules").start_scoped(&[])?;
    let instance = running.instance().clone();
    let state = instance
        .state()?
        .context("the demo instance has no state")?;
    let kubectl_bin = state.binaries.join("kubectl");
    let admin = |args: &[&str], stdin: Option<&str>| {
        kubectl(&kubectl_bin, &instance.kubeconfig(), args, stdin)
    };

    println!(
        "==> starting Prometheus {} (built from its Go module on first use)",
        prometheus_envtest::PROMETHEUS_RELEASE
    );
    let dir = instance.dir().join("rule-loader-demo");
    let _ = std::fs::remove_dir_all(&dir);
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules)?;
    let prometheus = Prometheus::start(
        &dir.join("prometheus"),
        PrometheusConfig::rules(format!("{}/*.yaml", rules.display())),
    )?;
    println!(
        "    {} loading {}/*.yaml",
        prometheus.url(),
        rules.display()
    );

    println!(
        "\n==> applying the generated least-privilege RBAC and running the loader as its ServiceAccount"
    );
    let rbac = root.join("generated/deploy/rule-loader/rbac.yaml");
    print!(
        "{}",
        admin(
            &[
                "apply",
                "--server-side",
                "-f",
                rbac.to_str().unwrap_or_default()
            ],
            None
        )?
    );
    let token = admin(
        &[
            "create",
            "token",
            "rule-loader",
            "-n",
            "rule-loader-system",
            "--duration=2h",
        ],
        None,
    )?;
    let sa_kubeconfig = instance.dir().join("rule-loader.kubeconfig");
    instance.write_token_kubeconfig(&sa_kubeconfig, "rule-loader", &token)?;
    let log = dir.join("rule-loader.log");
    let out = std::fs::File::create(&log)?;
    let _loader = Guard(
        Command::new(&binary)
            .arg(format!("--rules-dir={}", rules.display()))
            .arg(format!("--prometheus-url={}", prometheus.url()))
            .args([
                "--namespace-label=namespace",
                "--metrics-addr=127.0.0.1:0",
                "--debounce-ms=500",
            ])
            .env("KUBECONFIG", &sa_kubeconfig)
            .env("NO_COLOR", "1")
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .context("starting the Rule Loader")?,
    );
    println!("    logs: {}", log.display());

    println!(
        "\n==> team-a commits valid rules; team-b commits an alert with a missing parenthesis"
    );
    print!("{}", admin(&["apply", "-f", "-"], Some(TEAM_A))?);
    print!("{}", admin(&["apply", "-f", "-"], Some(TEAM_B))?);
    wait(
        "team-a's group in Prometheus",
        Duration::from_secs(60),
        || loaded_groups(&prometheus).is_ok_and(|g| g.iter().any(|l| l.starts_with("team-a-self"))),
    )?;
    wait(
        "team-b's status annotation",
        Duration::from_secs(60),
        || {
            admin(
                &[
                    "get",
                    "configmap",
                    "prometheus-rules",
                    "-n",
                    "team-b",
                    "-o",
                    "jsonpath={.metadata.annotations}",
                ],
                None,
            )
            .is_ok_and(|s| s.contains("rules-status"))
        },
    )?;
    println!(
        "\n$ curl {}/api/v1/rules    # groups Prometheus loaded",
        prometheus.url()
    );
    for line in loaded_groups(&prometheus)? {
        println!("  {line}");
    }
    println!(
        "\n$ kubectl get configmap prometheus-rules -n team-b -o jsonpath='{{.metadata.annotations.prometheus\\.example\\.com/rules-status}}'"
    );
    println!(
        "{}",
        admin(
            &[
                "get",
                "configmap",
                "prometheus-rules",
                "-n",
                "team-b",
                "-o",
                "jsonpath={.metadata.annotations.prometheus\\.example\\.com/rules-status}"
            ],
            None
        )?
    );
    println!("\n$ kubectl get events -n team-b");
    print!(
        "{}",
        admin(
            &[
                "get",
                "events",
                "-n",
                "team-b",
                "-o",
                "custom-columns=TYPE:.type,REASON:.reason,OBJECT:.involvedObject.name"
            ],
            None
        )?
    );

    println!("\n==> team-b fixes the parenthesis");
    print!(
        "{}",
        admin(
            &["apply", "-f", "-"],
            Some(&TEAM_B.replace("[5m]) /", "[5m])) /"))
        )?
    );
    wait(
        "team-b's group in Prometheus",
        Duration::from_secs(60),
        || loaded_groups(&prometheus).is_ok_and(|g| g.iter().any(|l| l.starts_with("team-b-http"))),
    )?;
    wait(
        "the annotation to be cleared",
        Duration::from_secs(60),
        || {
            admin(
                &[
                    "get",
                    "configmap",
                    "prometheus-rules",
                    "-n",
                    "team-b",
                    "-o",
                    "jsonpath={.metadata.annotations}",
                ],
                None,
            )
            .is_ok_and(|s| !s.contains("rules-status"))
        },
    )?;
    println!("\n$ curl {}/api/v1/rules", prometheus.url());
    for line in loaded_groups(&prometheus)? {
        println!("  {line}");
    }
    wait("a sample of job:up:sum", Duration::from_secs(30), || {
        prometheus
            .get("/api/v1/query?query=job:up:sum")
            .is_ok_and(|(_, body)| body.contains("\"namespace\":\"team-a\""))
    })?;
    let (_, body) = prometheus.get("/api/v1/query?query=job:up:sum")?;
    println!(
        "\n$ curl '{}/api/v1/query?query=job:up:sum'    # the recording rule records, with the enforced namespace label",
        prometheus.url()
    );
    println!("{body}");
    println!("\n==> stopping the loader, Prometheus and the control plane");
    Ok(ExitCode::SUCCESS)
}
