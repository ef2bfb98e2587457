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

/// Runs a candidate that leads until `stop` is notified; returns when it
/// became leader.
fn candidate(
    client: kube::Client,
    config: LeaseConfig,
    stop: Arc<Notify>,
) -> (
    tokio::task::JoinHandle<Result<(), LeaderError>>,
    tokio::sync::oneshot::Receiver<Instant>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        LeaderElector::new(client, config)?
            .run(|_| async move {
                let _ = tx.send(Instant::now());
                stop.notified().await;
            })
            .await
    });
    (task, rx)
}

#[tokio::test]
async fn one_leads_and_a_released_lease_passes_on_at_once() {
    let client = client().await;
    let (stop_a, stop_b) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let (a, a_leads) = candidate(client.clone(), config("handover", "a"), stop_a.clone());
    let a_at = tokio::time::timeout(Duration::from_secs(10), a_leads)
        .await
        .unwrap()
        .unwrap();
    let (b, mut b_leads) = candidate(client.clone(), config("handover", "b"), stop_b.clone());
    // b stays a standby while a renews, for longer than a lease duration.
    tokio::time::sleep(LEASE + RETRY).await;
    assert!(b_leads.try_recv().is_err(), "two leaders at once");
    stop_a.notify_one();
    a.await.unwrap().unwrap();
    let released = Instant::now();
    let b_at = tokio::time::timeout(Duration::from_secs(10), b_leads)
        .await
        .unwrap()
        .unwrap();
    assert!(b_at > a_at);
    assert!(
        b_at - released < LEASE,
        "a released lease is taken at the next retry, not after expiry"
    );
    stop_b.notify_one();
    b.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_standby_takes_over_within_the_lease_duration_when_the_leader_dies() {
    let client = client().await;
    let (a, a_leads) = candidate(
        client.clone(),
        config("failover", "a"),
        Arc::new(Notify::new()),
    );
    tokio::time::timeout(Duration::from_secs(10), a_leads)
        .await
        .unwrap()
        .unwrap();
    let (b, b_leads) = candidate(
        client.clone(),
        config("failover", "b"),
        Arc::new(Notify::new()),
    );
    tokio::time::sleep(RETRY * 2).await;
    // Killed: no release, the lease must expire.
    a.abort();
    let killed = Instant::now();
    let b_at = tokio::time::timeout(Duration::from_secs(20), b_leads)
        .await
        .unwrap()
        .unwrap();
    let took = b_at - killed;
    assert!(took <= LEASE + RETRY * 3, "takeover took {took:?}");
    b.abort();
}

#[tokio::test]
async fn a_deposed_leader_stops_before_anyone_else_leads() {
    let direct = client().await;
    let (proxy, via_proxy) = crdforge_envtest::proxied_client()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));

    let (lost_tx, lost_rx) = tokio::sync::oneshot::channel();
    let (a_leads_tx, a_leads) = tokio::sync::oneshot::channel();
    let a = tokio::spawn(async move {
        let result = LeaderElector::new(via_proxy, config("deposed", "a"))?
            .run(|mut leadership| async move {
                let _ = a_leads_tx.send(());
                leadership.lost().await;
                std::future::pending::<()>().await;
            })
            .await;
        let _ = lost_tx.send(Instant::now());
        result
    });
    tokio::time::timeout(Duration::from_secs(10), a_leads)
        .await
        .unwrap()
        .unwrap();
    let (b, b_leads) = candidate(
        direct.clone(),
        config("deposed", "b"),
        Arc::new(Notify::new()),
    );

    proxy.cut().await;
    let cut = Instant::now();
    let lost_at = tokio::time::timeout(Duration::from_secs(20), lost_rx)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(a.await.unwrap(), Err(LeaderError::Lost(_))));
    assert!(
        lost_at - cut <= RENEW + RETRY * 2,
        "a noticed after {:?}",
        lost_at - cut
    );
    let b_at = tokio::time::timeout(Duration::from_secs(20), b_leads)
        .await
        .unwrap()
        .unwrap();
    assert!(
        lost_at < b_at,
        "the deposed leader stopped before the new one started"
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
    assert!(
        a_stops - stalled <= bound,
        "a noticed the stall after {:?}, more than {bound:?}",
        a_stops - stalled
    );
    let result = tokio::time::timeout(SLACK, a)
        .await
        .expect("run returns once the lead future is dropped")
        .unwrap();
    assert!(matches!(result, Err(LeaderError::Lost(_))), "{result:?}");
    b.abort();
    proxy.restore();
}
