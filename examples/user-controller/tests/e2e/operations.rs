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
