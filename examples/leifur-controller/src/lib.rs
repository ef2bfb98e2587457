//! Leifur's IPAM controller: every Service of type LoadBalancer whose
//! `spec.loadBalancerClass` is unset or Leifur's gets addresses from the
//! IPPools in `status.loadBalancer.ingress`, one per family it asks for.
//!
//! The Services' status is the only record of who holds what. The
//! allocator in memory is an index of it, rebuilt from the informer cache
//! (after it has synced, before anything is allocated) each time this
//! process becomes the leader, so a restart reallocates nothing. Status is
//! written by merge patches carrying the cached resourceVersion, so a write
//! from a stale view fails with a conflict instead of overwriting; leader
//! election keeps a second replica from allocating at all.
//!
//! Policies, decided here once:
//! - **Pool shrink**: a Service whose address is in no pool it may use any
//!   more (the pool shrank, was deleted, or stopped admitting it) gets a
//!   Warning Event `AddressLeftPool` and a new address; its old one was not
//!   announced any more anyway (the speaker announces only addresses of a
//!   pool).
//! - **Overlapping pools**: the later-created pool is not used and says so
//!   in its `Valid` condition (see [`pools`]).
//! - **Requests**: `spec.loadBalancerIP` or the `addresses` annotation are
//!   given exactly, or refused with a Warning Event that says why; a refused
//!   request changes nothing the Service holds.
//! - **Exhaustion**: a Warning Event `AllocationFailed`; the Service stays
//!   pending and is queued again whenever an address is released or a pool
//!   changes.
#![warn(missing_docs)]

/// Leifur's API, from its own crate.
pub use leifur_api as api;
pub mod allocator;
pub mod cli;
pub mod events;
pub mod metrics;
pub mod plan;
pub mod pools;
pub mod reconcile;
pub mod run;
