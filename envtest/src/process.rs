//! Starting, finding and stopping the component processes.
//!
//! Components are started in their own process group with output going to a
//! log file, so that they outlive `cargo xtask envtest up` and a terminal's
//! Ctrl-C does not reach them. Each one's pid is written beside its log. A pid
//! is only trusted while `/proc/<pid>/exe` still names the binary we started,
//! so a stale pid file left by a crash or reboot never makes us signal an
//! unrelated process that reused the number.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rustix::process::{Pid, Signal, kill_process, test_kill_process};

/// A started component: its pid and the binary it runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Launched {
    /// The process id.
    pub pid: i32,
    /// The binary, to recognise the process later.
    pub binary: PathBuf,
}

/// Starts `binary` with `args`, detached, appending its output to `log`.
pub fn spawn(binary: &Path, args: &[String], log: &Path) -> Result<Launched> {
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let child = Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let pid = i32::try_from(child.id()).context("pid out of range")?;
    // The child is not waited for here: after `up` returns it is reparented to
    // init, and `stop` recognises its exit by polling.
    drop(child);
    Ok(Launched {
        pid,
        binary: binary.to_path_buf(),
    })
}

/// Whether the process is alive and still runs the binary we started.
pub fn is_running(launched: &Launched) -> bool {
    let Some(pid) = Pid::from_raw(launched.pid) else {
        return false;
    };
    if test_kill_process(pid).is_err() {
        return false;
    }
    // A zombie (exited, not yet reaped by its parent) has no exe link; treat
    // it as gone.
    match fs::read_link(format!("/proc/{}/exe", launched.pid)) {
        Ok(exe) => same_file(&exe, &launched.binary),
        Err(_) => false,
    }
}

fn same_file(exe: &Path, binary: &Path) -> bool {
    let exe = exe.to_string_lossy();
    // The kernel appends " (deleted)" when the binary was replaced on disk.
    let exe = exe.trim_end_matches(" (deleted)");
    match fs::canonicalize(binary) {
        Ok(binary) => Path::new(exe) == binary,
        Err(_) => Path::new(exe) == binary,
    }
}

/// Stops the process: SIGTERM, then SIGKILL after `grace`. Returns once it is
/// gone, or an error if even SIGKILL did not end it within a few seconds.
pub fn stop(launched: &Launched, grace: Duration) -> Result<()> {
    if !is_running(launched) {
        return Ok(());
    }
    let pid = Pid::from_raw(launched.pid).context("invalid pid")?;
    let _ = kill_process(pid, Signal::TERM);
    if wait_gone(launched, grace) {
        return Ok(());
    }
    let _ = kill_process(pid, Signal::KILL);
    if wait_gone(launched, Duration::from_secs(5)) {
        return Ok(());
    }
    anyhow::bail!(
        "process {} ({}) survived SIGKILL",
        launched.pid,
        launched.binary.display()
    )
}

/// Kills the process at once, as a crash would.
pub fn kill(launched: &Launched) -> Result<()> {
    if let Some(pid) = Pid::from_raw(launched.pid)
        && is_running(launched)
    {
        let _ = kill_process(pid, Signal::KILL);
    }
    if wait_gone(launched, Duration::from_secs(5)) {
        Ok(())
    } else {
        anyhow::bail!("process {} survived SIGKILL", launched.pid)
    }
}

fn wait_gone(launched: &Launched, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if !is_running(launched) {
            return true;
        }
        sleep(Duration::from_millis(50));
    }
    !is_running(launched)
}

/// The last `lines` lines of a log file, for error messages.
pub fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut file) = fs::File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    // Logs can be large; the last 64 KiB hold far more than the lines wanted.
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut buf = Vec::new();
    let _ = file.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("crdforge-process-{}-{name}", std::process::id()))
    }

    #[test]
    fn spawn_run_and_stop_a_process() {
        let log = temp("sleep.log");
        let sleep = PathBuf::from("/bin/sleep");
        let launched = spawn(&sleep, &["30".into()], &log).unwrap();
        assert!(is_running(&launched));
        stop(&launched, Duration::from_secs(5)).unwrap();
        assert!(!is_running(&launched));
        let _ = fs::remove_file(log);
    }

    #[test]
    fn a_pid_running_another_binary_is_not_ours() {
        // Our own pid runs the test binary, not /bin/sleep: a stale pid file
        // naming a reused pid must not be taken for a live component.
        let stale = Launched {
            pid: std::process::id() as i32,
            binary: PathBuf::from("/bin/sleep"),
        };
        assert!(!is_running(&stale));
        stop(&stale, Duration::from_millis(10)).unwrap();
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let path = temp("tail.log");
        fs::write(&path, "one\ntwo\nthree\n").unwrap();
        assert_eq!(tail(&path, 2), "two\nthree");
        assert!(tail(&temp("missing.log"), 2).starts_with("(no log at"));
        let _ = fs::remove_file(path);
    }
}
