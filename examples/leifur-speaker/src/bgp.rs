//! BGP mode: one session per peer, kept by the speaker itself, advertising
//! a host route (/32, /128) per address with the pool's attributes.
//!
//! Why a session of our own rather than a BGP daemon per node driven by the
//! speaker (MetalLB's FRR mode): a speaker only ever *originates* a handful
//! of host routes and never installs what it learns, which is the small,
//! well-specified corner of RFC 4271 (OPEN, KEEPALIVE, UPDATE, NOTIFICATION
//! and two timers). A daemon per node would add a second process, its config
//! rendering and its control API to every node, and its own namespace and
//! lifecycle problems, for features the speaker never uses. Message encoding
//! and decoding is `zettabgp`'s (a maintained codec for every BGP message
//! and attribute); the finite-state machine below is ours, kept to the
//! active side: connect, OPEN, KEEPALIVE, then UPDATEs.
//!
//! Guarantees:
//! - **advertised = wanted while established**: after every change of the
//!   wanted routes the session sends the difference (withdrawn, then
//!   announced grouped by attributes);
//! - **re-advertised after loss**: a session that fails (connection lost,
//!   NOTIFICATION, hold timer) reconnects with a back-off of 1 s doubling to
//!   10 s, and starts again from nothing advertised;
//! - **one session per peer**: [`BgpSpeaker::set`] starts sessions for new
//!   peers and ends (with a Cease NOTIFICATION) those no longer wanted.
//!
//! A peer with a password gets TCP MD5 signatures (RFC 2385, see
//! [`crate::md5`]): the key is set on the socket before it connects. A peer
//! whose password cannot be read is refused (a log line, a Warning Event and
//! a metric; see `model::Refusal`).
//!
//! Not supported: routes of the other address family than the session's
//! (logged).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use prometheus_client::metrics::gauge::Gauge;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until};
use zettabgp::prelude::*;

use crate::metrics::{SpeakerMetrics, labels};
use crate::model::{Attributes, Peer};
use crate::netns;

/// The routes of one session.
pub type Routes = BTreeMap<IpAddr, Attributes>;

/// How long a TCP connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The first and the longest pause between connection attempts.
const BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(10));
/// Prefixes per UPDATE: 500 /32s (5 bytes each) stay well inside 4096 bytes.
const PREFIXES_PER_UPDATE: usize = 500;

/// The sessions of one speaker.
pub struct BgpSpeaker {
    netns: Option<PathBuf>,
    router_id_seed: String,
    sessions: HashMap<Peer, (watch::Sender<Routes>, JoinHandle<()>)>,
    metrics: SpeakerMetrics,
}

impl BgpSpeaker {
    /// No sessions yet. `node` seeds the router ID of IPv6-only sessions.
    pub fn new(netns: Option<PathBuf>, node: &str, metrics: SpeakerMetrics) -> Self {
        Self {
            netns,
            router_id_seed: node.to_owned(),
            sessions: HashMap::new(),
            metrics,
        }
    }

    /// Makes the sessions and their routes what `wanted` says.
    pub fn set(&mut self, wanted: &BTreeMap<Peer, Routes>) {
        // Dropping a session's sender tells its task to say Cease and stop;
        // the task ends on its own (its handle is only dropped, not aborted).
        self.sessions.retain(|peer, _| {
            let keep = wanted.contains_key(peer);
            if !keep {
                tracing::info!(peer = %peer.address, "ending BGP session");
                // Its task may still say Cease; the series go now, so a
                // peer no longer wanted is not reported as one.
                self.metrics.bgp_forget(&peer_label(peer));
            }
            keep
        });
        for (peer, routes) in wanted {
            match self.sessions.get(peer) {
                Some((sender, _)) => {
                    sender.send_if_modified(|current| {
                        let changed = current != routes;
                        *current = routes.clone();
                        changed
                    });
                }
                None => {
                    let (sender, receiver) = watch::channel(routes.clone());
                    let task = tokio::spawn(keep_session(
                        peer.clone(),
                        self.netns.clone(),
                        self.router_id_seed.clone(),
                        receiver,
                        self.metrics.clone(),
                    ));
                    self.sessions.insert(peer.clone(), (sender, task));
                }
            }
        }
    }

    /// Ends every session (each sends Cease when it is established), waiting
    /// at most a second for them.
    pub async fn shutdown(&mut self) {
        let tasks: Vec<_> = self.sessions.drain().map(|(_, (_, task))| task).collect();
        for task in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
        }
    }
}

/// A session's `peer` label: the peer's address and port.
fn peer_label(peer: &Peer) -> String {
    SocketAddr::new(peer.address, peer.port).to_string()
}

/// Connects, runs, and reconnects a session until its sender is dropped.
async fn keep_session(
    peer: Peer,
    netns: Option<PathBuf>,
    seed: String,
    mut routes: watch::Receiver<Routes>,
    metrics: SpeakerMetrics,
) {
    let label = peer_label(&peer);
    let announced = metrics
        .announced
        .get_or_create(&labels(&[("mode", "bgp"), ("via", &label)]))
        .clone();
    let mut backoff = BACKOFF.0;
    loop {
        let started = Instant::now();
        metrics.bgp_state(&label, "connecting");
        let result = run_session(
            &peer,
            netns.as_ref(),
            &seed,
            &mut routes,
            &metrics,
            &announced,
        )
        .await;
        announced.set(0);
        match result {
            Ok(()) => return,
            Err(err) => tracing::warn!(peer = %peer.address, "BGP session: {err:#}"),
        }
        metrics.bgp_state(&label, "idle");
        // A session that lasted resets the back-off.
        if started.elapsed() > BACKOFF.1 {
            backoff = BACKOFF.0;
        }
        tokio::select! {
            _ = sleep(backoff) => {}
            changed = routes.changed() => if changed.is_err() { return },
        }
        backoff = (backoff * 2).min(BACKOFF.1);
    }
}

/// One session: `Ok` when told to stop, `Err` when it failed.
async fn run_session(
    peer: &Peer,
    netns: Option<&PathBuf>,
    seed: &str,
    routes: &mut watch::Receiver<Routes>,
    metrics: &SpeakerMetrics,
    announced: &Gauge,
) -> Result<()> {
    let address = SocketAddr::new(peer.address, peer.port);
    let netns = netns.cloned();
    let password = peer.password.clone();
    // Opened inside the node's namespace (a socket keeps the namespace it
    // was made in), its MD5 key set before anything is sent.
    let socket = tokio::task::spawn_blocking(move || {
        netns::run_in(netns.as_deref(), move || {
            let socket = if address.is_ipv4() {
                TcpSocket::new_v4()?
            } else {
                TcpSocket::new_v6()?
            };
            if let Some(password) = &password {
                crate::md5::set_key(&socket, address.ip(), password.expose())?;
            }
            Ok::<_, std::io::Error>(socket)
        })
    })
    .await??
    .with_context(|| format!("opening a socket for {address}"))?;
    let signed = if peer.password.is_some() {
        " with a TCP MD5 signature (a peer that expects another password, or none, \
         drops our segments unanswered)"
    } else {
        ""
    };
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(address))
        .await
        .map_err(|_| anyhow::anyhow!("timed out after {CONNECT_TIMEOUT:?}"))
        .and_then(|connected| Ok(connected?))
        .with_context(|| format!("connecting to {address}{signed}"))?;
    stream.set_nodelay(true)?;
    let local = stream.local_addr()?.ip();
    let router_id = match local {
        IpAddr::V4(v4) => v4,
        IpAddr::V6(_) => Ipv4Addr::from(xxhash_rust::xxh3::xxh3_64(seed.as_bytes()) as u32),
    };
    let hold = u16::try_from(peer.hold_time.as_secs()).unwrap_or(u16::MAX);
    let mut params = BgpSessionParams::new(
        peer.my_asn,
        hold,
        BgpTransportMode::from(peer.address),
        router_id,
        vec![
            BgpCapability::SafiIPv4u,
            BgpCapability::SafiIPv6u,
            BgpCapability::CapASN32(peer.my_asn),
        ],
    );
    let (mut reader, mut writer) = stream.into_split();

    writer.write_all(&encode_open(&params)?).await?;
    let (kind, body) = tokio::time::timeout(CONNECT_TIMEOUT * 2, read_message(&mut reader))
        .await
        .context("no OPEN from the peer")??;
    if kind != BgpMessageType::Open {
        bail!("expected OPEN, got {kind:?}{}", describe(&kind, &body));
    }
    let mut open = BgpOpenMessage::new();
    open.decode_from(&params, &body)
        .map_err(|err| anyhow::anyhow!("decoding the peer's OPEN: {err:?}"))?;
    if open.as_num != peer.asn {
        bail!("the peer says it is AS {}, not {}", open.as_num, peer.asn);
    }
    params.match_caps(&open.caps);
    // RFC 4271 4.2: the smaller hold time; 0 means no keepalives at all.
    let hold = Duration::from_secs(u64::from(params.hold_time.min(open.hold_time)));
    writer.write_all(&keepalive()).await?;

    // Reading in a task of its own keeps the select below cancel-safe.
    let (messages, mut inbox) = mpsc::channel(16);
    let read_task = tokio::spawn(async move {
        loop {
            let message = read_message(&mut reader).await;
            let failed = message.is_err();
            if messages.send(message).await.is_err() || failed {
                return;
            }
        }
    });
    let _abort_reader = AbortOnDrop(read_task);

    let far = Duration::from_secs(86400 * 365);
    let keepalive_every = if hold.is_zero() { far } else { hold / 3 };
    let hold_for = if hold.is_zero() { far } else { hold };
    let mut hold_deadline = Instant::now() + hold_for;
    let mut next_keepalive = Instant::now() + keepalive_every;
    let mut established = false;
    let mut advertised = Routes::new();
    loop {
        tokio::select! {
            changed = routes.changed(), if established => {
                if changed.is_err() {
                    let _ = writer.write_all(&cease()).await;
                    return Ok(());
                }
                let wanted = routes.borrow_and_update().clone();
                sync(&mut writer, &params, local, peer, &mut advertised, &wanted).await?;
                announced.set(i64::try_from(advertised.len()).unwrap_or(i64::MAX));
            }
            _ = sleep_until(next_keepalive) => {
                writer.write_all(&keepalive()).await?;
                next_keepalive = Instant::now() + keepalive_every;
            }
            _ = sleep_until(hold_deadline) => bail!("hold timer expired ({hold:?})"),
            message = inbox.recv() => {
                let (kind, body) = message.context("the reader stopped")??;
                hold_deadline = Instant::now() + hold_for;
                match kind {
                    BgpMessageType::Keepalive | BgpMessageType::Update => {
                        if !established {
                            established = true;
                            tracing::info!(peer = %peer.address, ?hold, "BGP session established");
                            metrics.bgp_state(&peer_label(peer), "established");
                            let wanted = routes.borrow_and_update().clone();
                            sync(&mut writer, &params, local, peer, &mut advertised, &wanted).await?;
                            announced.set(i64::try_from(advertised.len()).unwrap_or(i64::MAX));
                        }
                    }
                    BgpMessageType::Routerefresh => {
                        // Everything again, from scratch.
                        advertised.clear();
                        let wanted = routes.borrow().clone();
                        sync(&mut writer, &params, local, peer, &mut advertised, &wanted).await?;
                        announced.set(i64::try_from(advertised.len()).unwrap_or(i64::MAX));
                    }
                    other => bail!("the peer sent {other:?}{}", describe(&other, &body)),
                }
            }
        }
    }
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sends what differs between `advertised` and `wanted`, then records
/// `wanted` as advertised.
async fn sync(
    writer: &mut OwnedWriteHalf,
    params: &BgpSessionParams,
    local: IpAddr,
    peer: &Peer,
    advertised: &mut Routes,
    wanted: &Routes,
) -> Result<()> {
    let same_family = |ip: &IpAddr| ip.is_ipv4() == local.is_ipv4();
    for address in wanted.keys().filter(|ip| !same_family(ip)) {
        tracing::warn!(%address, peer = %peer.address, "not advertised: other family than the session's");
    }
    let withdrawn: Vec<IpAddr> = advertised
        .keys()
        .filter(|ip| !wanted.contains_key(ip))
        .copied()
        .collect();
    let mut announced: BTreeMap<&Attributes, Vec<IpAddr>> = BTreeMap::new();
    for (ip, attributes) in wanted.iter().filter(|(ip, _)| same_family(ip)) {
        if advertised.get(ip) != Some(attributes) {
            announced.entry(attributes).or_default().push(*ip);
        }
    }
    for chunk in withdrawn.chunks(PREFIXES_PER_UPDATE) {
        writer.write_all(&encode_withdraw(params, chunk)?).await?;
    }
    let ebgp = peer.asn != peer.my_asn;
    for (attributes, ips) in &announced {
        for chunk in ips.chunks(PREFIXES_PER_UPDATE) {
            let update = encode_announce(params, local, peer.my_asn, ebgp, attributes, chunk)?;
            writer.write_all(&update).await?;
        }
    }
    if !withdrawn.is_empty() || !announced.is_empty() {
        tracing::info!(
            peer = %peer.address,
            withdrawn = ?withdrawn,
            announced = ?announced.values().flatten().collect::<Vec<_>>(),
            "BGP routes updated"
        );
    }
    *advertised = wanted
        .iter()
        .filter(|(ip, _)| same_family(ip))
        .map(|(ip, attributes)| (*ip, attributes.clone()))
        .collect();
    Ok(())
}

async fn read_message(
    reader: &mut tokio::net::tcp::OwnedReadHalf,
) -> Result<(BgpMessageType, Vec<u8>)> {
    let mut head = [0u8; 19];
    reader
        .read_exact(&mut head)
        .await
        .context("reading from the peer")?;
    let (kind, length) = decode_head(&head)?;
    let mut body = vec![0u8; length];
    reader
        .read_exact(&mut body)
        .await
        .context("reading from the peer")?;
    Ok((kind, body))
}

/// The type and body length of a message header.
pub fn decode_head(head: &[u8; 19]) -> Result<(BgpMessageType, usize)> {
    let length = usize::from(u16::from_be_bytes([head[16], head[17]]));
    if !(19..=4096).contains(&length) {
        bail!("a BGP message of {length} bytes");
    }
    // zettabgp's decoder only needs the header; the session mode is moot.
    let params = BgpSessionParams::new(0, 0, BgpTransportMode::IPv4, Ipv4Addr::UNSPECIFIED, vec![]);
    params
        .decode_message_head(head)
        .map_err(|err| anyhow::anyhow!("a BGP header: {err:?}"))
}

fn describe(kind: &BgpMessageType, body: &[u8]) -> String {
    if *kind == BgpMessageType::Notification && body.len() >= 2 {
        format!(" (NOTIFICATION code {} subcode {})", body[0], body[1])
    } else {
        String::new()
    }
}

fn frame(
    params: &BgpSessionParams,
    kind: BgpMessageType,
    message: &impl BgpMessage,
) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    let length = message
        .encode_to(params, &mut buf[19..])
        .map_err(|err| anyhow::anyhow!("encoding a BGP {kind:?}: {err:?}"))?;
    let total = params
        .prepare_message_buf(&mut buf, kind.clone(), length)
        .map_err(|err| anyhow::anyhow!("framing a BGP {kind:?}: {err:?}"))?;
    buf.truncate(total);
    Ok(buf)
}

/// Our OPEN.
pub fn encode_open(params: &BgpSessionParams) -> Result<Vec<u8>> {
    frame(params, BgpMessageType::Open, &params.open_message())
}

/// A KEEPALIVE: a bare header.
pub fn keepalive() -> Vec<u8> {
    let mut buf = vec![0xff; 19];
    buf[16..19].copy_from_slice(&[0, 19, 4]);
    buf
}

/// NOTIFICATION Cease / Administrative Shutdown (RFC 4486).
fn cease() -> Vec<u8> {
    let mut buf = vec![0xff; 21];
    buf[16..21].copy_from_slice(&[0, 21, 3, 6, 2]);
    buf
}

fn host_routes(ips: &[IpAddr]) -> BgpAddrs {
    if ips.first().is_some_and(IpAddr::is_ipv6) {
        BgpAddrs::IPV6U(
            ips.iter()
                .filter_map(|ip| match ip {
                    IpAddr::V6(v6) => Some(BgpAddrV6::new(*v6, 128)),
                    IpAddr::V4(_) => None,
                })
                .collect(),
        )
    } else {
        BgpAddrs::IPV4U(
            ips.iter()
                .filter_map(|ip| match ip {
                    IpAddr::V4(v4) => Some(BgpAddrV4::new(*v4, 32)),
                    IpAddr::V6(_) => None,
                })
                .collect(),
        )
    }
}

/// An UPDATE withdrawing `ips` (one family).
pub fn encode_withdraw(params: &BgpSessionParams, ips: &[IpAddr]) -> Result<Vec<u8>> {
    let mut update = BgpUpdateMessage::new();
    if ips.first().is_some_and(IpAddr::is_ipv6) {
        update
            .attrs
            .push(BgpAttrItem::MPWithdraws(BgpMPWithdraws::new(host_routes(
                ips,
            ))));
    } else {
        update.withdraws = host_routes(ips);
    }
    frame(params, BgpMessageType::Update, &update)
}

/// An UPDATE announcing `ips` (one family) via `next_hop` with
/// `attributes`: ORIGIN IGP, AS_PATH of our AS towards an external peer
/// (empty towards an internal one), LOCAL_PREF only towards an internal
/// peer (RFC 4271 5.1.5), COMMUNITIES when set.
pub fn encode_announce(
    params: &BgpSessionParams,
    next_hop: IpAddr,
    my_asn: u32,
    ebgp: bool,
    attributes: &Attributes,
    ips: &[IpAddr],
) -> Result<Vec<u8>> {
    let mut update = BgpUpdateMessage::new();
    update
        .attrs
        .push(BgpAttrItem::Origin(BgpOrigin::new(BgpAttrOrigin::Igp)));
    let mut path = BgpASpath::new();
    if ebgp {
        path.value.push(BgpASitem::Seq(BgpASseq {
            value: vec![BgpAS::new(my_asn)],
        }));
    }
    update.attrs.push(BgpAttrItem::ASPath(path));
    if !ebgp && let Some(local_pref) = attributes.local_pref {
        update
            .attrs
            .push(BgpAttrItem::LocalPref(BgpLocalpref::new(local_pref)));
    }
    if !attributes.communities.is_empty() {
        let mut list = BgpCommunityList::new();
        for (asn, value) in &attributes.communities {
            list.value.insert(BgpCommunity::new(
                (u32::from(*asn) << 16) | u32::from(*value),
            ));
        }
        update.attrs.push(BgpAttrItem::CommunityList(list));
    }
    match next_hop {
        IpAddr::V6(v6) => update.attrs.push(BgpAttrItem::MPUpdates(BgpMPUpdates {
            nexthop: BgpAddr::V6(v6),
            addrs: host_routes(ips),
        })),
        IpAddr::V4(_) => {
            update
                .attrs
                .push(BgpAttrItem::NextHop(BgpNextHop::new(next_hop)));
            update.updates = host_routes(ips);
        }
    }
    frame(params, BgpMessageType::Update, &update)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> BgpSessionParams {
        BgpSessionParams::new(
            64512,
            9,
            BgpTransportMode::IPv4,
            "198.51.100.11".parse().unwrap(),
            vec![BgpCapability::SafiIPv4u, BgpCapability::CapASN32(64512)],
        )
    }

    fn decode_update(bytes: &[u8]) -> BgpUpdateMessage {
        let head: [u8; 19] = bytes[..19].try_into().unwrap();
        let (kind, length) = decode_head(&head).unwrap();
        assert_eq!(kind, BgpMessageType::Update);
        assert_eq!(length, bytes.len() - 19);
        let mut update = BgpUpdateMessage::new();
        update.decode_from(&params(), &bytes[19..]).unwrap();
        update
    }

    #[test]
    fn an_announcement_round_trips_with_its_attributes() {
        let attributes = Attributes {
            communities: vec![(65000, 100)],
            local_pref: Some(200),
        };
        let ips = [
            "198.51.100.5".parse().unwrap(),
            "198.51.100.6".parse().unwrap(),
        ];
        let next_hop = "198.51.100.11".parse().unwrap();
        // Internal peer: LOCAL_PREF sent, AS_PATH empty.
        let update = decode_update(
            &encode_announce(&params(), next_hop, 64512, false, &attributes, &ips).unwrap(),
        );
        let BgpAddrs::IPV4U(prefixes) = &update.updates else {
            panic!("{:?}", update.updates)
        };
        assert_eq!(prefixes.len(), 2);
        assert!(prefixes.iter().all(|p| p.prefixlen == 32));
        assert_eq!(update.get_attr_nexthop().unwrap().value, next_hop);
        assert_eq!(update.get_attr_aspath().unwrap().value.len(), 0);
        let communities = &update.get_attr_communitylist().unwrap().value;
        assert!(communities.contains(&BgpCommunity::new((65000 << 16) | 100)));
        assert!(
            update
                .attrs
                .iter()
                .any(|a| matches!(a, BgpAttrItem::LocalPref(l) if l.value == 200))
        );
        // External peer: our AS in the path, no LOCAL_PREF.
        let update = decode_update(
            &encode_announce(&params(), next_hop, 64512, true, &attributes, &ips).unwrap(),
        );
        assert_eq!(update.get_attr_aspath().unwrap().value.len(), 1);
        assert!(
            !update
                .attrs
                .iter()
                .any(|a| matches!(a, BgpAttrItem::LocalPref(_)))
        );
    }

    #[test]
    fn a_withdrawal_names_the_host_routes() {
        let ips = ["198.51.100.5".parse().unwrap()];
        let update = decode_update(&encode_withdraw(&params(), &ips).unwrap());
        let BgpAddrs::IPV4U(prefixes) = &update.withdraws else {
            panic!("{:?}", update.withdraws)
        };
        assert_eq!(
            prefixes[0].addr,
            "198.51.100.5".parse::<Ipv4Addr>().unwrap()
        );
        assert_eq!(prefixes[0].prefixlen, 32);
    }

    #[test]
    fn open_keepalive_and_cease_have_the_right_headers() {
        let open = encode_open(&params()).unwrap();
        let head: [u8; 19] = open[..19].try_into().unwrap();
        assert_eq!(
            decode_head(&head).unwrap(),
            (BgpMessageType::Open, open.len() - 19)
        );
        let mut decoded = BgpOpenMessage::new();
        decoded.decode_from(&params(), &open[19..]).unwrap();
        assert_eq!(decoded.as_num, 64512);
        assert_eq!(decoded.hold_time, 9);
        let head: [u8; 19] = keepalive().try_into().unwrap();
        assert_eq!(decode_head(&head).unwrap(), (BgpMessageType::Keepalive, 0));
        let cease = cease();
        let head: [u8; 19] = cease[..19].try_into().unwrap();
        assert_eq!(
            decode_head(&head).unwrap(),
            (BgpMessageType::Notification, 2)
        );
        assert_eq!(&cease[19..], [6, 2]);
    }

    #[test]
    fn a_bad_header_length_is_refused() {
        let mut head = [0xffu8; 19];
        head[16..19].copy_from_slice(&[0, 5, 4]);
        assert!(decode_head(&head).is_err());
    }
}
