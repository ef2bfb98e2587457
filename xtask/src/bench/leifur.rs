//! Leifur's allocation benchmark: Services created → addresses in their
//! status, for Leifur's IPAM controller and for MetalLB's controller (built
//! from the Go module proxy, `bench/go-metallb`), each run on a private
//! control plane of its own.
//!
//! Each run is one process of `bench-leifur-harness` (bench), which makes
//! the pool, starts one contender, creates the Services in a burst and
//! measures it from outside; see its module docs. This module starts a
//! control plane per run (with the audit log the requests are counted
//! from), applies MetalLB's CRDs as its module ships them, interleaves the
//! contenders over rounds in an order alternated every round, and renders
//! the results.
//!
//! Failover time is measured on one more control plane by the speaker's
//! end-to-end test `examples/leifur-speaker/tests/failover.rs` (its netns
//! lab is the L2 test's), run here with `LEIFUR_FAILOVER_ROUNDS`; this
//! module reads the figures it prints. It needs root and iproute2, as the
//! end-to-end tests do; when it fails, the report says why and keeps the
//! allocation results.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::controller::Plane;
use anyhow::{Context, Result, ensure};
use serde::Deserialize;

use super::stats::{Summary, median, paired_ratios, quantile, ratio_digits};

/// How the suite runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) services: usize,
    pub(crate) rounds: usize,
    pub(crate) failover_rounds: usize,
}

/// The programs of the contenders.
pub(crate) struct Programs {
    pub(crate) harness: PathBuf,
    pub(crate) leifur_controller: PathBuf,
    /// MetalLB's controller and the directory of its CRDs, or why there is
    /// none.
    pub(crate) metallb: Result<(PathBuf, PathBuf), String>,
}

/// Ours first.
const OURS: &str = "crdforge";
const METALLB: &str = "metallb";

/// The MetalLB module the peer is built from (`bench/go-metallb/go.mod`
/// pins it; a test holds the two together).
pub(crate) const METALLB_MODULE: &str = "go.universe.tf/metallb";

/// One run's result line, as the harness prints it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Outcome {
    #[serde(rename = "impl")]
    pub(crate) implementation: String,
    pub(crate) services: usize,
    pub(crate) latencies: Vec<f64>,
    pub(crate) total_seconds: f64,
    pub(crate) requests: super::controller::Requests,
    pub(crate) cpu_seconds: f64,
    pub(crate) peak_rss_bytes: u64,
}

/// Every run, by contender, in round order.
#[derive(Debug, Clone)]
pub(crate) struct Results {
    pub(crate) settings: Settings,
    pub(crate) runs: Vec<(String, Vec<Outcome>)>,
    /// Why MetalLB did not run, when it did not.
    pub(crate) metallb_missing: Option<String>,
    pub(crate) metallb_version: Option<String>,
    /// The failover figures, or why there are none.
    pub(crate) failover: Result<Failover, String>,
}

/// What `tests/failover.rs` prints, one entry per round.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Failover {
    /// SIGKILL → the client's neighbour entry points at the successor.
    pub(crate) neighbour_seconds: Vec<f64>,
    /// SIGKILL → the client's next connection reaches the successor.
    pub(crate) connect_seconds: Vec<f64>,
}

/// Runs the speaker's failover test on `running`'s control plane.
fn measure_failover(
    root: &Path,
    running: &crdforge_envtest::Running,
    rounds: usize,
) -> Result<Failover, String> {
    eprintln!("bench: failover, {rounds} rounds (tests/failover.rs of leifur-speaker)");
    let output = running
        .command(env!("CARGO"))
        .current_dir(root)
        .args([
            "test",
            "-p",
            "leifur-speaker",
            "--features",
            "e2e",
            "--test",
            "failover",
            "--",
            "--nocapture",
        ])
        .env("LEIFUR_FAILOVER_ROUNDS", rounds.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running cargo test: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let tail: Vec<&str> = stdout.lines().rev().take(15).collect();
        return Err(format!(
            "the failover test failed ({}): {}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        ));
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("LEIFUR_FAILOVER "))
        .ok_or("the failover test printed no figures")?;
    let failover: Failover =
        serde_json::from_str(line).map_err(|e| format!("parsing {line}: {e}"))?;
    if failover.connect_seconds.len() != rounds || failover.neighbour_seconds.len() != rounds {
        return Err(format!("{rounds} rounds asked, {line} reported"));
    }
    Ok(failover)
}

/// Builds MetalLB's controller from `bench/go-metallb` (a wrapper module
/// pinning MetalLB and every dependency) and finds its CRDs in the module
/// cache; `Err` says why not.
pub(crate) fn build_metallb(root: &Path, target: &Path) -> Result<(PathBuf, PathBuf), String> {
    let module = root.join("bench/go-metallb");
    let binary = super::build_go_package(
        &module,
        "go.universe.tf/metallb/controller",
        &target.join("bench/go/metallb-controller"),
        "MetalLB's controller (from the Go module proxy)",
    )
    .map_err(|e| format!("{e:#}"))?;
    let out = Command::new("go")
        .current_dir(&module)
        .env("GOFLAGS", "-mod=readonly")
        .args(["list", "-m", "-f", "{{.Dir}}", METALLB_MODULE])
        .output()
        .map_err(|e| format!("running `go list`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`go list -m {METALLB_MODULE}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let crds = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("config/crd/bases");
    if !crds.is_dir() {
        return Err(format!("no CRDs at {}", crds.display()));
    }
    Ok((binary, crds))
}

/// The MetalLB version `bench/go-metallb/go.mod` requires.
fn metallb_version(root: &Path) -> Option<String> {
    let gomod = fs::read_to_string(root.join("bench/go-metallb/go.mod")).ok()?;
    gomod.lines().find_map(|l| {
        let rest = l.trim().strip_prefix(METALLB_MODULE)?.trim();
        Some(rest.split_whitespace().next()?.to_owned())
    })
}

/// Runs every contender `rounds` times, each run on a control plane of its
/// own, then the failover test on one more.
///
/// A fresh control plane per run, because a controller acts on every
/// LoadBalancer Service in the cluster: MetalLB's started while the
/// previous run's thousand Services were still being deleted took them on
/// too, and ran its pool dry (found in the first 1,000-Service run).
pub(crate) fn run(
    root: &Path,
    programs: &Programs,
    settings: &Settings,
    work: &Path,
) -> Result<Results> {
    if work.exists() {
        fs::remove_dir_all(work).with_context(|| format!("clearing {}", work.display()))?;
    }
    fs::create_dir_all(work)?;
    let mut contenders = vec![OURS];
    if programs.metallb.is_ok() {
        contenders.push(METALLB);
    }
    let mut planes = 0usize;
    let mut plane = || -> Result<Plane> {
        planes += 1;
        let plane = Plane::start("bench-leifur", &work.join(format!("plane-{planes}")))?;
        if let Ok((_, crds)) = &programs.metallb {
            // As MetalLB ships them (its Helm chart and manifests apply
            // these); on every plane, so that both contenders meet the
            // same apiserver.
            let instance = plane.running.instance();
            let kubectl = instance
                .state()?
                .context("the control plane's state")?
                .binaries
                .join("kubectl");
            let status = Command::new(kubectl)
                .arg("--kubeconfig")
                .arg(instance.kubeconfig())
                .args(["apply", "--server-side", "-f"])
                .arg(crds)
                .stdout(Stdio::null())
                .status()?;
            ensure!(
                status.success(),
                "applying MetalLB's CRDs failed ({status})"
            );
        }
        Ok(plane)
    };
    let cidr = "10.1.0.0/22";
    let mut runs: Vec<(String, Vec<Outcome>)> = contenders
        .iter()
        .map(|c| (c.to_string(), Vec::new()))
        .collect();
    for round in 0..settings.rounds {
        for i in 0..contenders.len() {
            let idx = (round + i) % contenders.len();
            let name = contenders[idx];
            eprintln!(
                "bench: round {}/{} leifur allocation {name} ({} Services)",
                round + 1,
                settings.rounds,
                settings.services
            );
            let tag = if name == OURS { "cf" } else { "mlb" };
            let outcome = run_one(
                programs,
                settings.services,
                &plane()?,
                work,
                name,
                cidr,
                &format!("r{}-{tag}", round + 1),
            )?;
            eprintln!(
                "bench:   median {:.3} s, all in {:.2} s, {} requests, {:.2} s CPU",
                median(&outcome.latencies).unwrap_or(f64::NAN),
                outcome.total_seconds,
                outcome.requests.total,
                outcome.cpu_seconds
            );
            runs[idx].1.push(outcome);
        }
    }
    let failover = measure_failover(root, &plane()?.running, settings.failover_rounds);
    if let Err(why) = &failover {
        eprintln!("bench: failover not measured: {why}");
    }
    Ok(Results {
        settings: *settings,
        runs,
        metallb_missing: programs.metallb.as_ref().err().cloned(),
        metallb_version: metallb_version(root),
        failover,
    })
}

fn run_one(
    programs: &Programs,
    services: usize,
    plane: &Plane,
    work: &Path,
    name: &str,
    cidr: &str,
    prefix: &str,
) -> Result<Outcome> {
    let command: Vec<String> = match name {
        OURS => vec![
            programs.leifur_controller.display().to_string(),
            "--metrics-addr".into(),
            "{metrics}".into(),
        ],
        METALLB => {
            let (binary, _) = programs
                .metallb
                .as_ref()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            vec![
                binary.display().to_string(),
                "--namespace".into(),
                "metallb-system".into(),
                // Its webhooks need a Service and certificates in a cluster;
                // the pool here is valid, so they would not change the
                // outcome, and Leifur's controller runs without its own.
                "--webhook-mode".into(),
                "disabled".into(),
                "--port".into(),
                "{port}".into(),
            ]
        }
        other => anyhow::bail!("unknown contender {other}"),
    };
    let mut harness = Command::new(&programs.harness);
    harness
        .args(["--contender", name])
        .args(["--services", &services.to_string()])
        .args(["--cidr", cidr])
        .args(["--prefix", prefix])
        .arg("--audit-log")
        .arg(&plane.audit_log)
        .arg("--work-dir")
        .arg(work.join("runs"))
        .arg("--")
        .args(&command);
    let outcome: Outcome = plane.run_harness(
        &mut harness,
        &format!("Leifur allocation benchmark for {name}"),
        &work.join("runs"),
    )?;
    ensure!(
        outcome.implementation == name
            && outcome.services == services
            && outcome.latencies.len() == services,
        "the harness reported {} with {} Services, expected {name} with {services}",
        outcome.implementation,
        outcome.services
    );
    Ok(outcome)
}

/// One row of the report: a title, its value in a run, and its format.
struct Measure {
    title: &'static str,
    value: fn(&Outcome) -> f64,
    format: fn(f64) -> String,
}

fn measures() -> Vec<Measure> {
    let seconds = |v: f64| format!("{v:.3} s");
    vec![
        Measure {
            title: "latency, median (create → address)",
            value: |o| median(&o.latencies).unwrap_or(f64::NAN),
            format: seconds,
        },
        Measure {
            title: "latency, p99",
            value: |o| quantile(&o.latencies, 0.99).unwrap_or(f64::NAN),
            format: seconds,
        },
        Measure {
            title: "all Services addressed (first create → last address)",
            value: |o| o.total_seconds,
            format: seconds,
        },
        Measure {
            title: "requests of the contender",
            value: |o| o.requests.total as f64,
            format: |v| format!("{v:.0}"),
        },
        Measure {
            title: "CPU of the contender over the burst",
            value: |o| o.cpu_seconds,
            format: seconds,
        },
        Measure {
            title: "peak RSS of the contender",
            value: |o| o.peak_rss_bytes as f64,
            format: |v| format!("{:.1} MiB", v / 1024.0 / 1024.0),
        },
    ]
}

impl Results {
    fn samples(&self, contender: &str, measure: &Measure) -> Vec<f64> {
        self.runs
            .iter()
            .find(|(c, _)| c == contender)
            .map(|(_, runs)| runs.iter().map(measure.value).collect())
            .unwrap_or_default()
    }
}

/// The report's section.
pub(crate) fn render(results: &Results) -> String {
    let mut w = String::new();
    let n = results.settings.services;
    let _ = writeln!(
        w,
        "## Leifur: {n} LoadBalancer Services, from creation to an address"
    );
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "Each run makes a /22 pool, starts one controller, waits until a first Service has an \
         address (that Service is not counted), then creates {n} LoadBalancer Services in a \
         burst (16 creates in flight) and watches for each Service's first address in \
         `status.loadBalancer.ingress`: latency is that moment minus when its create was \
         sent. Every Service must hold a distinct address inside the pool. Requests are the \
         controller's own over the burst (the audit log); CPU is the controller's over the \
         burst. {} rounds, each run on a control plane of its own (a controller acts on every \
         LoadBalancer Service of the cluster, so none may be left from an earlier run), the \
         order alternated every round; each cell is \
         the median of the runs with the range in brackets; each ratio the median of the \
         ratios of runs in the same round.",
        results.settings.rounds
    );
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "- `crdforge`: Leifur's IPAM controller (`examples/leifur-controller`), 4 workers, no \
         webhook."
    );
    match (&results.metallb_missing, &results.metallb_version) {
        (None, version) => {
            let _ = writeln!(
                w,
                "- `metallb`: MetalLB's controller {}, built from the Go module proxy \
                 (`bench/go-metallb`), its CRDs applied from its module's `config/crd/bases`, \
                 an `IPAddressPool` over the same /22, `--webhook-mode disabled` (its webhooks \
                 need a Service and certificates of a real cluster). MetalLB's newest version \
                 on the proxy, v0.16.2, does not build here: it needs \
                 `github.com/metallb/frr-k8s` v0.0.27, which the proxy does not serve (403; it \
                 serves up to v0.0.21), so the newest that builds is used. It runs as \
                 shipped: its client is controller-runtime's (v0.20.4), whose default \
                 client-side limit of 20 requests per second (bursts of 30) applies, since \
                 MetalLB sets none and has no flag for it; a thousand status writes at 20 a \
                 second take 50 s, which is most of its time here. Leifur's client, like \
                 kube-rs's, has no client-side limit.",
                version.as_deref().unwrap_or("(version unknown)")
            );
        }
        (Some(why), _) => {
            let _ = writeln!(
                w,
                "- `metallb`: not run: MetalLB's controller did not build from the Go module \
                 proxy here: {why}"
            );
        }
    }
    let _ = writeln!(w);
    let contenders: Vec<&str> = results.runs.iter().map(|(c, _)| c.as_str()).collect();
    let measures = measures();
    let _ = writeln!(
        w,
        "| measure | {} |",
        contenders
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(w, "| --- |{}", " ---: |".repeat(contenders.len()));
    for m in &measures {
        let cells: Vec<String> = contenders
            .iter()
            .map(|c| match Summary::of(&results.samples(c, m)) {
                Some(s) => format!(
                    "{} [{} – {}]",
                    (m.format)(s.median),
                    (m.format)(s.min),
                    (m.format)(s.max)
                ),
                None => "—".into(),
            })
            .collect();
        let _ = writeln!(w, "| {} | {} |", m.title, cells.join(" | "));
    }
    if contenders.contains(&METALLB) {
        let _ = writeln!(w);
        let _ = writeln!(
            w,
            "Ratios `crdforge ÷ metallb`, the median of the per-round ratios [their range], \
             lower is better:"
        );
        let _ = writeln!(w);
        let _ = writeln!(w, "| measure | crdforge ÷ metallb |");
        let _ = writeln!(w, "| --- | ---: |");
        for m in &measures {
            let ratios = paired_ratios(&results.samples(OURS, m), &results.samples(METALLB, m));
            let cell = match Summary::of(&ratios) {
                Some(r) => format!(
                    "{}× [{} – {}]",
                    ratio_digits(r.median),
                    ratio_digits(r.min),
                    ratio_digits(r.max)
                ),
                None => "—".into(),
            };
            let _ = writeln!(w, "| {} | {cell} |", m.title);
        }
    }
    let _ = writeln!(w);
    let _ = writeln!(w, "## Leifur: failover");
    let _ = writeln!(w);
    match &results.failover {
        Ok(f) => {
            let _ = writeln!(
                w,
                "Three speakers (a debug build, Lease 2 s, renewed every 400 ms) in network \
                 namespaces on one bridge, a client namespace, the L2 lab of \
                 `examples/leifur-speaker/tests/l2.rs`; the elected speaker is SIGKILLed, \
                 then started again before the next round ({} rounds). Median [range]:",
                f.connect_seconds.len()
            );
            let _ = writeln!(w);
            let _ = writeln!(w, "| SIGKILL of the elected speaker → | seconds |");
            let _ = writeln!(w, "| --- | ---: |");
            for (title, samples) in [
                (
                    "the client's neighbour entry points at the successor (its gratuitous ARP)",
                    &f.neighbour_seconds,
                ),
                (
                    "the client's next TCP connection reaches the successor",
                    &f.connect_seconds,
                ),
            ] {
                let cell = match Summary::of(samples) {
                    Some(s) => format!("{:.3} [{:.3} – {:.3}]", s.median, s.min, s.max),
                    None => "—".into(),
                };
                let _ = writeln!(w, "| {title} | {cell} |");
            }
        }
        Err(why) => {
            let _ = writeln!(w, "Not measured in this run: {why}");
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wrapper_module_pins_the_metallb_module_named_here() {
        let root = crate::workspace_root();
        let version = metallb_version(&root).expect("bench/go-metallb/go.mod requires MetalLB");
        assert!(version.starts_with('v'), "{version}");
        let gomod = fs::read_to_string(root.join("bench/go-metallb/go.mod")).unwrap();
        assert!(
            gomod.contains(&format!("tool {METALLB_MODULE}/controller")),
            "{gomod}"
        );
    }
}
