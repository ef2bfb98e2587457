//! The Rule Loader benchmark: how long a ConfigMap change takes to reach a
//! real Prometheus, and how many reloads a burst of changes costs, for the
//! Rule Loader (at its default debounce and at a short one) and for a naive
//! loader that reloads after every change, on one control plane started
//! here.
//!
//! Each run is one process of `bench-rules-harness` (bench), which starts a
//! fresh Prometheus and one contender and measures from outside; see its
//! module docs. This module interleaves the contenders over rounds in a
//! rotated order and renders the section of the report.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, ensure};
use crdforge_envtest::Instance;
use serde::Deserialize;

use super::stats::{Summary, median, paired_ratio, quantile};

/// How the suite runs.
#[derive(Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) rounds: usize,
    /// Changes timed one by one, per run.
    pub(crate) changes: usize,
    /// Changes of the burst, per run.
    pub(crate) burst: usize,
}

/// The programs of the contenders.
pub(crate) struct Programs {
    pub(crate) harness: PathBuf,
    pub(crate) rule_loader: PathBuf,
    pub(crate) naive: PathBuf,
}

/// The Rule Loader's debounce in the second contender, in milliseconds.
const SHORT_DEBOUNCE_MS: u64 = 100;

/// The contenders in report order: ours at its defaults, ours tuned, the
/// baseline last.
const CONTENDERS: [&str; 3] = ["rule-loader", "rule-loader-100ms", "naive"];
const BASELINE: &str = "naive";

/// One run's result line, as the harness prints it.
#[derive(Debug, Clone, Deserialize)]
struct Outcome {
    #[serde(rename = "impl")]
    implementation: String,
    latency_seconds: Vec<f64>,
    latency_reloads: usize,
    burst_changes: usize,
    burst_seconds: f64,
    burst_reloads: usize,
}

/// Every run, by contender (in [`CONTENDERS`] order), in round order.
pub(crate) struct Results {
    settings: Settings,
    runs: Vec<Vec<Outcome>>,
}

/// Starts the control plane, runs every contender `rounds` times and stops
/// the control plane again.
pub(crate) fn run(programs: &Programs, settings: &Settings, work: &Path) -> Result<Results> {
    ensure!(
        settings.rounds > 0 && settings.changes > 0 && settings.burst > 0,
        "the rules benchmark needs rounds, changes and a burst"
    );
    let (prometheus, provenance) = prometheus_envtest::ensure()?;
    eprintln!(
        "bench: Prometheus {} ({provenance:?})",
        prometheus.display()
    );
    eprintln!("bench: starting a control plane for the Rule Loader benchmark");
    let running = Instance::named("bench-rules").start_scoped(&[])?;
    let instance = running.instance();
    let mut runs: Vec<Vec<Outcome>> = vec![Vec::new(); CONTENDERS.len()];
    for round in 0..settings.rounds {
        for i in 0..CONTENDERS.len() {
            let idx = (round + i) % CONTENDERS.len();
            let name = CONTENDERS[idx];
            eprintln!(
                "bench: round {}/{} rules {name}",
                round + 1,
                settings.rounds
            );
            let outcome = run_one(programs, settings, instance, work, name, round)?;
            eprintln!(
                "bench:   latency median {:.3} s, burst of {} → {} reloads in {:.2} s",
                median(&outcome.latency_seconds).unwrap_or(f64::NAN),
                outcome.burst_changes,
                outcome.burst_reloads,
                outcome.burst_seconds
            );
            runs[idx].push(outcome);
        }
    }
    Ok(Results {
        settings: *settings,
        runs,
    })
}

fn run_one(
    programs: &Programs,
    settings: &Settings,
    instance: &Instance,
    work: &Path,
    name: &str,
    round: usize,
) -> Result<Outcome> {
    let loader = |extra: &[String]| {
        let mut command = vec![
            programs.rule_loader.display().to_string(),
            "--rules-dir".into(),
            "{rules}".into(),
            "--prometheus-url".into(),
            "{prometheus}".into(),
            "--metrics-addr".into(),
            "{metrics}".into(),
        ];
        command.extend_from_slice(extra);
        command
    };
    let command_line = match name {
        "rule-loader" => loader(&[]),
        "rule-loader-100ms" => loader(&[format!("--debounce-ms={SHORT_DEBOUNCE_MS}")]),
        "naive" => vec![
            programs.naive.display().to_string(),
            "--rules-dir".into(),
            "{rules}".into(),
            "--prometheus-url".into(),
            "{prometheus}".into(),
        ],
        other => anyhow::bail!("unknown contender {other}"),
    };
    let mut command = Command::new(&programs.harness);
    command
        .args(["--contender", name])
        .args(["--changes", &settings.changes.to_string()])
        .args(["--burst", &settings.burst.to_string()])
        .arg("--work-dir")
        .arg(work.join(format!("{round}-{name}")))
        .arg("--")
        .args(&command_line)
        .env("KUBECONFIG", instance.kubeconfig())
        .env("RUST_LOG", "info,kube=warn")
        .env("NO_COLOR", "1");
    let outcome: Outcome =
        super::harness_outcome(command, &format!("the rules harness for {name}"))?;
    ensure!(
        outcome.implementation == name,
        "the harness reported {} for {name}",
        outcome.implementation
    );
    Ok(outcome)
}

impl Results {
    fn all_latencies(&self, idx: usize) -> Vec<f64> {
        self.runs[idx]
            .iter()
            .flat_map(|o| o.latency_seconds.iter().copied())
            .collect()
    }

    /// Per run, one value.
    fn per_run(&self, idx: usize, f: impl Fn(&Outcome) -> f64) -> Vec<f64> {
        self.runs[idx].iter().map(f).collect()
    }
}

fn burst_reloads(o: &Outcome) -> f64 {
    o.burst_reloads as f64
}

fn run_median(o: &Outcome) -> f64 {
    median(&o.latency_seconds).unwrap_or(f64::NAN)
}

/// The section of the report.
pub(crate) fn render(results: &Results) -> String {
    let s = &results.settings;
    let mut w = String::new();
    let _ = writeln!(
        w,
        "## Rule Loader: ConfigMap change → rule served by Prometheus"
    );
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "Each run starts a fresh Prometheus 3 (built from the Go module proxy) and one \
         contender on one control plane; {} rounds, the order rotated every round. \
         **Latency**: {} changes of one ConfigMap, one at a time, each a new recording rule, \
         timed from the apply request until Prometheus' `/api/v1/rules` serves the rule \
         (polled every 5 ms). **Burst**: {} changes of another ConfigMap written back to \
         back; reloads are counted in Prometheus' log (the same way for every contender) until \
         3 s after the last rule is served. Medians over every change of every round; \
         brackets give the range of the per-run values.",
        s.rounds, s.changes, s.burst
    );
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "- `rule-loader`: the Rule Loader with its defaults (1 s quiet period, 10 s at most, \
         every file validated). `rule-loader-100ms`: the same with `--debounce-ms \
         {SHORT_DEBOUNCE_MS}`. `naive` (`bench-naive-rule-loader`): a watch that writes each \
         ConfigMap's keys as files and posts `/-/reload` after every event, with no \
         validation, debounce or queue."
    );
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "| measure | {} |",
        CONTENDERS.map(|c| format!("`{c}`")).join(" | ")
    );
    let _ = writeln!(w, "| --- |{}", " ---: |".repeat(CONTENDERS.len()));
    let seconds = |v: f64| format!("{v:.3} s");
    let count = |v: f64| format!("{v:.0}");
    let burst_title = format!("reloads for a burst of {} changes", s.burst);
    type Row<'a> = (&'a str, Box<dyn Fn(usize) -> String + 'a>);
    let rows: Vec<Row<'_>> = vec![
        (
            "latency, median [per-run medians]",
            Box::new(|i| {
                let all = results.all_latencies(i);
                let runs = Summary::of(&results.per_run(i, run_median));
                match (median(&all), runs) {
                    (Some(m), Some(r)) => {
                        format!("{} [{} – {}]", seconds(m), seconds(r.min), seconds(r.max))
                    }
                    _ => "—".into(),
                }
            }),
        ),
        (
            "latency, p99 (nearest rank)",
            Box::new(|i| quantile(&results.all_latencies(i), 0.99).map_or("—".into(), seconds)),
        ),
        (
            "reloads per timed change",
            Box::new(|i| {
                let per: Vec<f64> =
                    results.per_run(i, |o| o.latency_reloads as f64 / s.changes as f64);
                Summary::of(&per).map_or("—".into(), |r| {
                    format!("{:.2} [{:.2} – {:.2}]", r.median, r.min, r.max)
                })
            }),
        ),
        (
            &burst_title,
            Box::new(|i| {
                Summary::of(&results.per_run(i, burst_reloads)).map_or("—".into(), |r| {
                    format!("{} [{} – {}]", count(r.median), count(r.min), count(r.max))
                })
            }),
        ),
        (
            "burst: first write → last rule served",
            Box::new(|i| {
                Summary::of(&results.per_run(i, |o| o.burst_seconds)).map_or("—".into(), |r| {
                    format!(
                        "{} [{} – {}]",
                        seconds(r.median),
                        seconds(r.min),
                        seconds(r.max)
                    )
                })
            }),
        ),
    ];
    for (title, cell) in &rows {
        let cells: Vec<String> = (0..CONTENDERS.len()).map(cell).collect();
        let _ = writeln!(w, "| {title} | {} |", cells.join(" | "));
    }
    let _ = writeln!(w);
    let base = CONTENDERS.iter().position(|c| *c == BASELINE).unwrap_or(0);
    for (i, name) in CONTENDERS.iter().enumerate().filter(|(i, _)| *i != base) {
        let reloads = paired_ratio(
            &results.per_run(i, burst_reloads),
            &results.per_run(base, burst_reloads),
        );
        let latency = paired_ratio(
            &results.per_run(i, run_median),
            &results.per_run(base, run_median),
        );
        let _ = writeln!(
            w,
            "- `{name}` ÷ `{BASELINE}` (median of per-round ratios): reloads per burst {}, \
             median latency {}.",
            reloads.map_or("—".into(), |r| format!("{r:.2}×")),
            latency.map_or("—".into(), |r| format!("{r:.2}×")),
        );
    }
    let _ = writeln!(
        w,
        "- The quiet period is a trade: every change waits for it before Prometheus sees it, \
         and in exchange a burst costs one or a few reloads (each reload re-reads and \
         re-evaluates every rule file, which grows with the cluster)."
    );
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_has_a_row_per_measure_and_a_ratio_per_loader() {
        let outcome = |name: &str, latency: f64, reloads: usize| Outcome {
            implementation: name.into(),
            latency_seconds: vec![latency; 4],
            latency_reloads: 4,
            burst_changes: 100,
            burst_seconds: 2.0,
            burst_reloads: reloads,
        };
        let results = Results {
            settings: Settings {
                rounds: 1,
                changes: 4,
                burst: 100,
            },
            runs: vec![
                vec![outcome("rule-loader", 1.2, 2)],
                vec![outcome("rule-loader-100ms", 0.3, 5)],
                vec![outcome("naive", 0.1, 100)],
            ],
        };
        let text = render(&results);
        assert!(
            text.contains(
                "| reloads for a burst of 100 changes | 2 [2 – 2] | 5 [5 – 5] | 100 [100 – 100] |"
            ),
            "{text}"
        );
        assert!(text.contains("`rule-loader` ÷ `naive` (median of per-round ratios): reloads per burst 0.02×, median latency 12.00×."), "{text}");
    }
}
