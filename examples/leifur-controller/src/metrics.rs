//! IPAM's own metrics, beside the work queue's and the controller loop's
//! from `crdforge-runtime`.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Labels of a pool's address counts: pool, family, state.
pub type PoolLabels = Vec<(String, String)>;

/// What `/metrics` reports about pools and allocations.
#[derive(Clone, Debug, Default)]
pub struct IpamMetrics {
    /// Addresses per pool, family (IPv4, IPv6) and state (assigned,
    /// available; available saturates at 2^63 - 1).
    pub pool_addresses: Family<PoolLabels, Gauge>,
    /// Services given new addresses.
    pub allocations: Counter,
    /// Allocations refused (exhaustion, refused requests), by reason.
    pub refusals: Family<Vec<(String, String)>, Counter>,
    /// Services whose addresses were released.
    pub releases: Counter,
    /// Services holding addresses.
    pub services: Gauge,
}

impl IpamMetrics {
    /// Registers every series.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "leifur_pool_addresses",
            "Addresses of each IPPool by family and state (assigned, available)",
            self.pool_addresses.clone(),
        );
        registry.register(
            "leifur_allocations",
            "Services given new addresses",
            self.allocations.clone(),
        );
        registry.register(
            "leifur_refusals",
            "Allocations refused, by Event reason",
            self.refusals.clone(),
        );
        registry.register(
            "leifur_releases",
            "Services whose addresses were released",
            self.releases.clone(),
        );
        registry.register(
            "leifur_services_assigned",
            "Services holding addresses",
            self.services.clone(),
        );
    }
}
