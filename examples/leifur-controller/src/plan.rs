//! What a Service should hold, decided from the Service, the pools and the
//! allocator, without side effects: the reconciler applies the decision.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::Service;
use kube::ResourceExt;
use leifur_api::addresses::{is_buggy, parse_ip};
use leifur_api::{
    ADDRESSES_ANNOTATION, ALLOW_SHARED_IP_ANNOTATION, Family, POOL_ANNOTATION, is_our_class,
};

use crate::allocator::{Allocator, Claim, Port, Traffic};
use crate::pools::PoolView;

/// Reasons of the Events the controller writes on Services.
pub mod reason {
    /// Normal: addresses were written to the Service's status.
    pub const ASSIGNED: &str = "AddressAssigned";
    /// Warning: no pool had a free address of a family the Service needs.
    pub const ALLOCATION_FAILED: &str = "AllocationFailed";
    /// Warning: a requested address cannot be given.
    pub const REQUEST_REFUSED: &str = "RequestedAddressRefused";
    /// Warning: the annotation names a pool that does not exist, is not
    /// usable, or does not admit the Service.
    pub const POOL_REFUSED: &str = "PoolRefused";
    /// Warning: the Service's address is in no pool any more (a pool shrank
    /// or went away); it gets a new one.
    pub const ADDRESS_LEFT_POOL: &str = "AddressLeftPool";
}

/// `spec.ipFamilyPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// One family.
    SingleStack,
    /// Both families if the cluster has them, and, for Leifur, if a pool
    /// can give both; one otherwise.
    PreferDualStack,
    /// Both, or none.
    RequireDualStack,
}

/// What IPAM reads of a Service.
#[derive(Debug, Clone)]
pub struct Facts {
    /// `namespace/name`.
    pub key: String,
    /// Its namespace.
    pub namespace: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// `spec.type == LoadBalancer` and a class that is ours.
    pub ours: bool,
    /// `spec.type == LoadBalancer`.
    pub load_balancer: bool,
    /// `spec.ipFamilies`, in order (IPv4 when unset).
    pub families: Vec<Family>,
    /// `spec.ipFamilyPolicy`.
    pub policy: Policy,
    /// Requested addresses, or why they cannot be read.
    pub requested: Result<Vec<IpAddr>, String>,
    /// The pool the annotation names.
    pub pool: Option<String>,
    /// The sharing claim.
    pub claim: Claim,
    /// `status.loadBalancer.ingress[].ip`, as written.
    pub current: Vec<IpAddr>,
}

impl Facts {
    /// Reads a Service.
    pub fn of(svc: &Service) -> Facts {
        let spec = svc.spec.clone().unwrap_or_default();
        let annotations = svc.annotations();
        let load_balancer = spec.type_.as_deref() == Some("LoadBalancer");
        let families: Vec<Family> = spec
            .ip_families
            .iter()
            .flatten()
            .filter_map(|f| match f.as_str() {
                "IPv4" => Some(Family::V4),
                "IPv6" => Some(Family::V6),
                _ => None,
            })
            .collect();
        let policy = match spec.ip_family_policy.as_deref() {
            Some("PreferDualStack") => Policy::PreferDualStack,
            Some("RequireDualStack") => Policy::RequireDualStack,
            _ => Policy::SingleStack,
        };
        let mut texts: Vec<(&str, String)> = Vec::new();
        if let Some(ip) = spec.load_balancer_ip.as_deref().filter(|s| !s.is_empty()) {
            texts.push(("spec.loadBalancerIP", ip.trim().to_string()));
        }
        if let Some(list) = annotations.get(ADDRESSES_ANNOTATION) {
            for part in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                texts.push((ADDRESSES_ANNOTATION, part.to_string()));
            }
        }
        let requested = texts
            .iter()
            .map(|(field, text)| parse_ip(text, text).map_err(|e| format!("{field}: {e}")))
            .collect::<Result<Vec<IpAddr>, String>>()
            .map(|mut ips| {
                ips.sort();
                ips.dedup();
                ips
            });
        let ports: Vec<Port> = spec
            .ports
            .iter()
            .flatten()
            .map(|p| (p.protocol.clone().unwrap_or_else(|| "TCP".into()), p.port))
            .collect();
        let current = svc
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|i| i.ip.as_deref()?.parse().ok())
            .collect();
        let key = format!("{}/{}", svc.namespace().unwrap_or_default(), svc.name_any());
        Facts {
            claim: Claim {
                key: key.clone(),
                share: annotations
                    .get(ALLOW_SHARED_IP_ANNOTATION)
                    .filter(|s| !s.is_empty())
                    .cloned(),
                ports,
                traffic: match spec.external_traffic_policy.as_deref() {
                    Some("Local") => Traffic::Local {
                        selector: spec.selector.clone().unwrap_or_default(),
                    },
                    _ => Traffic::Cluster,
                },
            },
            key,
            namespace: svc.namespace().unwrap_or_default(),
            labels: svc.labels().clone(),
            ours: load_balancer && is_our_class(spec.load_balancer_class.as_deref()),
            load_balancer,
            families: if families.is_empty() {
                vec![Family::V4]
            } else {
                families
            },
            policy,
            requested,
            pool: annotations
                .get(POOL_ANNOTATION)
                .filter(|s| !s.is_empty())
                .cloned(),
            current,
        }
    }
}

/// What to do with a Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Not a LoadBalancer of ours: forget its addresses.
    NotOurs,
    /// It holds the right addresses (written or to be written).
    Keep(Vec<IpAddr>),
    /// Give it these addresses, with a Warning first when `note` is set.
    Assign {
        /// The addresses, in `spec.ipFamilies` order.
        ips: Vec<IpAddr>,
        /// A Warning Event to write first (reason, message).
        note: Option<(&'static str, String)>,
    },
    /// Change nothing; warn.
    Refuse {
        /// The Event's reason.
        reason: &'static str,
        /// The Event's message.
        message: String,
        /// Whether an address freeing up could change the answer.
        pending: bool,
    },
}

fn refuse(reason: &'static str, message: String, pending: bool) -> Decision {
    Decision::Refuse {
        reason,
        message,
        pending,
    }
}

fn family_name(ip: IpAddr) -> &'static str {
    Family::of(ip).kubernetes_name()
}

/// Decides what `facts`' Service should hold. `pools` are in preference
/// order; `namespace_labels` are the labels of the Service's namespace.
pub fn decide(
    facts: &Facts,
    pools: &[PoolView],
    namespace_labels: Option<&BTreeMap<String, String>>,
    allocator: &Allocator,
) -> Decision {
    if !facts.ours {
        return Decision::NotOurs;
    }
    let requested = match &facts.requested {
        Ok(ips) => ips,
        Err(message) => return refuse(reason::REQUEST_REFUSED, message.clone(), false),
    };
    let admits = |p: &PoolView| p.admits(&facts.namespace, &facts.labels, namespace_labels);
    let candidates: Vec<&PoolView> = match &facts.pool {
        Some(name) => match pools.iter().find(|p| &p.name == name) {
            None => {
                return refuse(
                    reason::POOL_REFUSED,
                    format!("{POOL_ANNOTATION}: there is no IPPool {name}"),
                    true,
                );
            }
            Some(p) if !p.usable() => {
                let why = p.problem.as_ref().map_or("", |(_, m)| m.as_str());
                return refuse(
                    reason::POOL_REFUSED,
                    format!("{POOL_ANNOTATION}: IPPool {name} is not usable: {why}"),
                    true,
                );
            }
            Some(p) if !admits(p) => {
                return refuse(
                    reason::POOL_REFUSED,
                    format!(
                        "{POOL_ANNOTATION}: IPPool {name}'s serviceAllocation does not admit this Service"
                    ),
                    false,
                );
            }
            Some(p) => vec![p],
        },
        None => pools
            .iter()
            .filter(|p| p.usable() && admits(p) && (p.auto_assign || !requested.is_empty()))
            .collect(),
    };
    let pool_of = |ip: IpAddr| candidates.iter().find(|p| p.contains(ip));
    let ordered = |mut ips: Vec<IpAddr>| {
        ips.sort_by_key(|ip| {
            facts
                .families
                .iter()
                .position(|f| *f == Family::of(*ip))
                .unwrap_or(usize::MAX)
        });
        ips
    };

    if !requested.is_empty() {
        for (i, ip) in requested.iter().enumerate() {
            let family = Family::of(*ip);
            if !facts.families.contains(&family) {
                let wanted: Vec<_> = facts.families.iter().map(|f| f.kubernetes_name()).collect();
                return refuse(
                    reason::REQUEST_REFUSED,
                    format!(
                        "{ip} is {} but spec.ipFamilies is [{}]",
                        family_name(*ip),
                        wanted.join(", ")
                    ),
                    false,
                );
            }
            if requested[..i]
                .iter()
                .any(|other| Family::of(*other) == family)
            {
                return refuse(
                    reason::REQUEST_REFUSED,
                    format!("more than one {} address requested", family_name(*ip)),
                    false,
                );
            }
            let Some(pool) = pool_of(*ip) else {
                return refuse(
                    reason::REQUEST_REFUSED,
                    format!("{ip} is in no IPPool this Service may use"),
                    false,
                );
            };
            if pool.avoid_buggy_ips && is_buggy(*ip) {
                return refuse(
                    reason::REQUEST_REFUSED,
                    format!(
                        "{ip} ends in .0 or .255 and IPPool {} avoids those",
                        pool.name
                    ),
                    false,
                );
            }
            if let Err(conflict) = allocator.compatible(*ip, &facts.claim) {
                return refuse(reason::REQUEST_REFUSED, format!("{ip} is {conflict}"), true);
            }
        }
        let ips = ordered(requested.clone());
        return if allocator.assigned(&facts.key) == Some(&ips[..]) {
            Decision::Keep(ips)
        } else {
            Decision::Assign { ips, note: None }
        };
    }

    // What it holds: the allocator's view, or on first sight its status.
    let held: Vec<IpAddr> = allocator
        .assigned(&facts.key)
        .map(<[IpAddr]>::to_vec)
        .unwrap_or_else(|| facts.current.clone());
    let mut kept: Vec<IpAddr> = Vec::new();
    let mut left: Vec<IpAddr> = Vec::new();
    for ip in held {
        let family = Family::of(ip);
        let fits = facts.families.contains(&family)
            && !kept.iter().any(|k| Family::of(*k) == family)
            && pool_of(ip).is_some_and(|p| !(p.avoid_buggy_ips && is_buggy(ip)))
            && allocator.compatible(ip, &facts.claim).is_ok();
        if fits {
            kept.push(ip);
        } else if facts.families.contains(&family) && pool_of(ip).is_none() {
            left.push(ip);
        }
    }
    let missing: Vec<Family> = facts
        .families
        .iter()
        .copied()
        .filter(|f| !kept.iter().any(|k| Family::of(*k) == *f))
        .collect();
    let note = (!left.is_empty()).then(|| {
        let list: Vec<String> = left.iter().map(ToString::to_string).collect();
        (
            reason::ADDRESS_LEFT_POOL,
            format!(
                "{} is in no IPPool this Service may use any more; a new address is allocated",
                list.join(", ")
            ),
        )
    });
    if missing.is_empty() {
        let ips = ordered(kept);
        return if allocator.assigned(&facts.key) == Some(&ips[..]) && note.is_none() {
            Decision::Keep(ips)
        } else {
            Decision::Assign { ips, note }
        };
    }

    // Allocate: one pool for every missing family if one can, else each
    // family from the first pool that has it.
    let from = |pool: &PoolView, family: Family| {
        pool.ranges
            .iter()
            .filter(|r| r.family() == family)
            .find_map(|r| allocator.first_free(r, pool.avoid_buggy_ips, &facts.claim))
    };
    let together = candidates.iter().find_map(|pool| {
        missing
            .iter()
            .map(|f| from(pool, *f))
            .collect::<Option<Vec<IpAddr>>>()
    });
    let fresh: Vec<IpAddr> = together.unwrap_or_else(|| {
        missing
            .iter()
            .filter_map(|f| candidates.iter().find_map(|pool| from(pool, *f)))
            .collect()
    });
    let got_all = fresh.len() == missing.len();
    let partial_ok =
        facts.policy == Policy::PreferDualStack && !(kept.is_empty() && fresh.is_empty());
    if !got_all && !partial_ok {
        let names: Vec<&str> = candidates.iter().map(|p| p.name.as_str()).collect();
        let lacking: Vec<&str> = missing
            .iter()
            .filter(|f| !fresh.iter().any(|ip| Family::of(*ip) == **f))
            .map(|f| f.kubernetes_name())
            .collect();
        let message = if candidates.is_empty() {
            "no usable IPPool with autoAssign admits this Service".to_string()
        } else {
            format!(
                "no free {} address in IPPool {}",
                lacking.join(" or "),
                names.join(", ")
            )
        };
        return refuse(reason::ALLOCATION_FAILED, message, true);
    }
    kept.extend(fresh);
    let ips = ordered(kept);
    if allocator.assigned(&facts.key) == Some(&ips[..]) && note.is_none() {
        return Decision::Keep(ips);
    }
    Decision::Assign { ips, note }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pools::{tests::pool, view};
    use k8s_openapi::api::core::v1::{
        LoadBalancerIngress, LoadBalancerStatus, ServicePort, ServiceSpec, ServiceStatus,
    };

    fn svc(name: &str) -> Service {
        Service {
            metadata: kube::api::ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                ..Default::default()
            },
            spec: Some(ServiceSpec {
                type_: Some("LoadBalancer".into()),
                ip_families: Some(vec!["IPv4".into()]),
                ports: Some(vec![ServicePort {
                    port: 80,
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn with_status(mut s: Service, ips: &[&str]) -> Service {
        s.status = Some(ServiceStatus {
            load_balancer: Some(LoadBalancerStatus {
                ingress: Some(
                    ips.iter()
                        .map(|ip| LoadBalancerIngress {
                            ip: Some(ip.to_string()),
                            ..Default::default()
                        })
                        .collect(),
                ),
            }),
            ..Default::default()
        });
        s
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn assign(d: Decision) -> Vec<IpAddr> {
        match d {
            Decision::Assign { ips, .. } => ips,
            other => panic!("expected an assignment, got {other:?}"),
        }
    }

    #[test]
    fn a_new_service_gets_the_first_free_address_and_keeps_it() {
        let pools = view(&[pool("p", &["192.0.2.0/30"], 1)]);
        let mut alloc = Allocator::new();
        let f = Facts::of(&svc("a"));
        let ips = assign(decide(&f, &pools, None, &alloc));
        assert_eq!(ips, [ip("192.0.2.0")]);
        alloc.assign(f.claim.clone(), ips.clone());
        assert_eq!(decide(&f, &pools, None, &alloc), Decision::Keep(ips));
    }

    #[test]
    fn exhaustion_refuses_and_is_pending() {
        let pools = view(&[pool("p", &["192.0.2.0/31"], 1)]);
        let mut alloc = Allocator::new();
        for name in ["a", "b"] {
            let f = Facts::of(&svc(name));
            let ips = assign(decide(&f, &pools, None, &alloc));
            alloc.assign(f.claim.clone(), ips);
        }
        match decide(&Facts::of(&svc("c")), &pools, None, &alloc) {
            Decision::Refuse {
                reason,
                pending,
                message,
            } => {
                assert_eq!(reason, reason::ALLOCATION_FAILED);
                assert!(pending);
                assert!(
                    message.contains("no free IPv4 address in IPPool p"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        alloc.release("ns/a");
        assert_eq!(
            assign(decide(&Facts::of(&svc("c")), &pools, None, &alloc)),
            [ip("192.0.2.0")]
        );
    }

    #[test]
    fn a_restart_keeps_what_the_status_says() {
        let pools = view(&[pool("p", &["192.0.2.0/24"], 1)]);
        let alloc = Allocator::new();
        let f = Facts::of(&with_status(svc("a"), &["192.0.2.77"]));
        assert_eq!(assign(decide(&f, &pools, None, &alloc)), [ip("192.0.2.77")]);
    }

    #[test]
    fn requested_addresses_are_honoured_or_refused() {
        let pools = view(&[pool("p", &["192.0.2.0/24"], 1)]);
        let mut alloc = Allocator::new();
        let mut s = svc("a");
        s.spec.as_mut().unwrap().load_balancer_ip = Some("192.0.2.50".into());
        assert_eq!(
            assign(decide(&Facts::of(&s), &pools, None, &alloc)),
            [ip("192.0.2.50")]
        );
        alloc.assign(Facts::of(&s).claim, vec![ip("192.0.2.50")]);
        let mut b = svc("b");
        b.metadata.annotations =
            Some([(ADDRESSES_ANNOTATION.to_string(), "192.0.2.50".to_string())].into());
        let Decision::Refuse { message, .. } = decide(&Facts::of(&b), &pools, None, &alloc) else {
            panic!()
        };
        assert_eq!(message, "192.0.2.50 is in use by ns/a");
        b.metadata.annotations =
            Some([(ADDRESSES_ANNOTATION.to_string(), "203.0.113.9".to_string())].into());
        let Decision::Refuse { message, .. } = decide(&Facts::of(&b), &pools, None, &alloc) else {
            panic!()
        };
        assert_eq!(message, "203.0.113.9 is in no IPPool this Service may use");
        b.metadata.annotations =
            Some([(ADDRESSES_ANNOTATION.to_string(), "192.0.2.300".to_string())].into());
        let Decision::Refuse { message, .. } = decide(&Facts::of(&b), &pools, None, &alloc) else {
            panic!()
        };
        assert!(
            message.contains("`192.0.2.300` is not an IP address"),
            "{message}"
        );
    }

    #[test]
    fn dual_stack_takes_one_address_per_family() {
        let pools = view(&[pool("p", &["192.0.2.0/24", "2001:db8::/120"], 1)]);
        let alloc = Allocator::new();
        let mut s = svc("a");
        let spec = s.spec.as_mut().unwrap();
        spec.ip_families = Some(vec!["IPv6".into(), "IPv4".into()]);
        spec.ip_family_policy = Some("RequireDualStack".into());
        assert_eq!(
            assign(decide(&Facts::of(&s), &pools, None, &alloc)),
            [ip("2001:db8::"), ip("192.0.2.0")]
        );
        let v4_only = view(&[pool("p", &["192.0.2.0/24"], 1)]);
        assert!(matches!(
            decide(&Facts::of(&s), &v4_only, None, &alloc),
            Decision::Refuse { .. }
        ));
        s.spec.as_mut().unwrap().ip_family_policy = Some("PreferDualStack".into());
        assert_eq!(
            assign(decide(&Facts::of(&s), &v4_only, None, &alloc)),
            [ip("192.0.2.0")]
        );
    }

    #[test]
    fn an_address_that_left_its_pool_is_replaced_with_a_warning() {
        let pools = view(&[pool("p", &["192.0.2.0/28"], 1)]);
        let mut alloc = Allocator::new();
        let s = svc("a");
        alloc.assign(Facts::of(&s).claim, vec![ip("192.0.2.200")]);
        match decide(&Facts::of(&s), &pools, None, &alloc) {
            Decision::Assign {
                ips,
                note: Some((r, m)),
            } => {
                assert_eq!(ips, [ip("192.0.2.0")]);
                assert_eq!(r, reason::ADDRESS_LEFT_POOL);
                assert!(m.starts_with("192.0.2.200 is in no IPPool"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_classes_and_types_are_not_ours() {
        let pools = view(&[pool("p", &["192.0.2.0/24"], 1)]);
        let mut s = svc("a");
        s.spec.as_mut().unwrap().load_balancer_class = Some("example.com/other".into());
        assert_eq!(
            decide(&Facts::of(&s), &pools, None, &Allocator::new()),
            Decision::NotOurs
        );
        let mut s = svc("a");
        s.spec.as_mut().unwrap().type_ = Some("ClusterIP".into());
        assert_eq!(
            decide(&Facts::of(&s), &pools, None, &Allocator::new()),
            Decision::NotOurs
        );
    }
}
