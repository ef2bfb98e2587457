//! Small networks out of Linux network namespaces, for end-to-end tests that
//! must send real frames (ARP, TCP, BGP) without touching the host.
//!
//! Guarantees:
//! - **nothing on the host**: every namespace is created by name under
//!   `/run/netns`, every veth pair is created inside a namespace with its peer
//!   moved straight into another, and the bridge lives in a namespace of its
//!   own (the "switch"); no command here names a host interface or route;
//! - **torn down on drop and on panic**: a [`Lab`] kills the processes it
//!   spawned (by their pids) and deletes its namespaces when dropped, which
//!   unwinding does too;
//! - **stale labs are swept**: [`Lab::new`] first deletes the namespaces of
//!   earlier labs whose process no longer exists (a crash or SIGKILL skips
//!   `Drop`);
//! - **bounded**: every command has a deadline ([`COMMAND_TIMEOUT`]) and every
//!   retry loop a count and a deadline.
//!
//! Needs root and iproute2's `ip`.

#![warn(missing_docs)]

pub mod debian;

use std::fs;
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Every namespace a lab creates starts with this, followed by the pid of the
/// process that made it: the sweep tells a live lab from a stale one by it.
pub const PREFIX: &str = "lf-";

/// How long one `ip`/`sysctl` command may take before it is killed.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// Where `ip netns` keeps its named namespaces.
const NETNS_DIR: &str = "/run/netns";

/// The bridge's name inside the switch namespace.
const BRIDGE: &str = "br0";

/// Distinguishes the labs of one process (tests run in parallel threads).
static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// A set of namespaces and the processes spawned in them, removed on drop.
pub struct Lab {
    id: String,
    switch: Mutex<Option<Netns>>,
    namespaces: Mutex<Vec<String>>,
    ports: AtomicU32,
}

/// One named network namespace of a [`Lab`]. Cheap to clone: it is only a
/// name; the lab owns the namespace's lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Netns {
    name: String,
}

/// An interface attached to the lab's bridge.
#[derive(Debug, Clone)]
pub struct Port {
    /// Its name inside its namespace.
    pub ifname: String,
    /// Its MAC address, `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
}

impl Lab {
    /// Sweeps stale labs, then starts an empty one.
    pub fn new() -> Result<Self> {
        let swept = sweep_stale()?;
        if !swept.is_empty() {
            eprintln!("netns-harness: removed stale namespaces {swept:?}");
        }
        let id = format!(
            "{PREFIX}{}-{}",
            std::process::id(),
            NEXT_LAB.fetch_add(1, Ordering::Relaxed)
        );
        Ok(Self {
            id,
            switch: Mutex::new(None),
            namespaces: Mutex::new(Vec::new()),
            ports: AtomicU32::new(0),
        })
    }

    /// The prefix of every namespace name of this lab.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Creates the namespace `<lab id>-<role>` with its loopback up.
    pub fn namespace(&self, role: &str) -> Result<Netns> {
        let name = format!("{}-{role}", self.id);
        run_checked(Command::new("ip").args(["netns", "add", &name]))?;
        // Registered before anything else can fail, so Drop removes it.
        self.namespaces.lock().unwrap().push(name.clone());
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The switch namespace with its bridge, created on first use.
    fn switch(&self) -> Result<Netns> {
        let mut switch = self.switch.lock().unwrap();
        if let Some(ns) = &*switch {
            return Ok(ns.clone());
        }
        let ns = self.namespace("sw")?;
        ns.ip(&["link", "add", BRIDGE, "type", "bridge"])?;
        // No spanning tree and no forwarding delay: ports forward at once,
        // so a test does not wait 15 s for a port to leave "learning".
        ns.ip(&["link", "set", BRIDGE, "type", "bridge", "stp_state", "0"])?;
        ns.ip(&[
            "link",
            "set",
            BRIDGE,
            "type",
            "bridge",
            "forward_delay",
            "0",
        ])?;
        ns.ip(&["link", "set", BRIDGE, "up"])?;
        *switch = Some(ns.clone());
        Ok(ns)
    }

    /// Connects `ns` to the bridge with a veth pair: `ifname` inside `ns`
    /// (given `addrs`, CIDR form), its peer a bridge port in the switch.
    pub fn attach(&self, ns: &Netns, ifname: &str, addrs: &[&str]) -> Result<Port> {
        let switch = self.switch()?;
        let port = format!("p{}", self.ports.fetch_add(1, Ordering::Relaxed));
        // Created inside `ns`, its peer moved straight into the switch: the
        // pair never exists in the host's namespace.
        ns.ip(&[
            "link",
            "add",
            ifname,
            "type",
            "veth",
            "peer",
            "name",
            &port,
            "netns",
            &switch.name,
        ])?;
        switch.ip(&["link", "set", &port, "master", BRIDGE])?;
        switch.ip(&["link", "set", &port, "up"])?;
        for addr in addrs {
            // `nodad`: IPv6 addresses are usable at once instead of after
            // duplicate address detection.
            let mut args = vec!["addr", "add", addr, "dev", ifname];
            if addr.contains(':') {
                args.push("nodad");
            }
            ns.ip(&args)?;
        }
        ns.ip(&["link", "set", ifname, "up"])?;
        // The MAC from `ip -j`-free output: the `link/ether` line.
        let link = ns.ip(&["-o", "link", "show", ifname])?;
        let mac = link
            .split_whitespace()
            .skip_while(|word| *word != "link/ether")
            .nth(1)
            .map(str::to_owned)
            .with_context(|| format!("reading the MAC of {ifname} in {}", ns.name))?;
        Ok(Port {
            ifname: ifname.to_owned(),
            mac,
        })
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let names = std::mem::take(&mut *self.namespaces.lock().unwrap());
        for name in names.iter().rev() {
            if let Err(err) = delete_namespace(name) {
                eprintln!("netns-harness: {err:#}");
            }
        }
    }
}

impl Netns {
    /// Its name under `/run/netns`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its path, for `setns` (a speaker's `--netns` flag).
    pub fn path(&self) -> PathBuf {
        PathBuf::from(NETNS_DIR).join(&self.name)
    }

    /// Runs `ip <args>` in this namespace (`ip -n`), failing with its stderr.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        run_checked(Command::new("ip").arg("-n").arg(&self.name).args(args))
    }

    /// Runs a command in this namespace (`ip netns exec`), bounded by
    /// [`COMMAND_TIMEOUT`], failing with its stderr.
    pub fn exec(&self, program: &str, args: &[&str]) -> Result<String> {
        run_checked(
            Command::new("ip")
                .args(["netns", "exec", &self.name, program])
                .args(args),
        )
    }

    /// Sets a sysctl (`net.ipv4.conf.all.arp_ignore=1`) in this namespace.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        self.exec("sysctl", &["-q", "-w", &format!("{key}={value}")])
            .map(drop)
    }

    /// A command that runs `program` in this namespace, to spawn with
    /// [`Netns::spawn`].
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name]).arg(program);
        command
    }

    /// Spawns `command` (from [`Netns::command`], or any command when it is
    /// meant to run in the host namespace) as a [`Process`] killed on drop.
    pub fn spawn(command: &mut Command) -> Result<Process> {
        let child = command
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("spawning {command:?}"))?;
        Ok(Process { child })
    }

    /// Runs `f` on a new thread that has entered this namespace, and returns
    /// its result. Sockets `f` opens stay in the namespace for their whole
    /// life, whichever thread uses them later.
    pub fn enter<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T> {
        let path = self.path();
        thread::scope(|scope| {
            scope
                .spawn(|| -> Result<T> {
                    enter_path(&path)?;
                    Ok(f())
                })
                .join()
                .map_err(|_| anyhow::anyhow!("the thread in {} panicked", self.name))?
        })
    }

    /// Connects from this namespace to `addr` over TCP, retrying refused or
    /// unreachable connections `attempts` times within `deadline`; returns
    /// what the peer sends before closing (bounded to 4 KiB).
    pub fn tcp_get(&self, addr: SocketAddr, attempts: u32, deadline: Duration) -> Result<String> {
        self.enter(|| {
            let started = Instant::now();
            let mut last = None;
            for _ in 0..attempts {
                let left = deadline.saturating_sub(started.elapsed());
                if left.is_zero() {
                    break;
                }
                match TcpStream::connect_timeout(&addr, left.min(Duration::from_secs(2))) {
                    Ok(stream) => {
                        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
                        let mut reply = String::new();
                        stream.take(4096).read_to_string(&mut reply)?;
                        return Ok(reply);
                    }
                    Err(err) => {
                        last = Some(err);
                        thread::sleep(Duration::from_millis(100));
                    }
                }
            }
            Err(anyhow::anyhow!(
                "no TCP connection to {addr} within {attempts} attempts / {deadline:?}: {last:?}"
            ))
        })?
    }
}

/// A spawned process, killed (SIGKILL, by its pid) and reaped on drop, or
/// stopped gracefully with [`Process::terminate`].
pub struct Process {
    child: Child,
}

impl Process {
    /// Its pid.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILLs it and waits for it.
    pub fn kill(&mut self) -> Result<()> {
        if self.child.try_wait()?.is_none() {
            self.child.kill()?;
        }
        self.child.wait()?;
        Ok(())
    }

    /// Asks it to stop (SIGTERM) and waits at most `within` for it to
    /// exit; SIGKILLs it after that. Its exit status, or an error saying it
    /// had to be killed.
    pub fn terminate(&mut self, within: Duration) -> Result<std::process::ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(status);
        }
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)
            .with_context(|| format!("sending SIGTERM to {}", self.child.id()))?;
        let started = Instant::now();
        // Bounded by count as well as by time.
        for _ in 0..(within.as_millis() / 20 + 1) {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if started.elapsed() > within {
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        self.kill()?;
        bail!(
            "process {} did not exit within {within:?} of SIGTERM; killed",
            self.child.id()
        )
    }

    /// Whether it has exited, and how.
    pub fn try_wait(&mut self) -> Result<Option<std::process::ExitStatus>> {
        Ok(self.child.try_wait()?)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// Moves the calling thread into the network namespace at `path`.
pub fn enter_path(path: &std::path::Path) -> Result<()> {
    let file = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    rustix::thread::move_into_link_name_space(
        std::os::fd::AsFd::as_fd(&file),
        Some(rustix::thread::LinkNameSpaceType::Network),
    )
    .with_context(|| format!("setns into {}", path.display()))
}

/// Deletes every `lf-<pid>-...` namespace whose pid is not a live process;
/// returns their names.
pub fn sweep_stale() -> Result<Vec<String>> {
    let mut swept = Vec::new();
    let entries = match fs::read_dir(NETNS_DIR) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(swept),
        Err(err) => return Err(err).context(NETNS_DIR),
    };
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let Some(pid) = owner_pid(&name) else {
            continue;
        };
        if PathBuf::from(format!("/proc/{pid}")).exists() {
            continue;
        }
        match delete_namespace(&name) {
            Ok(()) => swept.push(name),
            // Another lab (another test thread or process) swept it between
            // our listing and our delete: gone is what we wanted.
            Err(_) if !Path::new(NETNS_DIR).join(&name).exists() => {}
            Err(err) => return Err(err),
        }
    }
    Ok(swept)
}

/// The pid in `lf-<pid>-...`, if `name` is a lab's namespace.
fn owner_pid(name: &str) -> Option<u32> {
    name.strip_prefix(PREFIX)?.split('-').next()?.parse().ok()
}

/// Kills what still runs in the namespace (processes a lab spawned there),
/// then deletes it.
fn delete_namespace(name: &str) -> Result<()> {
    if let Ok(pids) = run_checked(Command::new("ip").args(["netns", "pids", name])) {
        for pid in pids.split_whitespace() {
            let _ = run_checked(Command::new("kill").args(["-KILL", pid]));
        }
    }
    run_checked(Command::new("ip").args(["netns", "delete", name]))
        .map(drop)
        .with_context(|| format!("deleting namespace {name}"))
}

/// Runs `command` to completion within [`COMMAND_TIMEOUT`]; its stdout on
/// success, an error with the command line and stderr otherwise.
fn run_checked(command: &mut Command) -> Result<String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("spawning {command:?}"))?;
    let started = Instant::now();
    // The pipes are read after exit: these commands print a few lines.
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        if started.elapsed() > COMMAND_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{command:?} took longer than {COMMAND_TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(5));
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "{command:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_pid_reads_only_lab_names() {
        assert_eq!(owner_pid("lf-1234-0-client"), Some(1234));
        assert_eq!(owner_pid("lf-x-client"), None);
        assert_eq!(owner_pid("cni-1234"), None);
    }
}
