//! Leader election on a real apiserver, with short timings.

use std::sync::Arc;
use std::time::Duration;

use crdforge_runtime::leader::{LeaderElector, LeaderError, LeaseConfig};

use tokio::sync::Notify;
use tokio::time::Instant;

const LEASE: Duration = Duration::from_secs(4);
const RENEW: Duration = Duration::from_secs(2);
const RETRY: Duration = Duration::from_millis(500);

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
