//! Leader election on a real apiserver, with short timings.

use std::sync::Arc;
use std::time::Duration;

use crdforge_runtime::leader::{LeaderElector, LeaderError, LeaseConfig};

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

const LEASE: Duration = Duration::from_secs(4);
const RENEW: Duration = Duration::from_secs(2);
const RETRY: Duration = Duration::from_millis(500);
/// Added to every bound derived from the timings above: scheduling delay and
/// apiserver latency on a loaded two-core machine, where a test shares the
/// cores with a build. No bound below is a property in itself; each test says
/// which ordering is the property.
const SLACK: Duration = Duration::from_secs(2);

fn config(lease: &str, identity: &str) -> LeaseConfig {
    LeaseConfig {
        lease_duration: LEASE,
        renew_deadline: RENEW,
        retry_period: RETRY,
        ..LeaseConfig::new("default", lease, identity)
    }
}

async fn client() -> kube::Client {
    crdforge_envtest::client()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
}

/// Prints how close a measured duration came to its bound, then checks it.
#[track_caller]
fn within(what: &str, took: Duration, bound: Duration) {
    eprintln!(
        "{what}: {took:?} of a {bound:?} bound ({:.0}%)",
        took.as_secs_f64() * 100.0 / bound.as_secs_f64()
    );
    assert!(
        took <= bound,
        "{what} took {took:?}, over its {bound:?} bound"
    );
}

#[tokio::test]
async fn one_leads_and_a_released_lease_passes_on_at_once() {
    let client = client().await;
    let timeline = Timeline::new();
    let (stop_a, stop_b) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let a = recorded_candidate(
        client.clone(),
        config("handover", "a"),
        "a",
        timeline.clone(),
        stop_a.clone(),
    );
    timeline
        .wait("a", Edge::Leads, Duration::from_secs(10))
        .await;
    let b = recorded_candidate(
        client.clone(),
        config("handover", "b"),
        "b",
        timeline.clone(),
        stop_b.clone(),
    );
    // b stays a standby while a renews, for longer than a lease duration.
    tokio::time::sleep(LEASE + RETRY).await;
    assert_eq!(timeline.at("b", Edge::Leads), None, "two leaders at once");
    stop_a.notify_one();
    a.await.unwrap().unwrap();
    let released = Instant::now();
    let b_leads = timeline
        .wait("b", Edge::Leads, Duration::from_secs(10))
        .await;
    let a_stops = timeline.at("a", Edge::Stops).expect("a finished");
    assert!(a_stops < b_leads, "b led before a stopped");
    // Released, the lease is free: b takes it at its next retry. Had a not
    // released it, b would wait for it to expire, at least LEASE - RETRY
    // after the release (a renewed at most RETRY before it), so the bound
    // must stay below that.
    let bound = RETRY + SLACK;
    assert!(
        bound < LEASE - RETRY,
        "the bound no longer tells release from expiry"
    );
    within("hand-over after release", b_leads - released, bound);
    stop_b.notify_one();
    b.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_standby_takes_over_within_the_lease_duration_when_the_leader_dies() {
    let client = client().await;
    let timeline = Timeline::new();
    let never = Arc::new(Notify::new());
    let a = recorded_candidate(
        client.clone(),
        config("failover", "a"),
        "a",
        timeline.clone(),
        never.clone(),
    );
    timeline
        .wait("a", Edge::Leads, Duration::from_secs(10))
        .await;
    let b = recorded_candidate(
        client.clone(),
        config("failover", "b"),
        "b",
        timeline.clone(),
        never.clone(),
    );
    tokio::time::sleep(RETRY * 2).await;
    // Killed: no release, the lease must expire.
    a.abort();
    let killed = Instant::now();
    let b_leads = timeline.wait("b", Edge::Leads, LEASE * 4 + SLACK).await;
    // a's last renew was written before the kill; b reads it within a retry
    // and takes over at the first retry a whole lease duration later.
    within(
        "takeover after a kill",
        b_leads - killed,
        LEASE + RETRY * 2 + SLACK,
    );
    b.abort();
}

#[tokio::test]
async fn a_deposed_leader_stops_before_anyone_else_leads() {
    let direct = client().await;
    let (proxy, via_proxy) = crdforge_envtest::proxied_client()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let timeline = Timeline::new();
    let never = Arc::new(Notify::new());
    let a = recorded_candidate(
        via_proxy,
        config("deposed", "a"),
        "a",
        timeline.clone(),
        never.clone(),
    );
    timeline
        .wait("a", Edge::Leads, Duration::from_secs(10))
        .await;
    let b = recorded_candidate(
        direct,
        config("deposed", "b"),
        "b",
        timeline.clone(),
        never.clone(),
    );

    proxy.cut().await;
    let cut = Instant::now();
    let a_stops = timeline.wait("a", Edge::Stops, LEASE * 4 + SLACK).await;
    assert!(matches!(a.await.unwrap(), Err(LeaderError::Lost(_))));
    // a's last renew was sent before the cut: it gives up RENEW after that.
    within(
        "a deposed leader noticing a cut",
        a_stops - cut,
        RENEW + SLACK,
    );
    let b_leads = timeline.wait("b", Edge::Leads, LEASE * 4 + SLACK).await;
    eprintln!("b led {:?} after a stopped", b_leads - a_stops);
    assert!(
        a_stops < b_leads,
        "split brain: b led {:?} before a stopped",
        a_stops - b_leads
    );
    b.abort();
}

/// A change in who leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    Leads,
    Stops,
}

/// When each candidate's lead future started and when it ended (finished or
/// was dropped). Recorded by the lead future and a guard it owns; compared
/// only by the test body, since nothing asserted inside the supervised
/// future could fail the test.
#[derive(Clone)]
struct Timeline(watch::Sender<Vec<(&'static str, Edge, Instant)>>);

impl Timeline {
    fn new() -> Self {
        Self(watch::channel(Vec::new()).0)
    }

    fn record(&self, who: &'static str, edge: Edge) {
        self.0.send_modify(|t| t.push((who, edge, Instant::now())));
    }

    fn at(&self, who: &'static str, edge: Edge) -> Option<Instant> {
        self.0
            .borrow()
            .iter()
            .find(|(w, e, _)| *w == who && *e == edge)
            .map(|(_, _, at)| *at)
    }

    /// Waits up to `within` for `who` to reach `edge`.
    async fn wait(&self, who: &'static str, edge: Edge, within: Duration) -> Instant {
        let mut rx = self.0.subscribe();
        tokio::time::timeout(
            within,
            rx.wait_for(|t| t.iter().any(|(w, e, _)| *w == who && *e == edge)),
        )
        .await
        .unwrap_or_else(|_| panic!("{who} did not reach {edge:?} within {within:?}"))
        .expect("the timeline lives as long as the test");
        self.at(who, edge).expect("just seen")
    }
}

/// Records [`Edge::Stops`] when the lead future ends, however it ends.
struct StopsOnDrop(Timeline, &'static str);

impl Drop for StopsOnDrop {
    fn drop(&mut self) {
        self.0.record(self.1, Edge::Stops);
    }
}

/// Runs a candidate `who` that leads until `stop` is notified, recording its
/// transitions in `timeline`.
fn recorded_candidate(
    client: kube::Client,
    config: LeaseConfig,
    who: &'static str,
    timeline: Timeline,
    stop: Arc<Notify>,
) -> tokio::task::JoinHandle<Result<(), LeaderError>> {
    tokio::spawn(async move {
        LeaderElector::new(client, config)?
            .run(|_| async move {
                timeline.record(who, Edge::Leads);
                let _stops = StopsOnDrop(timeline, who);
                stop.notified().await;
            })
            .await
    })
}

/// An apiserver that accepts the renew and never answers must not keep the
/// old leader leading: it gives up at its renew deadline, before the standby
/// can have seen the lease unrenewed for a whole lease duration.
#[tokio::test]
async fn a_leader_on_a_stalled_apiserver_stops_before_anyone_else_leads() {
    let direct = client().await;
    let (proxy, via_proxy) = crdforge_envtest::proxied_client()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let timeline = Timeline::new();
    let never = Arc::new(Notify::new());
    let a = recorded_candidate(
        via_proxy,
        config("stalled", "a"),
        "a",
        timeline.clone(),
        never.clone(),
    );
    timeline
        .wait("a", Edge::Leads, Duration::from_secs(10))
        .await;
    let b = recorded_candidate(
        direct,
        config("stalled", "b"),
        "b",
        timeline.clone(),
        never.clone(),
    );
    // b has read the lease as a's and stays a standby.
    tokio::time::sleep(RETRY * 2).await;
    assert_eq!(timeline.at("b", Edge::Leads), None, "two leaders at once");

    proxy.stall();
    let stalled = Instant::now();
    // Generous: this only waits for the takeover; the bounds are below.
    let b_leads = timeline.wait("b", Edge::Leads, LEASE * 4 + SLACK).await;
    let Some(a_stops) = timeline.at("a", Edge::Stops) else {
        panic!(
            "split brain: b leads {:?} after the stall while a still leads",
            b_leads - stalled
        );
    };
    // a's last renew was sent before the stall, so its deadline is at most
    // RENEW after it.
    let bound = RENEW + SLACK;
    eprintln!(
        "stalled: a stopped {:?} after the stall (bound {bound:?}); b led {:?} after a stopped \
         (must be after; at least LEASE - RENEW = {:?} without delays)",
        a_stops - stalled,
        b_leads.saturating_duration_since(a_stops),
        LEASE - RENEW,
    );
    assert!(
        a_stops < b_leads,
        "split brain: a stopped {:?} after b began leading",
        a_stops - b_leads
    );
    within("a leader noticing a stall", a_stops - stalled, bound);
    let result = tokio::time::timeout(SLACK, a)
        .await
        .expect("run returns once the lead future is dropped")
        .unwrap();
    assert!(matches!(result, Err(LeaderError::Lost(_))), "{result:?}");
    b.abort();
    proxy.restore();
}
