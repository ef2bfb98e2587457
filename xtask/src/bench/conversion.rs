//! The conversion webhook benchmark: the User kind's v1 ⇄ v2 conversion
//! served by crdforge-runtime (`bench-conversion-webhook`, the code the User
//! controller serves) and by controller-runtime's conversion webhook for
//! the same Go types (`bench/go-conversion`), each loaded the same way over
//! HTTPS on loopback by `bench-conversion-harness` (see its module docs),
//! which first checks that both convert every object alike. This module
//! interleaves the contenders over rounds and renders the report section.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, ensure};
use serde::Deserialize;

use super::stats::{Summary, median, paired_ratio, paired_ratios, quantile};

/// How the suite runs.
#[derive(Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) rounds: usize,
    /// Reviews per run, under load.
    pub(crate) requests: usize,
    /// Users per review.
    pub(crate) objects: usize,
    /// Connections sending at once.
    pub(crate) concurrency: usize,
}

/// The programs of the contenders.
pub(crate) struct Programs {
    pub(crate) harness: PathBuf,
    pub(crate) crdforge: PathBuf,
    pub(crate) controller_runtime: PathBuf,
}

/// The contenders in report order: ours first.
const CONTENDERS: [&str; 2] = ["crdforge", "controller-runtime"];

/// One run's result line, as the harness prints it.
#[derive(Debug, Clone, Deserialize)]
struct Outcome {
    #[serde(rename = "impl")]
    implementation: String,
    requests: usize,
    seconds: f64,
    reviews_per_second: f64,
    latency_ms: Vec<f64>,
    cpu_seconds: f64,
    peak_rss_bytes: u64,
}

/// Every run, by contender (in [`CONTENDERS`] order), in round order.
pub(crate) struct Results {
    settings: Settings,
    runs: Vec<Vec<Outcome>>,
}

/// Builds controller-runtime's contender into `<target>/bench/go-conversion/`,
/// unless the binary is newer than every file of its module.
pub(crate) fn build_go(root: &Path, target: &Path) -> Result<PathBuf> {
    super::build_go_module(
        &root.join("bench/go-conversion"),
        &target.join("bench/go-conversion/conversion-webhook"),
        "the controller-runtime conversion webhook (Go module proxy)",
    )
}

/// Runs every contender `rounds` times, the order rotated every round.
pub(crate) fn run(programs: &Programs, settings: &Settings, work: &Path) -> Result<Results> {
    ensure!(
        settings.rounds > 0
            && settings.requests > 0
            && settings.objects > 0
            && settings.concurrency > 0,
        "the conversion benchmark needs rounds, requests, objects and connections"
    );
    let mut runs: Vec<Vec<Outcome>> = vec![Vec::new(); CONTENDERS.len()];
    for round in 0..settings.rounds {
        for i in 0..CONTENDERS.len() {
            let idx = (round + i) % CONTENDERS.len();
            let name = CONTENDERS[idx];
            eprintln!(
                "bench: round {}/{} conversion {name}",
                round + 1,
                settings.rounds
            );
            let program = match name {
                "crdforge" => &programs.crdforge,
                _ => &programs.controller_runtime,
            };
            let outcome = run_one(
                programs,
                settings,
                program,
                name,
                &work.join(format!("{round}-{name}")),
            )?;
            eprintln!(
                "bench:   {:.0} reviews/s, p50 {:.2} ms, {:.2} ms CPU per review",
                outcome.reviews_per_second,
                median(&outcome.latency_ms).unwrap_or(f64::NAN),
                cpu_ms_per_review(&outcome)
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
    program: &Path,
    name: &str,
    work: &Path,
) -> Result<Outcome> {
    let mut command = Command::new(&programs.harness);
    command
        .args(["--name", name])
        .args(["--requests", &settings.requests.to_string()])
        .args(["--objects", &settings.objects.to_string()])
        .args(["--concurrency", &settings.concurrency.to_string()])
        .arg("--work")
        .arg(work)
        .arg("--")
        .arg(program);
    let outcome: Outcome =
        super::harness_outcome(command, &format!("the conversion harness for {name}"))?;
    ensure!(
        outcome.implementation == name && outcome.requests == settings.requests,
        "the harness reported {} reviews of {} for {name}",
        outcome.requests,
        outcome.implementation
    );
    Ok(outcome)
}

fn cpu_ms_per_review(o: &Outcome) -> f64 {
    o.cpu_seconds * 1e3 / o.requests as f64
}

fn rss_mib(o: &Outcome) -> f64 {
    o.peak_rss_bytes as f64 / (1024.0 * 1024.0)
}

fn run_p50(o: &Outcome) -> f64 {
    median(&o.latency_ms).unwrap_or(f64::NAN)
}

impl Results {
    fn per_run(&self, idx: usize, f: impl Fn(&Outcome) -> f64) -> Vec<f64> {
        self.runs[idx].iter().map(f).collect()
    }

    fn all_latencies(&self, idx: usize) -> Vec<f64> {
        self.runs[idx]
            .iter()
            .flat_map(|o| o.latency_ms.iter().copied())
            .collect()
    }
}

/// The section of the report.
pub(crate) fn render(results: &Results) -> String {
    let s = &results.settings;
    let mut w = String::new();
    let _ = writeln!(w, "## Conversion webhook: User v1 ⇄ v2");
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "Each run starts one contender alone and sends it {} `ConversionReview`s of {} Users \
         each (half v1 → v2, half v2 → v1, every other object carrying v2's `team` through \
         v1's annotation) over {} keep-alive HTTPS connections on loopback, after a warm-up; \
         before that the harness checks that the contender converts every object exactly as \
         crdforge does in process. {} rounds, the order rotated every round. Brackets give \
         the range of the per-run values; CPU is the contender's own (utime + stime) over the \
         load, the client's excluded.",
        s.requests, s.objects, s.concurrency, s.rounds
    );
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "- `crdforge`: `bench-conversion-webhook`, the User controller's conversion \
         (`user_api::conversion`, hub v1) on crdforge-runtime's server (hyper, rustls). \
         `controller-runtime`: `bench/go-conversion`, the same types and rules in Go with \
         controller-runtime's conversion webhook handler (`Hub`/`Convertible`) on `net/http`."
    );
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "| measure | {} |",
        CONTENDERS.map(|c| format!("`{c}`")).join(" | ")
    );
    let _ = writeln!(w, "| --- |{}", " ---: |".repeat(CONTENDERS.len()));
    let summary = |values: Vec<f64>, unit: &str, digits: usize| {
        Summary::of(&values).map_or("—".into(), |r| {
            format!(
                "{:.digits$}{unit} [{:.digits$} – {:.digits$}]",
                r.median, r.min, r.max
            )
        })
    };
    type Row<'a> = (&'a str, Box<dyn Fn(usize) -> String + 'a>);
    let rows: Vec<Row<'_>> = vec![
        (
            "reviews per second",
            Box::new(|i| summary(results.per_run(i, |o| o.reviews_per_second), "", 0)),
        ),
        (
            "Users converted per second",
            Box::new(|i| {
                summary(
                    results.per_run(i, |o| o.reviews_per_second * s.objects as f64),
                    "",
                    0,
                )
            }),
        ),
        (
            "latency p50 (per-run medians)",
            Box::new(|i| summary(results.per_run(i, run_p50), " ms", 2)),
        ),
        (
            "latency p99, all runs (nearest rank)",
            Box::new(|i| {
                quantile(&results.all_latencies(i), 0.99)
                    .map_or("—".into(), |v| format!("{v:.2} ms"))
            }),
        ),
        (
            "contender CPU per review",
            Box::new(|i| summary(results.per_run(i, cpu_ms_per_review), " ms", 2)),
        ),
        (
            "contender peak RSS",
            Box::new(|i| summary(results.per_run(i, rss_mib), " MiB", 1)),
        ),
    ];
    for (title, cell) in &rows {
        let cells: Vec<String> = (0..CONTENDERS.len()).map(cell).collect();
        let _ = writeln!(w, "| {title} | {} |", cells.join(" | "));
    }
    let _ = writeln!(w);
    let ratio = |f: fn(&Outcome) -> f64| {
        let (ours, theirs) = (results.per_run(0, f), results.per_run(1, f));
        let all = paired_ratios(&ours, &theirs);
        match (paired_ratio(&ours, &theirs), Summary::of(&all)) {
            (Some(m), Some(r)) => format!("{m:.2}× [{:.2} – {:.2}]", r.min, r.max),
            _ => "—".into(),
        }
    };
    let _ = writeln!(
        w,
        "- `crdforge` ÷ `controller-runtime`, median of per-round ratios [range]: throughput \
         {} (higher is better), CPU per review {}, p50 latency {}, peak RSS {} (lower is \
         better).",
        ratio(|o| o.reviews_per_second),
        ratio(cpu_ms_per_review),
        ratio(run_p50),
        ratio(rss_mib),
    );
    let _ = writeln!(
        w,
        "- The harness and the contender share the machine's cores, the same way for both; \
         seconds per run: {}.",
        CONTENDERS
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let secs: Vec<String> = results.runs[i]
                    .iter()
                    .map(|o| format!("{:.1}", o.seconds))
                    .collect();
                format!("`{c}` {}", secs.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    );
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_has_every_measure_and_the_ratios() {
        let outcome = |name: &str, rps: f64, cpu: f64| Outcome {
            implementation: name.into(),
            requests: 100,
            seconds: 100.0 / rps,
            reviews_per_second: rps,
            latency_ms: vec![2.0, 4.0, 6.0],
            cpu_seconds: cpu,
            peak_rss_bytes: 20 * 1024 * 1024,
        };
        let results = Results {
            settings: Settings {
                rounds: 1,
                requests: 100,
                objects: 100,
                concurrency: 8,
            },
            runs: vec![
                vec![outcome("crdforge", 400.0, 0.5)],
                vec![outcome("controller-runtime", 200.0, 1.0)],
            ],
        };
        let text = render(&results);
        assert!(
            text.contains("| reviews per second | 400 [400 – 400] | 200 [200 – 200] |"),
            "{text}"
        );
        assert!(
            text.contains(
                "| contender CPU per review | 5.00 ms [5.00 – 5.00] | 10.00 ms [10.00 – 10.00] |"
            ),
            "{text}"
        );
        assert!(text.contains("throughput 2.00× [2.00 – 2.00]"), "{text}");
        assert!(
            text.contains("CPU per review 0.50× [0.50 – 0.50]"),
            "{text}"
        );
    }
}
