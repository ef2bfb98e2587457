//! `cargo xtask matrix`: the end-to-end suites that say what generated CRDs
//! and a controller built on crdforge do on a real apiserver, run once per
//! Kubernetes release the control plane can run
//! (`crdforge_envtest::assets::RELEASES`), each on a fresh control plane of
//! that release; writes the table to docs/kubernetes-versions.md. Not a CI
//! step: the first run builds two more control planes from Go modules
//! (about 5 minutes each on a quiet machine), and the suites take minutes
//! per release.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, Result};
use crdforge_envtest::Instance;
use crdforge_envtest::assets::{self, DEFAULT_RELEASE, Release};

/// `cargo xtask matrix` options.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Only these releases (e.g. `--kubernetes 1.35`); default: all.
    #[arg(long, value_name = "VERSION")]
    kubernetes: Vec<String>,
    /// Where to write the report (default: docs/kubernetes-versions.md).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// One suite: a `cargo test` run whose outcome is a cell of the table.
struct Suite {
    name: &'static str,
    what: &'static str,
    cargo: &'static [&'static str],
}

const SUITES: &[Suite] = &[
    Suite {
        name: "control plane",
        what: "`crdforge-envtest`'s smoke tests: the apiserver reports the release it was built \
               from, a CRD is established, objects round-trip and schema violations get 422",
        cargo: &[
            "test",
            "--package",
            "crdforge-envtest",
            "--features",
            "e2e",
            "--test",
            "smoke",
        ],
    },
    Suite {
        name: "generated CRDs",
        what: "every `crdforge-fixtures` end-to-end test: each generated CRD is established, \
               values of every serde shape round-trip unchanged, what the schema and CEL refuse \
               is refused with the field named, multi-version CRDs with their conversion and \
               admission webhooks, and compatibility of schema changes",
        cargo: &[
            "test",
            "--package",
            "crdforge-fixtures",
            "--features",
            "e2e",
        ],
    },
    Suite {
        name: "User controller",
        what: "the User controller's end-to-end and webhook tests: Namespaces, RoleBindings and \
               quotas for each User, status, ownership and garbage collection, leader election, \
               streaming lists with their fallback, the v2 conversion webhook",
        cargo: &["test", "--package", "user-controller", "--features", "e2e"],
    },
];

/// How one suite went on one release.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outcome {
    pub(crate) passed: usize,
    pub(crate) failed: Vec<String>,
    /// The command failed without a failing test (a build error, a control
    /// plane that did not start): its last lines.
    pub(crate) error: Option<String>,
    pub(crate) seconds: f64,
}

pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let releases: Vec<Release> = if args.kubernetes.is_empty() {
        assets::RELEASES.to_vec()
    } else {
        args.kubernetes
            .iter()
            .map(|v| Release::parse(v))
            .collect::<Result<_>>()?
    };
    let root = crate::workspace_root();
    let out = args
        .out
        .unwrap_or_else(|| root.join("docs/kubernetes-versions.md"));
    let date = crate::bench::utc_now();

    // Build every suite's tests once, so no cell's time includes compiling.
    for suite in SUITES {
        let mut build: Vec<&str> = suite.cargo.to_vec();
        build.push("--no-run");
        crate::cargo(&build)?;
    }
    let mut rows = Vec::new();
    for release in &releases {
        let (_, provenance) = assets::ensure_release(*release)?;
        eprintln!("matrix: {} binaries {provenance:?}", release.kubernetes);
        let mut outcomes = Vec::new();
        for suite in SUITES {
            // A fresh control plane per suite: one suite's leftovers cannot
            // decide another's cell.
            let started = Instance::named(&format!("matrix-{}", release.minor_version()))
                .with_release(*release)
                .start_scoped(&[]);
            let running = match started {
                Ok(running) => running,
                // A release that does not start is a cell of the table
                // too, with why.
                Err(e) => {
                    let why = format!("{e:#}");
                    let lines: Vec<&str> = why.lines().collect();
                    outcomes.push(Outcome {
                        passed: 0,
                        failed: Vec::new(),
                        error: Some(format!(
                            "the control plane did not start: {}",
                            lines[lines.len().saturating_sub(3)..].join("\n")
                        )),
                        seconds: 0.0,
                    });
                    continue;
                }
            };
            let mut command = running.command(env!("CARGO"));
            command.args(suite.cargo).current_dir(&root);
            eprintln!("matrix: {} on {}", suite.name, release.kubernetes);
            let started = Instant::now();
            let (success, output) = run_tee(command)?;
            let mut outcome = parse(&output, success);
            outcome.seconds = started.elapsed().as_secs_f64();
            drop(running);
            outcomes.push(outcome);
        }
        rows.push((*release, outcomes));
    }
    let machine = crate::bench::machine()
        .into_iter()
        .map(|(k, v)| format!("{k} {v}"))
        .chain([format!(
            "load average at the end {}",
            crate::bench::load_average()
        )])
        .collect::<Vec<_>>()
        .join(", ");
    let markdown = render(&date, &machine, &rows);
    std::fs::write(&out, &markdown).with_context(|| format!("writing {}", out.display()))?;
    println!("{markdown}");
    eprintln!("matrix: wrote {}", out.display());
    let failed = rows
        .iter()
        .flat_map(|(_, o)| o)
        .any(|o| !o.failed.is_empty() || o.error.is_some());
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs `command`, echoing its output as it comes, and returns whether it
/// succeeded and everything it printed (stdout and stderr interleaved by
/// line).
fn run_tee(mut command: Command) -> Result<(bool, String)> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running cargo")?;
    let stdout = child.stdout.take().context("stdout")?;
    let stderr = child.stderr.take().context("stderr")?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let readers: Vec<_> = [
        Box::new(stdout) as Box<dyn std::io::Read + Send>,
        Box::new(stderr),
    ]
    .into_iter()
    .map(|stream| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                eprintln!("{line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        })
    })
    .collect();
    drop(tx);
    let output: Vec<String> = rx.iter().collect();
    for reader in readers {
        let _ = reader.join();
    }
    let status = child.wait().context("waiting for cargo")?;
    Ok((status.success(), output.join("\n")))
}

/// The outcome libtest's output states: `test result:` lines summed, the
/// names of failed tests, or the tail of the output when the command failed
/// without a failed test.
pub(crate) fn parse(output: &str, success: bool) -> Outcome {
    let mut passed = 0;
    let mut failed = Vec::new();
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix("test result: ") {
            // "ok. 12 passed; 0 failed; ..." or "FAILED. 3 passed; 1 failed; ..."
            if let Some(n) = rest
                .split(';')
                .next()
                .and_then(|first| first.split_whitespace().nth(1))
                .and_then(|n| n.parse::<usize>().ok())
            {
                passed += n;
            }
        } else if let Some(name) = line
            .strip_prefix("test ")
            .and_then(|rest| rest.strip_suffix(" ... FAILED"))
        {
            failed.push(name.to_string());
        }
    }
    let error = (!success && failed.is_empty()).then(|| {
        let lines: Vec<&str> = output.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    });
    Outcome {
        passed,
        failed,
        error,
        seconds: 0.0,
    }
}

const HEADER: &str = "<!-- Generated by `cargo xtask matrix`; do not edit. -->";

pub(crate) fn render(date: &str, machine: &str, rows: &[(Release, Vec<Outcome>)]) -> String {
    let mut w = String::new();
    let mut line = |s: &str| {
        w.push_str(s);
        w.push('\n');
    };
    line(HEADER);
    line("");
    line("# Kubernetes versions");
    line("");
    line(&format!(
        "Measured on {date} by `cargo xtask matrix`: each Kubernetes release the control plane \
         can run (`crdforge_envtest::assets::RELEASES`), built from Go modules, with each suite \
         below run on a fresh control plane of that release. The generated CRDs are the same \
         files for every release (`generated/`); the default release, {}, is the one CI runs \
         and the one `k8s-openapi`'s feature names. Machine: {machine}.",
        DEFAULT_RELEASE.kubernetes
    ));
    line("");
    let mut header = String::from("| suite |");
    let mut rule = String::from("| --- |");
    for (release, _) in rows {
        let default = if *release == DEFAULT_RELEASE {
            " (default)"
        } else {
            ""
        };
        header.push_str(&format!(" {}{default} |", release.kubernetes));
        rule.push_str(" --- |");
    }
    line(&header);
    line(&rule);
    for (i, suite) in SUITES.iter().enumerate() {
        let mut cells = format!("| {} |", suite.name);
        for (_, outcomes) in rows {
            let cell = match outcomes.get(i) {
                Some(o) if o.error.is_some() => "❌ did not run".to_string(),
                Some(o) if o.failed.is_empty() => {
                    format!("✅ {} passed ({:.0} s)", o.passed, o.seconds)
                }
                Some(o) => format!(
                    "❌ {} failed, {} passed ({:.0} s)",
                    o.failed.len(),
                    o.passed,
                    o.seconds
                ),
                None => "—".to_string(),
            };
            cells.push_str(&format!(" {cell} |"));
        }
        line(&cells);
    }
    line("");
    for suite in SUITES {
        line(&format!(
            "- **{}** (`cargo {}`): {}.",
            suite.name,
            suite.cargo.join(" "),
            suite.what
        ));
    }
    let mut failures = Vec::new();
    for (release, outcomes) in rows {
        for (suite, outcome) in SUITES.iter().zip(outcomes) {
            for test in &outcome.failed {
                failures.push(format!(
                    "- {} · {}: `{test}`",
                    release.kubernetes, suite.name
                ));
            }
            if let Some(error) = &outcome.error {
                failures.push(format!(
                    "- {} · {}: the command failed before any test did:\n\n```text\n{error}\n```",
                    release.kubernetes, suite.name
                ));
            }
        }
    }
    if !failures.is_empty() {
        line("");
        line("## Failures");
        line("");
        for failure in failures {
            line(&failure);
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "\
running 3 tests
test a ... ok
test b::c ... FAILED
test d ... ok
test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out
running 4 tests
test result: ok. 4 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out";

    #[test]
    fn libtest_output_gives_passed_counts_and_failed_names() {
        let o = parse(OUTPUT, false);
        assert_eq!(o.passed, 6);
        assert_eq!(o.failed, vec!["b::c".to_string()]);
        assert_eq!(o.error, None);
        let o = parse(
            "error[E0425]: cannot find value\nerror: could not compile",
            false,
        );
        assert_eq!(o.passed, 0);
        assert!(o.error.unwrap().contains("could not compile"));
    }

    #[test]
    fn the_table_has_a_column_per_release_and_names_each_failure() {
        let ok = Outcome {
            passed: 4,
            failed: vec![],
            error: None,
            seconds: 12.0,
        };
        let bad = parse(OUTPUT, false);
        let rows = vec![
            (
                assets::RELEASES[0],
                vec![bad.clone(), ok.clone(), ok.clone()],
            ),
            (DEFAULT_RELEASE, vec![ok.clone(), ok.clone(), ok.clone()]),
        ];
        let md = render("today", "test machine", &rows);
        assert!(md.starts_with(HEADER));
        assert!(
            md.contains("| suite | v1.35.4 | v1.37.2 (default) |"),
            "{md}"
        );
        assert!(
            md.contains("| control plane | ❌ 1 failed, 6 passed (0 s) | ✅ 4 passed (12 s) |"),
            "{md}"
        );
        assert!(md.contains("- v1.35.4 · control plane: `b::c`"), "{md}");
    }
}
