//! Convergence under failure: while many Users are created, the apiserver
//! is killed and restarted twice and the controller SIGKILLed twice, each
//! time with some Users not yet Ready (checked); the final state must be
//! exact, every child's content included.
//!
//! `cargo xtask soak --chaos` runs it larger (`CHAOS_USERS`, 5,000) with two
//! more faults (`CHAOS_SOAK=1`): etcd SIGKILLed and restarted while Users
//! are still being created, and the controller cut off from the apiserver
//! by a stalled proxy for longer than a watch lasts (`CHAOS_PARTITION_SECS`,
//! 300 s against the 290 s watch timeout), with Users created behind its
//! back meanwhile; then it writes what happened to `CHAOS_REPORT`
//! (docs/soak.md). CI runs the default size without them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crdforge_envtest::{Component, Instance};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, ResourceQuota};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::ResourceExt;
use kube::api::{Api, ListParams, PostParams};
use user_controller::api::{Role, User};
use user_controller::directory::FileDirectory;

use crate::harness::*;

/// How many Users; `CHAOS_USERS` overrides the default of 500.
fn count() -> usize {
    std::env::var("CHAOS_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

/// What user `i` asks for, spread so that every combination occurs: a role,
/// groups for every fourth user, a quota for every fifth.
struct Wanted {
    role: Role,
    groups: Vec<String>,
    quota: Option<(&'static str, String)>,
}

fn wanted(i: usize) -> Wanted {
    Wanted {
        role: [Role::Admin, Role::Edit, Role::View][i % 3],
        groups: if i.is_multiple_of(4) {
            vec![format!("chaos-team-{}", i % 3), "chaos-all".into()]
        } else {
            Vec::new()
        },
        quota: i
            .is_multiple_of(5)
            .then(|| ("pods", (5 + i % 10).to_string())),
    }
}

fn fixture(i: usize, name: &str) -> User {
    let w = wanted(i);
    let groups: Vec<&str> = w.groups.iter().map(String::as_str).collect();
    let mut u = user(name).role(w.role).groups(&groups);
    if let Some((key, value)) = &w.quota {
        u = u.quota(&[(key, value)]);
    }
    u.build()
}

/// How many of this test's Users are Ready now.
async fn ready_count(users: &Api<User>) -> usize {
    let list = users.list(&ListParams::default()).await.unwrap();
    list.items
        .iter()
        .filter(|u| u.name_any().starts_with("chaos-"))
        .filter(|u| ready(u) == Some(("True".into(), "Provisioned".into())))
        .count()
}

/// The soak's extra faults, from the environment `cargo xtask soak --chaos`
/// sets; `None` in CI.
struct Soak {
    partition: Duration,
    report: Option<std::path::PathBuf>,
}

fn soak() -> Option<Soak> {
    if std::env::var("CHAOS_SOAK").ok().as_deref() != Some("1") {
        return None;
    }
    let partition = std::env::var("CHAOS_PARTITION_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    Some(Soak {
        partition: Duration::from_secs(partition),
        report: std::env::var_os("CHAOS_REPORT").map(Into::into),
    })
}

/// The controller's kubeconfig with its server replaced by `proxy`.
fn proxied_kubeconfig(dir: &std::path::Path, proxy: std::net::SocketAddr) -> std::path::PathBuf {
    let direct = controller_kubeconfig();
    let text = std::fs::read_to_string(&direct).unwrap();
    let port = Instance::from_env()
        .state()
        .unwrap()
        .unwrap()
        .ports
        .apiserver;
    let server = format!("https://127.0.0.1:{port}");
    assert!(text.contains(&server), "{}: no {server}", direct.display());
    let path = dir.join("controller-via-proxy.kubeconfig");
    std::fs::write(&path, text.replace(&server, &format!("https://{proxy}"))).unwrap();
    path
}

async fn restart_etcd() {
    tokio::task::spawn_blocking(|| Instance::from_env().restart(Component::Etcd, true))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e:#}"));
}

async fn restart_apiserver() {
    tokio::task::spawn_blocking(|| Instance::from_env().restart(Component::KubeApiserver, true))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e:#}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_converge_exactly_through_apiserver_restarts_and_controller_kills() {
    let _serial = SERIAL.lock().await;
    let client = client().await;
    let users: Api<User> = Api::all(client.clone());
    let dir = test_dir("chaos");
    let n = count();
    let soak = soak();
    let began = std::time::Instant::now();
    let names: Vec<String> = (0..n).map(|i| format!("chaos-{i:04}")).collect();
    // In the soak the controller reaches the apiserver through a proxy the
    // test can stall (it forwards to the apiserver's port, which restarts
    // keep).
    let proxy = match &soak {
        Some(_) => {
            let port = Instance::from_env()
                .state()
                .unwrap()
                .unwrap()
                .ports
                .apiserver;
            Some(
                crdforge_envtest::proxy::Proxy::start(([127, 0, 0, 1], port).into())
                    .await
                    .unwrap(),
            )
        }
        None => None,
    };
    let options = ControllerOptions {
        kubeconfig: proxy.as_ref().map(|p| proxied_kubeconfig(&dir, p.addr())),
        ..Default::default()
    };
    let mut controller = ControllerProcess::start(&dir, &options);
    controller.wait_ready().await;

    // Creates retry through the apiserver's absences, as a client would.
    // `attempted` counts the Users whose create was sent: more than exist,
    // so more than are Ready, at any moment up to when it is read.
    let (attempted, created) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    // How many creates may start: raised just before each apiserver
    // restart, so creates are in flight when it goes down, but never to all
    // `n` until the restart is over: on a fast apiserver every User could
    // otherwise be created between the poll that sees the milestone and the
    // kill, and the restart would not be mid-run.
    let gate = Arc::new(AtomicUsize::new(n / 5));
    let creator = tokio::spawn({
        let users = users.clone();
        let names = names.clone();
        let (attempted, created, gate) = (
            Arc::clone(&attempted),
            Arc::clone(&created),
            Arc::clone(&gate),
        );
        async move {
            futures::stream::iter(names.into_iter().enumerate())
                .for_each_concurrent(16, |(i, name)| {
                    let (users, attempted, created, gate) = (
                        users.clone(),
                        Arc::clone(&attempted),
                        Arc::clone(&created),
                        Arc::clone(&gate),
                    );
                    async move {
                        // Bounded: the test raises the gate to `n` within
                        // its own time limits.
                        for _ in 0..60_000 {
                            if i < gate.load(Ordering::SeqCst) {
                                break;
                            }
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                        attempted.fetch_add(1, Ordering::SeqCst);
                        loop {
                            match users
                                .create(&PostParams::default(), &fixture(i, &name))
                                .await
                            {
                                Ok(_) => break,
                                Err(kube::Error::Api(s)) if s.code == 409 => break,
                                Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
                            }
                        }
                        created.fetch_add(1, Ordering::SeqCst);
                    }
                })
                .await
        }
    });
    let created_at_least = |k: usize| {
        let created = Arc::clone(&created);
        async move {
            eventually(
                &format!("{k} users created"),
                Duration::from_secs(120),
                || async { (created.load(Ordering::SeqCst) >= k).then_some(()) },
            )
            .await
        }
    };
    // Mid-run, checked: read after an apiserver restart, `attempted` bounds
    // the Users that existed, so were Ready, when it went down; a killed
    // controller makes no more Ready, so a count after the kill is the
    // count at the kill.
    let mut hits = Vec::new();
    let restart_mid_run = |what: &'static str, hits: &mut Vec<String>| {
        let exist = attempted.load(Ordering::SeqCst);
        assert!(exist < n, "{what}: all {n} users may have existed already");
        hits.push(format!("{what}: at most {exist} of {n} existed"));
    };

    created_at_least(n / 5).await;
    gate.store(n / 2, Ordering::SeqCst);
    restart_apiserver().await;
    restart_mid_run("apiserver restart 1", &mut hits);
    // Killed while it is working: after it has made some User Ready.
    eventually("a first Ready user", Duration::from_secs(120), || async {
        (ready_count(&users).await > 0).then_some(())
    })
    .await;
    controller.kill();
    let ready_at_kill_1 = ready_count(&users).await;
    assert!(
        (1..n).contains(&ready_at_kill_1),
        "controller kill 1: {ready_at_kill_1} of {n} users were Ready"
    );
    hits.push(format!("controller kill 1: {ready_at_kill_1} of {n} Ready"));
    controller = ControllerProcess::start(&dir, &options);
    created_at_least(n / 2).await;
    gate.store(3 * n / 4, Ordering::SeqCst);
    restart_apiserver().await;
    restart_mid_run("apiserver restart 2", &mut hits);
    gate.store(n, Ordering::SeqCst);
    // The second controller has made progress since the first kill.
    eventually(
        "Ready users beyond those of the first kill",
        Duration::from_secs(120),
        || async { (ready_count(&users).await > ready_at_kill_1).then_some(()) },
    )
    .await;
    controller.kill();
    let ready_at_kill_2 = ready_count(&users).await;
    assert!(
        ready_at_kill_2 < n,
        "controller kill 2: all {n} users were Ready"
    );
    hits.push(format!("controller kill 2: {ready_at_kill_2} of {n} Ready"));
    let controller = ControllerProcess::start(&dir, &options);
    if let (Some(soak), Some(proxy)) = (&soak, &proxy) {
        // etcd dies while Users are still being created (the gate is open
        // but the creator has not finished: checked).
        controller.wait_ready().await;
        let before = created.load(Ordering::SeqCst);
        restart_etcd().await;
        assert!(
            before < n,
            "etcd restart: all {n} users were already created"
        );
        hits.push(format!(
            "etcd SIGKILLed and restarted: {before} of {n} created"
        ));
        // The controller is cut off longer than a watch lasts, while Users
        // are created behind its back. Requests it sent before the cut (and
        // any the apiserver still held from etcd's absence) may complete in
        // the first seconds; after that none may make a User Ready until the
        // partition ends.
        let created_before = created.load(Ordering::SeqCst);
        proxy.stall();
        let settle = (soak.partition / 5).min(Duration::from_secs(30));
        tokio::time::sleep(settle).await;
        let ready_settled = ready_count(&users).await;
        tokio::time::sleep(soak.partition.saturating_sub(settle)).await;
        let ready_during = ready_count(&users).await;
        let created_during = created.load(Ordering::SeqCst) - created_before;
        proxy.restore();
        assert_eq!(
            ready_during, ready_settled,
            "Users became Ready while the controller was cut off"
        );
        assert!(
            created_during > 0,
            "no User was created during the partition"
        );
        hits.push(format!(
            "controller cut off for {} s (stalled proxy): {created_during} Users created \
             meanwhile; {ready_settled} Ready {} s into it and still {ready_during} at its end",
            soak.partition.as_secs(),
            settle.as_secs()
        ));
    }
    eprintln!("chaos hit mid-run:\n  {}", hits.join("\n  "));
    let restored = std::time::Instant::now();
    creator.await.unwrap();
    controller.wait_ready().await;

    eventually(
        &format!("all {n} users Ready"),
        // Larger runs need longer: about 60 Users a second on a loaded
        // 2-core machine, with a floor for CI's size.
        Duration::from_secs(300.max(n as u64 / 10)),
        || async {
            let list = users.list(&ListParams::default()).await.ok()?;
            let ready = list
                .items
                .iter()
                .filter(|u| u.name_any().starts_with("chaos-"))
                .filter(|u| ready(u) == Some(("True".into(), "Provisioned".into())))
                .count();
            (ready == n).then_some(())
        },
    )
    .await;
    let converged_after = restored.elapsed();

    // Exactly one namespace per user, owned by it; exactly one binding in
    // each; no managed namespace without its user; one account per user.
    let list = users.list(&ListParams::default()).await.unwrap();
    let uids: BTreeMap<String, String> = list
        .items
        .iter()
        .filter(|u| u.name_any().starts_with("chaos-"))
        .map(|u| (u.name_any(), u.uid().unwrap()))
        .collect();
    assert_eq!(uids.len(), n);
    let managed = ListParams::default().labels("app.kubernetes.io/managed-by=user-controller");
    let namespaces = Api::<Namespace>::all(client.clone())
        .list(&managed)
        .await
        .unwrap();
    let owned: BTreeMap<String, String> = namespaces
        .items
        .iter()
        .filter(|ns| ns.name_any().starts_with("chaos-"))
        .map(|ns| (ns.name_any(), ns.owner_references()[0].uid.clone()))
        .collect();
    assert_eq!(owned, uids, "namespaces and their owners");
    let bindings = Api::<RoleBinding>::all(client.clone())
        .list(&managed)
        .await
        .unwrap();
    let mut per_namespace: BTreeMap<String, usize> = BTreeMap::new();
    for rb in bindings
        .items
        .iter()
        .filter(|rb| rb.namespace().unwrap_or_default().starts_with("chaos-"))
    {
        *per_namespace.entry(rb.namespace().unwrap()).or_default() += 1;
    }
    assert_eq!(per_namespace.len(), n);
    assert!(
        per_namespace.values().all(|c| *c == 1),
        "duplicate bindings"
    );
    // Each child says what its User asked for.
    let quotas = Api::<ResourceQuota>::all(client.clone())
        .list(&managed)
        .await
        .unwrap();
    let index = |name: &str| -> usize { name.trim_start_matches("chaos-").parse().unwrap() };
    let mut with_quota = BTreeSet::new();
    for q in quotas
        .items
        .iter()
        .filter(|q| q.namespace().unwrap_or_default().starts_with("chaos-"))
    {
        let ns = q.namespace().unwrap();
        let (key, value) = wanted(index(&ns))
            .quota
            .unwrap_or_else(|| panic!("{ns}: a quota its user did not ask for"));
        let hard = q
            .spec
            .as_ref()
            .and_then(|s| s.hard.clone())
            .unwrap_or_default();
        assert_eq!(hard.len(), 1, "{ns}: quota {hard:?}");
        assert_eq!(
            hard.get(key).map(|v| v.0.as_str()),
            Some(value.as_str()),
            "{ns}"
        );
        assert!(with_quota.insert(ns.clone()), "{ns}: two quotas");
    }
    let asked: BTreeSet<String> = (0..n)
        .filter(|i| wanted(*i).quota.is_some())
        .map(|i| names[i].clone())
        .collect();
    assert_eq!(with_quota, asked, "namespaces with a quota");
    for rb in bindings
        .items
        .iter()
        .filter(|rb| rb.namespace().unwrap_or_default().starts_with("chaos-"))
    {
        let ns = rb.namespace().unwrap();
        let w = wanted(index(&ns));
        assert_eq!(rb.name_any(), "user-access", "{ns}");
        assert_eq!(
            (
                rb.role_ref.api_group.as_deref(),
                rb.role_ref.kind.as_str(),
                rb.role_ref.name.as_str()
            ),
            (
                Some("rbac.authorization.k8s.io"),
                "ClusterRole",
                w.role.cluster_role()
            ),
            "{ns}: roleRef"
        );
        let subjects: Vec<(&str, &str, Option<&str>, Option<&str>)> = rb
            .subjects
            .iter()
            .flatten()
            .map(|s| {
                (
                    s.kind.as_str(),
                    s.name.as_str(),
                    s.api_group.as_deref(),
                    s.namespace.as_deref(),
                )
            })
            .collect();
        let rbac = Some("rbac.authorization.k8s.io");
        let mut expected = vec![("User", ns.as_str(), rbac, None)];
        expected.extend(w.groups.iter().map(|g| ("Group", g.as_str(), rbac, None)));
        assert_eq!(subjects, expected, "{ns}: subjects");
    }

    // Only this test's users: others may exist in a shared control plane.
    let ours = |line: &&String| line.contains(" chaos-");
    let accounts: Vec<_> = FileDirectory::new(&dir)
        .unwrap()
        .accounts()
        .unwrap()
        .into_iter()
        .filter(|a| a.name.starts_with("chaos-"))
        .collect();
    let account_uids: BTreeSet<&String> = accounts.iter().map(|a| &a.uid).collect();
    assert_eq!(accounts.len(), n);
    assert_eq!(account_uids, uids.values().collect::<BTreeSet<_>>());
    let created = journal(&dir)
        .iter()
        .filter(ours)
        .filter(|l| l.starts_with("created"))
        .count();
    assert_eq!(created, n, "an account was created twice");

    let names: Vec<&str> = uids.keys().map(String::as_str).collect();
    delete_users(&users, &names).await;
    let left = FileDirectory::new(&dir).unwrap().accounts().unwrap();
    assert!(
        !left.iter().any(|a| a.name.starts_with("chaos-")),
        "accounts left behind"
    );
    let removed = journal(&dir)
        .iter()
        .filter(ours)
        .filter(|l| l.starts_with("removed"))
        .count();
    assert_eq!(removed, n, "an account was removed twice or not at all");

    if let Some(path) = soak.and_then(|s| s.report) {
        write_report(
            &path,
            n,
            &hits,
            converged_after.as_secs_f64(),
            began.elapsed().as_secs_f64(),
        );
    }
}

/// docs/soak.md: what the soak did and what it checked.
fn write_report(path: &std::path::Path, n: usize, hits: &[String], converged: f64, total: f64) {
    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let release = crdforge_envtest::assets::Release::selected().unwrap();
    let text = format!(
        "<!-- Written by `cargo xtask soak --chaos`; do not edit. -->\n\n\
         # Chaos soak: the User controller through faults at {n} Users\n\n\
         `cargo xtask soak --chaos` ran \
         `users_converge_exactly_through_apiserver_restarts_and_controller_kills` \
         (examples/user-controller/tests/e2e/chaos.rs) with {n} Users on Kubernetes {} \
         ({machine}; load average at the end {}). CI runs the same test with 500 Users and \
         without the etcd and partition faults.\n\n\
         ## Faults, in order, each hit while work was in flight (checked)\n\n{}\n\n\
         ## Checked at the end\n\n\
         - all {n} Users Ready {converged:.0} s after the last fault; the whole run took {total:.0} s;\n\
         - exactly one Namespace per User, owned by it, and no managed Namespace without its User;\n\
         - exactly one RoleBinding per Namespace, with the User's role and groups as subjects;\n\
         - a ResourceQuota exactly where the User asked for one, with its value;\n\
         - one account per User in the directory, created exactly once (journal), and after \
           every User was deleted, every account removed exactly once.\n",
        release.kubernetes,
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        hits.iter()
            .map(|h| format!("- {h}"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    std::fs::write(path, text).unwrap();
    eprintln!("wrote {}", path.display());
}
