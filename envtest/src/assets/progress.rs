//! The progress line of a first build. A cold build of the control plane
//! compiles a few thousand Go packages over several minutes; one line and
//! then silence looks like a hang, so every few seconds the count of
//! packages compiled so far is printed. `go build -v` names each package as
//! it is compiled, on stderr; those lines also go to the build log.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::time::{Duration, Instant};

/// How often a progress line is printed at most.
const EVERY: Duration = Duration::from_secs(15);

/// Reads `go build -v`'s stderr to its end, copying it to `log` and printing
/// `envtest: building <what>: N/M packages, T s` to stderr at most every
/// [`EVERY`]. `total` is an upper bound: cached packages are not compiled
/// (and not named) again.
pub(super) fn follow(
    what: &str,
    stderr: impl Read,
    mut log: fs::File,
    total: usize,
    started: Instant,
) {
    let mut compiled = 0usize;
    let mut last = Instant::now();
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        let _ = writeln!(log, "{line}");
        if is_package_line(&line) {
            compiled += 1;
        }
        if last.elapsed() >= EVERY {
            last = Instant::now();
            eprintln!("{}", line_for(what, compiled, total, started.elapsed()));
        }
    }
    eprintln!(
        "{} (linking done)",
        line_for(what, compiled, total, started.elapsed())
    );
}

/// `go build -v` prints bare import paths; errors and warnings have spaces
/// or a `#` header.
fn is_package_line(line: &str) -> bool {
    !line.is_empty() && !line.contains(char::is_whitespace) && !line.starts_with('#')
}

fn line_for(what: &str, compiled: usize, total: usize, took: Duration) -> String {
    format!(
        "envtest: building {what}: {}/{total} packages compiled, {:.0} s",
        compiled.min(total),
        took.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_import_paths_not_errors() {
        assert!(is_package_line("k8s.io/apiserver/pkg/server"));
        assert!(is_package_line("internal/abi"));
        assert!(!is_package_line("# k8s.io/kubernetes/cmd/kubectl"));
        assert!(!is_package_line("./main.go:3:2: undefined: x"));
        assert!(!is_package_line(""));
    }

    #[test]
    fn the_line_names_the_module_and_caps_the_count() {
        assert_eq!(
            line_for("kubernetes", 12, 10, Duration::from_secs(61)),
            "envtest: building kubernetes: 10/10 packages compiled, 61 s"
        );
    }
}
