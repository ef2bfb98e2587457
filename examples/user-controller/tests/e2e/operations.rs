//! Running the controller as users would: two replicas with leader
//! election, under its generated RBAC and fence, and shutting down
//! gracefully.

use std::time::{Duration, Instant};

use kube::api::{Api, PostParams};
use user_controller::api::{Role, User};

use crate::harness::*;

#[tokio::test]
async fn a_standby_replica_takes_over_within_the_lease_duration() {
    let _serial = SERIAL.lock().await;
    let client = client().await;
    let users: Api<User> = Api::all(client.clone());
    let dir = test_dir("failover");
    let leader_options = |id: &str| ControllerOptions {
        leader: Some(id.into()),
        ..Default::default()
    };
    let mut a = ControllerProcess::start(&dir, &leader_options("replica-a"));
    a.wait_ready().await;
    // a is alone, so it leads; b starts as a standby.
    users
        .create(&PostParams::default(), &user("lf-ivan").build())
        .await
        .unwrap();
    wait_ready(&users, "lf-ivan", "True", "Provisioned").await;
    let b = ControllerProcess::start(&dir, &leader_options("replica-b"));
    b.wait_ready().await;
    users
        .create(
            &PostParams::default(),
            &user("lf-judy").role(Role::Edit).build(),
        )
        .await
        .unwrap();
    wait_ready(&users, "lf-judy", "True", "Provisioned").await;
    assert_eq!(
        b.metric("controller_runtime_reconcile_total").await,
        0.0,
        "the standby must not reconcile"
    );

    a.kill();
    let killed = Instant::now();
    users
        .create(&PostParams::default(), &user("lf-kim").build())
        .await
        .unwrap();
    wait_ready(&users, "lf-kim", "True", "Provisioned").await;
    let took = killed.elapsed();
    // The standby reads a's last renew within a retry and takes the lease a
    // lease duration later, at its next retry; then it syncs its caches and
    // reconciles, which on a loaded two-core machine takes up to
    // SYNC_AND_RECONCILE (about 1 s unloaded).
    const SYNC_AND_RECONCILE: Duration = Duration::from_secs(7);
    let bound = LEASE + RETRY * 2 + SYNC_AND_RECONCILE;
    eprintln!(
        "takeover: {took:?} of a {bound:?} bound ({:.0}%)",
        took.as_secs_f64() * 100.0 / bound.as_secs_f64()
    );
    assert!(
        took <= bound,
        "takeover took {took:?}, over its {bound:?} bound\n{}",
        b.log_text()
    );
    assert!(b.metric("controller_runtime_reconcile_total").await > 0.0);
    delete_users(&users, &["lf-ivan", "lf-judy", "lf-kim"]).await;
}

#[tokio::test]
async fn the_controller_works_under_exactly_its_generated_rbac() {
    let _serial = SERIAL.lock().await;
    let client = client().await;
    let dir = test_dir("rbac");
    // Every controller of this suite runs as the generated ServiceAccount
    // behind the fence; this one also leads through the generated Role.
    let options = ControllerOptions {
        leader: Some("rbac".into()),
        ..Default::default()
    };
    let controller = ControllerProcess::start(&dir, &options);
    controller.wait_ready().await;
    let users: Api<User> = Api::all(client.clone());
    users
        .create(
            &PostParams::default(),
            &user("rbac-leo")
                .role(Role::View)
                .groups(&["qa"])
                .quota(&[("pods", "3")])
                .build(),
        )
        .await
        .unwrap();
    wait_ready(&users, "rbac-leo", "True", "Provisioned").await;
    // Changing the role deletes and recreates the binding: also allowed.
    users
        .patch(
            "rbac-leo",
            &Default::default(),
            &kube::api::Patch::Merge(serde_json::json!({"spec": {"role": "edit", "quota": null}})),
        )
        .await
        .unwrap();
    eventually(
        "rbac-leo reconciled at generation 2",
        Duration::from_secs(30),
        || async {
            let u = users.get("rbac-leo").await.ok()?;
            (u.status?.observed_generation == Some(2)).then_some(())
        },
    )
    .await;
    delete_users(&users, &["rbac-leo"]).await;
    let errors = controller
        .metric("controller_runtime_reconcile_total{controller=\"user\",result=\"error\"}")
        .await;
    assert_eq!(
        errors,
        0.0,
        "a permission was missing:\n{}",
        controller.log_text()
    );
}

#[tokio::test]
async fn sigterm_drains_and_exits_cleanly() {
    let _serial = SERIAL.lock().await;
    let client = client().await;
    let users: Api<User> = Api::all(client.clone());
    let dir = test_dir("shutdown");
    let mut controller = ControllerProcess::start(&dir, &Default::default());
    controller.wait_ready().await;
    users
        .create(&PostParams::default(), &user("stop-mia").build())
        .await
        .unwrap();
    wait_ready(&users, "stop-mia", "True", "Provisioned").await;
    let status = controller.stop();
    assert!(
        status.success(),
        "exit status {status}\n{}",
        controller.log_text()
    );
    assert!(
        controller
            .log_text()
            .contains("shutting down: draining the queue")
    );
    let controller = ControllerProcess::start(&dir, &Default::default());
    controller.wait_ready().await;
    delete_users(&users, &["stop-mia"]).await;
}

/// The ServiceAccount's requests received since `since`, from the audit
/// log, as "verb resource" plus " (streaming)" for a streaming list.
fn requests_since(since: k8s_openapi::jiff::Timestamp) -> Vec<String> {
    let log = crdforge_envtest::Instance::from_env().audit_log();
    let text = std::fs::read_to_string(&log).unwrap();
    text.lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|e| e["user"]["username"] == SERVICE_ACCOUNT && e.get("impersonatedUser").is_none())
        .filter(|e| {
            let at: k8s_openapi::jiff::Timestamp = e["requestReceivedTimestamp"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            at >= since
        })
        .map(|e| {
            let streaming = e["requestURI"]
                .as_str()
                .unwrap_or("")
                .contains("sendInitialEvents=true");
            format!(
                "{} {}{}",
                e["verb"].as_str().unwrap_or(""),
                e["objectRef"]["resource"].as_str().unwrap_or(""),
                if streaming { " (streaming)" } else { "" }
            )
        })
        .collect()
}

/// What a restart costs the apiserver: client-go v0.36 re-syncs its four
/// caches with four requests (one streaming list each); so must this
/// controller, where list + watch took eight.
#[tokio::test]
async fn a_restart_resyncs_every_cache_with_one_request_each() {
    let _serial = SERIAL.lock().await;
    let client = client().await;
    let users: Api<User> = Api::all(client.clone());
    let dir = test_dir("resync");
    let mut controller = ControllerProcess::start(&dir, &Default::default());
    controller.wait_ready().await;
    for name in ["resync-ann", "resync-bo"] {
        users
            .create(
                &PostParams::default(),
                &user(name).quota(&[("pods", "3")]).build(),
            )
            .await
            .unwrap();
        wait_ready(&users, name, "True", "Provisioned").await;
    }
    assert!(controller.stop().success(), "{}", controller.log_text());

    // Every User now on the server is reconciled once after the restart
    // (a no-op: all are in shape, or left alone as before).
    let present = users.list(&Default::default()).await.unwrap().items.len() as f64;
    let since = k8s_openapi::jiff::Timestamp::now();
    let mut controller = ControllerProcess::start(&dir, &Default::default());
    controller.wait_ready().await;
    eventually(
        "a reconcile of every User",
        Duration::from_secs(30),
        || async {
            (controller
                .metric("controller_runtime_reconcile_total")
                .await
                >= present)
                .then_some(())
        },
    )
    .await;
    assert!(controller.stop().success(), "{}", controller.log_text());

    // A watch is logged when it ends, which the stop just did: wait for the
    // four, then a little more for anything else.
    let reads = |r: &Vec<String>| {
        r.iter()
            .filter(|r| r.starts_with("list ") || r.starts_with("watch "))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while reads(&requests_since(since)) < 4 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut requests = requests_since(since);
    requests.sort();
    eprintln!("requests after the restart: {requests:#?}");
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.starts_with("list ") || r.starts_with("watch "))
            .collect::<Vec<_>>(),
        [
            "watch namespaces (streaming)",
            "watch resourcequotas (streaming)",
            "watch rolebindings (streaming)",
            "watch users (streaming)"
        ]
    );
    assert!(
        requests.len() <= 4,
        "nothing but the four streaming lists: {requests:#?}"
    );
    let controller = ControllerProcess::start(&dir, &Default::default());
    controller.wait_ready().await;
    delete_users(&users, &["resync-ann", "resync-bo"]).await;
}
