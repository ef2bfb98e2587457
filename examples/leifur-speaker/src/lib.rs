//! Leifur's speaker: the per-node agent that makes Service LoadBalancer
//! addresses reachable. For each address of a pool with `announce.l2` one
//! node, elected by rendezvous hashing among the ready speakers, answers ARP
//! and NDP for it; for pools with `announce.bgp` every speaker advertises a
//! host route to the pool's peers.

#![warn(missing_docs)]

pub mod bgp;
pub mod election;
pub mod l2;
pub mod model;
pub mod netns;
pub mod packet;
pub mod speaker;
