//! `cargo xtask bench`: builds the Rust (`bench`) and Go
//! (`bench/go`) contenders, runs them interleaved for several rounds,
//! and writes the medians and ratios to `docs/benchmarks.md`.
//!
//! xtask only orchestrates: kube, tokio and the counting allocator live in
//! the bench crate, so this binary stays quick to build.

mod controller;
mod conversion;
mod deep_copy;
mod leifur;
mod plot;
mod profile;
mod report;
mod rules;
mod stats;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;

use self::report::{Comparison, Report, Suite};
use crate::workspace_root;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Debug build, tiny workloads, two rounds: checks that the harness runs
    /// (CI runs it). Writes under target/ instead of docs/ unless `--out`.
    #[arg(long)]
    quick: bool,
    /// Rounds of interleaved runs (default 7; 2 with --quick).
    #[arg(long)]
    rounds: Option<usize>,
    /// Where to write the report (default docs/benchmarks.md; with --quick
    /// `<target>/bench/benchmarks-quick.md`). The convergence plot is written
    /// next to it.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Run only these suites (default all); a partial report goes under
    /// target/ unless `--out`, never over docs/benchmarks.md.
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<SuiteArg>,
    /// The controller benchmark's cases, each `USERSxWORKERS` (default
    /// `1000x4,1000x16,10000x16`: a thousand Users with the controllers'
    /// default 4 workers and with 16, and ten thousand with 16; `5x4` with
    /// --quick). `--users`/`--workers` give a single case instead.
    #[arg(long, value_delimiter = ',', value_parser = parse_case, conflicts_with_all = ["users", "workers"])]
    cases: Vec<controller::Case>,
    /// Users of a single controller case.
    #[arg(long)]
    users: Option<usize>,
    /// Workers of every controller contender in a single case (default 4,
    /// the User controller's default).
    #[arg(long)]
    workers: Option<usize>,
    /// Rounds of the controller benchmark (default 3, and 2 from 5,000
    /// Users on; 2 with --quick).
    #[arg(long)]
    controller_rounds: Option<usize>,
    /// Seconds of the controller benchmark's idle-CPU window (default 10; 2
    /// with --quick).
    #[arg(long)]
    idle_seconds: Option<f64>,
    /// Rounds of the Rule Loader benchmark (default 3; 1 with --quick).
    #[arg(long)]
    rules_rounds: Option<usize>,
    /// Changes timed one by one per Rule Loader run (default 30; 3 with
    /// --quick).
    #[arg(long)]
    rule_changes: Option<usize>,
    /// Changes of the burst per Rule Loader run (default 100; 10 with
    /// --quick).
    #[arg(long)]
    rule_burst: Option<usize>,
    /// Rounds of the conversion webhook benchmark (default 5; 1 with
    /// --quick).
    #[arg(long)]
    conversion_rounds: Option<usize>,
    /// Reviews per conversion run (default 3000; 50 with --quick).
    #[arg(long)]
    conversion_requests: Option<usize>,
    /// LoadBalancer Services per run of Leifur's allocation benchmark
    /// (default 1000; 50 with --quick).
    #[arg(long)]
    leifur_services: Option<usize>,
    /// Rounds of Leifur's allocation benchmark (default 3; 1 with --quick).
    #[arg(long)]
    leifur_rounds: Option<usize>,
    /// Rounds of Leifur's failover measurement (default 5; 1 with --quick).
    #[arg(long)]
    leifur_failover_rounds: Option<usize>,
}

/// Suites `--only` can pick.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SuiteArg {
    Workqueue,
    CacheMemory,
    DeepCopy,
    Controller,
    Rules,
    Conversion,
    /// Leifur's allocation benchmark. Not in `--quick` unless named: its
    /// control plane and MetalLB's build add well over a minute to CI.
    Leifur,
}

/// `USERSxWORKERS`, e.g. `1000x16`.
fn parse_case(text: &str) -> Result<controller::Case, String> {
    let (users, workers) = text
        .split_once('x')
        .ok_or_else(|| format!("`{text}` is not USERSxWORKERS (e.g. 1000x16)"))?;
    let number = |part: &str, what: &str| {
        part.trim()
            .parse::<usize>()
            .map_err(|e| format!("the {what} of `{text}`: {e}"))
    };
    Ok(controller::Case {
        users: number(users, "Users")?,
        workers: number(workers, "workers")?,
    })
}

/// The controller cases a run measures: `--cases`, or the single case of
/// `--users`/`--workers`, or the defaults of the mode.
fn controller_cases(args: &Args) -> Vec<controller::Case> {
    use controller::Case;
    if !args.cases.is_empty() {
        return args.cases.clone();
    }
    if args.users.is_some() || args.workers.is_some() {
        return vec![Case {
            users: args.users.unwrap_or(if args.quick { 5 } else { 1000 }),
            workers: args.workers.unwrap_or(4),
        }];
    }
    if args.quick {
        vec![Case {
            users: 5,
            workers: 4,
        }]
    } else {
        vec![
            Case {
                users: 1000,
                workers: 4,
            },
            Case {
                users: 1000,
                workers: 16,
            },
            Case {
                users: 10000,
                workers: 16,
            },
        ]
    }
}

/// The quick mode, as `cargo xtask ci` runs it.
pub(crate) fn quick() -> Result<()> {
    run(Args {
        quick: true,
        rounds: None,
        out: None,
        only: Vec::new(),
        cases: Vec::new(),
        users: None,
        workers: None,
        controller_rounds: None,
        idle_seconds: None,
        rules_rounds: None,
        rule_changes: None,
        rule_burst: None,
        conversion_rounds: None,
        conversion_requests: None,
        leifur_services: None,
        leifur_rounds: None,
        leifur_failover_rounds: None,
    })
    .map(drop)
}

pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let root = workspace_root();
    let target = crdforge_envtest::target_dir()?;
    let rounds = args.rounds.unwrap_or(if args.quick { 2 } else { 7 });
    ensure!(rounds > 0, "--rounds must be positive");
    let out = args.out.clone().unwrap_or_else(|| {
        if args.only == [SuiteArg::Leifur] && !args.quick {
            root.join("docs/benchmarks-leifur.md")
        } else if !args.only.is_empty() {
            target.join("bench/benchmarks-partial.md")
        } else if args.quick {
            target.join("bench/benchmarks-quick.md")
        } else {
            root.join("docs/benchmarks.md")
        }
    });
    let date = utc_now();
    let load_before = load_average();

    let wants = |suite: SuiteArg| {
        args.only.contains(&suite)
            || (args.only.is_empty() && !(args.quick && suite == SuiteArg::Leifur))
    };

    let rust = build_rust(&root, &target, args.quick)?;
    let go = build_go(&root, &target)?;
    let plan: Vec<Bench> = plan(&rust, &go, args.quick)
        .into_iter()
        .filter(|b| {
            wants(match b.suite {
                Suite::Workqueue => SuiteArg::Workqueue,
                Suite::CacheMemory => SuiteArg::CacheMemory,
                Suite::DeepCopyTime | Suite::DeepCopyAllocs => SuiteArg::DeepCopy,
            })
        })
        .collect();

    let started = Instant::now();
    let mut comparisons = Vec::new();
    for bench in &plan {
        comparisons.push(run_interleaved(bench, rounds)?);
    }
    let controller = if wants(SuiteArg::Controller) {
        let cases = controller_cases(&args);
        ensure!(
            cases.iter().all(|c| c.users > 0 && c.workers > 0) && args.controller_rounds != Some(0),
            "Users, workers and --controller-rounds must be positive"
        );
        let programs = controller::Programs {
            harness: rust.controller_harness.clone(),
            limit: rust.limit.clone(),
            user_controller: rust.user_controller.clone(),
            kube_runtime: rust.kube_runtime_controller.clone(),
            go: go.clone(),
        };
        let mut sections = Vec::new();
        // The ceiling sweep depends on the size, not on the contenders'
        // workers: it runs with the first case of each size, and the next
        // sizes sweep only the best concurrency of the previous one.
        let full_sweep: &'static [usize] = if args.quick { &[16] } else { &[4, 16, 64, 256] };
        let mut best_previous: Option<usize> = None;
        let mut swept: Vec<(usize, controller::Results)> = Vec::new();
        for case in &cases {
            let first_of_size = !swept.iter().any(|(u, _)| *u == case.users);
            let ceiling_sweep: Vec<usize> = match (first_of_size, best_previous) {
                (false, _) => Vec::new(),
                (true, None) => full_sweep.to_vec(),
                (true, Some(best)) => vec![best],
            };
            let settings = controller::Settings {
                users: case.users,
                rounds: args
                    .controller_rounds
                    .unwrap_or(match (args.quick, case.users) {
                        (true, _) => 2,
                        (false, u) if u >= 5000 => 2,
                        _ => 3,
                    }),
                workers: case.workers,
                idle_seconds: args
                    .idle_seconds
                    .unwrap_or(if args.quick { 2.0 } else { 10.0 }),
                ceiling_sweep,
            };
            let mut results = controller::run(
                &programs,
                &settings,
                &target.join(format!("bench/controller/{}x{}", case.users, case.workers)),
            )?;
            if first_of_size {
                best_previous = results.best_sweep_concurrency();
                swept.push((case.users, results.clone()));
            } else if let Some((_, first)) = swept.iter().find(|(u, _)| *u == case.users) {
                results.sweep = first.sweep.clone();
                results.sweep_borrowed = true;
            }
            let plot_name = out
                .file_stem()
                .map_or("benchmarks".into(), |s| s.to_string_lossy().into_owned())
                + &format!("-convergence-{}x{}.svg", case.users, case.workers);
            let plot_path = out.with_file_name(&plot_name);
            if let Some(dir) = plot_path.parent() {
                fs::create_dir_all(dir)?;
            }
            controller::write_plot(&results, &plot_path)?;
            eprintln!("bench: wrote {}", plot_path.display());
            sections.push(controller::render(&results, Some(&plot_name)));
        }
        Some(sections.join("\n"))
    } else {
        None
    };
    let rules = if wants(SuiteArg::Rules) {
        let settings = rules::Settings {
            rounds: args.rules_rounds.unwrap_or(if args.quick { 1 } else { 3 }),
            changes: args.rule_changes.unwrap_or(if args.quick { 3 } else { 30 }),
            burst: args.rule_burst.unwrap_or(if args.quick { 10 } else { 100 }),
        };
        let programs = rules::Programs {
            harness: rust.rules_harness.clone(),
            rule_loader: rust.rule_loader.clone(),
            naive: rust.naive_rule_loader.clone(),
        };
        let results = rules::run(&programs, &settings, &target.join("bench/rules"))?;
        Some(rules::render(&results))
    } else {
        None
    };
    let conversion = if wants(SuiteArg::Conversion) {
        let settings = conversion::Settings {
            rounds: args
                .conversion_rounds
                .unwrap_or(if args.quick { 1 } else { 5 }),
            requests: args
                .conversion_requests
                .unwrap_or(if args.quick { 50 } else { 3000 }),
            objects: 100,
            concurrency: 8,
        };
        let programs = conversion::Programs {
            harness: rust.conversion_harness.clone(),
            crdforge: rust.conversion_webhook.clone(),
            controller_runtime: conversion::build_go(&root, &target)?,
        };
        let results = conversion::run(&programs, &settings, &target.join("bench/conversion"))?;
        Some(conversion::render(&results))
    } else {
        None
    };
    let leifur = if wants(SuiteArg::Leifur) {
        let settings = leifur::Settings {
            services: args
                .leifur_services
                .unwrap_or(if args.quick { 50 } else { 1000 }),
            rounds: args.leifur_rounds.unwrap_or(if args.quick { 1 } else { 3 }),
            failover_rounds: args
                .leifur_failover_rounds
                .unwrap_or(if args.quick { 1 } else { 5 }),
        };
        ensure!(
            settings.services > 0
                && settings.services < 1024
                && settings.rounds > 0
                && (1..=20).contains(&settings.failover_rounds),
            "--leifur-services must be in 1..1024 (a /22), --leifur-rounds positive and \
             --leifur-failover-rounds in 1..=20"
        );
        let metallb = leifur::build_metallb(&root, &target);
        if let Err(why) = &metallb {
            eprintln!("bench: MetalLB's controller is not run: {why}");
        }
        let programs = leifur::Programs {
            harness: rust.leifur_harness.clone(),
            leifur_controller: rust.leifur_controller.clone(),
            metallb,
        };
        let results = leifur::run(&root, &programs, &settings, &target.join("bench/leifur"))?;
        Some(leifur::render(&results))
    } else {
        None
    };
    eprintln!(
        "bench: all runs took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let profiles = if args.quick {
        Err("quick mode takes no profiles".to_string())
    } else if !profile::available() {
        Err("`perf record` does not work on this machine".to_string())
    } else {
        profile_misses(&plan, &comparisons, &target.join("bench/perf"))
    };

    let mut machine = machine();
    machine.push((
        "load average (1, 5, 15 min) before / after".into(),
        format!("{load_before} / {}", load_average()),
    ));
    let report = Report {
        quick: args.quick,
        date,
        machine,
        versions: versions(&root)?,
        rounds,
        comparisons,
        workloads: plan
            .iter()
            .map(|b| (b.suite, b.workload.to_string(), b.description.to_string()))
            .collect(),
        profiles,
        controller,
        rules,
        conversion,
        leifur,
    };
    let markdown = report::render(&report);
    if let Some(dir) = out.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    fs::write(&out, &markdown).with_context(|| format!("writing {}", out.display()))?;
    println!("{markdown}");
    eprintln!("bench: wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// Profiles every contender of each work-queue workload that missed its
/// target. A profile that fails is reported, not fatal: the measurements
/// stand without it.
fn profile_misses(
    plan: &[Bench],
    comparisons: &[Comparison],
    dir: &Path,
) -> Result<Vec<profile::Profile>, String> {
    let mut profiles = Vec::new();
    for (bench, comparison) in plan.iter().zip(comparisons) {
        if bench.suite != Suite::Workqueue || !comparison.misses_target() {
            continue;
        }
        for contender in &bench.contenders {
            eprintln!("bench: profiling {} {}", bench.workload, contender.name);
            let p = profile::profile(bench.workload, contender, dir, 10).map_err(|e| {
                format!(
                    "profiling {} {} failed: {e:#}",
                    bench.workload, contender.name
                )
            })?;
            profiles.push(p);
        }
    }
    Ok(profiles)
}

/// One workload and the command line of each contender; the first is ours.
struct Bench {
    suite: Suite,
    workload: &'static str,
    description: String,
    contenders: Vec<Contender>,
}

struct Contender {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
}

/// Built programs of one side.
struct RustBins {
    workqueue: PathBuf,
    cache_memory: PathBuf,
    deep_copy: PathBuf,
    deep_copy_allocs: PathBuf,
    controller_harness: PathBuf,
    limit: PathBuf,
    kube_runtime_controller: PathBuf,
    user_controller: PathBuf,
    rules_harness: PathBuf,
    naive_rule_loader: PathBuf,
    rule_loader: PathBuf,
    conversion_harness: PathBuf,
    conversion_webhook: PathBuf,
    leifur_harness: PathBuf,
    leifur_controller: PathBuf,
}

fn plan(rust: &RustBins, go: &Path, quick: bool) -> Vec<Bench> {
    let ops: u64 = if quick { 20_000 } else { 2_000_000 };
    let n = report::group_thousands(ops);
    let mut benches = Vec::new();
    // (workload, its flags beyond --workload and --ops, what it does)
    type QueueWorkload = (&'static str, Vec<(&'static str, u64)>, String);
    let queue_workloads: [QueueWorkload; 3] = [
        (
            "single",
            vec![("keyspace", 10_000)],
            format!(
                "one thread adds a key, gets it and marks it done, {n} times \
                 (keys drawn from 10,000)"
            ),
        ),
        (
            "batch",
            vec![("keyspace", 500), ("batch", 1_000)],
            format!(
                "one thread adds 1,000 keys drawn from 500 (so about half are \
                 duplicates that the queue must fold), then gets and finishes \
                 everything queued; {n} adds in all"
            ),
        ),
        (
            "concurrent",
            vec![
                ("keyspace", 10_000),
                ("producers", 2),
                ("workers", 4),
                ("burst", 100),
            ],
            format!(
                "2 producers add {n} keys drawn from 10,000, yielding every 100 adds, \
                 while 4 workers get and finish keys; then shut down with drain. Rust: \
                 tokio multi-thread runtime with one thread per core; Go: GOMAXPROCS = \
                 cores. Throughput counts adds; the gets made vary with how many \
                 duplicates were folded"
            ),
        ),
    ];
    for (workload, params, description) in queue_workloads {
        let mut common = vec![
            "--workload".to_string(),
            workload.to_string(),
            "--ops".into(),
            ops.to_string(),
        ];
        for (flag, value) in params {
            common.push(format!("--{flag}"));
            common.push(value.to_string());
        }
        let go_args = std::iter::once("workqueue".to_string())
            .chain(common.iter().cloned())
            .collect();
        benches.push(Bench {
            suite: Suite::Workqueue,
            workload,
            description: format!(
                "{description}. Both queues without metrics; keys are \
                 `namespace/name` strings (`Arc<str>` in Rust)."
            ),
            contenders: vec![
                Contender {
                    name: "crdforge",
                    program: rust.workqueue.clone(),
                    args: common,
                },
                Contender {
                    name: "client-go",
                    program: go.to_path_buf(),
                    args: go_args,
                },
            ],
        });
    }
    benches.extend(cache_memory_plan(rust, go, quick));
    benches.extend(deep_copy::plan(
        &rust.deep_copy,
        &rust.deep_copy_allocs,
        quick,
    ));
    benches
}

fn cache_memory_plan(rust: &RustBins, go: &Path, quick: bool) -> Vec<Bench> {
    let objects: u64 = if quick { 1_000 } else { 10_000 };
    let n = report::group_thousands(objects);
    let objects_text = format!(
        "{n} ConfigMaps as the apiserver sends them (50 namespaces; 3 labels; a 2-key data \
         map; a controller ownerReference on every 4th; `managedFields`: the applier's entry, \
         and a second manager's on every other object; decoded from JSON, as a watch delivers \
         them)"
    );
    let measured = "Rust: bytes requested from the allocator (a counting global allocator, \
                    `stats_alloc`) while the cache is live, inputs dropped, without malloc's \
                    headers and rounding; Go: `runtime.MemStats.HeapAlloc` after a full GC, \
                    which includes size-class rounding, so the client-go column is indicative";
    [
        (
            "watch",
            format!(
                "{objects_text}, one watch event each. `crdforge`: `cache::Store::apply` with \
                 the namespace, owner-UID and `app` label indexes; `crdforge-transform`: the \
                 same after the informer transform `drop_managed_fields` (what the User \
                 controller caches); `kube-runtime`: the \
                 reflector's `Writer::apply_watcher_event(&Event::Apply(obj))` (it has no \
                 indexes); `client-go`: `cache.NewIndexer` with the same three indexes, \
                 `Add`; `bare-arcs`: the objects alone in a `Vec<Arc<ConfigMap>>`, the floor \
                 for any cache that shares objects by `Arc`. {measured}."
            ),
        ),
        (
            "relist",
            "the same objects handed over as one list: `Store::replace`; `Event::Init`, \
             `InitApply` for each, `InitDone`; `Indexer.Replace`; a `Vec` collected at once."
                .to_string(),
        ),
    ]
    .into_iter()
    .map(|(workload, description)| {
        let common = [
            "--workload".to_string(),
            workload.to_string(),
            "--objects".into(),
            objects.to_string(),
        ];
        let rust_contender = |name: &'static str| Contender {
            name,
            program: rust.cache_memory.clone(),
            args: ["--impl", name]
                .into_iter()
                .map(String::from)
                .chain(common.iter().cloned())
                .collect(),
        };
        Bench {
            suite: Suite::CacheMemory,
            workload,
            description,
            contenders: vec![
                rust_contender("crdforge"),
                rust_contender("crdforge-transform"),
                rust_contender("kube-runtime"),
                Contender {
                    name: "client-go",
                    program: go.to_path_buf(),
                    args: std::iter::once("cache-memory".to_string())
                        .chain(common.iter().cloned())
                        .collect(),
                },
                rust_contender("bare-arcs"),
            ],
        }
    })
    .collect()
}

/// Runs every contender once per round, rotating who goes first, and
/// collects each one's metric in round order.
fn run_interleaved(bench: &Bench, rounds: usize) -> Result<Comparison> {
    let n = bench.contenders.len();
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut gets: Vec<Vec<u64>> = vec![Vec::new(); n];
    for round in 0..rounds {
        for i in 0..n {
            let idx = (round + i) % n;
            let c = &bench.contenders[idx];
            eprintln!(
                "bench: round {}/{rounds} {} {} {}",
                round + 1,
                bench.suite.id(),
                bench.workload,
                c.name
            );
            for line in run_contender(c)? {
                ensure!(
                    line.suite == bench.suite.id()
                        && line.implementation == c.name
                        && line.workload == bench.workload,
                    "{} printed a result for {}/{}/{}, expected {}/{}/{}",
                    c.program.display(),
                    line.suite,
                    line.implementation,
                    line.workload,
                    bench.suite.id(),
                    c.name,
                    bench.workload
                );
                let value = match bench.suite {
                    Suite::Workqueue => line.ops_per_sec,
                    Suite::CacheMemory => line.bytes_per_object,
                    Suite::DeepCopyTime => line.ns_per_copy,
                    Suite::DeepCopyAllocs => line.allocs_per_copy,
                }
                .with_context(|| format!("{} printed no metric", c.program.display()))?;
                samples[idx].push(value);
                gets[idx].extend(line.gets);
            }
        }
    }
    if DETERMINISTIC_WORKLOADS.contains(&bench.workload) {
        check_same_work(bench.workload, &gets)?;
    }
    Ok(Comparison {
        suite: bench.suite,
        workload: bench.workload.to_string(),
        contenders: bench
            .contenders
            .iter()
            .zip(samples)
            .map(|(c, s)| (c.name.to_string(), s))
            .collect(),
    })
}

/// Queue workloads run on one thread: both queues must hand out exactly the
/// same keys, so the same number of them.
const DETERMINISTIC_WORKLOADS: &[&str] = &["single", "batch"];

/// Fails unless every run handed out the same number of keys: otherwise the
/// contenders did not do the same work and the comparison would be void.
fn check_same_work(workload: &str, gets: &[Vec<u64>]) -> Result<()> {
    let mut all = gets.iter().flatten();
    if let Some(first) = all.next() {
        ensure!(
            all.all(|g| g == first),
            "workload `{workload}`: the contenders handed out different numbers of keys \
             ({gets:?}), so they did not do the same work"
        );
    }
    Ok(())
}

/// One line of a contender's output.
#[derive(Debug, Deserialize)]
struct Line {
    suite: String,
    #[serde(rename = "impl")]
    implementation: String,
    workload: String,
    ops_per_sec: Option<f64>,
    gets: Option<u64>,
    bytes_per_object: Option<f64>,
    ns_per_copy: Option<f64>,
    allocs_per_copy: Option<f64>,
}

/// Runs one harness process (stdin closed, its stderr shown) and reads its
/// result: the last non-empty line of its stdout, as JSON. `what` names the
/// run in errors ("the rules harness for naive").
fn harness_outcome<T: serde::de::DeserializeOwned>(mut command: Command, what: &str) -> Result<T> {
    let output = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {what}"))?;
    ensure!(output.status.success(), "{what} failed ({})", output.status);
    let stdout = String::from_utf8(output.stdout)?;
    let line = stdout
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .with_context(|| format!("{what} printed nothing"))?;
    serde_json::from_str(line).with_context(|| format!("parsing {line:?}"))
}

fn run_contender(c: &Contender) -> Result<Vec<Line>> {
    let output = Command::new(&c.program)
        .args(&c.args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", c.program.display()))?;
    if !output.status.success() {
        bail!(
            "`{} {}` failed ({})",
            c.program.display(),
            c.args.join(" "),
            output.status
        );
    }
    let stdout = String::from_utf8(output.stdout).context("output is not UTF-8")?;
    let lines: Vec<Line> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).with_context(|| format!("parsing result line {l:?}")))
        .collect::<Result<_>>()?;
    ensure!(
        !lines.is_empty(),
        "`{} {}` printed no result",
        c.program.display(),
        c.args.join(" ")
    );
    Ok(lines)
}

fn build_rust(root: &Path, target: &Path, quick: bool) -> Result<RustBins> {
    // Quick mode reuses the debug build that `cargo test --workspace` left.
    let (profile, dir) = if quick {
        ("dev", "debug")
    } else {
        ("release", "release")
    };
    eprintln!(
        "bench: building crdforge-bench, user-controller, rule-loader and leifur-controller ({profile})"
    );
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--profile",
            profile,
            "-p",
            "crdforge-bench",
            "-p",
            "user-controller",
            "-p",
            "rule-loader",
            "-p",
            "leifur-controller",
            "--bins",
        ])
        .current_dir(root)
        .status()
        .context("running cargo")?;
    ensure!(
        status.success(),
        "building crdforge-bench failed ({status})"
    );
    let bin = |name: &str| {
        target
            .join(dir)
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
    };
    Ok(RustBins {
        workqueue: bin("bench-workqueue"),
        cache_memory: bin("bench-cache-memory"),
        deep_copy: bin("bench-deep-copy"),
        deep_copy_allocs: bin("bench-deep-copy-allocs"),
        controller_harness: bin("bench-controller-harness"),
        limit: bin("bench-limit"),
        kube_runtime_controller: bin("bench-kube-runtime-controller"),
        user_controller: bin("user-controller"),
        rules_harness: bin("bench-rules-harness"),
        naive_rule_loader: bin("bench-naive-rule-loader"),
        rule_loader: bin("rule-loader"),
        conversion_harness: bin("bench-conversion-harness"),
        conversion_webhook: bin("bench-conversion-webhook"),
        leifur_harness: bin("bench-leifur-harness"),
        leifur_controller: bin("leifur-controller"),
    })
}

/// Builds the Go contenders into `<target>/bench/go/`, unless the binary is
/// newer than every file of the module.
fn build_go(root: &Path, target: &Path) -> Result<PathBuf> {
    build_go_module(
        &root.join("bench/go"),
        &target.join("bench/go/bench"),
        "the Go contenders (client-go from the Go module proxy)",
    )
}

/// Builds the Go program in `module` into `binary`, unless the binary is
/// newer than every file of the module. `what` names it in messages.
pub(super) fn build_go_module(module: &Path, binary: &Path, what: &str) -> Result<PathBuf> {
    build_go_package(module, ".", binary, what)
}

/// Builds Go package `package` of (or required by) `module` into `binary`,
/// unless the binary is newer than every file of the module.
pub(super) fn build_go_package(
    module: &Path,
    package: &str,
    binary: &Path,
    what: &str,
) -> Result<PathBuf> {
    let newest_source = fs::read_dir(module)
        .with_context(|| format!("reading {}", module.display()))?
        .filter_map(|e| e.ok()?.metadata().ok()?.modified().ok())
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let built = fs::metadata(binary).and_then(|m| m.modified()).ok();
    if built.is_some_and(|b| b > newest_source) {
        return Ok(binary.to_owned());
    }
    eprintln!("bench: building {what}");
    let status = Command::new("go")
        .current_dir(module)
        // go.mod names the Go release the module needs; an older local Go
        // fetches that toolchain through the module proxy.
        .env("GOTOOLCHAIN", "auto")
        .env("GOFLAGS", "-mod=readonly")
        .args(["build", "-trimpath", "-o"])
        .arg(binary)
        .arg(package)
        .status()
        .context("running `go build` (is Go installed?)")?;
    ensure!(status.success(), "building {what} failed ({status})");
    Ok(binary.to_owned())
}

pub(crate) fn machine() -> Vec<(String, String)> {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    vec![
        ("cores (nproc)".into(), cores.to_string()),
        (
            "CPU".into(),
            proc_field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into()),
        ),
        (
            "memory".into(),
            proc_field(&meminfo, "MemTotal")
                .and_then(|kb| kb.trim_end_matches(" kB").trim().parse::<u64>().ok())
                .map_or_else(
                    || "unknown".into(),
                    |kb| format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0),
                ),
        ),
        (
            "OS".into(),
            fs::read_to_string("/proc/sys/kernel/osrelease")
                .map_or_else(|_| "unknown".into(), |s| format!("Linux {}", s.trim())),
        ),
    ]
}

pub(crate) fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The value of the first `key : value` line (the format of /proc/cpuinfo
/// and /proc/meminfo).
fn proc_field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

fn versions(root: &Path) -> Result<Vec<(String, String)>> {
    let lock = fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let go_mod =
        fs::read_to_string(root.join("bench/go/go.mod")).context("reading bench/go/go.mod")?;
    let mut v = vec![
        ("rustc".into(), tool_version("rustc", &["-V"])),
        ("go".into(), tool_version("go", &["version"])),
    ];
    for krate in ["kube", "k8s-openapi", "tokio"] {
        v.push((
            format!("{krate} (Cargo.lock)"),
            lock_version(&lock, krate).unwrap_or_else(|| "not in Cargo.lock".into()),
        ));
    }
    v.push((
        "k8s.io/client-go (go.mod)".into(),
        go_mod_version(&go_mod, "k8s.io/client-go").unwrap_or_else(|| "not in go.mod".into()),
    ));
    let conversion = fs::read_to_string(root.join("bench/go-conversion/go.mod"))
        .context("reading bench/go-conversion/go.mod")?;
    v.push((
        "sigs.k8s.io/controller-runtime (bench/go-conversion/go.mod)".into(),
        go_mod_version(&conversion, "sigs.k8s.io/controller-runtime")
            .unwrap_or_else(|| "not in go.mod".into()),
    ));
    v.push((
        "hyper, rustls (Cargo.lock)".into(),
        ["hyper", "rustls"]
            .map(|k| lock_version(&lock, k).unwrap_or_else(|| "?".into()))
            .join(", "),
    ));
    Ok(v)
}

fn tool_version(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(
            || "unknown".into(),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_string(),
        )
}

/// The version of a package in Cargo.lock; with several versions locked,
/// all of them, comma-separated.
fn lock_version(lock: &str, name: &str) -> Option<String> {
    let wanted = format!("name = \"{name}\"");
    let mut found = Vec::new();
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l.trim() == wanted {
            let version = lines.next()?.trim();
            let version = version.strip_prefix("version = \"")?.strip_suffix('"')?;
            found.push(version.to_string());
        }
    }
    (!found.is_empty()).then(|| found.join(", "))
}

/// The version a go.mod requires a module at.
fn go_mod_version(go_mod: &str, module: &str) -> Option<String> {
    go_mod.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        let first = words.next()?;
        let (m, v) = if first == "require" {
            (words.next()?, words.next()?)
        } else {
            (first, words.next()?)
        };
        (m == module).then(|| v.to_string())
    })
}

/// Now, as `YYYY-MM-DD HH:MM UTC`, from the system clock alone.
pub(crate) fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// The proleptic Gregorian date of a count of days since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controller_cases_parse_and_default_by_mode() {
        use controller::Case;
        assert_eq!(
            parse_case("1000x16"),
            Ok(Case {
                users: 1000,
                workers: 16
            })
        );
        assert!(parse_case("1000").unwrap_err().contains("USERSxWORKERS"));
        assert!(
            parse_case("ax4")
                .unwrap_err()
                .contains("the Users of `ax4`")
        );
        let args = |extra: &[&str]| {
            #[derive(clap::Parser)]
            struct Cli {
                #[command(flatten)]
                bench: Args,
            }
            let mut argv = vec!["bench"];
            argv.extend_from_slice(extra);
            <Cli as clap::Parser>::parse_from(argv).bench
        };
        let cases = |extra: &[&str]| {
            controller_cases(&args(extra))
                .iter()
                .map(|c| (c.users, c.workers))
                .collect::<Vec<_>>()
        };
        assert_eq!(cases(&[]), vec![(1000, 4), (1000, 16), (10000, 16)]);
        assert_eq!(cases(&["--quick"]), vec![(5, 4)]);
        assert_eq!(cases(&["--users", "200"]), vec![(200, 4)]);
        assert_eq!(cases(&["--cases", "50x2,60x3"]), vec![(50, 2), (60, 3)]);
    }

    #[test]
    fn same_work_means_the_same_number_of_gets_everywhere() {
        assert!(check_same_work("batch", &[vec![5, 5], vec![5, 5]]).is_ok());
        assert!(check_same_work("batch", &[vec![], vec![]]).is_ok());
        let err = check_same_work("batch", &[vec![5, 5], vec![5, 4]]).unwrap_err();
        assert!(
            err.to_string().contains("did not do the same work"),
            "{err}"
        );
    }

    #[test]
    fn lock_versions_are_read_from_package_entries() {
        let lock = "[[package]]\nname = \"kube\"\nversion = \"5.0.0\"\n\n\
                    [[package]]\nname = \"kube-core\"\nversion = \"5.0.0\"\n\n\
                    [[package]]\nname = \"hashbrown\"\nversion = \"0.14.5\"\n\n\
                    [[package]]\nname = \"hashbrown\"\nversion = \"0.15.2\"\n";
        assert_eq!(lock_version(lock, "kube").as_deref(), Some("5.0.0"));
        assert_eq!(
            lock_version(lock, "hashbrown").as_deref(),
            Some("0.14.5, 0.15.2")
        );
        assert_eq!(lock_version(lock, "tokio"), None);
    }

    #[test]
    fn go_mod_versions_are_read_from_block_and_single_line_requires() {
        let go_mod = "module x\n\nrequire k8s.io/api v0.36.3\n\nrequire (\n\
                      \tk8s.io/client-go v0.36.3\n\tk8s.io/utils v0.0.0-2026 // indirect\n)\n";
        assert_eq!(
            go_mod_version(go_mod, "k8s.io/client-go").as_deref(),
            Some("v0.36.3")
        );
        assert_eq!(
            go_mod_version(go_mod, "k8s.io/api").as_deref(),
            Some("v0.36.3")
        );
        assert_eq!(go_mod_version(go_mod, "k8s.io/kubelet"), None);
    }

    #[test]
    fn proc_fields_are_found_by_key() {
        let cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t: fpu\n";
        assert_eq!(
            proc_field(cpuinfo, "model name").as_deref(),
            Some("AMD EPYC")
        );
        assert_eq!(proc_field(cpuinfo, "cache size"), None);
    }

    #[test]
    fn civil_dates_from_day_counts() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_785), (2026, 11, 28));
    }
}
