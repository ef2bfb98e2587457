//! Who holds which address, in memory, rebuilt from the Services' status.
//!
//! This is not a second record of allocations: it is an index of what the
//! Services' `status.loadBalancer.ingress` says (seeded from the informer
//! cache once it has synced, before anything is allocated), plus the
//! addresses this process has just written and the cache has not caught up
//! with. Losing it loses nothing; a restart rebuilds it from the cache.
//!
//! Guarantees, each tested by name below:
//! - an address has several holders only when every one of them carries
//!   the same sharing key and no two of them use one protocol/port
//!   (`sharing_needs_equal_keys_and_disjoint_ports`), and either all of them
//!   send external traffic to any node (`externalTrafficPolicy: Cluster`) or
//!   all keep it on nodes with a local endpoint and select the same pods
//!   (`sharing_needs_traffic_policies_that_one_node_can_serve`);
//! - `first_free` never returns a held address, and returns the lowest
//!   free one of the range, skipping buggy ones when asked
//!   (`first_free_is_the_lowest_unheld_address`);
//! - assigning replaces a holder's previous addresses, and `restore` puts
//!   back what an assignment replaced (`assign_then_restore_is_a_no_op`).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use leifur_api::AddressRange;

/// A port a Service exposes: protocol and number.
pub type Port = (String, i32);

/// One Service's hold on its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// `namespace/name`.
    pub key: String,
    /// The `allow-shared-ip` key, if the Service allows sharing.
    pub share: Option<String>,
    /// The ports it exposes.
    pub ports: Vec<Port>,
    /// Which nodes may receive its external traffic.
    pub traffic: Traffic,
}

/// Which nodes may receive a Service's external traffic, as its
/// `externalTrafficPolicy` says. One address is announced from one node (L2)
/// or routed to the nodes that announce it (BGP) for every Service on it, so
/// Services may share an address only if one set of nodes can serve them
/// all: any node, when all are `Cluster`; the nodes with their endpoints,
/// when all are `Local` and select the same pods (MetalLB's rule too).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Traffic {
    /// `Cluster` (the default): any node forwards to an endpoint anywhere.
    #[default]
    Cluster,
    /// `Local`: only nodes running an endpoint; the Service's pod selector.
    Local {
        /// `spec.selector` (empty for a Service without one).
        selector: BTreeMap<String, String>,
    },
}

/// Why a Service cannot hold an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// Held by a Service that does not share, or shares under another key.
    InUse {
        /// The holder.
        by: String,
    },
    /// Both share under one key, but they expose the same port.
    PortClash {
        /// The holder.
        by: String,
        /// The port both expose.
        port: Port,
    },
    /// Both share under one key, but no one set of nodes serves both: one
    /// is `Local` and the other `Cluster`, or both `Local` with different
    /// pod selectors.
    TrafficPolicy {
        /// The holder.
        by: String,
        /// Whether the holder is the `Local` one (else the claimant is, or
        /// both are with other selectors).
        holder_local: bool,
        /// Whether both are `Local`.
        both_local: bool,
    },
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Conflict::InUse { by } => write!(f, "in use by {by}"),
            Conflict::PortClash { by, port } => write!(
                f,
                "shared with {by}, which also exposes {}/{}",
                port.1, port.0
            ),
            Conflict::TrafficPolicy {
                by,
                both_local: true,
                ..
            } => write!(
                f,
                "shared with {by}, whose externalTrafficPolicy is Local too but which selects \
                 other pods"
            ),
            Conflict::TrafficPolicy {
                by, holder_local, ..
            } => write!(
                f,
                "shared with {by}, whose externalTrafficPolicy is {}; Services sharing an \
                 address must all be Cluster, or all Local with one pod selector",
                if *holder_local { "Local" } else { "Cluster" }
            ),
        }
    }
}

/// What an assignment replaced, for [`Allocator::restore`].
#[derive(Debug)]
pub struct Replaced {
    key: String,
    previous: Option<(Claim, Vec<IpAddr>)>,
}

/// The index of held addresses.
#[derive(Debug, Default)]
pub struct Allocator {
    by_ip: BTreeMap<IpAddr, Vec<Claim>>,
    by_service: HashMap<String, (Claim, Vec<IpAddr>)>,
}

impl Allocator {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// The addresses `key` holds.
    pub fn assigned(&self, key: &str) -> Option<&[IpAddr]> {
        self.by_service.get(key).map(|(_, ips)| ips.as_slice())
    }

    /// Every Service holding `ip`.
    pub fn holders(&self, ip: IpAddr) -> &[Claim] {
        self.by_ip.get(&ip).map_or(&[], Vec::as_slice)
    }

    /// Whether `claim` may hold `ip` beside its current holders (itself
    /// excluded).
    pub fn compatible(&self, ip: IpAddr, claim: &Claim) -> Result<(), Conflict> {
        for holder in self.holders(ip) {
            if holder.key == claim.key {
                continue;
            }
            match (&holder.share, &claim.share) {
                (Some(a), Some(b)) if a == b => {}
                _ => {
                    return Err(Conflict::InUse {
                        by: holder.key.clone(),
                    });
                }
            }
            if let Some(port) = claim.ports.iter().find(|p| holder.ports.contains(p)) {
                return Err(Conflict::PortClash {
                    by: holder.key.clone(),
                    port: port.clone(),
                });
            }
            if holder.traffic != claim.traffic {
                return Err(Conflict::TrafficPolicy {
                    by: holder.key.clone(),
                    holder_local: matches!(holder.traffic, Traffic::Local { .. }),
                    both_local: matches!(
                        (&holder.traffic, &claim.traffic),
                        (Traffic::Local { .. }, Traffic::Local { .. })
                    ),
                });
            }
        }
        Ok(())
    }

    /// Records that `claim` holds exactly `ips`, replacing what it held.
    pub fn assign(&mut self, claim: Claim, ips: Vec<IpAddr>) -> Replaced {
        let key = claim.key.clone();
        let previous = self.remove(&key);
        for ip in &ips {
            self.by_ip.entry(*ip).or_default().push(claim.clone());
        }
        self.by_service.insert(key.clone(), (claim, ips));
        Replaced { key, previous }
    }

    /// Undoes an [`assign`](Self::assign) whose write failed.
    pub fn restore(&mut self, replaced: Replaced) {
        self.remove(&replaced.key);
        if let Some((claim, ips)) = replaced.previous {
            self.assign(claim, ips);
        }
    }

    /// Forgets what `key` holds; returns the addresses nobody holds any
    /// more.
    pub fn release(&mut self, key: &str) -> Vec<IpAddr> {
        match self.remove(key) {
            Some((_, ips)) => ips
                .into_iter()
                .filter(|ip| !self.by_ip.contains_key(ip))
                .collect(),
            None => Vec::new(),
        }
    }

    fn remove(&mut self, key: &str) -> Option<(Claim, Vec<IpAddr>)> {
        let (claim, ips) = self.by_service.remove(key)?;
        for ip in &ips {
            if let Some(holders) = self.by_ip.get_mut(ip) {
                holders.retain(|h| h.key != key);
                if holders.is_empty() {
                    self.by_ip.remove(ip);
                }
            }
        }
        Some((claim, ips))
    }

    /// An address of `range` for `claim`: one it may share (a holder with
    /// its sharing key and no clashing port) if there is one, else the
    /// lowest address nobody holds; `None` when the range is full.
    /// Costs one lookup per held address of the range at most, never the
    /// range's size.
    pub fn first_free(
        &self,
        range: &AddressRange,
        avoid_buggy_ips: bool,
        claim: &Claim,
    ) -> Option<IpAddr> {
        let held = self.by_ip.range(range.first()..=range.last());
        if claim.share.is_some() {
            let shared = self
                .by_ip
                .range(range.first()..=range.last())
                .find(|(ip, _)| {
                    !(avoid_buggy_ips && leifur_api::addresses::is_buggy(**ip))
                        && self.compatible(**ip, claim).is_ok()
                });
            if let Some((ip, _)) = shared {
                return Some(*ip);
            }
        }
        let mut candidate = range.first_at_or_after(range.first(), avoid_buggy_ips)?;
        for (ip, _) in held {
            if *ip < candidate {
                continue;
            }
            if *ip > candidate {
                break;
            }
            let next = next_address(candidate)?;
            candidate = range.first_at_or_after(next, avoid_buggy_ips)?;
        }
        Some(candidate)
    }

    /// How many distinct addresses of `range` are held.
    pub fn held_in(&self, range: &AddressRange) -> u128 {
        self.by_ip.range(range.first()..=range.last()).count() as u128
    }

    /// Every holder, for the metrics and the tests.
    pub fn services(&self) -> impl Iterator<Item = (&str, &[IpAddr])> {
        self.by_service
            .iter()
            .map(|(k, (_, ips))| (k.as_str(), ips.as_slice()))
    }
}

/// The address after `ip`, in its family; `None` after the last.
fn next_address(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(v4) => u32::from(v4).checked_add(1).map(|n| IpAddr::V4(n.into())),
        IpAddr::V6(v6) => u128::from(v6).checked_add(1).map(|n| IpAddr::V6(n.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(key: &str, share: Option<&str>, ports: &[i32]) -> Claim {
        Claim {
            key: key.into(),
            share: share.map(Into::into),
            ports: ports.iter().map(|p| ("TCP".to_string(), *p)).collect(),
            traffic: Traffic::Cluster,
        }
    }

    fn local(mut claim: Claim, app: &str) -> Claim {
        claim.traffic = Traffic::Local {
            selector: [("app".to_string(), app.to_string())].into(),
        };
        claim
    }

    #[test]
    fn sharing_needs_traffic_policies_that_one_node_can_serve() {
        let mut a = Allocator::new();
        let shared = ip("192.0.2.1");
        a.assign(claim("ns/cluster", Some("k"), &[80]), vec![shared]);
        // Local beside Cluster: refused, naming the holder's policy.
        let err = a
            .compatible(shared, &local(claim("ns/l", Some("k"), &[443]), "web"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "shared with ns/cluster, whose externalTrafficPolicy is Cluster; Services sharing an \
             address must all be Cluster, or all Local with one pod selector"
        );
        let mut b = Allocator::new();
        b.assign(local(claim("ns/a", Some("k"), &[80]), "web"), vec![shared]);
        // Local beside Local with the same pods: shared.
        assert_eq!(
            b.compatible(shared, &local(claim("ns/b", Some("k"), &[443]), "web")),
            Ok(())
        );
        // Other pods: refused.
        let err = b
            .compatible(shared, &local(claim("ns/b", Some("k"), &[443]), "db"))
            .unwrap_err();
        assert!(err.to_string().contains("Local too"), "{err}");
        // Cluster beside Local: refused.
        let err = b
            .compatible(shared, &claim("ns/c", Some("k"), &[443]))
            .unwrap_err();
        assert!(err.to_string().contains("is Local;"), "{err}");
        // And a sharer is not offered an address it cannot share.
        let range = AddressRange::parse("192.0.2.1-192.0.2.2").unwrap();
        assert_eq!(
            b.first_free(&range, false, &claim("ns/c", Some("k"), &[443])),
            Some(ip("192.0.2.2"))
        );
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn sharing_needs_equal_keys_and_disjoint_ports() {
        let mut a = Allocator::new();
        a.assign(claim("ns/a", Some("k"), &[80]), vec![ip("192.0.2.1")]);
        assert_eq!(
            a.compatible(ip("192.0.2.1"), &claim("ns/b", Some("k"), &[443])),
            Ok(())
        );
        assert_eq!(
            a.compatible(ip("192.0.2.1"), &claim("ns/b", Some("k"), &[80])),
            Err(Conflict::PortClash {
                by: "ns/a".into(),
                port: ("TCP".into(), 80)
            })
        );
        assert!(matches!(
            a.compatible(ip("192.0.2.1"), &claim("ns/b", Some("other"), &[443])),
            Err(Conflict::InUse { .. })
        ));
        assert!(matches!(
            a.compatible(ip("192.0.2.1"), &claim("ns/b", None, &[443])),
            Err(Conflict::InUse { .. })
        ));
        // UDP 80 beside TCP 80 is no clash.
        let mut udp = claim("ns/b", Some("k"), &[]);
        udp.ports.push(("UDP".into(), 80));
        assert_eq!(a.compatible(ip("192.0.2.1"), &udp), Ok(()));
        // A Service is compatible with itself.
        assert_eq!(
            a.compatible(ip("192.0.2.1"), &claim("ns/a", None, &[80])),
            Ok(())
        );
    }

    #[test]
    fn first_free_is_the_lowest_unheld_address() {
        let range = AddressRange::parse("192.0.2.254-192.0.3.3").unwrap();
        let mut a = Allocator::new();
        let c = claim("ns/x", None, &[80]);
        assert_eq!(a.first_free(&range, false, &c), Some(ip("192.0.2.254")));
        assert_eq!(a.first_free(&range, true, &c), Some(ip("192.0.2.254")));
        a.assign(claim("ns/a", None, &[80]), vec![ip("192.0.2.254")]);
        assert_eq!(a.first_free(&range, false, &c), Some(ip("192.0.2.255")));
        assert_eq!(a.first_free(&range, true, &c), Some(ip("192.0.3.1")));
        a.assign(claim("ns/b", None, &[80]), vec![ip("192.0.3.1")]);
        assert_eq!(a.first_free(&range, true, &c), Some(ip("192.0.3.2")));
        a.assign(
            claim("ns/c", None, &[80]),
            vec![ip("192.0.3.2"), ip("192.0.3.3")],
        );
        assert_eq!(a.first_free(&range, true, &c), None);
        assert_eq!(a.first_free(&range, false, &c), Some(ip("192.0.2.255")));
        assert_eq!(a.held_in(&range), 4);
        // A sharer is offered a shared address before a free one.
        a.assign(claim("ns/d", Some("k"), &[80]), vec![ip("192.0.3.0")]);
        assert_eq!(
            a.first_free(&range, false, &claim("ns/e", Some("k"), &[443])),
            Some(ip("192.0.3.0"))
        );
        // Releasing frees only what nobody else holds.
        assert_eq!(a.release("ns/c"), vec![ip("192.0.3.2"), ip("192.0.3.3")]);
        assert_eq!(a.first_free(&range, true, &c), Some(ip("192.0.3.2")));
    }

    #[test]
    fn a_2_pow_64_range_allocates_without_walking_it() {
        let range = AddressRange::parse("2001:db8::/64").unwrap();
        let mut a = Allocator::new();
        for i in 0..100 {
            let c = claim(&format!("ns/s{i}"), None, &[80]);
            let got = a.first_free(&range, false, &c).unwrap();
            a.assign(c, vec![got]);
        }
        assert_eq!(a.held_in(&range), 100);
        assert_eq!(
            a.first_free(&range, false, &claim("ns/next", None, &[80])),
            Some(ip("2001:db8::64"))
        );
    }

    #[test]
    fn assign_then_restore_is_a_no_op() {
        let mut a = Allocator::new();
        a.assign(claim("ns/a", None, &[80]), vec![ip("192.0.2.1")]);
        let replaced = a.assign(claim("ns/a", None, &[80]), vec![ip("192.0.2.9")]);
        assert!(a.holders(ip("192.0.2.1")).is_empty());
        a.restore(replaced);
        assert_eq!(a.assigned("ns/a"), Some(&[ip("192.0.2.1")][..]));
        assert!(a.holders(ip("192.0.2.9")).is_empty());
        let fresh = a.assign(claim("ns/b", None, &[80]), vec![ip("192.0.2.2")]);
        a.restore(fresh);
        assert_eq!(a.assigned("ns/b"), None);
        assert!(a.holders(ip("192.0.2.2")).is_empty());
    }
}
