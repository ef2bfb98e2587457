//! Leifur's speaker: the per-node agent that makes Service LoadBalancer
//! addresses reachable. For each address of a pool with `announce.l2` one
//! node, elected by rendezvous hashing among the ready speakers, answers ARP
//! and NDP for it; for pools with `announce.bgp` every speaker advertises a
//! host route to the pool's peers.

#![warn(missing_docs)]

pub mod bgp;
pub mod election;
pub mod events;
pub mod l2;
pub mod md5;
pub mod metrics;
pub mod model;
pub mod netns;
pub mod packet;
pub mod speaker;

/// The port of `/metrics`, `/healthz` and `/readyz` by default, and the one
/// the generated DaemonSet probes (a test holds the two together).
pub const METRICS_PORT: u16 = 7472;

#[cfg(test)]
mod tests {
    #[test]
    fn the_daemonset_probes_the_port_the_speaker_serves() {
        let manifest = leifur_speaker_deploy::agent_manifest();
        assert_eq!(
            manifest.controller.metrics_port,
            i32::from(super::METRICS_PORT)
        );
        let probes = manifest
            .controller
            .probes
            .expect("the DaemonSet probes the speaker");
        assert_eq!((probes.liveness, probes.readiness), ("/healthz", "/readyz"));
    }
}
