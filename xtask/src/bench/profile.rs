//! Where the time goes: for a workload that misses its target, each
//! contender is run once more under `perf record` and the report lists the
//! functions with the most CPU samples, so a shortfall comes with its cause.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, ensure};

use super::Contender;

/// One contender's hottest functions: (share of samples in percent, symbol).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Profile {
    pub(crate) workload: String,
    pub(crate) contender: String,
    pub(crate) symbols: Vec<(f64, String)>,
}

/// Whether `perf record` works here (it is installed and the kernel lets
/// this user sample its own processes).
pub(crate) fn available() -> bool {
    Command::new("perf")
        .args(["record", "-q", "-o", "/dev/null", "--", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `contender` under `perf record` and returns its `limit` hottest
/// symbols.
pub(crate) fn profile(
    workload: &str,
    contender: &Contender,
    dir: &Path,
    limit: usize,
) -> Result<Profile> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let data = dir.join(format!("{workload}-{}.perf.data", contender.name));
    let status = Command::new("perf")
        .args(["record", "-q", "-F", "999", "-o"])
        .arg(&data)
        .arg("--")
        .arg(&contender.program)
        .args(&contender.args)
        .stdout(Stdio::null())
        .status()
        .context("running perf record")?;
    ensure!(status.success(), "perf record failed ({status})");
    let output = Command::new("perf")
        .args(["report", "--stdio", "--no-children", "--sort", "sym", "-i"])
        .arg(&data)
        .stderr(Stdio::null())
        .output()
        .context("running perf report")?;
    ensure!(
        output.status.success(),
        "perf report failed ({})",
        output.status
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let mut symbols = parse_report(&text);
    symbols.truncate(limit);
    Ok(Profile {
        workload: workload.to_string(),
        contender: contender.name.to_string(),
        symbols,
    })
}

/// The rows of `perf report --stdio --sort sym`: `  29.76%  [.] name`.
fn parse_report(text: &str) -> Vec<(f64, String)> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let (percent, rest) = l.trim().split_once('%')?;
            let percent: f64 = percent.trim().parse().ok()?;
            // `[.]` marks user-space symbols, `[k]` kernel ones.
            let rest = rest.trim();
            let symbol = match rest.split_once("] ") {
                Some((kind, name)) if kind.starts_with('[') => {
                    let kernel = kind == "[k";
                    let name = shorten(name.trim());
                    if kernel {
                        format!("{name} (kernel)")
                    } else {
                        name
                    }
                }
                _ => shorten(rest),
            };
            Some((percent, symbol))
        })
        .collect()
}

/// Drops generic arguments, which make Rust symbols unreadable in a table:
/// `hashbrown::raw::RawTable<T,A>::remove_entry` becomes
/// `hashbrown::raw::RawTable::remove_entry`. The angle brackets of a
/// qualified path (`<A as B>::f`) are kept.
fn shorten(symbol: &str) -> String {
    let mut out = String::new();
    // For each open `<`: whether it opened generic arguments (dropped).
    let mut open: Vec<bool> = Vec::new();
    for c in symbol.chars() {
        let dropping = open.iter().any(|generic| *generic);
        match c {
            '<' => {
                let generic = dropping || out.ends_with(|p: char| p.is_alphanumeric() || p == '_');
                if !generic {
                    out.push(c);
                }
                open.push(generic);
            }
            // Closes a kept `<` (a qualified path): keep the `>` too.
            '>' if open.last() == Some(&false) => {
                open.pop();
                out.push(c);
            }
            '>' if !open.is_empty() => {
                open.pop();
            }
            _ if !dropping => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_rows_become_percentages_and_readable_symbols() {
        let text = "# Samples: 3K of event 'cpu-clock'\n#\n\
                    # Overhead  Symbol\n\
                    #\n    29.76%  [.] bench::concurrent::{{closure}}\n\
                    \x20   12.96%  [.] <core::hash::sip::Hasher<S> as core::hash::Hasher>::write\n\
                    \x20    2.79%  [k] finish_task_switch.isra.0\n\n\
                    #\n# (Tip: use --stdio)\n#\n";
        assert_eq!(
            parse_report(text),
            vec![
                (29.76, "bench::concurrent::{{closure}}".to_string()),
                (
                    12.96,
                    "<core::hash::sip::Hasher as core::hash::Hasher>::write".to_string()
                ),
                (2.79, "finish_task_switch.isra.0 (kernel)".to_string()),
            ]
        );
    }

    #[test]
    fn generic_arguments_are_dropped() {
        assert_eq!(
            shorten("hashbrown::raw::RawTable<T,A>::remove_entry"),
            "hashbrown::raw::RawTable::remove_entry"
        );
        assert_eq!(
            shorten("k8s.io/x.(*Typed[go.shape.string]).Get"),
            "k8s.io/x.(*Typed[go.shape.string]).Get"
        );
    }
}
