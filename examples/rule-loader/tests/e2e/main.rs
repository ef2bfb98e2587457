//! End-to-end tests of the Rule Loader: the real control plane, a real
//! Prometheus built from its Go module, and the loader as its own process
//! under its generated RBAC. Run with `cargo xtask envtest run -- cargo test
//! -p rule-loader --features e2e`.

mod harness;

use std::time::{Duration, Instant};

use harness::*;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Event};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use rule_loader::api::{INVALID_REASON, RULES_LABEL, STATUS_ANNOTATION, event_name};
use serde_json::{Value, json};

#[tokio::test]
async fn valid_rules_from_two_namespaces_load_and_a_recording_rule_records() {
    let _serial = SERIAL.lock().await;
    let env = Env::start("two-namespaces").await;
    for ns in ["rl-team-a", "rl-team-b"] {
        namespace(&env.client, ns).await;
    }
    // The same ConfigMap name and key in both namespaces: no collision.
    apply(
        &env.client,
        &rules_configmap(
            "rl-team-a",
            "rules",
            &[(
                "rules.yaml",
                &recording("team-a-self", "rl_team_a:up:sum", "sum by (job) (up)"),
            )],
        ),
    )
    .await;
    apply(
        &env.client,
        &rules_configmap(
            "rl-team-b",
            "rules",
            &[(
                "rules.yaml",
                "groups:\n  - name: team-b-alerts\n    rules:\n      - alert: PrometheusDown\n        expr: up{job=\"prometheus\"} == 0\n        for: 1m\n        labels: {severity: page}\n        annotations: {summary: \"{{ $labels.instance }} is down\"}\n",
            )],
        ),
    )
    .await;
    let groups = env
        .wait_groups("both teams' groups", |g| {
            g.contains_key("team-a-self") && g.contains_key("team-b-alerts")
        })
        .await;
    assert!(
        groups["team-a-self"]
            .0
            .ends_with("rl-team-a_rules_rules.yaml.yaml")
    );
    assert!(
        groups["team-b-alerts"]
            .0
            .ends_with("rl-team-b_rules_rules.yaml.yaml")
    );
    assert_eq!(groups["team-b-alerts"].1, ["PrometheusDown"]);

    // The recording rule produces a series, with the enforced namespace label.
    let sample = eventually(
        "a sample of rl_team_a:up:sum",
        Duration::from_secs(30),
        || async {
            let (_, body) = env
                .prometheus
                .get("/api/v1/query?query=rl_team_a:up:sum")
                .unwrap();
            let json: Value = serde_json::from_str(&body).unwrap();
            json["data"]["result"].as_array()?.first().cloned()
        },
    )
    .await;
    assert_eq!(sample["metric"]["namespace"], "rl-team-a", "{sample}");
    assert_eq!(sample["metric"]["job"], "prometheus", "{sample}");
    assert_eq!(sample["value"][1], "1", "{sample}");

    assert!(env.loader.metric("rule_loader_rules_loaded").await >= 2.0);
    assert!(env.loader.metric("rule_loader_reloads_total").await >= 1.0);
    assert_eq!(
        env.loader.metric("rule_loader_reload_failures_total").await,
        0.0
    );
    delete(&env.client, "rl-team-a", &["rules"]).await;
    delete(&env.client, "rl-team-b", &["rules"]).await;
}

#[tokio::test]
async fn an_invalid_expression_is_reported_on_the_configmap_and_the_rest_loads() {
    let _serial = SERIAL.lock().await;
    let env = Env::start("invalid").await;
    namespace(&env.client, "rl-invalid").await;
    let bad = "groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: sum(rate(http_requests_total[5m])\n";
    apply(
        &env.client,
        &rules_configmap(
            "rl-invalid",
            "mixed",
            &[
                ("good.yaml", &recording("inv-good", "inv:up", "up")),
                ("bad.yaml", bad),
            ],
        ),
    )
    .await;
    apply(
        &env.client,
        &rules_configmap(
            "rl-invalid",
            "other",
            &[("r", &recording("inv-other", "inv:other", "up"))],
        ),
    )
    .await;
    env.wait_groups("the valid groups", |g| {
        g.contains_key("inv-good") && g.contains_key("inv-other")
    })
    .await;
    assert!(!env.groups().contains_key("broken"));
    assert!(
        !env.files().iter().any(|f| f.contains("bad.yaml")),
        "{:?}",
        env.files()
    );

    let cms: Api<ConfigMap> = Api::namespaced(env.client.clone(), "rl-invalid");
    let status = eventually("the status annotation", Duration::from_secs(30), || async {
        cms.get("mixed")
            .await
            .ok()?
            .annotations()
            .get(STATUS_ANNOTATION)
            .cloned()
    })
    .await;
    assert!(
        status.starts_with(
            "file \"bad.yaml\", group \"broken\", rule 1 \"Broken\", could not parse expression: "
        ),
        "{status}"
    );
    let events: Api<Event> = Api::namespaced(env.client.clone(), "rl-invalid");
    let event = events.get(&event_name("mixed")).await.unwrap();
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    assert_eq!(event.reason.as_deref(), Some(INVALID_REASON));
    assert_eq!(event.message.as_deref(), Some(status.as_str()));
    assert_eq!(event.involved_object.name.as_deref(), Some("mixed"));
    assert_eq!(env.loader.metric("rule_loader_invalid_files").await, 1.0);
    eprintln!("status annotation: {status}");

    // Fixed: loaded, and the annotation and the Event are gone.
    apply(
        &env.client,
        &rules_configmap(
            "rl-invalid",
            "mixed",
            &[
                ("good.yaml", &recording("inv-good", "inv:up", "up")),
                ("bad.yaml", &bad.replace("[5m])", "[5m]))")),
            ],
        ),
    )
    .await;
    env.wait_groups("the fixed group", |g| g.contains_key("broken"))
        .await;
    eventually(
        "the annotation removed",
        Duration::from_secs(30),
        || async {
            let cm = cms.get("mixed").await.ok()?;
            (!cm.annotations().contains_key(STATUS_ANNOTATION)).then_some(())
        },
    )
    .await;
    eventually("the Event removed", Duration::from_secs(30), || async {
        events
            .get_opt(&event_name("mixed"))
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    assert_eq!(env.loader.metric("rule_loader_invalid_files").await, 0.0);
    delete(&env.client, "rl-invalid", &["mixed", "other"]).await;
}

#[tokio::test]
async fn updates_relabels_and_deletes_are_reflected_and_stale_files_removed() {
    let _serial = SERIAL.lock().await;
    let env = Env::start("lifecycle").await;
    namespace(&env.client, "rl-life").await;
    let cm = rules_configmap(
        "rl-life",
        "life",
        &[("a.yaml", &recording("life-v1", "life:v1", "up"))],
    );
    apply(&env.client, &cm).await;
    env.wait_groups("life-v1", |g| g.contains_key("life-v1"))
        .await;
    assert_eq!(env.files(), ["rl-life_life_a.yaml.yaml"]);

    // Update: the group is renamed and a second key added.
    apply(
        &env.client,
        &rules_configmap(
            "rl-life",
            "life",
            &[
                ("a.yaml", &recording("life-v2", "life:v2", "up")),
                ("b.yaml", &recording("life-b", "life:b", "up")),
            ],
        ),
    )
    .await;
    env.wait_groups("life-v2 and life-b, not life-v1", |g| {
        g.contains_key("life-v2") && g.contains_key("life-b") && !g.contains_key("life-v1")
    })
    .await;
    assert_eq!(
        env.files(),
        ["rl-life_life_a.yaml.yaml", "rl-life_life_b.yaml.yaml"]
    );

    // A key removed: its file goes.
    apply(
        &env.client,
        &rules_configmap(
            "rl-life",
            "life",
            &[("a.yaml", &recording("life-v2", "life:v2", "up"))],
        ),
    )
    .await;
    env.wait_groups("life-b gone", |g| !g.contains_key("life-b"))
        .await;
    assert_eq!(env.files(), ["rl-life_life_a.yaml.yaml"]);

    // The label removed: the ConfigMap is no longer a source.
    let cms: Api<ConfigMap> = Api::namespaced(env.client.clone(), "rl-life");
    cms.patch(
        "life",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {RULES_LABEL.0: null}}})),
    )
    .await
    .unwrap();
    env.wait_groups("life-v2 gone after relabel", |g| !g.contains_key("life-v2"))
        .await;
    assert!(env.files().is_empty(), "{:?}", env.files());

    // Labelled again, then deleted.
    cms.patch(
        "life",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {RULES_LABEL.0: RULES_LABEL.1}}})),
    )
    .await
    .unwrap();
    env.wait_groups("life-v2 back", |g| g.contains_key("life-v2"))
        .await;
    delete(&env.client, "rl-life", &["life"]).await;
    env.wait_groups("life-v2 gone after delete", |g| !g.contains_key("life-v2"))
        .await;
    assert!(env.files().is_empty(), "{:?}", env.files());
}

#[tokio::test]
async fn a_burst_of_100_changes_gives_a_bounded_number_of_reloads() {
    let _serial = SERIAL.lock().await;
    let env = Env::start("burst").await;
    namespace(&env.client, "rl-burst").await;
    apply(
        &env.client,
        &rules_configmap(
            "rl-burst",
            "burst",
            &[("r", &recording("burst-0", "burst:v", "up"))],
        ),
    )
    .await;
    env.wait_groups("burst-0", |g| g.contains_key("burst-0"))
        .await;
    let before = env.loader.metric("rule_loader_reloads_total").await;

    let started = Instant::now();
    for i in 1..=100 {
        apply(
            &env.client,
            &rules_configmap(
                "rl-burst",
                "burst",
                &[("r", &recording(&format!("burst-{i}"), "burst:v", "up"))],
            ),
        )
        .await;
    }
    let written = started.elapsed();
    env.wait_groups("burst-100", |g| g.contains_key("burst-100"))
        .await;
    // Settle: a reload still pending would show up now.
    tokio::time::sleep(Duration::from_millis(3 * DEBOUNCE_MS)).await;
    let reloads = env.loader.metric("rule_loader_reloads_total").await - before;
    eprintln!(
        "burst: 100 changes written in {written:?}, {reloads} reloads (debounce {DEBOUNCE_MS} ms, \
         at most one per 10 s of unbroken changes)"
    );
    // Without a quiet moment of DEBOUNCE_MS the loader syncs at most every
    // 10 s (max debounce), plus the final sync after the burst.
    let bound = 2.0 + (written.as_secs_f64() / 10.0).ceil() + 3.0;
    assert!(
        reloads >= 1.0 && reloads <= bound.min(20.0),
        "{reloads} reloads for 100 changes in {written:?}"
    );
    assert_eq!(
        env.groups()
            .keys()
            .filter(|g| g.starts_with("burst-"))
            .count(),
        1
    );
    delete(&env.client, "rl-burst", &["burst"]).await;
}

#[tokio::test]
async fn prometheus_down_during_changes_converges_when_it_returns() {
    let _serial = SERIAL.lock().await;
    let mut env = Env::start("prometheus-down").await;
    namespace(&env.client, "rl-down").await;
    env.prometheus.stop();
    apply(
        &env.client,
        &rules_configmap(
            "rl-down",
            "down",
            &[("r", &recording("down-1", "down:v", "up"))],
        ),
    )
    .await;
    eventually("a failed reload", Duration::from_secs(30), || async {
        (env.loader.metric("rule_loader_reload_failures_total").await >= 1.0).then_some(())
    })
    .await;
    assert_eq!(env.files_of("rl-down"), ["rl-down_down_r.yaml"]);
    env.prometheus.restart().unwrap();
    // Prometheus loads the file at start by itself; the loader's retry
    // (backing off at most 5 s) still owes and makes its reload.
    env.wait_groups("down-1", |g| g.contains_key("down-1"))
        .await;
    eventually("the owed reload", Duration::from_secs(30), || async {
        (env.loader.metric("rule_loader_reloads_total").await >= 1.0).then_some(())
    })
    .await;
    // A change while it is back is loaded by a reload.
    apply(
        &env.client,
        &rules_configmap(
            "rl-down",
            "down",
            &[("r", &recording("down-2", "down:v", "up"))],
        ),
    )
    .await;
    env.wait_groups("down-2", |g| {
        g.contains_key("down-2") && !g.contains_key("down-1")
    })
    .await;
    delete(&env.client, "rl-down", &["down"]).await;
}

#[tokio::test]
async fn a_killed_loader_restarts_without_reloading_when_nothing_changed() {
    let _serial = SERIAL.lock().await;
    let mut env = Env::start("restart").await;
    namespace(&env.client, "rl-restart").await;
    apply(
        &env.client,
        &rules_configmap(
            "rl-restart",
            "restart",
            &[("r", &recording("restart-1", "restart:v", "up"))],
        ),
    )
    .await;
    env.wait_groups("restart-1", |g| g.contains_key("restart-1"))
        .await;
    eventually("the reload counted", Duration::from_secs(10), || async {
        (env.loader.metric("rule_loader_reloads_total").await >= 1.0).then_some(())
    })
    .await;
    let file = env.rules.join("rl-restart_restart_r.yaml");
    let modified = std::fs::metadata(&file).unwrap().modified().unwrap();
    let last_reload = env.last_reload();
    assert!(last_reload.1, "{last_reload:?}");

    env.loader.kill();
    env.loader.restart();
    env.loader.wait_ready().await;
    // Long enough for the start-up sync and a debounced one.
    tokio::time::sleep(Duration::from_millis(4 * DEBOUNCE_MS + 1000)).await;
    assert_eq!(
        env.loader.metric("rule_loader_reloads_total").await,
        0.0,
        "{}",
        env.loader.log_text()
    );
    assert_eq!(env.loader.metric("rule_loader_files_loaded").await, 1.0);
    assert_eq!(
        std::fs::metadata(&file).unwrap().modified().unwrap(),
        modified
    );
    assert_eq!(env.last_reload(), last_reload);

    // A change after the restart is still picked up.
    apply(
        &env.client,
        &rules_configmap(
            "rl-restart",
            "restart",
            &[("r", &recording("restart-2", "restart:v", "up"))],
        ),
    )
    .await;
    env.wait_groups("restart-2", |g| g.contains_key("restart-2"))
        .await;
    delete(&env.client, "rl-restart", &["restart"]).await;
}

#[tokio::test]
async fn bad_inputs_are_refused_clearly_within_bounded_memory() {
    let _serial = SERIAL.lock().await;
    let env = Env::start("bad-inputs").await;
    namespace(&env.client, "rl-bad").await;
    apply(
        &env.client,
        &rules_configmap(
            "rl-bad",
            "fine",
            &[("r", &recording("bad-fine", "bad:fine", "up"))],
        ),
    )
    .await;
    let cms: Api<ConfigMap> = Api::namespaced(env.client.clone(), "rl-bad");

    // 10 MB: the apiserver itself refuses it, and says why.
    let big = "#".repeat(10 * 1024 * 1024);
    let err = cms
        .create(
            &Default::default(),
            &rules_configmap("rl-bad", "big", &[("r", &big)]),
        )
        .await
        .unwrap_err();
    eprintln!("10 MB ConfigMap: {err}");
    assert!(
        err.to_string().to_lowercase().contains("too large") || err.to_string().contains("1048576"),
        "{err}"
    );

    // A million rules written out (26 MB): refused the same way.
    let million = format!(
        "groups:\n- name: million\n  rules:\n{}",
        "  - {record: r, expr: up}\n".repeat(1_000_000)
    );
    let err = cms
        .create(
            &Default::default(),
            &rules_configmap("rl-bad", "million", &[("r", &million)]),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("Request entity too large"),
        "{err}"
    );
    drop(million);

    // Refused by the loader, each key naming why, in three ConfigMaps (one
    // would pass the apiserver's 1 MiB limit).
    let over_limit = format!("# {}\n", "x".repeat(600 * 1024));
    let mut bomb = String::from("a0: &a0 {record: r, expr: up}\n");
    for level in 1..=9 {
        bomb.push_str(&format!(
            "a{level}: &a{level} [{}]\n",
            vec![format!("*a{}", level - 1); 9].join(", ")
        ));
    }
    bomb.push_str("groups: [{name: g, rules: *a9}]\n");
    let many_rules = format!(
        "groups:\n- name: many\n  rules:\n{}",
        "  - {record: r, expr: up}\n".repeat(20_000)
    );
    let aliases = format!(
        "groups: [{{name: aliases, rules: [&r {{record: r, expr: up}}{}]}}]",
        ", *r".repeat(5_000)
    );
    apply(
        &env.client,
        &rules_configmap("rl-bad", "large", &[("large.yaml", &over_limit)]),
    )
    .await;
    apply(
        &env.client,
        &rules_configmap(
            "rl-bad",
            "many",
            &[
                ("many.yaml", &many_rules),
                ("ok.yaml", &recording("bad-ok", "bad:ok", "up")),
            ],
        ),
    )
    .await;
    let mut misc = rules_configmap(
        "rl-bad",
        "misc",
        &[("bomb.yaml", &bomb), ("aliases.yaml", &aliases)],
    );
    misc.binary_data = Some([("blob.yaml".to_string(), ByteString(vec![0xff, 0xfe, 0, 1]))].into());
    apply(&env.client, &misc).await;
    env.wait_groups("the valid groups beside the bad ones", |g| {
        g.contains_key("bad-fine") && g.contains_key("bad-ok")
    })
    .await;
    let mut all = String::new();
    for (name, wants) in [
        (
            "large",
            vec![format!(
                "file \"large.yaml\", the file is {} bytes, more than the limit of 524288",
                over_limit.len()
            )],
        ),
        (
            "many",
            vec!["file \"many.yaml\", 20000 rules, more than the limit of 10000".to_string()],
        ),
        (
            "misc",
            vec![
                "file \"blob.yaml\", binaryData is not read".to_string(),
                "file \"aliases.yaml\", invalid YAML".to_string(),
                "file \"bomb.yaml\", invalid YAML".to_string(),
            ],
        ),
    ] {
        let status = eventually(
            &format!("the status of {name}"),
            Duration::from_secs(30),
            || async {
                cms.get(name)
                    .await
                    .ok()?
                    .annotations()
                    .get(STATUS_ANNOTATION)
                    .cloned()
            },
        )
        .await;
        for want in wants {
            assert!(
                status.lines().any(|l| l.starts_with(&want)),
                "missing {want:?} in\n{status}"
            );
        }
        all.push_str(&status);
        all.push('\n');
    }
    eprintln!("bad inputs:\n{all}");
    assert!(all.contains("budget"), "{all}");
    assert_eq!(env.loader.metric("rule_loader_invalid_files").await, 5.0);
    let peak = std::fs::read_to_string(format!("/proc/{}/status", env.loader.pid()))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap())
        .unwrap();
    eprintln!("loader peak RSS: {peak} KiB");
    assert!(peak < 256 * 1024, "peak RSS {peak} KiB");

    // Unlabelled or deleted, a ConfigMap gets back what the loader wrote.
    let events: Api<Event> = Api::namespaced(env.client.clone(), "rl-bad");
    assert!(events.get_opt(&event_name("misc")).await.unwrap().is_some());
    cms.patch(
        "misc",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {RULES_LABEL.0: null}}})),
    )
    .await
    .unwrap();
    delete(&env.client, "rl-bad", &["large"]).await;
    eventually(
        "misc's annotation and Event removed",
        Duration::from_secs(30),
        || async {
            let cm = cms.get("misc").await.ok()?;
            let event = events.get_opt(&event_name("misc")).await.ok()?;
            (!cm.annotations().contains_key(STATUS_ANNOTATION) && event.is_none()).then_some(())
        },
    )
    .await;
    eventually("large's Event removed", Duration::from_secs(30), || async {
        events
            .get_opt(&event_name("large"))
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    delete(&env.client, "rl-bad", &["fine", "many", "misc"]).await;
}

#[tokio::test]
async fn with_leader_election_only_the_leader_loads_and_a_standby_takes_over() {
    let _serial = SERIAL.lock().await;
    let one = leader_args("replica-one");
    let one: Vec<&str> = one.iter().map(String::as_str).collect();
    let mut env = Env::start_with("leader", &one).await;
    let two = leader_args("replica-two");
    let two: Vec<&str> = two.iter().map(String::as_str).collect();
    let prometheus_url = env.prometheus.url();
    let mut standby = Loader::start(
        env.rules.parent().unwrap(),
        &env.rules,
        &prometheus_url,
        &two,
    );
    standby.wait_ready().await;
    namespace(&env.client, "rl-leader").await;
    apply(
        &env.client,
        &rules_configmap(
            "rl-leader",
            "lead",
            &[("r", &recording("lead-1", "lead:v", "up"))],
        ),
    )
    .await;
    env.wait_groups("lead-1", |g| g.contains_key("lead-1"))
        .await;
    // Exactly one replica acts: the other writes and reloads nothing.
    let (first, second) = (
        env.loader.metric("rule_loader_files_loaded").await,
        standby.metric("rule_loader_files_loaded").await,
    );
    assert_eq!(first + second, 1.0, "one leader: {first} + {second}");
    let first_leads = first == 1.0;
    let follower_reloads = if first_leads {
        standby.metric("rule_loader_reloads_total").await
    } else {
        env.loader.metric("rule_loader_reloads_total").await
    };
    assert_eq!(follower_reloads, 0.0);

    // The leader crashes; the standby takes over within the lease.
    if first_leads {
        env.loader.kill();
        assert!(standby.is_running());
    } else {
        standby.kill();
        assert!(env.loader.is_running());
    }
    let taken_over = Instant::now();
    apply(
        &env.client,
        &rules_configmap(
            "rl-leader",
            "lead",
            &[("r", &recording("lead-2", "lead:v", "up"))],
        ),
    )
    .await;
    env.wait_groups("lead-2 loaded by the new leader", |g| {
        g.contains_key("lead-2") && !g.contains_key("lead-1")
    })
    .await;
    eprintln!(
        "leader election: the standby loaded the change {:?} after the leader was killed",
        taken_over.elapsed()
    );
    let follower_files = if first_leads {
        standby.metric("rule_loader_files_loaded").await
    } else {
        env.loader.metric("rule_loader_files_loaded").await
    };
    assert_eq!(follower_files, 1.0);
    delete(&env.client, "rl-leader", &["lead"]).await;
}
