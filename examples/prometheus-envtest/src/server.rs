//! A Prometheus process on loopback: its configuration, start, readiness,
//! stop, and a minimal HTTP client for its API.

use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How long a start may take before it is reported as failed: the TSDB
/// opens and replays its write-ahead log first.
const READY_WITHIN: Duration = Duration::from_secs(60);
/// How long SIGTERM has before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Bound on every HTTP exchange with Prometheus.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on an HTTP response body: the tests read small API answers.
const MAX_RESPONSE: u64 = 16 * 1024 * 1024;

/// What the generated `prometheus.yml` says.
#[derive(Debug, Clone)]
pub struct PrometheusConfig {
    /// The `rule_files` glob, e.g. `/dir/*.yaml`.
    pub rule_files: String,
    /// Global scrape interval; Prometheus scrapes itself at this rate, so
    /// recording rules over its own series have samples.
    pub scrape_interval: Duration,
    /// Global rule evaluation interval.
    pub evaluation_interval: Duration,
}

impl PrometheusConfig {
    /// One-second scrapes and evaluations of the rule files under `glob`.
    pub fn rules(glob: impl Into<String>) -> Self {
        Self {
            rule_files: glob.into(),
            scrape_interval: Duration::from_secs(1),
            evaluation_interval: Duration::from_secs(1),
        }
    }

    fn render(&self, addr: SocketAddr) -> String {
        let mut out = String::new();
        let secs = |d: Duration| format!("{}ms", d.as_millis());
        let _ = writeln!(out, "# Written by prometheus-envtest.");
        let _ = writeln!(out, "global:");
        let _ = writeln!(out, "  scrape_interval: {}", secs(self.scrape_interval));
        let _ = writeln!(
            out,
            "  evaluation_interval: {}",
            secs(self.evaluation_interval)
        );
        let _ = writeln!(out, "rule_files:");
        let _ = writeln!(out, "  - {:?}", self.rule_files);
        let _ = writeln!(out, "scrape_configs:");
        let _ = writeln!(out, "  - job_name: prometheus");
        let _ = writeln!(out, "    static_configs:");
        let _ = writeln!(out, "      - targets: [\"{addr}\"]");
        out
    }
}

/// A running Prometheus, killed when dropped.
#[derive(Debug)]
pub struct Prometheus {
    child: Option<Child>,
    binary: PathBuf,
    dir: PathBuf,
    addr: SocketAddr,
    config: PrometheusConfig,
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

impl Prometheus {
    /// Builds Prometheus if needed, then starts it on a free loopback port
    /// with its data, configuration and log in `dir`, and waits until it is
    /// ready.
    pub fn start(dir: &Path, config: PrometheusConfig) -> Result<Self> {
        let (binary, _) = crate::ensure()?;
        let addr: SocketAddr = ([127, 0, 0, 1], free_port()?).into();
        let mut prometheus = Self {
            child: None,
            binary,
            dir: dir.to_path_buf(),
            addr,
            config,
        };
        prometheus.restart()?;
        Ok(prometheus)
    }

    /// Starts the process again (after [`stop`](Self::stop) or
    /// [`kill`](Self::kill)) on the same address, data and configuration.
    pub fn restart(&mut self) -> Result<()> {
        if self.child.is_some() {
            bail!("Prometheus is already running on {}", self.addr);
        }
        fs::create_dir_all(self.dir.join("data"))
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let config = self.dir.join("prometheus.yml");
        fs::write(&config, self.config.render(self.addr))?;
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())?;
        let child = Command::new(&self.binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                self.dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={}", self.addr))
            // POST /-/reload, which the Rule Loader calls.
            .arg("--web.enable-lifecycle")
            .arg("--log.level=info")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                bail!(
                    "Prometheus exited during start ({status}); its log:\n{}",
                    crdforge_envtest::process::tail(&self.log(), 30)
                );
            }
            if matches!(http_get(self.addr, "/-/ready"), Ok((200, _))) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "Prometheus on {} not ready within {READY_WITHIN:?}; its log:\n{}",
                    self.addr,
                    crdforge_envtest::process::tail(&self.log(), 30)
                );
            }
            sleep(Duration::from_millis(100));
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Its log file.
    pub fn log(&self) -> PathBuf {
        self.dir.join("prometheus.log")
    }

    /// Whether the process runs.
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited within ten seconds.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = rustix::process::Pid::from_child(&child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// GET `path` (with its query string); the status and body.
    pub fn get(&self, path: &str) -> Result<(u16, String)> {
        http_get(self.addr, path)
    }

    /// POST to `path` with an empty body; the status and body.
    pub fn post(&self, path: &str) -> Result<(u16, String)> {
        http_post(self.addr, path)
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.kill();
    }
}

/// GET over HTTP/1.0 with bounded timeouts: Go's server answers a 1.0
/// request without chunked encoding and closes the connection, so the body
/// is everything after the headers.
pub fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, String)> {
    exchange(addr, "GET", path)
}

/// POST with an empty body, as `/-/reload` takes.
pub fn http_post(addr: SocketAddr, path: &str) -> Result<(u16, String)> {
    exchange(addr, "POST", path)
}

fn exchange(addr: SocketAddr, method: &str, path: &str) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, HTTP_TIMEOUT)
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_read_timeout(Some(HTTP_TIMEOUT))?;
    stream.set_write_timeout(Some(HTTP_TIMEOUT))?;
    // One write: `write!` on a socket may send the request in pieces.
    let request = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream
        .take(MAX_RESPONSE)
        .read_to_end(&mut response)
        .with_context(|| format!("reading the answer to {method} {path}"))?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .with_context(|| format!("no HTTP header in the answer to {method} {path}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no status in the answer to {method} {path}: {head}"))?;
    Ok((status, body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_scrapes_itself_and_loads_the_rules() {
        let config = PrometheusConfig::rules("/tmp/rules/*.yaml");
        let text = config.render(([127, 0, 0, 1], 9090).into());
        assert!(text.contains("scrape_interval: 1000ms"));
        assert!(text.contains("- \"/tmp/rules/*.yaml\""));
        assert!(text.contains("targets: [\"127.0.0.1:9090\"]"));
    }

    #[test]
    fn http_reads_status_and_body_and_fails_clearly_without_a_server() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            // Read the whole header, however the bytes arrive.
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.ends_with(b"\r\n\r\n") {
                let n = stream.read(&mut buf).unwrap();
                assert!(n > 0, "the client closed before the end of its header");
                request.extend_from_slice(&buf[..n]);
            }
            assert!(String::from_utf8_lossy(&request).starts_with("POST /-/reload HTTP/1.0"));
            stream
                .write_all(b"HTTP/1.0 500 Internal Server Error\r\n\r\nbad rule file")
                .unwrap();
        });
        let (status, body) = http_post(addr, "/-/reload").unwrap();
        server.join().unwrap();
        assert_eq!((status, body.as_str()), (500, "bad rule file"));
        let err = http_get(addr, "/-/ready").unwrap_err();
        assert!(format!("{err:#}").contains(&addr.to_string()), "{err:#}");
    }
}
