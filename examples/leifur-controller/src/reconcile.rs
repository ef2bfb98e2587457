//! The two kinds of work: one Service (decide, then write its status), and
//! one pool's status (counts and the `Valid` condition). Both read only the
//! informer cache and the allocator, are idempotent, and write only what
//! differs, so a restart with nothing changed writes nothing.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crdforge_runtime::client::TypedClient;
use crdforge_runtime::controller::Action;
use crdforge_runtime::lister::Lister;
use crdforge_runtime::workqueue::RateLimitingQueue;
use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::ResourceExt;
use kube::api::Patch;
use leifur_api::{Family, IPPool, IPPoolStatus};
use serde_json::json;

use crate::allocator::Allocator;
use crate::events::Recorder;
use crate::metrics::IpamMetrics;
use crate::plan::{self, Decision, Facts, reason};
use crate::pools::{self, PoolView};

/// A unit of work in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// The Service `namespace/name`.
    Service(String),
    /// The status of the IPPool of this name.
    Pool(String),
}

/// How long pool status writes wait to coalesce a burst of allocations.
pub const POOL_STATUS_DELAY: Duration = Duration::from_millis(500);

/// Everything the work needs.
pub struct Context {
    /// Every Service.
    pub services: Lister<Service>,
    /// Every IPPool.
    pub pools: Lister<IPPool>,
    /// Every Namespace (for `namespaceSelector`).
    pub namespaces: Lister<Namespace>,
    /// Writes Service status.
    pub service_client: TypedClient<Service>,
    /// Writes IPPool status.
    pub pool_client: TypedClient<IPPool>,
    /// Events on Services.
    pub recorder: Recorder,
    /// Who holds what.
    pub allocator: Mutex<Allocator>,
    /// Services waiting for an address to free up.
    pub pending: Mutex<BTreeSet<String>>,
    /// The queue, to wake pending Services and refresh pool status.
    pub queue: RateLimitingQueue<Key>,
    /// What `/metrics` reports.
    pub metrics: IpamMetrics,
}

/// Why a piece of work failed. Transient: the key goes back to the
/// rate-limited queue.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The apiserver refused or failed a request (a 409 Conflict means the
    /// cache was behind; the retry sees the newer object).
    #[error("{action}: {source}")]
    Kube {
        /// What was being done.
        action: &'static str,
        /// The error.
        source: kube::Error,
    },
}

impl Context {
    fn allocator(&self) -> std::sync::MutexGuard<'_, Allocator> {
        self.allocator
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues every Service waiting for an address.
    pub fn wake_pending(&self) {
        let waiting =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        for key in waiting {
            self.queue.queue().add(Key::Service(key));
        }
    }

    /// Queues every pool's status, after a short delay that coalesces a
    /// burst of allocations into one write per pool.
    pub fn refresh_pools(&self) {
        for pool in self.pools.store().list() {
            self.queue
                .queue()
                .add_after(Key::Pool(pool.name_any()), POOL_STATUS_DELAY);
        }
    }

    /// The pools, parsed and judged.
    pub fn pool_views(&self) -> Vec<PoolView> {
        pools::view(&self.pools.store().list())
    }

    /// Indexes every Service's status, oldest Service first (so of two
    /// Services claiming one address without sharing, the older keeps it);
    /// run once the cache has synced and before any allocation.
    pub fn seed(&self) -> usize {
        let mut services = self.services.store().list();
        services.sort_by(|a, b| {
            let key = |s: &Service| {
                (
                    s.metadata.creation_timestamp.as_ref().map(|t| t.0),
                    s.namespace(),
                    s.name_any(),
                )
            };
            key(a).cmp(&key(b))
        });
        let mut allocator = self.allocator();
        let mut seeded = 0;
        for svc in services {
            let facts = Facts::of(&svc);
            if !facts.ours || facts.current.is_empty() {
                continue;
            }
            if facts
                .current
                .iter()
                .all(|ip| allocator.compatible(*ip, &facts.claim).is_ok())
            {
                allocator.assign(facts.claim.clone(), facts.current.clone());
                seeded += 1;
            }
        }
        self.metrics
            .services
            .set(allocator.services().count() as i64);
        seeded
    }
}

/// Does one unit of work.
pub async fn reconcile(key: Key, ctx: Arc<Context>) -> Result<Action, Error> {
    match key {
        Key::Service(key) => reconcile_service(&key, &ctx).await,
        Key::Pool(name) => reconcile_pool(&name, &ctx).await,
    }
}

fn service_of(ctx: &Context, key: &str) -> Option<Arc<Service>> {
    let (namespace, name) = key.split_once('/')?;
    ctx.services.namespace(namespace).get(name)
}

async fn reconcile_service(key: &str, ctx: &Context) -> Result<Action, Error> {
    let Some(svc) = service_of(ctx, key) else {
        release(ctx, key);
        ctx.recorder.forget(key);
        return Ok(Action::Done);
    };
    let facts = Facts::of(&svc);
    let pools = ctx.pool_views();
    let namespace_labels = ctx
        .namespaces
        .get(&facts.namespace)
        .map(|ns| ns.labels().clone());
    // Decide and record under one lock, so two workers never pick one
    // address; the lock is never held across an await.
    let (decision, replaced) = {
        let mut allocator = ctx.allocator();
        let decision = plan::decide(&facts, &pools, namespace_labels.as_ref(), &allocator);
        let replaced = match &decision {
            Decision::Assign { ips, .. } => {
                Some(allocator.assign(facts.claim.clone(), ips.clone()))
            }
            Decision::Keep(ips) if allocator.assigned(key) != Some(&ips[..]) => {
                Some(allocator.assign(facts.claim.clone(), ips.clone()))
            }
            Decision::Refuse { pending: true, .. } => {
                ctx.pending
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(key.to_string());
                None
            }
            _ => None,
        };
        ctx.metrics
            .services
            .set(allocator.services().count() as i64);
        (decision, replaced)
    };
    match decision {
        Decision::NotOurs => {
            release(ctx, key);
            // Leifur wrote what a Service that stopped being a LoadBalancer
            // still shows; take it back (a Service of another class is
            // another controller's to write).
            if !facts.load_balancer && !facts.current.is_empty() {
                write_status(ctx, &svc, &[]).await?;
            }
        }
        Decision::Keep(ips) => {
            if facts.current != ips
                && let Err(err) = write_status(ctx, &svc, &ips).await
            {
                if let Some(replaced) = replaced {
                    ctx.allocator().restore(replaced);
                }
                return Err(err);
            }
            if replaced.is_some() {
                ctx.refresh_pools();
            }
        }
        Decision::Assign { ips, note } => {
            if let Some((reason, message)) = &note {
                ctx.recorder.publish(&svc, "Warning", reason, message).await;
            }
            if let Err(err) = write_status(ctx, &svc, &ips).await {
                if let Some(replaced) = replaced {
                    ctx.allocator().restore(replaced);
                }
                return Err(err);
            }
            ctx.metrics.allocations.inc();
            let list: Vec<String> = ips.iter().map(ToString::to_string).collect();
            let pools: Vec<&str> = ips
                .iter()
                .filter_map(|ip| pools.iter().find(|p| p.contains(*ip)))
                .map(|p| p.name.as_str())
                .collect();
            tracing::info!(service = %key, addresses = %list.join(","), "assigned");
            ctx.recorder
                .publish(
                    &svc,
                    "Normal",
                    reason::ASSIGNED,
                    &format!("{} from IPPool {}", list.join(", "), pools.join(", ")),
                )
                .await;
            // Addresses it gave up may be what a pending Service waits for.
            ctx.wake_pending();
            ctx.refresh_pools();
        }
        Decision::Refuse {
            reason, message, ..
        } => {
            ctx.metrics
                .refusals
                .get_or_create(&vec![("reason".to_string(), reason.to_string())])
                .inc();
            tracing::info!(service = %key, %reason, %message, "refused");
            ctx.recorder
                .publish(&svc, "Warning", reason, &message)
                .await;
        }
    }
    Ok(Action::Done)
}

/// Forgets a Service's addresses; wakes those waiting when some freed.
fn release(ctx: &Context, key: &str) {
    let freed = {
        let mut allocator = ctx.allocator();
        let had = allocator.assigned(key).is_some();
        let freed = allocator.release(key);
        ctx.metrics
            .services
            .set(allocator.services().count() as i64);
        had.then_some(freed)
    };
    ctx.pending
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(key);
    if let Some(freed) = freed {
        ctx.metrics.releases.inc();
        tracing::info!(service = %key, freed = freed.len(), "released");
        ctx.wake_pending();
        ctx.refresh_pools();
    }
}

/// Writes `status.loadBalancer.ingress` with the cached resourceVersion
/// as a precondition: if the Service changed since the cache saw it, the
/// apiserver answers 409 and nothing is written.
async fn write_status(ctx: &Context, svc: &Service, ips: &[IpAddr]) -> Result<(), Error> {
    let ingress: Vec<_> = ips.iter().map(|ip| json!({"ip": ip.to_string()})).collect();
    let patch = json!({
        "metadata": {"resourceVersion": svc.resource_version()},
        "status": {"loadBalancer": if ingress.is_empty() { json!({}) } else { json!({"ingress": ingress}) }},
    });
    let patch = if ingress.is_empty() {
        // A merge patch cannot empty a list by sending none: null removes it.
        json!({
            "metadata": {"resourceVersion": svc.resource_version()},
            "status": {"loadBalancer": {"ingress": null}},
        })
    } else {
        patch
    };
    ctx.service_client
        .namespace(&svc.namespace().unwrap_or_default())
        .patch_status(&svc.name_any(), &Patch::Merge(&patch))
        .await
        .map_err(|source| Error::Kube {
            action: "writing the Service's status",
            source,
        })?;
    Ok(())
}

/// Saturating conversion of a count for the status and metrics.
fn count(n: u128) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

async fn reconcile_pool(name: &str, ctx: &Context) -> Result<Action, Error> {
    let Some(pool) = ctx.pools.get(name) else {
        for family in ["IPv4", "IPv6"] {
            for state in ["assigned", "available"] {
                ctx.metrics
                    .pool_addresses
                    .remove(&pool_labels(name, family, state));
            }
        }
        return Ok(Action::Done);
    };
    let views = ctx.pool_views();
    let Some(view) = views.iter().find(|p| p.name == name) else {
        return Ok(Action::Done);
    };
    let (mut assigned, mut usable) = ([0u128; 2], [0u128; 2]);
    {
        let allocator = ctx.allocator();
        for range in &view.ranges {
            let i = usize::from(range.family() == Family::V6);
            assigned[i] += allocator.held_in(range);
            usable[i] = usable[i].saturating_add(range.usable(view.avoid_buggy_ips));
        }
    }
    let available = |i: usize| {
        if view.usable() {
            usable[i].saturating_sub(assigned[i])
        } else {
            0
        }
    };
    for (i, family) in ["IPv4", "IPv6"].into_iter().enumerate() {
        ctx.metrics
            .pool_addresses
            .get_or_create(&pool_labels(name, family, "assigned"))
            .set(count(assigned[i]));
        ctx.metrics
            .pool_addresses
            .get_or_create(&pool_labels(name, family, "available"))
            .set(count(available(i)));
    }
    let (status, reason, message) = match &view.problem {
        None => (
            "True",
            "Valid",
            "every entry parses and overlaps no other pool".to_string(),
        ),
        Some((reason, message)) => ("False", reason.as_str(), message.clone()),
    };
    let old = pool.status.clone().unwrap_or_default();
    let previous = old.conditions.iter().find(|c| c.type_ == "Valid");
    let unchanged =
        previous.is_some_and(|c| c.status == status && c.reason == reason && c.message == message);
    let condition = Condition {
        type_: "Valid".into(),
        status: status.into(),
        reason: reason.into(),
        message,
        observed_generation: pool.metadata.generation,
        last_transition_time: match previous {
            Some(c) if unchanged => c.last_transition_time.clone(),
            _ => Time(k8s_openapi::jiff::Timestamp::now()),
        },
    };
    let has = |i: usize| {
        view.ranges
            .iter()
            .any(|r| usize::from(r.family() == Family::V6) == i)
    };
    let new = IPPoolStatus {
        conditions: vec![condition],
        assigned_ipv4: has(0).then(|| count(assigned[0])),
        assigned_ipv6: has(1).then(|| count(assigned[1])),
        available_ipv4: has(0).then(|| count(available(0))),
        available_ipv6: has(1).then(|| count(available(1))),
    };
    let same = old.conditions.len() == 1
        && unchanged
        && previous.and_then(|c| c.observed_generation) == pool.metadata.generation
        && (
            old.assigned_ipv4,
            old.assigned_ipv6,
            old.available_ipv4,
            old.available_ipv6,
        ) == (
            new.assigned_ipv4,
            new.assigned_ipv6,
            new.available_ipv4,
            new.available_ipv6,
        );
    if same {
        return Ok(Action::Done);
    }
    // A merge patch keeps keys it does not name: a count that no longer
    // applies (the pool lost its IPv6 entries) is removed with a null.
    let mut body = serde_json::to_value(&new).unwrap_or_default();
    for field in [
        "assignedIPv4",
        "assignedIPv6",
        "availableIPv4",
        "availableIPv6",
    ] {
        body.as_object_mut()
            .map(|o| o.entry(field).or_insert(serde_json::Value::Null));
    }
    let patch = json!({
        "metadata": {"resourceVersion": pool.resource_version()},
        "status": body,
    });
    ctx.pool_client
        .cluster()
        .patch_status(name, &Patch::Merge(&patch))
        .await
        .map_err(|source| Error::Kube {
            action: "writing the IPPool's status",
            source,
        })?;
    Ok(Action::Done)
}

fn pool_labels(pool: &str, family: &str, state: &str) -> Vec<(String, String)> {
    vec![
        ("pool".into(), pool.into()),
        ("family".into(), family.into()),
        ("state".into(), state.into()),
    ]
}
