//! What this node announces, computed from the informers' caches: a pure
//! function of (pools, Services, Nodes, Leases, now), so every speaker that
//! sees the same objects reaches the same answer, and tests need no cluster.
//!
//! Pools are read once into [`Pool`] (ranges parsed, selectors converted,
//! BGP attributes checked, peers' passwords read from their Secrets); a pool
//! that does not convert is left out with a logged reason, a peer whose
//! password cannot be read is refused (see [`Refusal`]), and nothing else is
//! affected.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Secret, Service};
use k8s_openapi::jiff::Timestamp;
use kube::core::{Selector, SelectorExt};
use leifur_api::addresses::AddressRange;
use leifur_api::{IPPool, SecretKeyRef};

use crate::election;

/// A pool as the speaker uses it.
#[derive(Debug, Clone)]
pub struct Pool {
    /// Its name.
    pub name: String,
    ranges: Vec<AddressRange>,
    /// L2 announcement, if the pool asks for it.
    pub l2: Option<L2>,
    /// BGP announcement, if the pool asks for it.
    pub bgp: Option<Bgp>,
    /// Peers left out, and why (see [`Refusal`]).
    pub refused: Vec<Refusal>,
}

/// A peer the speaker keeps no session with although the pool names it:
/// its `passwordSecretRef` names a Secret or key the speaker's namespace does
/// not hold, or a password TCP MD5 cannot take. Connecting without the
/// password would either never be answered (a peer that requires it drops
/// unsigned segments) or silently drop the protection asked for, so the
/// speaker refuses the peer instead, and says so (log, Warning Event on the
/// pool, `/metrics`). The message names the Secret and key, never the
/// password.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Refusal {
    /// The field at fault, e.g.
    /// `spec.announce.bgp.peers[0].passwordSecretRef.name`.
    pub field: String,
    /// What is wrong and what the speaker does about it.
    pub message: String,
}

/// What the speaker does about a refused peer (the end of each refusal's
/// message).
pub const NO_SESSION: &str = "no BGP session is opened with this peer until it is fixed";

/// A TCP MD5 password (RFC 2385), read from a Secret. Its `Debug` shows no
/// byte of it, so no log line, Event or metric label made from a [`Peer`]
/// can leak it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Password(Vec<u8>);

impl Password {
    /// The password's bytes, for the socket option only.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// The password `reference` names among `secrets` (the speaker's
/// namespace's), or the refusal saying why there is none. `field` is the
/// reference's path.
fn password(
    secrets: &[Arc<Secret>],
    reference: &SecretKeyRef,
    field: &str,
) -> Result<Password, Refusal> {
    let refuse = |suffix: &str, what: String| Refusal {
        field: format!("{field}.{suffix}"),
        message: format!("{what}; {NO_SESSION}"),
    };
    let secret = secrets
        .iter()
        .find(|secret| secret.metadata.name.as_deref() == Some(reference.name.as_str()))
        .ok_or_else(|| {
            refuse(
                "name",
                format!(
                    "Secret {:?} not found in the speaker's namespace",
                    reference.name
                ),
            )
        })?;
    let value = secret
        .data
        .as_ref()
        .and_then(|data| data.get(&reference.key))
        .ok_or_else(|| {
            refuse(
                "key",
                format!("Secret {:?} has no key {:?}", reference.name, reference.key),
            )
        })?;
    let length = value.0.len();
    if !(1..=crate::md5::MAX_KEY_LEN).contains(&length) {
        return Err(refuse(
            "key",
            format!(
                "the password in Secret {:?} key {:?} is {length} bytes long; TCP MD5 takes 1 to {}",
                reference.name,
                reference.key,
                crate::md5::MAX_KEY_LEN
            ),
        ));
    }
    Ok(Password(value.0.clone()))
}

/// `announce.l2`.
#[derive(Debug, Clone)]
pub struct L2 {
    /// Nodes that may be elected (all when the pool names no selector).
    pub node_selector: Selector,
    /// Interfaces to answer on (all when empty).
    pub interfaces: Vec<String>,
}

/// `announce.bgp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bgp {
    /// Our AS.
    pub my_asn: u32,
    /// The peers, parsed.
    pub peers: Vec<Peer>,
    /// Attributes of every route of the pool.
    pub attributes: Attributes,
}

/// One BGP session's identity: a speaker keeps one session per distinct key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Peer {
    /// The peer's address.
    pub address: IpAddr,
    /// The peer's TCP port.
    pub port: u16,
    /// The peer's AS.
    pub asn: u32,
    /// Our AS towards it.
    pub my_asn: u32,
    /// The hold time we propose.
    pub hold_time: Duration,
    /// The TCP MD5 password, when the pool names one. Part of the key: a
    /// changed Secret ends the session and starts one with the new
    /// password at once.
    pub password: Option<Password>,
}

/// Path attributes of an advertised route.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Attributes {
    /// Communities, `(asn, value)`.
    pub communities: Vec<(u16, u16)>,
    /// LOCAL_PREF (sent to iBGP peers only, as RFC 4271 5.1.5 says).
    pub local_pref: Option<u32>,
}

/// Why a pool is left out.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// `spec.addresses[i]` does not parse.
    #[error("IPPool {pool}: spec.addresses: {error}")]
    Addresses {
        /// The pool.
        pool: String,
        /// The parse error.
        error: String,
    },
    /// A field holds a value the speaker cannot use.
    #[error("IPPool {pool}: {field}: {message}")]
    Field {
        /// The pool.
        pool: String,
        /// The field's path.
        field: String,
        /// What is wrong.
        message: String,
    },
}

impl Pool {
    /// Reads an `IPPool`, taking peers' passwords from `secrets` (the
    /// speaker's namespace's).
    pub fn from_ippool(pool: &IPPool, secrets: &[Arc<Secret>]) -> Result<Self, PoolError> {
        let name = pool.metadata.name.clone().unwrap_or_default();
        let field = |field: String, message: String| PoolError::Field {
            pool: name.clone(),
            field,
            message,
        };
        let ranges = pool.ranges().map_err(|error| PoolError::Addresses {
            pool: name.clone(),
            error: error.to_string(),
        })?;
        let l2 = match &pool.spec.announce.l2 {
            None => None,
            Some(l2) => Some(L2 {
                node_selector: match &l2.node_selector {
                    None => Selector::default(),
                    Some(selector) => Selector::try_from(selector.clone()).map_err(|err| {
                        field("spec.announce.l2.nodeSelector".into(), err.to_string())
                    })?,
                },
                interfaces: l2.interfaces.clone(),
            }),
        };
        let mut refused = Vec::new();
        let bgp = match &pool.spec.announce.bgp {
            None => None,
            Some(bgp) => {
                let mut peers = Vec::new();
                for (i, peer) in bgp.peers.iter().enumerate() {
                    let address = peer.address.parse().map_err(|_| {
                        field(
                            format!("spec.announce.bgp.peers[{i}].address"),
                            format!("{:?} is not an IP address", peer.address),
                        )
                    })?;
                    let hold_time = parse_duration(&peer.hold_time).ok_or_else(|| {
                        field(
                            format!("spec.announce.bgp.peers[{i}].holdTime"),
                            format!("{:?} is not a duration like \"90s\"", peer.hold_time),
                        )
                    })?;
                    let password = match &peer.password_secret_ref {
                        None => None,
                        Some(reference) => {
                            let field = format!("spec.announce.bgp.peers[{i}].passwordSecretRef");
                            match password(secrets, reference, &field) {
                                Ok(password) => Some(password),
                                Err(refusal) => {
                                    refused.push(refusal);
                                    continue;
                                }
                            }
                        }
                    };
                    peers.push(Peer {
                        address,
                        port: peer.port,
                        asn: peer.asn,
                        my_asn: bgp.my_asn,
                        hold_time,
                        password,
                    });
                }
                let mut communities = Vec::new();
                for (i, community) in bgp.communities.iter().enumerate() {
                    communities.push(parse_community(community).ok_or_else(|| {
                        field(
                            format!("spec.announce.bgp.communities[{i}]"),
                            format!("{community:?} is not of the form \"65000:100\""),
                        )
                    })?);
                }
                Some(Bgp {
                    my_asn: bgp.my_asn,
                    peers,
                    attributes: Attributes {
                        communities,
                        local_pref: bgp.local_pref,
                    },
                })
            }
        };
        Ok(Self {
            name,
            ranges,
            l2,
            bgp,
            refused,
        })
    }

    /// Whether `ip` is one of the pool's addresses.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.ranges.iter().any(|range| range.contains(ip))
    }
}

/// `"65000:100"` → `(65000, 100)`.
fn parse_community(s: &str) -> Option<(u16, u16)> {
    let (asn, value) = s.split_once(':')?;
    Some((asn.parse().ok()?, value.parse().ok()?))
}

/// Go-style durations as the CRD's pattern allows them: `90s`, `1m30s`,
/// `500ms`, `1.5h`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let (unit, seconds) = if let Some(r) = rest.strip_prefix("ms") {
            (r, 0.001)
        } else if let Some(r) = rest.strip_prefix('s') {
            (r, 1.0)
        } else if let Some(r) = rest.strip_prefix('m') {
            (r, 60.0)
        } else if let Some(r) = rest.strip_prefix('h') {
            (r, 3600.0)
        } else {
            return None;
        };
        total += number * seconds;
        rest = unit;
    }
    Some(Duration::from_secs_f64(total))
}

/// What one node announces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    /// Addresses to answer ARP/NDP for, each with the interfaces to answer
    /// on (empty: all).
    pub l2: BTreeMap<IpAddr, Vec<String>>,
    /// Routes per BGP session.
    pub bgp: BTreeMap<Peer, BTreeMap<IpAddr, Attributes>>,
}

/// The nodes whose speaker Lease (`leifur-speaker-<node>`) is unexpired at
/// `now`. Wall-clock comparison: every speaker must agree on the set, and
/// nodes of one cluster keep their clocks in step (NTP); a skew shows as a
/// late or early expiry by that skew, never as two different winners for
/// long.
pub fn ready_speakers(leases: &[Arc<Lease>], now: Timestamp) -> BTreeSet<String> {
    let prefix = leifur_api::speaker_lease_name("");
    leases
        .iter()
        .filter_map(|lease| {
            let node = lease.metadata.name.as_deref()?.strip_prefix(&prefix)?;
            let spec = lease.spec.as_ref()?;
            let renewed = spec.renew_time.as_ref()?.0;
            let duration = i64::from(spec.lease_duration_seconds?);
            let expires =
                renewed.checked_add(k8s_openapi::jiff::SignedDuration::from_secs(duration));
            (expires.ok()? > now).then(|| node.to_owned())
        })
        .collect()
}

/// The addresses a Service asks Leifur to announce: its ingress IPs, when it
/// is a LoadBalancer of our class (or of none).
pub fn announced_addresses(service: &Service) -> Vec<IpAddr> {
    let Some(spec) = &service.spec else {
        return Vec::new();
    };
    if spec.type_.as_deref() != Some("LoadBalancer")
        || !leifur_api::is_our_class(spec.load_balancer_class.as_deref())
    {
        return Vec::new();
    }
    service
        .status
        .iter()
        .filter_map(|status| status.load_balancer.as_ref())
        .flat_map(|lb| lb.ingress.iter().flatten())
        .filter_map(|ingress| ingress.ip.as_deref()?.parse().ok())
        .collect()
}

/// What `me` announces.
pub fn desired(
    me: &str,
    pools: &[Pool],
    services: &[Arc<Service>],
    nodes: &[Arc<Node>],
    ready: &BTreeSet<String>,
) -> Desired {
    let mut out = Desired::default();
    let addresses: BTreeSet<IpAddr> = services
        .iter()
        .flat_map(|service| announced_addresses(service))
        .collect();
    for address in addresses {
        // Pools do not overlap (the apiserver refuses it); should two match
        // anyway, the first by name decides, on every speaker alike.
        let Some(pool) = pools.iter().find(|pool| pool.contains(address)) else {
            continue;
        };
        if let Some(l2) = &pool.l2 {
            let candidates = nodes.iter().filter_map(|node| {
                let name = node.metadata.name.as_deref()?;
                let labels = node.metadata.labels.clone().unwrap_or_default();
                (ready.contains(name) && l2.node_selector.matches(&labels)).then_some(name)
            });
            if election::elect(candidates, address) == Some(me) {
                out.l2.insert(address, l2.interfaces.clone());
            }
        }
        if let Some(bgp) = &pool.bgp {
            for peer in &bgp.peers {
                out.bgp
                    .entry(peer.clone())
                    .or_default()
                    .insert(address, bgp.attributes.clone());
            }
        }
    }
    // A session stays up (with no routes) for every peer of every pool, so
    // the peer sees the speaker before it has anything to say.
    for pool in pools {
        for peer in pool.bgp.iter().flat_map(|bgp| &bgp.peers) {
            out.bgp.entry(peer.clone()).or_default();
        }
    }
    out
}

/// Pools sorted by name, and why each pool that does not convert is left
/// out (sorted too, so the caller can tell a new problem from an old one).
pub fn pools(ippools: &[Arc<IPPool>], secrets: &[Arc<Secret>]) -> (Vec<Pool>, Vec<String>) {
    let mut pools = Vec::new();
    let mut problems = Vec::new();
    for ippool in ippools {
        match Pool::from_ippool(ippool, secrets) {
            Ok(pool) => pools.push(pool),
            Err(err) => problems.push(format!("{err}; its addresses are not announced")),
        }
    }
    pools.sort_by(|a, b| a.name.cmp(&b.name));
    problems.sort();
    (pools, problems)
}

#[cfg(test)]
mod tests;
