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
//! - **bounded**: each read waits at most [`TURN`].

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

/// Runs the per-interface threads; stops them on drop.
pub struct L2Announcer {
    shared: Arc<Shared>,
    threads: Vec<thread::JoinHandle<()>>,
}

struct Shared {
    wanted: RwLock<Wanted>,
    stop: AtomicBool,
}

impl L2Announcer {
    /// Opens a socket on each interface (those named, or every interface
    /// that is up, not loopback and has a MAC), in the namespace at `netns`
    /// when given.
    pub fn start(netns: Option<PathBuf>, only: &[String]) -> Result<Self> {
        let shared = Arc::new(Shared {
            wanted: RwLock::new(Wanted::new()),
            stop: AtomicBool::new(false),
        });
        // Interfaces are listed and sockets opened from inside the node's
        // namespace; the sockets stay there whichever thread reads them.
        let only = only.to_vec();
        let opened = netns::run_in(netns.as_deref(), move || open_all(&only))??;
        if opened.is_empty() {
            bail!("no interface to answer on (up, not loopback, with a MAC)");
        }
        let mut threads = Vec::new();
        for (interface, mac, tx, rx) in opened {
            tracing::info!(interface = %interface.name, %mac, "answering ARP/NDP");
            let shared = Arc::clone(&shared);
            threads.push(
                thread::Builder::new()
                    .name(format!("l2-{}", interface.name))
                    .spawn(move || serve(&interface.name, mac, tx, rx, &shared))?,
            );
        }
        Ok(Self { shared, threads })
    }

    /// Replaces the set of addresses answered for.
    pub fn set(&self, wanted: Wanted) {
        *self.shared.wanted.write().unwrap() = wanted;
    }
}

impl Drop for L2Announcer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

type Opened = (
    NetworkInterface,
    MacAddr,
    Box<dyn DataLinkSender>,
    Box<dyn DataLinkReceiver>,
);

fn open_all(only: &[String]) -> Result<Vec<Opened>> {
    let mut opened = Vec::new();
    for interface in pnet_datalink::interfaces() {
        let named = only.contains(&interface.name);
        if !only.is_empty() && !named {
            continue;
        }
        let Some(mac) = interface.mac.filter(|mac| !mac.is_zero()) else {
            continue;
        };
        if interface.is_loopback() || !interface.is_up() {
            continue;
        }
        let config = pnet_datalink::Config {
            read_timeout: Some(TURN),
            ..Default::default()
        };
        let channel = pnet_datalink::channel(&interface, config)
            .with_context(|| format!("opening a packet socket on {}", interface.name))?;
        let Channel::Ethernet(tx, rx) = channel else {
            bail!("{} is not an Ethernet interface", interface.name);
        };
        opened.push((interface, mac, tx, rx));
    }
    Ok(opened)
}

fn serve(
    interface: &str,
    mac: MacAddr,
    mut tx: Box<dyn DataLinkSender>,
    mut rx: Box<dyn DataLinkReceiver>,
    shared: &Shared,
) {
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
        due.retain(|(when, address)| {
            if !held.contains(address) {
                return false;
            }
            if *when > now {
                return true;
            }
            send(&mut tx, &packet::announcement(*address, mac), interface);
            false
        });
        match rx.next() {
            Ok(frame) => {
                if let Some(query) = packet::parse_query(frame)
                    && held.contains(&query.target)
                {
                    tracing::debug!(target = %query.target, asker = %query.sender_ip, "answering");
                    let reply = packet::answer(&query, mac);
                    send(&mut tx, &reply, interface);
                }
            }
            // A read timeout, or an error worth a pause rather than a spin.
            Err(err) if err.kind() == std::io::ErrorKind::TimedOut => {}
            Err(err) => {
                tracing::warn!(interface, "reading frames: {err}");
                thread::sleep(TURN);
            }
        }
    }
}

fn send(tx: &mut Box<dyn DataLinkSender>, frame: &[u8], interface: &str) {
    match tx.send_to(frame, None) {
        Some(Ok(())) => {}
        Some(Err(err)) => tracing::warn!(interface, "sending a frame: {err}"),
        None => tracing::warn!(interface, "sending a frame: no room in the socket buffer"),
    }
}
