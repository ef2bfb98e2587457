//! The pools as IPAM sees them: entries parsed once per look, each pool
//! judged usable or not, in the order allocation prefers them.
//!
//! Overlap between pools is a fact about two objects, which no CEL rule on
//! one can see. The policy: of two overlapping pools, the one created later
//! (then the one whose name sorts later) is not used for new allocations and
//! says why in its `Valid` condition; the earlier keeps working. The same
//! holds for two overlapping entries of one pool (the pool is not used).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use kube::ResourceExt;
use kube::core::{Selector, SelectorExt};
use leifur_api::{AddressRange, Family, IPPool, ServiceAllocation};

/// One pool, parsed.
#[derive(Debug, Clone)]
pub struct PoolView {
    /// The pool's name.
    pub name: String,
    /// Its entries.
    pub ranges: Vec<AddressRange>,
    /// `spec.autoAssign`.
    pub auto_assign: bool,
    /// `spec.avoidBuggyIPs`.
    pub avoid_buggy_ips: bool,
    /// `spec.priority`.
    pub priority: Option<i32>,
    /// `spec.serviceAllocation`.
    pub allocation: Option<ServiceAllocation>,
    /// Why the pool is not used, when it is not.
    pub problem: Option<(String, String)>,
}

impl PoolView {
    /// Whether the pool holds `ip`.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.ranges.iter().any(|r| r.contains(ip))
    }

    /// Whether the pool may be allocated from.
    pub fn usable(&self) -> bool {
        self.problem.is_none()
    }

    /// Whether the pool has ranges of `family`.
    pub fn has_family(&self, family: Family) -> bool {
        self.ranges.iter().any(|r| r.family() == family)
    }

    /// Whether a Service in `namespace` with `labels` may use the pool,
    /// `namespace_labels` being its namespace's labels.
    pub fn admits(
        &self,
        namespace: &str,
        labels: &BTreeMap<String, String>,
        namespace_labels: Option<&BTreeMap<String, String>>,
    ) -> bool {
        let Some(allocation) = &self.allocation else {
            return true;
        };
        if !allocation.namespaces.is_empty()
            && !allocation.namespaces.iter().any(|n| n == namespace)
        {
            return false;
        }
        let matches = |selector: &Option<_>, labels: Option<&BTreeMap<String, String>>| {
            let Some(selector) = selector else {
                return true;
            };
            // A selector the apiserver accepted but kube cannot read
            // admits nothing: safer than everything.
            match Selector::try_from(Clone::clone(selector)) {
                Ok(s) => s.matches(labels.unwrap_or(&BTreeMap::new())),
                Err(_) => false,
            }
        };
        matches(&allocation.namespace_selector, namespace_labels)
            && matches(&allocation.service_selector, Some(labels))
    }
}

/// Every pool, parsed and judged, in preference order: usable pools by
/// priority (lower first, none last), then name.
pub fn view(pools: &[Arc<IPPool>]) -> Vec<PoolView> {
    // Creation order decides which of two overlapping pools loses.
    let mut by_age: Vec<&Arc<IPPool>> = pools.iter().collect();
    by_age.sort_by(|a, b| {
        let key = |p: &IPPool| {
            (
                p.metadata.creation_timestamp.as_ref().map(|t| t.0),
                p.name_any(),
            )
        };
        key(a).cmp(&key(b))
    });
    let mut out: Vec<PoolView> = Vec::with_capacity(pools.len());
    for pool in by_age {
        let mut problem = None;
        let ranges = match pool.ranges() {
            Ok(ranges) => ranges,
            Err(err) => {
                problem = Some(("Malformed".to_string(), err.to_string()));
                Vec::new()
            }
        };
        for (i, a) in ranges.iter().enumerate() {
            if problem.is_some() {
                break;
            }
            if let Some(b) = ranges[..i].iter().find(|b| b.overlaps(a)) {
                problem = Some((
                    "Overlap".to_string(),
                    format!("spec.addresses: {a} overlaps {b} of the same pool"),
                ));
            }
        }
        if problem.is_none() {
            'earlier: for earlier in out.iter().filter(|p| p.usable()) {
                for a in &ranges {
                    if let Some(b) = earlier.ranges.iter().find(|b| b.overlaps(a)) {
                        problem = Some((
                            "Overlap".to_string(),
                            format!(
                                "spec.addresses: {a} overlaps {b} of IPPool {}, which is older; this pool is not used",
                                earlier.name
                            ),
                        ));
                        break 'earlier;
                    }
                }
            }
        }
        out.push(PoolView {
            name: pool.name_any(),
            ranges,
            auto_assign: pool.spec.auto_assign,
            avoid_buggy_ips: pool.spec.avoid_buggy_ips,
            priority: pool.spec.priority,
            allocation: pool.spec.service_allocation.clone(),
            problem,
        });
    }
    out.sort_by(|a, b| {
        (a.priority.is_none(), a.priority, &a.name).cmp(&(
            b.priority.is_none(),
            b.priority,
            &b.name,
        ))
    });
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
    use leifur_api::{Announce, IPPoolSpec, L2Announce};

    pub(crate) fn pool(name: &str, addresses: &[&str], age: i64) -> Arc<IPPool> {
        let mut p = IPPool::new(
            name,
            IPPoolSpec {
                addresses: addresses.iter().map(|s| s.to_string()).collect(),
                auto_assign: true,
                avoid_buggy_ips: false,
                priority: None,
                service_allocation: None,
                announce: Announce {
                    l2: Some(L2Announce::default()),
                    bgp: None,
                },
            },
        );
        p.metadata.creation_timestamp = Some(Time(
            k8s_openapi::jiff::Timestamp::from_second(1_700_000_000 + age).unwrap(),
        ));
        Arc::new(p)
    }

    #[test]
    fn the_later_of_two_overlapping_pools_is_not_used() {
        let pools = view(&[
            pool("b-new", &["192.0.2.128/25"], 2),
            pool("a-old", &["192.0.2.0/24"], 1),
            pool("c", &["198.51.100.0/24"], 3),
        ]);
        let by_name = |n: &str| pools.iter().find(|p| p.name == n).unwrap();
        assert!(by_name("a-old").usable() && by_name("c").usable());
        let (reason, message) = by_name("b-new").problem.clone().unwrap();
        assert_eq!(reason, "Overlap");
        assert!(
            message.contains("192.0.2.128/25 overlaps 192.0.2.0/24 of IPPool a-old"),
            "{message}"
        );
        let inner = view(&[pool("x", &["192.0.2.0/24", "192.0.2.10-192.0.2.20"], 1)]);
        assert!(
            inner[0]
                .problem
                .as_ref()
                .unwrap()
                .1
                .contains("of the same pool")
        );
    }

    #[test]
    fn priority_orders_pools_and_none_comes_last() {
        let mut high = (*pool("z", &["192.0.2.0/24"], 1)).clone();
        high.spec.priority = Some(1);
        let mut low = (*pool("y", &["198.51.100.0/24"], 1)).clone();
        low.spec.priority = Some(5);
        let pools = view(&[
            pool("a", &["203.0.113.0/24"], 1),
            Arc::new(low),
            Arc::new(high),
        ]);
        let names: Vec<_> = pools.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["z", "y", "a"]);
    }

    #[test]
    fn service_allocation_limits_who_may_use_a_pool() {
        let mut p = (*pool("p", &["192.0.2.0/24"], 1)).clone();
        p.spec.service_allocation = Some(ServiceAllocation {
            namespaces: vec!["team-a".into()],
            namespace_selector: None,
            service_selector: Some(LabelSelector {
                match_labels: Some([("tier".to_string(), "web".to_string())].into()),
                match_expressions: None,
            }),
        });
        let v = &view(&[Arc::new(p)])[0];
        let web: BTreeMap<String, String> = [("tier".to_string(), "web".to_string())].into();
        assert!(v.admits("team-a", &web, None));
        assert!(!v.admits("team-b", &web, None));
        assert!(!v.admits("team-a", &BTreeMap::new(), None));
    }
}
