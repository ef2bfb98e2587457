//! What a contender process cost, read from `/proc`: the harnesses measure
//! their child processes from outside, the same way for every contender.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A contender process whose stdout and stderr go to a log file: how every
/// harness starts the program it measures.
pub struct LoggedChild {
    child: Child,
    log: PathBuf,
}

impl LoggedChild {
    /// Starts `template` (program and arguments) with each `{name}` of
    /// `substitutions` replaced, logging to `log`.
    pub fn spawn(template: &[String], substitutions: &[(&str, &str)], log: &Path) -> Result<Self> {
        let command: Vec<String> = template
            .iter()
            .map(|arg| {
                substitutions.iter().fold(arg.clone(), |a, (name, value)| {
                    a.replace(&format!("{{{name}}}"), value)
                })
            })
            .collect();
        let program = command.first().context("an empty contender command")?;
        let out = fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let child = Command::new(program)
            .args(&command[1..])
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {program}"))?;
        Ok(Self {
            child,
            log: log.to_path_buf(),
        })
    }

    /// The log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// An error, with the end of the log, if the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            let text = fs::read_to_string(&self.log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            bail!(
                "the contender exited ({status}); its log {} ends with:\n{}",
                self.log.display(),
                lines[lines.len().saturating_sub(20)..].join("\n")
            );
        }
        Ok(())
    }

    /// CPU seconds (user + system, all threads) used so far.
    pub fn cpu_seconds(&self) -> Result<f64> {
        cpu_seconds(self.child.id())
    }

    /// The peak resident set so far, in bytes.
    pub fn peak_rss_bytes(&self) -> Result<u64> {
        peak_rss_bytes(self.child.id())
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    pub fn terminate(&mut self, grace: Duration) -> Result<()> {
        let pid = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let deadline = Instant::now() + grace;
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                self.child.kill()?;
                self.child.wait()?;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// utime (field 14) + stime (field 15) of `/proc/<pid>/stat`, in seconds.
/// Fields are counted after the command name's closing parenthesis, since
/// the name may hold spaces.
pub fn cpu_from_stat(stat: &str, ticks_per_second: u64) -> Result<f64> {
    let after = stat
        .rsplit_once(')')
        .context("malformed /proc/<pid>/stat")?
        .1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state), so field n is at index n - 3.
    let utime: u64 = fields.get(11).context("no utime")?.parse()?;
    let stime: u64 = fields.get(12).context("no stime")?.parse()?;
    Ok((utime + stime) as f64 / ticks_per_second as f64)
}

/// VmHWM (peak resident set) of `/proc/<pid>/status`, in bytes.
pub fn vm_hwm_bytes(status: &str) -> Option<u64> {
    status.lines().find_map(|l| {
        let kb = l.strip_prefix("VmHWM:")?.trim().strip_suffix("kB")?.trim();
        kb.parse::<u64>().ok().map(|kb| kb * 1024)
    })
}

/// CPU seconds (user + system) process `pid` has used so far.
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    cpu_from_stat(&stat, rustix::param::clock_ticks_per_second())
}

/// Peak resident set of process `pid`, in bytes.
pub fn peak_rss_bytes(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    vm_hwm_bytes(&status).context("no VmHWM in /proc/<pid>/status")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_cpu_is_utime_plus_stime_after_the_name() {
        let stat = "42 (tokio rt (x)) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0";
        assert_eq!(cpu_from_stat(stat, 100).unwrap(), 3.0);
    }

    #[test]
    fn a_logged_child_gets_its_substitutions_and_its_exit_is_reported_with_the_log() {
        let dir = std::env::temp_dir().join(format!("logged-child-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let log = dir.join("c.log");
        let template: Vec<String> = ["sh", "-c", "echo at {addr}; exit 3"]
            .map(String::from)
            .to_vec();
        let mut child = LoggedChild::spawn(&template, &[("addr", "127.0.0.1:9")], &log).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let err = loop {
            if let Err(e) = child.check_alive() {
                break e.to_string();
            }
            assert!(Instant::now() < deadline, "the child never exited");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(err.contains("exit status: 3"), "{err}");
        assert!(err.contains("at 127.0.0.1:9"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn vm_hwm_is_read_in_bytes() {
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    2048 kB\n";
        assert_eq!(vm_hwm_bytes(status), Some(2048 * 1024));
        assert_eq!(vm_hwm_bytes("Name:\tx\n"), None);
    }
}
