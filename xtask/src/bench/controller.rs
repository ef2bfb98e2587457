//! The controller benchmark: the User controller against the write limit of
//! the apiserver and against the same controller on kube-runtime and on
//! client-go, on one private control plane started here.
//!
//! Each run is one process of `bench-controller-harness` (bench), which
//! starts one contender, creates the Users, measures it from outside and
//! cleans up; see its module docs for what is measured and how. This module
//! starts the control plane (with an audit log, which is how requests are
//! counted), interleaves the contenders over rounds in a rotated order, and
//! renders the results and the convergence plot.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, ensure};
use crdforge_envtest::Instance;
use serde::Deserialize;

use super::plot::{self, Series};
use super::stats::{Summary, Verdict, median, paired_ratios};

/// One size and worker count the suite measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Case {
    pub(crate) users: usize,
    pub(crate) workers: usize,
}

/// How the suite runs.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) users: usize,
    pub(crate) rounds: usize,
    pub(crate) workers: usize,
    pub(crate) idle_seconds: f64,
    /// Concurrencies of the limit client whose best convergence is taken as
    /// the apiserver's write ceiling for these objects on this machine.
    pub(crate) ceiling_sweep: Vec<usize>,
}

impl Settings {
    /// Whether every run gets a control plane of its own. From a thousand
    /// Users on, cleaning up between runs (the namespace controller
    /// emptying and deleting every namespace) takes longer than starting
    /// a fresh control plane, and a fresh one is cold for every contender
    /// alike, so no warm-up run is needed.
    fn fresh_plane(&self) -> bool {
        self.users >= FRESH_PLANE_FROM
    }

    /// How long the harness waits for convergence: ten minutes, or 0.2 s a
    /// User for the largest sizes.
    fn timeout_seconds(&self) -> f64 {
        (self.users as f64 * 0.2).max(600.0)
    }
}

/// The size from which every run has a control plane of its own.
const FRESH_PLANE_FROM: usize = 1000;

/// A control plane and its audit log, which is how requests are counted.
pub(super) struct Plane {
    pub(super) running: crdforge_envtest::Running,
    pub(super) audit_log: PathBuf,
}

impl Plane {
    /// Starts control plane `name` with an audit log in `dir`.
    pub(super) fn start(name: &str, dir: &Path) -> Result<Plane> {
        fs::create_dir_all(dir)?;
        let policy = dir.join("audit-policy.yaml");
        fs::write(&policy, AUDIT_POLICY)?;
        let audit_log = dir.join("audit.log");
        let running = Instance::named(name).start_scoped(&[
            format!("--audit-policy-file={}", policy.display()),
            format!("--audit-log-path={}", audit_log.display()),
            // Each event is written before the response is sent, so a
            // request is in the log by the time its client has seen the
            // answer.
            "--audit-log-mode=blocking".into(),
            "--audit-log-maxsize=0".into(),
        ])?;
        Ok(Plane { running, audit_log })
    }

    /// Runs a harness (`what`, for messages) against this plane and reads
    /// the result from the last JSON line it printed; a failure points at
    /// the contenders' logs in `logs`.
    pub(super) fn run_harness<T: serde::de::DeserializeOwned>(
        &self,
        harness: &mut Command,
        what: &str,
        logs: &Path,
    ) -> Result<T> {
        let output = harness
            .env("KUBECONFIG", self.running.instance().kubeconfig())
            .env("RUST_LOG", "info,kube=warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("running the {what} harness"))?;
        ensure!(
            output.status.success(),
            "the {what} failed ({}); logs are in {}",
            output.status,
            logs.display()
        );
        let stdout = String::from_utf8(output.stdout)?;
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .context("the harness printed no result")?;
        serde_json::from_str(line).with_context(|| format!("parsing the harness's line {line}"))
    }
}

/// The programs of the contenders.
pub(crate) struct Programs {
    pub(crate) harness: PathBuf,
    pub(crate) limit: PathBuf,
    pub(crate) user_controller: PathBuf,
    pub(crate) kube_runtime: PathBuf,
    pub(crate) go: PathBuf,
}

/// The contenders in report order: the limit first, then ours, then the peers.
pub(crate) const CONTENDERS: [&str; 4] = ["limit", "crdforge", "kube-runtime", "client-go"];
const OURS: &str = "crdforge";

/// One run's result line, as the harness prints it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Outcome {
    #[serde(rename = "impl")]
    pub(crate) implementation: String,
    pub(crate) users: usize,
    pub(crate) converge_seconds: f64,
    pub(crate) ready_at: Vec<f64>,
    pub(crate) requests: Requests,
    pub(crate) cpu_seconds: f64,
    pub(crate) peak_rss_bytes: u64,
    pub(crate) restart: Option<Restart>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Requests {
    pub(crate) total: u64,
    pub(crate) writes: u64,
    pub(crate) by_kind: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Restart {
    pub(crate) seconds: f64,
    pub(crate) requests: Requests,
    pub(crate) idle_cpu_seconds: f64,
    pub(crate) idle_window_seconds: f64,
}

/// Every run, by contender (in [`CONTENDERS`] order), in round order.
#[derive(Debug, Clone)]
pub(crate) struct Results {
    pub(crate) settings_users: usize,
    pub(crate) workers: usize,
    pub(crate) idle_seconds: f64,
    pub(crate) rounds: usize,
    pub(crate) runs: Vec<(String, Vec<Outcome>)>,
    /// Whether every run had a control plane of its own.
    pub(crate) fresh_plane: bool,
    /// The limit client at each concurrency of the sweep, in round order.
    pub(crate) sweep: Vec<(usize, Vec<Outcome>)>,
    /// The sweep was run once per size, with another worker count's
    /// rounds, and is shown here again.
    pub(crate) sweep_borrowed: bool,
}

/// The audit policy: one event per request (no `RequestReceived` stage) at
/// `Metadata` level, for the admin user only, whom the contenders and the
/// harness authenticate as; the control plane's own traffic is not logged.
pub(super) const AUDIT_POLICY: &str = "apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [\"RequestReceived\"]
rules:
- level: Metadata
  users: [\"crdforge-admin\"]
- level: None
";

/// Runs every contender `rounds` times, each round followed by the ceiling
/// sweep, on one control plane (with a warm-up run first) or, from
/// [`FRESH_PLANE_FROM`] Users on, on a fresh control plane per run.
pub(crate) fn run(programs: &Programs, settings: &Settings, work: &Path) -> Result<Results> {
    if work.exists() {
        fs::remove_dir_all(work).with_context(|| format!("clearing {}", work.display()))?;
    }
    fs::create_dir_all(work)?;
    let shared = if settings.fresh_plane() {
        None
    } else {
        eprintln!("bench: starting a control plane for the controller benchmark");
        let plane = Plane::start("bench-controller", work)?;
        // The first run on a fresh control plane pays for warming it up
        // (the CRD's handlers, RBAC and quota caches, etcd's first pages),
        // which would land on whichever contender goes first: one
        // unreported run of the limit absorbs it.
        eprintln!("bench: warm-up run (not reported)");
        let warm_up = Settings {
            users: settings.users.min(20),
            ..settings.clone()
        };
        run_one(
            programs,
            &warm_up,
            &plane,
            work,
            "limit",
            &prefix(usize::MAX, short("limit")),
        )?;
        Some(plane)
    };
    // One run on the shared plane, or on a plane of its own, dropped (and
    // so stopped) as soon as the run is over.
    let mut runs_started = 0usize;
    let mut measure = |settings: &Settings, name: &str, prefix: &str| -> Result<Outcome> {
        match &shared {
            Some(plane) => run_one(programs, settings, plane, work, name, prefix),
            None => {
                runs_started += 1;
                let plane = Plane::start(
                    "bench-controller",
                    &work.join(format!("plane-{runs_started}")),
                )?;
                run_one(programs, settings, &plane, work, name, prefix)
            }
        }
    };

    let mut sweep: Vec<(usize, Vec<Outcome>)> = settings
        .ceiling_sweep
        .iter()
        .map(|c| (*c, Vec::new()))
        .collect();
    let mut runs: Vec<(String, Vec<Outcome>)> = CONTENDERS
        .iter()
        .map(|c| (c.to_string(), Vec::new()))
        .collect();
    for round in 0..settings.rounds {
        for i in 0..CONTENDERS.len() {
            let idx = (round + i) % CONTENDERS.len();
            let name = CONTENDERS[idx];
            eprintln!(
                "bench: round {}/{} controller {name} ({} Users, {} workers)",
                round + 1,
                settings.rounds,
                settings.users,
                settings.workers
            );
            let outcome = measure(settings, name, &prefix(round, short(name)))?;
            eprintln!(
                "bench:   converged in {:.2} s, {} requests ({} writes), {:.2} s CPU, {:.1} MiB{}",
                outcome.converge_seconds,
                outcome.requests.total,
                outcome.requests.writes,
                outcome.cpu_seconds,
                outcome.peak_rss_bytes as f64 / 1024.0 / 1024.0,
                outcome.restart.as_ref().map_or(String::new(), |r| format!(
                    "; restart {:.2} s, {} writes; idle {:.3} s CPU",
                    r.seconds, r.requests.writes, r.idle_cpu_seconds
                ))
            );
            runs[idx].1.push(outcome);
        }
        for (concurrency, outcomes) in &mut sweep {
            eprintln!(
                "bench: round {}/{} controller ceiling sweep: limit with {concurrency} Users in \
                 flight",
                round + 1,
                settings.rounds
            );
            let tag = format!("lim{concurrency}");
            let outcome = measure(
                &Settings {
                    workers: *concurrency,
                    ..settings.clone()
                },
                "limit",
                &prefix(round, &tag),
            )?;
            eprintln!("bench:   converged in {:.2} s", outcome.converge_seconds);
            outcomes.push(outcome);
        }
    }
    Ok(Results {
        settings_users: settings.users,
        workers: settings.workers,
        idle_seconds: settings.idle_seconds,
        rounds: settings.rounds,
        fresh_plane: settings.fresh_plane(),
        runs,
        sweep,
        sweep_borrowed: false,
    })
}

fn run_one(
    programs: &Programs,
    settings: &Settings,
    plane: &Plane,
    work: &Path,
    name: &str,
    prefix: &str,
) -> Result<Outcome> {
    let workers = settings.workers.to_string();
    let command: Vec<String> = match name {
        "limit" => vec![
            programs.limit.display().to_string(),
            "--metrics-addr".into(),
            "{metrics}".into(),
            "--concurrency".into(),
            workers,
        ],
        "crdforge" => vec![
            programs.user_controller.display().to_string(),
            "--directory".into(),
            "{directory}".into(),
            "--metrics-addr".into(),
            "{metrics}".into(),
            "--workers".into(),
            workers,
        ],
        "kube-runtime" => vec![
            programs.kube_runtime.display().to_string(),
            "--directory".into(),
            "{directory}".into(),
            "--metrics-addr".into(),
            "{metrics}".into(),
            "--workers".into(),
            workers,
        ],
        "client-go" => vec![
            programs.go.display().to_string(),
            "controller".into(),
            "--directory".into(),
            "{directory}".into(),
            "--metrics-addr".into(),
            "{metrics}".into(),
            "--workers".into(),
            workers,
            // client-go's default is 5 QPS, burst 10; kube-rs has no
            // client-side limit, so the Go peer gets none either.
            "--qps".into(),
            "-1".into(),
        ],
        other => anyhow::bail!("unknown contender {other}"),
    };
    let mut harness = Command::new(&programs.harness);
    harness
        .args(["--contender", name])
        .args(["--users", &settings.users.to_string()])
        .args(["--prefix", prefix])
        .arg("--audit-log")
        .arg(&plane.audit_log)
        .arg("--work-dir")
        .arg(work.join("runs"))
        .args(["--idle-seconds", &settings.idle_seconds.to_string()])
        .args(["--timeout-seconds", &settings.timeout_seconds().to_string()]);
    if name != "limit" {
        harness.arg("--restart");
    }
    if settings.fresh_plane() {
        harness.arg("--keep");
    }
    harness.arg("--").args(&command);
    let outcome: Outcome = plane.run_harness(
        &mut harness,
        &format!("controller benchmark for {name}"),
        &work.join("runs"),
    )?;
    ensure!(
        outcome.implementation == name && outcome.users == settings.users,
        "the harness reported {} with {} Users, expected {name} with {}",
        outcome.implementation,
        outcome.users,
        settings.users
    );
    Ok(outcome)
}

/// The prefix of the Users' names in one run: the round (`w` for the
/// warm-up) and the contender's tag.
fn prefix(round: usize, tag: &str) -> String {
    match round {
        usize::MAX => format!("w-{tag}"),
        r => format!("r{}-{tag}", r + 1),
    }
}

/// A short tag for User names (which must stay valid DNS labels).
fn short(name: &str) -> &'static str {
    match name {
        "limit" => "lim",
        "crdforge" => "cf",
        "kube-runtime" => "kr",
        _ => "go",
    }
}

/// One measure of the report.
struct Measure {
    title: &'static str,
    /// The value of a run, `None` when the measure does not apply.
    value: fn(&Outcome) -> Option<f64>,
    format: fn(f64) -> String,
    /// The target for ours ÷ limit and for ours ÷ each peer, if any.
    limit_target: Option<f64>,
    peer_target: Option<f64>,
}

fn measures() -> Vec<Measure> {
    let seconds = |v: f64| format!("{v:.2} s");
    let count = |v: f64| format!("{v:.0}");
    vec![
        Measure {
            title: "time to convergence",
            value: |o| Some(o.converge_seconds),
            format: seconds,
            limit_target: Some(1.2),
            peer_target: Some(1.0),
        },
        Measure {
            title: "apiserver requests",
            value: |o| Some(o.requests.total as f64),
            format: count,
            limit_target: None,
            peer_target: None,
        },
        Measure {
            title: "… of which writes",
            value: |o| Some(o.requests.writes as f64),
            format: count,
            limit_target: None,
            peer_target: None,
        },
        Measure {
            title: "controller CPU (utime+stime)",
            value: |o| Some(o.cpu_seconds),
            format: seconds,
            limit_target: None,
            peer_target: Some(1.0),
        },
        Measure {
            title: "peak RSS (VmHWM)",
            value: |o| Some(o.peak_rss_bytes as f64),
            format: |v| format!("{:.1} MiB", v / 1024.0 / 1024.0),
            limit_target: None,
            peer_target: None,
        },
        Measure {
            title: "… per User",
            value: |o| Some(o.peak_rss_bytes as f64 / o.users.max(1) as f64),
            format: |v| format!("{:.1} KiB", v / 1024.0),
            limit_target: None,
            peer_target: None,
        },
        Measure {
            title: "re-convergence after restart",
            value: |o| o.restart.as_ref().map(|r| r.seconds),
            format: seconds,
            limit_target: None,
            peer_target: None,
        },
        Measure {
            title: "… requests after restart",
            value: |o| o.restart.as_ref().map(|r| r.requests.total as f64),
            format: count,
            limit_target: None,
            peer_target: None,
        },
        Measure {
            title: "… writes after restart",
            value: |o| o.restart.as_ref().map(|r| r.requests.writes as f64),
            format: count,
            limit_target: None,
            peer_target: None,
        },
        Measure {
            title: "idle CPU, % of one core",
            value: |o| {
                o.restart
                    .as_ref()
                    .map(|r| 100.0 * r.idle_cpu_seconds / r.idle_window_seconds)
            },
            format: |v| format!("{v:.2} %"),
            limit_target: None,
            peer_target: None,
        },
    ]
}

/// The ceiling sweep: the limit client at each concurrency, the best of
/// them as the write ceiling, and every contender's time against it.
fn ceiling_section(w: &mut String, results: &Results) {
    let ceilings = results.round_ceilings();
    if ceilings.is_empty() {
        return;
    }
    let _ = writeln!(w);
    let _ = writeln!(w, "### The apiserver's write ceiling");
    let _ = writeln!(w);
    if results.sweep_borrowed {
        let _ = writeln!(
            w,
            "The sweep ran once for {} Users, beside the first worker count measured at that \
             size; its rounds are paired here with this table's rounds by number.",
            results.settings_users
        );
        let _ = writeln!(w);
    }
    let _ = writeln!(
        w,
        "The limit client again, with more Users in flight (each User's writes still one after \
         another); convergence time, median [range]:"
    );
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "| Users in flight | {} |",
        results
            .sweep
            .iter()
            .map(|(c, _)| c.to_string())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(w, "| --- |{}", " ---: |".repeat(results.sweep.len()));
    let cells: Vec<String> = results
        .sweep
        .iter()
        .map(|(_, runs)| {
            let times: Vec<f64> = runs.iter().map(|o| o.converge_seconds).collect();
            Summary::of(&times).map_or("—".into(), |s| {
                format!("{:.2} s [{:.2} – {:.2}]", s.median, s.min, s.max)
            })
        })
        .collect();
    let _ = writeln!(w, "| convergence | {} |", cells.join(" | "));
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "The ceiling of a round is its fastest sweep run. Convergence ÷ ceiling, the median of \
         the per-round ratios [their range] (1.00× would be as fast as the apiserver takes \
         these writes):"
    );
    let _ = writeln!(w);
    for c in CONTENDERS {
        let times: Vec<f64> = results
            .runs
            .iter()
            .find(|(n, _)| n == c)
            .map(|(_, r)| r.iter().map(|o| o.converge_seconds).collect())
            .unwrap_or_default();
        let ratios: Vec<f64> = times
            .iter()
            .zip(&ceilings)
            .filter(|(_, c)| **c > 0.0)
            .map(|(t, c)| t / c)
            .collect();
        let label = if c == "limit" {
            format!("`limit` ({} in flight)", results.workers)
        } else {
            format!("`{c}` ({} workers)", results.workers)
        };
        let _ = writeln!(
            w,
            "- {label}: {}",
            Summary::of(&ratios).map_or("—".into(), |s| format!(
                "{:.2}× [{:.2} – {:.2}]",
                s.median, s.min, s.max
            ))
        );
    }
}

impl Results {
    /// The concurrency of the sweep whose median convergence is the
    /// fastest.
    pub(crate) fn best_sweep_concurrency(&self) -> Option<usize> {
        self.sweep
            .iter()
            .filter_map(|(c, runs)| {
                let times: Vec<f64> = runs.iter().map(|o| o.converge_seconds).collect();
                Some((*c, median(&times)?))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(c, _)| c)
    }

    /// Per round, the fastest convergence of the ceiling sweep.
    fn round_ceilings(&self) -> Vec<f64> {
        (0..self.rounds)
            .filter_map(|r| {
                self.sweep
                    .iter()
                    .filter_map(|(_, runs)| runs.get(r).map(|o| o.converge_seconds))
                    .min_by(f64::total_cmp)
            })
            .collect()
    }

    fn samples(&self, contender: &str, measure: &Measure) -> Vec<f64> {
        self.runs
            .iter()
            .find(|(n, _)| n == contender)
            .map(|(_, runs)| runs.iter().filter_map(measure.value).collect())
            .unwrap_or_default()
    }

    /// The run whose convergence time is the median of the contender's,
    /// for the plot and the request breakdown.
    fn median_run(&self, contender: &str) -> Option<&Outcome> {
        let (_, runs) = self.runs.iter().find(|(n, _)| n == contender)?;
        let times: Vec<f64> = runs.iter().map(|o| o.converge_seconds).collect();
        let m = median(&times)?;
        runs.iter().min_by(|a, b| {
            (a.converge_seconds - m)
                .abs()
                .total_cmp(&(b.converge_seconds - m).abs())
        })
    }
}

/// Writes the convergence plot (Ready Users over time, the median run of
/// each contender) to `path`.
pub(crate) fn write_plot(results: &Results, path: &Path) -> Result<()> {
    let series: Vec<Series> = CONTENDERS
        .iter()
        .filter_map(|c| {
            let run = results.median_run(c)?;
            Some(Series {
                name: c.to_string(),
                points: run
                    .ready_at
                    .iter()
                    .enumerate()
                    .map(|(i, t)| (*t, (i + 1) as f64))
                    .collect(),
            })
        })
        .collect();
    let svg = plot::step_chart(
        &format!(
            "Ready Users over time, {} Users, {} workers (median run of each contender)",
            results.settings_users, results.workers
        ),
        "seconds since the first User was created",
        "Users Ready",
        &series,
    );
    fs::write(path, svg).with_context(|| format!("writing {}", path.display()))
}

/// The Markdown section of the report; `plot` is the SVG's file name,
/// relative to the report.
pub(crate) fn render(results: &Results, plot: Option<&str>) -> String {
    let mut w = String::new();
    let n = results.settings_users;
    let _ = writeln!(
        w,
        "## Controller: {n} Users from creation to Ready, {} workers",
        results.workers
    );
    let _ = writeln!(w);
    let plane = if results.fresh_plane {
        "each run on a control plane of its own (etcd, kube-apiserver and \
         kube-controller-manager started fresh for it, so every contender meets the same cold \
         apiserver and nothing has to be cleaned up)"
    } else {
        "on one control plane (etcd, kube-apiserver and kube-controller-manager started by the \
         run, warmed up by one unreported run, and cleaned up between runs)"
    };
    let _ = writeln!(
        w,
        "Four contenders provision the same {n} Users {plane}, one at a time, {} rounds in an \
         order rotated every round; each cell is the median with the range in brackets, each \
         ratio the median of the ratios of runs in the same round. Every contender runs {} \
         workers (the limit: {} Users in flight); idle CPU is taken over {} s.",
        results.rounds, results.workers, results.workers, results.idle_seconds
    );
    let _ = writeln!(w);
    for fact in CONTENDER_FACTS {
        let _ = writeln!(w, "- {fact}");
    }
    let _ = writeln!(w);
    let measures = measures();
    let _ = writeln!(
        w,
        "| measure | {} |",
        CONTENDERS.map(|c| format!("`{c}`")).join(" | ")
    );
    let _ = writeln!(w, "| --- |{}", " ---: |".repeat(CONTENDERS.len()));
    for m in &measures {
        let cells: Vec<String> = CONTENDERS
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
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "Ratios, the median of the per-round ratios [their range] (lower is better for every \
         measure; where the project set a target, ours within 1.2× of the limit on time and \
         ahead of both peers on time and CPU: ✅ when every round met it, ❌ when none did, ≟ \
         when rounds disagree and more rounds are needed to call it):"
    );
    let _ = writeln!(w);
    let pairs: Vec<(&str, &str)> = vec![
        (OURS, "limit"),
        ("kube-runtime", "limit"),
        ("client-go", "limit"),
        (OURS, "kube-runtime"),
        (OURS, "client-go"),
    ];
    let _ = writeln!(
        w,
        "| measure | {} |",
        pairs
            .iter()
            .map(|(a, b)| format!("{a} ÷ {b}"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(w, "| --- |{}", " ---: |".repeat(pairs.len()));
    for m in &measures {
        let cells: Vec<String> = pairs
            .iter()
            .map(|(a, b)| {
                let ratios = paired_ratios(&results.samples(a, m), &results.samples(b, m));
                let target = match (*a, *b) {
                    (OURS, "limit") => m.limit_target,
                    (OURS, _) => m.peer_target,
                    _ => None,
                };
                match Summary::of(&ratios) {
                    Some(r) => {
                        let verdict = target
                            .and_then(|t| Verdict::of(&ratios, t))
                            .map_or(String::new(), |v| format!(" {}", v.mark()));
                        if r.runs > 1 {
                            format!("{:.2}× [{:.2} – {:.2}]{verdict}", r.median, r.min, r.max)
                        } else {
                            format!("{:.2}×{verdict}", r.median)
                        }
                    }
                    None => "—".into(),
                }
            })
            .collect();
        let _ = writeln!(w, "| {} | {} |", m.title, cells.join(" | "));
    }
    ceiling_section(&mut w, results);
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "Requests of each contender's median run, by verb and resource (convergence phase; \
         the restart phase in brackets):"
    );
    let _ = writeln!(w);
    let mut kinds: Vec<String> = Vec::new();
    for c in CONTENDERS {
        if let Some(run) = results.median_run(c) {
            let restart = run.restart.iter().flat_map(|r| r.requests.by_kind.keys());
            for k in run.requests.by_kind.keys().chain(restart) {
                if !kinds.contains(k) {
                    kinds.push(k.clone());
                }
            }
        }
    }
    kinds.sort();
    let _ = writeln!(
        w,
        "| request | {} |",
        CONTENDERS.map(|c| format!("`{c}`")).join(" | ")
    );
    let _ = writeln!(w, "| --- |{}", " ---: |".repeat(CONTENDERS.len()));
    for k in &kinds {
        let cells: Vec<String> = CONTENDERS
            .iter()
            .map(|c| {
                let Some(run) = results.median_run(c) else {
                    return "—".into();
                };
                let now = run.requests.by_kind.get(k).copied().unwrap_or(0);
                match &run.restart {
                    Some(r) => format!(
                        "{now} ({})",
                        r.requests.by_kind.get(k).copied().unwrap_or(0)
                    ),
                    None => now.to_string(),
                }
            })
            .collect();
        let _ = writeln!(w, "| `{k}` | {} |", cells.join(" | "));
    }
    if let Some(plot) = plot {
        let _ = writeln!(w);
        let _ = writeln!(w, "![Ready Users over time]({plot})");
    }
    let _ = writeln!(w);
    let _ = writeln!(w, "How it is measured:");
    let _ = writeln!(w);
    for fact in METHOD_FACTS {
        let _ = writeln!(w, "- {fact}");
    }
    w
}

/// What each contender is.
const CONTENDER_FACTS: &[&str] = &[
    "`limit`: `bench-limit` (bench), a tight client with no controller logic: it \
     watches Users only to learn their UIDs and, for each, issues exactly the User \
     controller's writes once, in order: the finalizer patch, the Namespace, the `Created` \
     Event, the RoleBinding and ResourceQuota and the status (server-side apply). It \
     keeps as many Users in flight as the controllers have workers, each User's writes one \
     after another, so it is the limit at that concurrency, not the apiserver's ceiling: a \
     controller that moves on to the next User while a write's watch event travels (ours \
     returns after the finalizer patch and is triggered again by it) can come in under it.",
    "`crdforge`: the User controller (`examples/user-controller`) as shipped, with \
     `--workers` set; its clients have no client-side rate limit (kube-rs has none).",
    "`kube-runtime`: `bench-kube-runtime-controller` (bench), the same reconcile logic \
     on kube-runtime's `Controller` with reflector stores shared through its \
     `for_stream`/`watches_stream`, and a plain serde User type. The RoleBinding and quota \
     streams map to the controlling User by a mapper, not `owns_stream`, which keys a \
     cluster-scoped owner with its child's namespace: one User had two keys and two concurrent \
     reconciles (until 2026-12-08 this peer made 383 status and 247 quota writes for 200 \
     Users). The extra writes that remain come from kube-runtime's scheduler: an object \
     triggered while it reconciles runs again as soon as that reconcile ends, often before the \
     watch events of the writes it just made reach the stores, so it reads its User without \
     the status it has just written and writes it again. crdforge's and client-go's queues put \
     such a key at the back of their FIFO, behind the other Users' work.",
    "`client-go`: `bench controller` (bench/go), the same reconcile logic on client-go's \
     shared informers, listers and rate-limited work queue (`DefaultTypedControllerRateLimiter`, \
     as ours), the User through a typed REST client, informer and lister of a Go \
     `User` struct (`bench/go/user_types.go`, the shape code-generator emits), so it decodes \
     no unstructured objects. client-go's default \
     client-side limit of 5 requests per second (burst 10) is **turned off** (`QPS = -1`) to \
     match kube-rs, which has none.",
    "Informer start-up differs by design: crdforge's informers and client-go v0.36 list \
     through the watch itself (`sendInitialEvents`, Kubernetes' WatchList), one request per \
     cache; kube-runtime's watcher, with its default `ListWatch` strategy, lists then watches, \
     two requests per cache.",
    "Every User has one group and a `pods: 10` quota, so each controller writes per User: the \
     finalizer, a Namespace, an Event, a RoleBinding, a ResourceQuota and the status (6 writes).",
    "Every contender caches objects without `managedFields` and the last-applied \
     annotation, which none reads: crdforge through its informers' `drop_managed_fields`, \
     kube-runtime through `modify`, client-go through `SetTransform`. The User controller \
     caches Namespaces as metadata only (a metadata informer); the peers cache them whole.",
    "Every contender writes the same way: the finalizer as a merge patch with the \
     resourceVersion as precondition, the Namespace and Event by create, the RoleBinding, \
     the ResourceQuota and the status by forced server-side apply.",
];

/// How the numbers are taken.
const METHOD_FACTS: &[&str] = &[
    "Time: from the harness's first User create (eight creates in flight) until its own watch \
     of Users has seen every one `Ready=True`; the contender was started and had synced its \
     caches (`/readyz`) before.",
    "Requests: counted exactly from the apiserver's audit log (policy: `Metadata` level for \
     the admin user only, `RequestReceived` omitted, each request counted once by `auditID`), \
     over each life of the contender process; the harness's own requests carry their own \
     User-Agent and are left out, and only one contender runs at a time.",
    "CPU: utime+stime of the contender process (`/proc/<pid>/stat`, all threads) over the \
     convergence window; peak RSS: its `VmHWM` at convergence.",
    "Restart: the contender is stopped (SIGTERM) with every User Ready and started again; time \
     from spawn until `/readyz` answers and `controller_runtime_reconcile_total` reaches the \
     number of Users (cache sync and one no-op reconcile each). Idle CPU: over a fixed window \
     after that, with every User cached. The limit has neither.",
    "Before the rounds, one unreported run of the limit with up to 20 Users warms the fresh \
     control plane up.",
    "Between runs the harness releases the finalizers, deletes the Users and their namespaces \
     and waits until both are gone; User names carry the round and contender, so no name is \
     reused.",
    "Order effects not removed: the namespace controller of kube-controller-manager may still \
     be purging the previous run's namespaces (their contents) in the background when the next \
     run starts, and etcd grows over the run (compaction is the apiserver's, every 5 minutes); \
     rotating the order every round spreads both over the contenders rather than removing them.",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(name: &str, seconds: f64, cpu: f64) -> Outcome {
        Outcome {
            implementation: name.into(),
            users: 3,
            converge_seconds: seconds,
            ready_at: vec![seconds / 3.0, seconds / 2.0, seconds],
            requests: Requests {
                total: 20,
                writes: 18,
                by_kind: [("create namespaces".to_string(), 3)].into(),
            },
            cpu_seconds: cpu,
            peak_rss_bytes: 10 * 1024 * 1024,
            restart: (name != "limit").then(|| Restart {
                seconds: 0.5,
                requests: Requests {
                    total: 5,
                    writes: 0,
                    by_kind: [("list users".to_string(), 1)].into(),
                },
                idle_cpu_seconds: 0.01,
                idle_window_seconds: 10.0,
            }),
        }
    }

    fn results() -> Results {
        Results {
            settings_users: 3,
            workers: 4,
            idle_seconds: 10.0,
            rounds: 1,
            runs: vec![
                ("limit".into(), vec![outcome("limit", 1.0, 0.1)]),
                ("crdforge".into(), vec![outcome("crdforge", 1.1, 0.2)]),
                (
                    "kube-runtime".into(),
                    vec![outcome("kube-runtime", 2.2, 0.4)],
                ),
                ("client-go".into(), vec![outcome("client-go", 1.0, 0.1)]),
            ],
            fresh_plane: false,
            sweep: vec![
                (16, vec![outcome("limit", 0.8, 0.1)]),
                (64, vec![outcome("limit", 0.5, 0.1)]),
            ],
            sweep_borrowed: false,
        }
    }

    #[test]
    fn the_best_sweep_concurrency_is_the_fastest_median() {
        assert_eq!(results().best_sweep_concurrency(), Some(64));
    }

    #[test]
    fn large_sizes_run_each_on_a_control_plane_of_their_own_with_more_time() {
        let settings = |users| Settings {
            users,
            rounds: 1,
            workers: 4,
            idle_seconds: 1.0,
            ceiling_sweep: Vec::new(),
        };
        assert!(!settings(200).fresh_plane());
        assert!(settings(1000).fresh_plane());
        assert_eq!(settings(200).timeout_seconds(), 600.0);
        assert_eq!(settings(10_000).timeout_seconds(), 2000.0);
        let md = render(
            &Results {
                fresh_plane: true,
                sweep_borrowed: true,
                ..results()
            },
            None,
        );
        assert!(
            md.contains("each run on a control plane of its own"),
            "{md}"
        );
        assert!(md.contains("The sweep ran once for 3 Users"), "{md}");
        assert!(md.contains("| … per User |"), "{md}");
    }

    #[test]
    fn the_ceiling_is_each_rounds_fastest_sweep_run_and_times_are_set_against_it() {
        let r = results();
        assert_eq!(r.round_ceilings(), vec![0.5]);
        let md = render(&r, None);
        assert!(
            md.contains("| convergence | 0.80 s [0.80 – 0.80] | 0.50 s [0.50 – 0.50] |"),
            "{md}"
        );
        assert!(
            md.contains("- `crdforge` (4 workers): 2.20× [2.20 – 2.20]"),
            "{md}"
        );
        assert!(
            md.contains("- `limit` (4 in flight): 2.00× [2.00 – 2.00]"),
            "{md}"
        );
    }

    #[test]
    fn report_has_values_ratios_targets_and_breakdown() {
        let md = render(&results(), Some("plot.svg"));
        assert!(
            md.contains(
                "| time to convergence | 1.00 s [1.00 s – 1.00 s] | 1.10 s [1.10 s – 1.10 s] |"
            ),
            "{md}"
        );
        // ours ÷ limit 1.10 meets ≤ 1.2; ours ÷ kube-runtime 0.5 meets; ours ÷ client-go 1.1 misses.
        assert!(
            md.contains("| time to convergence | 1.10× ✅ | 2.20× | 1.00× | 0.50× ✅ | 1.10× ❌ |"),
            "{md}"
        );
        assert!(
            md.contains("| re-convergence after restart | — | 0.50 s"),
            "{md}"
        );
        assert!(md.contains("| `create namespaces` | 3 | 3 (0) |"), "{md}");
        assert!(md.contains("| `list users` | 0 | 0 (1) |"), "{md}");
        assert!(md.contains("![Ready Users over time](plot.svg)"));
        assert!(md.contains("**turned off**"));
    }

    #[test]
    fn median_run_is_the_one_nearest_the_median_time() {
        let mut r = results();
        r.runs[1].1 = vec![
            outcome("crdforge", 3.0, 0.1),
            outcome("crdforge", 1.0, 0.1),
            outcome("crdforge", 2.0, 0.1),
        ];
        assert_eq!(r.median_run("crdforge").unwrap().converge_seconds, 2.0);
        assert!(r.median_run("nobody").is_none());
    }
}
