//! What the speaker reports on `/metrics`. Every series is written by the
//! part of the speaker that does the thing counted: the L2 threads count
//! the frames they send, a BGP session its own state and routes, the main
//! loop the election, the renewal task its failures.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Label pairs, as the other Leifur metrics use them.
pub type Labels = Vec<(String, String)>;

/// The states a BGP session reports, one series each (1 for the current
/// one, 0 for the others), as `kube-state-metrics` reports phases.
pub const BGP_STATES: [&str; 3] = ["idle", "connecting", "established"];

/// The speaker's series.
#[derive(Clone, Debug, Default)]
pub struct SpeakerMetrics {
    /// Addresses being announced, by `mode` (`l2`, `bgp`) and `via` (the
    /// interface answering, or the peer advertised to).
    pub announced: Family<Labels, Gauge>,
    /// Addresses of L2 pools this node is elected for.
    pub elected: Gauge,
    /// BGP session state per `peer` and `state` (see [`BGP_STATES`]).
    pub bgp_session: Family<Labels, Gauge>,
    /// ARP replies and neighbour advertisements sent in answer to a query,
    /// by `protocol` (`arp`, `ndp`) and `interface`.
    pub replies: Family<Labels, Counter>,
    /// Unsolicited (gratuitous) ARP replies and neighbour advertisements
    /// sent on taking an address over, by `protocol` and `interface`.
    pub gratuitous: Family<Labels, Counter>,
    /// Failed renewals of this node's membership Lease.
    pub lease_renew_failures: Counter,
    /// BGP peers named by pools that the speaker keeps no session with
    /// (see `model::Refusal`).
    pub refused_peers: Gauge,
}

impl SpeakerMetrics {
    /// Registers every series.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "leifur_speaker_announced_addresses",
            "Addresses announced, by mode (l2, bgp) and via (interface or BGP peer)",
            self.announced.clone(),
        );
        registry.register(
            "leifur_speaker_elected_addresses",
            "Addresses of L2 pools this node is elected to answer for",
            self.elected.clone(),
        );
        registry.register(
            "leifur_speaker_bgp_session",
            "BGP session state per peer: 1 for the current state",
            self.bgp_session.clone(),
        );
        registry.register(
            "leifur_speaker_replies",
            "ARP replies and neighbour advertisements sent, by protocol (arp, ndp) and interface",
            self.replies.clone(),
        );
        registry.register(
            "leifur_speaker_gratuitous_announcements",
            "Unsolicited ARP replies and neighbour advertisements sent on taking an address over",
            self.gratuitous.clone(),
        );
        registry.register(
            "leifur_speaker_lease_renew_failures",
            "Failed renewals of this node's membership Lease",
            self.lease_renew_failures.clone(),
        );
        registry.register(
            "leifur_speaker_refused_bgp_peers",
            "BGP peers named by pools that this speaker refuses (their TCP MD5 password cannot be read)",
            self.refused_peers.clone(),
        );
    }

    /// Records that the session with `peer` is now in `state` (one of
    /// [`BGP_STATES`]).
    pub fn bgp_state(&self, peer: &str, state: &str) {
        for candidate in BGP_STATES {
            self.bgp_session
                .get_or_create(&labels(&[("peer", peer), ("state", candidate)]))
                .set(i64::from(candidate == state));
        }
    }

    /// Forgets a session that ended for good (its peer is no longer wanted).
    pub fn bgp_forget(&self, peer: &str) {
        for candidate in BGP_STATES {
            self.bgp_session
                .remove(&labels(&[("peer", peer), ("state", candidate)]));
        }
        self.announced
            .remove(&labels(&[("mode", "bgp"), ("via", peer)]));
    }
}

/// `[("a", "b")]` as owned label pairs.
pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(metrics: &SpeakerMetrics) -> String {
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
        out
    }

    #[test]
    fn a_session_reports_exactly_one_current_state() {
        let metrics = SpeakerMetrics::default();
        metrics.bgp_state("192.0.2.1:179", "connecting");
        metrics.bgp_state("192.0.2.1:179", "established");
        let text = encode(&metrics);
        assert!(text.contains(
            "leifur_speaker_bgp_session{peer=\"192.0.2.1:179\",state=\"established\"} 1"
        ));
        assert!(
            text.contains(
                "leifur_speaker_bgp_session{peer=\"192.0.2.1:179\",state=\"connecting\"} 0"
            )
        );
        assert!(
            text.contains("leifur_speaker_bgp_session{peer=\"192.0.2.1:179\",state=\"idle\"} 0")
        );
    }

    #[test]
    fn a_forgotten_session_leaves_no_series() {
        let metrics = SpeakerMetrics::default();
        metrics.bgp_state("192.0.2.1:179", "established");
        metrics
            .announced
            .get_or_create(&labels(&[("mode", "bgp"), ("via", "192.0.2.1:179")]))
            .set(3);
        metrics.bgp_forget("192.0.2.1:179");
        let text = encode(&metrics);
        assert!(!text.contains("192.0.2.1"), "{text}");
    }

    #[test]
    fn counters_carry_the_total_suffix() {
        let metrics = SpeakerMetrics::default();
        metrics
            .replies
            .get_or_create(&labels(&[("protocol", "arp"), ("interface", "eth0")]))
            .inc();
        metrics.lease_renew_failures.inc();
        let text = encode(&metrics);
        assert!(
            text.contains("leifur_speaker_replies_total{protocol=\"arp\",interface=\"eth0\"} 1")
        );
        assert!(text.contains("leifur_speaker_lease_renew_failures_total 1"));
    }
}
