//! L2 mode: one thread per interface reads every frame (an AF_PACKET
//! socket from `pnet_datalink`), answers ARP requests and neighbour
//! solicitations for the addresses this node holds, and announces an address
//! it gains with three unsolicited frames (at once, +0.5 s, +1.5 s: one lost
//! frame must not leave a client on the old node).
//!
//! Guarantees:
//! - **answers only what it holds**: an address leaves the answered set on
//!   the thread's next turn after [`L2Announcer::set`] drops it (a turn is at
//!   most [`TURN`] plus one frame);
//! - **announces every gain**: an address entering the set is announced on
//!   every interface it may be answered on;
//! - **bounded**: each read waits at most [`TURN`];
//! - **late interfaces**: an interface that appears after start (or is
//!   re-created) is served within [`RESCAN`] plus one turn, announcing what
//!   the node holds on it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use pnet_base::MacAddr;
use pnet_datalink::{Channel, DataLinkReceiver, DataLinkSender, NetworkInterface};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use crate::metrics::{Labels, SpeakerMetrics, labels};
use crate::netns;
use crate::packet;

/// The longest a thread waits for a frame before it looks at the set again.
pub const TURN: Duration = Duration::from_millis(100);

/// When, after a gain, the unsolicited announcement is sent.
const ANNOUNCE_AT: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_millis(500),
    Duration::from_millis(1500),
];

/// The addresses to answer for, each with the interfaces it may be answered
/// on (empty: all).
pub type Wanted = BTreeMap<IpAddr, Vec<String>>;

/// Runs the per-interface threads and the scanner that starts them; stops
/// them all on drop.
pub struct L2Announcer {
    shared: Arc<Shared>,
    scanner: Option<thread::JoinHandle<()>>,
}

struct Shared {
    wanted: RwLock<Wanted>,
    stop: AtomicBool,
}

impl L2Announcer {
    /// Opens a socket on each interface (those named, or every interface
    /// that is up, not loopback and has a MAC), in the namespace at `netns`
    /// when given, then looks for new ones every [`RESCAN`]. A failure to
    /// open a socket at start is an error (the speaker cannot do its job
    /// and should say so at once); later, it is logged and tried again on
    /// the next scan.
    pub fn start(netns: Option<PathBuf>, only: &[String], metrics: SpeakerMetrics) -> Result<Self> {
        let shared = Arc::new(Shared {
            wanted: RwLock::new(Wanted::new()),
            stop: AtomicBool::new(false),
        });
        let only = only.to_vec();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let scanner = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("l2-scan".into())
                .spawn(move || {
                    // Interfaces are listed and sockets opened from inside the
                    // node's namespace, which this thread enters for good; the
                    // sockets stay there whichever thread reads them.
                    if let Some(path) = &netns
                        && let Err(err) = netns::enter(path)
                    {
                        let _ = started_tx.send(Err(err));
                        return;
                    }
                    let mut scanner = Scanner {
                        only,
                        shared,
                        metrics,
                        serving: BTreeMap::new(),
                    };
                    let first = scanner.scan();
                    let failed = first.is_err();
                    let _ = started_tx.send(first);
                    if failed {
                        return;
                    }
                    scanner.run();
                })?
        };
        let first = started_rx
            .recv()
            .context("the interface scanner stopped before its first scan")?;
        let announcer = Self {
            shared,
            scanner: Some(scanner),
        };
        match first {
            Ok(0) => tracing::warn!(
                "no interface to answer on yet (up, not loopback, with a MAC); looking again every {RESCAN:?}"
            ),
            Ok(_) => {}
            Err(err) => return Err(err),
        }
        Ok(announcer)
    }

    /// Replaces the set of addresses answered for.
    pub fn set(&self, wanted: Wanted) {
        *self.shared.wanted.write().unwrap() = wanted;
    }
}

impl Drop for L2Announcer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(scanner) = self.scanner.take() {
            let _ = scanner.join();
        }
    }
}

/// How often the interfaces are listed again, so one that appears (or
/// comes back) after start is answered on.
pub const RESCAN: Duration = Duration::from_secs(1);

/// The thread that starts a serving thread per interface, and restarts
/// one whose socket failed (its interface was removed and maybe re-created).
struct Scanner {
    only: Vec<String>,
    shared: Arc<Shared>,
    metrics: SpeakerMetrics,
    /// Interface name → (index, its serving thread).
    serving: BTreeMap<String, (u32, thread::JoinHandle<()>)>,
}

impl Scanner {
    /// Scans every [`RESCAN`] until told to stop, then joins the threads.
    fn run(&mut self) {
        let mut next = Instant::now() + RESCAN;
        while !self.shared.stop.load(Ordering::Relaxed) {
            // Sleeps in turns, so a stop is seen within one.
            thread::sleep(TURN.min(next.saturating_duration_since(Instant::now())));
            if Instant::now() < next {
                continue;
            }
            next = Instant::now() + RESCAN;
            if let Err(err) = self.scan() {
                tracing::warn!("scanning interfaces: {err:#}");
            }
        }
        for (_, (_, thread)) in std::mem::take(&mut self.serving) {
            let _ = thread.join();
        }
    }

    /// Reaps threads that ended, then serves every eligible interface not
    /// served yet; returns how many are served.
    fn scan(&mut self) -> Result<usize> {
        self.serving.retain(|name, (_, thread)| {
            let alive = !thread.is_finished();
            if !alive {
                tracing::info!(interface = %name, "stopped answering: its socket failed");
            }
            alive
        });
        let mut failure = None;
        for interface in pnet_datalink::interfaces() {
            if !self.only.is_empty() && !self.only.contains(&interface.name) {
                continue;
            }
            let Some(mac) = interface.mac.filter(|mac| !mac.is_zero()) else {
                continue;
            };
            if interface.is_loopback() || !interface.is_up() {
                continue;
            }
            match self.serving.get(&interface.name) {
                Some((index, _)) if *index == interface.index => continue,
                // Same name, new index: re-created; the old thread's socket
                // is bound to the old index and ends on its own.
                _ => {}
            }
            match open(&interface) {
                Ok((tx, rx)) => {
                    tracing::info!(interface = %interface.name, %mac, "answering ARP/NDP");
                    let (shared, metrics) = (Arc::clone(&self.shared), self.metrics.clone());
                    let name = interface.name.clone();
                    let thread = thread::Builder::new()
                        .name(format!("l2-{name}"))
                        .spawn(move || serve(&name, mac, tx, rx, &shared, &metrics))?;
                    self.serving
                        .insert(interface.name.clone(), (interface.index, thread));
                }
                Err(err) => failure = Some(err),
            }
        }
        match failure {
            Some(err) => Err(err),
            None => Ok(self.serving.len()),
        }
    }
}

fn open(
    interface: &NetworkInterface,
) -> Result<(Box<dyn DataLinkSender>, Box<dyn DataLinkReceiver>)> {
    let config = pnet_datalink::Config {
        read_timeout: Some(TURN),
        ..Default::default()
    };
    let channel = pnet_datalink::channel(interface, config)
        .with_context(|| format!("opening a packet socket on {}", interface.name))?;
    let Channel::Ethernet(tx, rx) = channel else {
        bail!("{} is not an Ethernet interface", interface.name);
    };
    Ok((tx, rx))
}

fn serve(
    interface: &str,
    mac: MacAddr,
    mut tx: Box<dyn DataLinkSender>,
    mut rx: Box<dyn DataLinkReceiver>,
    shared: &Shared,
    metrics: &SpeakerMetrics,
) {
    let announced = metrics
        .announced
        .get_or_create(&labels(&[("mode", "l2"), ("via", interface)]))
        .clone();
    let mut held: BTreeSet<IpAddr> = BTreeSet::new();
    // (when, address): unsolicited announcements still to send.
    let mut due: Vec<(Instant, IpAddr)> = Vec::new();
    while !shared.stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        let wanted: BTreeSet<IpAddr> = shared
            .wanted
            .read()
            .unwrap()
            .iter()
            .filter(|(_, only)| only.is_empty() || only.iter().any(|name| name == interface))
            .map(|(address, _)| *address)
            .collect();
        for gained in wanted.difference(&held) {
            tracing::info!(%gained, interface, "taking over: announcing");
            due.extend(ANNOUNCE_AT.iter().map(|after| (now + *after, *gained)));
        }
        for lost in held.difference(&wanted) {
            tracing::info!(%lost, interface, "no longer answering");
        }
        held = wanted;
        announced.set(i64::try_from(held.len()).unwrap_or(i64::MAX));
        due.retain(|(when, address)| {
            if !held.contains(address) {
                return false;
            }
            if *when > now {
                return true;
            }
            if send(&mut tx, &packet::announcement(*address, mac), interface) {
                sent(&metrics.gratuitous, *address, interface);
            }
            false
        });
        match rx.next() {
            Ok(frame) => {
                if let Some(query) = packet::parse_query(frame)
                    && held.contains(&query.target)
                {
                    tracing::debug!(target = %query.target, asker = %query.sender_ip, "answering");
                    let reply = packet::answer(&query, mac);
                    if send(&mut tx, &reply, interface) {
                        sent(&metrics.replies, query.target, interface);
                    }
                }
            }
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::Interrupted
                ) => {}
            // The interface went away (or the socket broke): this thread
            // ends, and the scanner serves the interface again if it comes
            // back.
            Err(err) => {
                tracing::warn!(interface, "reading frames: {err}");
                break;
            }
        }
    }
    // Nothing is answered here any more (a new thread for the interface
    // sets it again).
    announced.set(0);
}

/// Counts a frame sent about `address`: ARP for IPv4, NDP for IPv6.
fn sent(family: &Family<Labels, Counter>, address: IpAddr, interface: &str) {
    let protocol = if address.is_ipv4() { "arp" } else { "ndp" };
    family
        .get_or_create(&labels(&[("protocol", protocol), ("interface", interface)]))
        .inc();
}

/// Sends `frame`; whether it went out (a failure is logged).
fn send(tx: &mut Box<dyn DataLinkSender>, frame: &[u8], interface: &str) -> bool {
    match tx.send_to(frame, None) {
        Some(Ok(())) => true,
        Some(Err(err)) => {
            tracing::warn!(interface, "sending a frame: {err}");
            false
        }
        None => {
            tracing::warn!(interface, "sending a frame: no room in the socket buffer");
            false
        }
    }
}
