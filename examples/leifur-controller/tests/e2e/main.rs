//! End-to-end tests of Leifur's IPAM: the real control plane, the
//! generated CRD, and the controller as its own process under its
//! generated RBAC. Run with `cargo xtask envtest run -- cargo test -p
//! leifur-controller --features e2e --test e2e`.
//!
//! `LEIFUR_E2E_SERVICES` sets how many Services the restart test creates
//! (60 by default, so CI takes seconds; 1000 runs against a /22).

mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use harness::*;
use k8s_openapi::api::core::v1::Service;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use leifur_api::{
    ADDRESSES_ANNOTATION, ALLOW_SHARED_IP_ANNOTATION, AddressRange, IPPool, LOAD_BALANCER_CLASS,
    POOL_ANNOTATION,
};
use serde_json::json;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[tokio::test]
async fn services_get_addresses_from_the_right_pool_and_release_them() {
    let _serial = SERIAL.lock().await;
    let client = client().await;
    clean(&client).await;
    let ns = "lfe-pools";
    namespace(&client, ns).await;
    let mut low = pool("low", &["192.0.2.0/29"]);
    low.spec.priority = Some(10);
    let mut preferred = pool("preferred", &["198.51.100.0/29"]);
    preferred.spec.priority = Some(1);
    let mut manual = pool("manual", &["203.0.113.0/29"]);
    manual.spec.auto_assign = false;
    for p in [&low, &preferred, &manual] {
        create_pool(&client, p).await;
    }
    let controller = Controller::start("pools", &[]);
    controller.wait_ready().await;

    create_service(&client, &lb(ns, "auto", 80)).await;
    create_service(
        &client,
        &annotated(lb(ns, "named", 80), POOL_ANNOTATION, "manual"),
    )
    .await;
    let mut requested = lb(ns, "requested", 80);
    requested.spec.as_mut().unwrap().load_balancer_ip = Some("192.0.2.5".into());
    create_service(&client, &requested).await;
    create_service(
        &client,
        &annotated(lb(ns, "outside", 80), ADDRESSES_ANNOTATION, "203.0.113.200"),
    )
    .await;
    let mut other = lb(ns, "other-class", 80);
    other.spec.as_mut().unwrap().load_balancer_class = Some("example.com/other".into());
    create_service(&client, &other).await;
    let mut ours = lb(ns, "our-class", 81);
    ours.spec.as_mut().unwrap().load_balancer_class = Some(LOAD_BALANCER_CLASS.into());
    create_service(&client, &ours).await;

    assert_eq!(
        addresses(&client, ns, "auto", 1).await,
        [ip("198.51.100.0")]
    );
    assert_eq!(
        addresses(&client, ns, "named", 1).await,
        [ip("203.0.113.0")]
    );
    assert_eq!(
        addresses(&client, ns, "requested", 1).await,
        [ip("192.0.2.5")]
    );
    assert_eq!(
        addresses(&client, ns, "our-class", 1).await,
        [ip("198.51.100.1")]
    );
    let message = event(&client, ns, "outside", "RequestedAddressRefused").await;
    assert_eq!(
        message,
        "203.0.113.200 is in no IPPool this Service may use"
    );
    let assigned = event(&client, ns, "auto", "AddressAssigned").await;
    assert_eq!(assigned, "198.51.100.0 from IPPool preferred");

    // What kubectl shows: the address in EXTERNAL-IP.
    let table =
        String::from_utf8(kubectl(&["get", "svc", "-n", ns, "auto", "named"]).stdout).unwrap();
    assert!(
        table.contains("198.51.100.0") && table.contains("203.0.113.0"),
        "{table}"
    );

    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    assert!(ingress(&services.get("outside").await.unwrap()).is_empty());
    assert!(ingress(&services.get("other-class").await.unwrap()).is_empty());

    // Pool status counts what its Services hold.
    let pools: Api<IPPool> = Api::all(client.clone());
    eventually(
        "preferred's status counts",
        Duration::from_secs(30),
        || async {
            let status = pools.get("preferred").await.ok()?.status?;
            let valid = status
                .conditions
                .iter()
                .any(|c| c.type_ == "Valid" && c.status == "True");
            (valid && status.assigned_ipv4 == Some(2) && status.available_ipv4 == Some(6))
                .then_some(())
        },
    )
    .await;

    // Release: delete one, turn another into a ClusterIP Service.
    services
        .delete("auto", &DeleteParams::default())
        .await
        .unwrap();
    services
        .patch(
            "requested",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"type": "ClusterIP", "loadBalancerIP": null, "allocateLoadBalancerNodePorts": null}})),
        )
        .await
        .unwrap();
    eventually(
        "requested's address released",
        Duration::from_secs(30),
        || async {
            ingress(&services.get("requested").await.ok()?)
                .is_empty()
                .then_some(())
        },
    )
    .await;
    eventually("both releases counted", Duration::from_secs(30), || async {
        let p = pools.get("preferred").await.ok()?.status?;
        let l = pools.get("low").await.ok()?.status?;
        (p.assigned_ipv4 == Some(1) && l.assigned_ipv4 == Some(0)).then_some(())
    })
    .await;
    // The freed address goes to the next Service.
    create_service(&client, &lb(ns, "next", 80)).await;
    assert_eq!(
        addresses(&client, ns, "next", 1).await,
        [ip("198.51.100.0")]
    );
    // The counter is raised after the status write returns, so the test can
    // see `next`'s address a moment before the fifth allocation is counted.
    eventually(
        "five allocations counted",
        Duration::from_secs(10),
        || async {
            let allocations: f64 = controller
                .metric("leifur_allocations_total")
                .await
                .iter()
                .map(|s| s.1)
                .sum();
            (allocations >= 5.0).then_some(())
        },
    )
    .await;
    // Pool usage on /metrics follows (written after a short coalescing delay).
    eventually(
        "preferred's usage on /metrics",
        Duration::from_secs(30),
        || async {
            let usage = controller.metric("leifur_pool_addresses").await;
            usage
                .iter()
                .any(|(s, v)| {
                    s.contains("pool=\"preferred\"")
                        && s.contains("family=\"IPv4\"")
                        && s.contains("state=\"assigned\"")
                        && *v == 2.0
                })
                .then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn exhaustion_leaves_a_service_pending_until_an_address_frees() {
    let _serial = SERIAL.lock().await;
    let client = client().await;
    clean(&client).await;
    let ns = "lfe-exhaust";
    namespace(&client, ns).await;
    let mut small = pool("small", &["192.0.2.8/30"]);
    small.spec.avoid_buggy_ips = false;
    create_pool(&client, &small).await;
    let controller = Controller::start("exhaust", &[]);
    controller.wait_ready().await;
    for i in 0..4 {
        create_service(&client, &lb(ns, &format!("s{i}"), 80)).await;
    }
    let mut held = BTreeSet::new();
    for i in 0..4 {
        held.extend(addresses(&client, ns, &format!("s{i}"), 1).await);
    }
    assert_eq!(held.len(), 4);
    create_service(&client, &lb(ns, "late", 80)).await;
    let message = event(&client, ns, "late", "AllocationFailed").await;
    assert_eq!(message, "no free IPv4 address in IPPool small");
    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    let freed = ingress(&services.get("s2").await.unwrap());
    let start = Instant::now();
    services
        .delete("s2", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(addresses(&client, ns, "late", 1).await, freed);
    eprintln!(
        "pending Service got the freed address {:?} after the delete",
        start.elapsed()
    );
    assert!(controller.log_text().contains("released"));
}

#[tokio::test]
async fn services_share_an_address_when_keys_match_ports_do_not_clash_and_traffic_policies_agree() {
    let _serial = SERIAL.lock().await;
    let client = client().await;
    clean(&client).await;
    let ns = "lfe-share";
    namespace(&client, ns).await;
    create_pool(&client, &pool("shared", &["198.51.100.16/29"])).await;
    let controller = Controller::start("share", &[]);
    controller.wait_ready().await;
    create_service(
        &client,
        &annotated(lb(ns, "web", 80), ALLOW_SHARED_IP_ANNOTATION, "k"),
    )
    .await;
    let web = addresses(&client, ns, "web", 1).await;
    create_service(
        &client,
        &annotated(lb(ns, "tls", 443), ALLOW_SHARED_IP_ANNOTATION, "k"),
    )
    .await;
    assert_eq!(
        addresses(&client, ns, "tls", 1).await,
        web,
        "same key, other port: shared"
    );
    create_service(
        &client,
        &annotated(lb(ns, "clash", 80), ALLOW_SHARED_IP_ANNOTATION, "k"),
    )
    .await;
    assert_ne!(
        addresses(&client, ns, "clash", 1).await,
        web,
        "same port: not shared"
    );
    create_service(
        &client,
        &annotated(lb(ns, "other-key", 8080), ALLOW_SHARED_IP_ANNOTATION, "z"),
    )
    .await;
    assert_ne!(
        addresses(&client, ns, "other-key", 1).await,
        web,
        "other key: not shared"
    );
    // Asking for the shared address without the key is refused.
    create_service(
        &client,
        &annotated(
            lb(ns, "intruder", 9090),
            ADDRESSES_ANNOTATION,
            &web[0].to_string(),
        ),
    )
    .await;
    let message = event(&client, ns, "intruder", "RequestedAddressRefused").await;
    assert!(
        message.starts_with(&format!("{} is in use by {ns}/", web[0])),
        "{message}"
    );
    // With the key and a free port it is honoured.
    let welcome = annotated(
        annotated(
            lb(ns, "welcome", 9091),
            ADDRESSES_ANNOTATION,
            &web[0].to_string(),
        ),
        ALLOW_SHARED_IP_ANNOTATION,
        "k",
    );
    create_service(&client, &welcome).await;
    assert_eq!(addresses(&client, ns, "welcome", 1).await, web);
    // With the key and a free port, but externalTrafficPolicy Local beside
    // Cluster holders: no node serves both, so it is refused by name.
    let mut local = annotated(
        annotated(
            lb(ns, "local", 9092),
            ADDRESSES_ANNOTATION,
            &web[0].to_string(),
        ),
        ALLOW_SHARED_IP_ANNOTATION,
        "k",
    );
    local.spec.as_mut().unwrap().external_traffic_policy = Some("Local".into());
    create_service(&client, &local).await;
    let message = event(&client, ns, "local", "RequestedAddressRefused").await;
    assert!(
        message.starts_with(&format!("{} is shared with {ns}/", web[0]))
            && message.contains("externalTrafficPolicy is Cluster"),
        "{message}"
    );
    // Without asking for it, a Local sharer gets an address of its own.
    let mut roaming = annotated(lb(ns, "local-free", 9093), ALLOW_SHARED_IP_ANNOTATION, "k");
    roaming.spec.as_mut().unwrap().external_traffic_policy = Some("Local".into());
    create_service(&client, &roaming).await;
    assert_ne!(
        addresses(&client, ns, "local-free", 1).await,
        web,
        "Local beside Cluster: not shared"
    );
}

#[tokio::test]
async fn dual_stack_services_get_one_address_per_family() {
    let _serial = SERIAL.lock().await;
    let client = client().await;
    clean(&client).await;
    let ns = "lfe-dual";
    namespace(&client, ns).await;
    // A 2^64-address IPv6 entry is accepted and allocated from.
    create_pool(
        &client,
        &pool("dual", &["192.0.2.64/28", "2001:db8:0:1::/64"]),
    )
    .await;
    let controller = Controller::start("dual", &[]);
    controller.wait_ready().await;
    let mut both = lb(ns, "both", 80);
    let spec = both.spec.as_mut().unwrap();
    spec.ip_family_policy = Some("RequireDualStack".into());
    spec.ip_families = Some(vec!["IPv6".into(), "IPv4".into()]);
    create_service(&client, &both).await;
    assert_eq!(
        addresses(&client, ns, "both", 2).await,
        [ip("2001:db8:0:1::"), ip("192.0.2.64")]
    );
    let mut v6 = lb(ns, "v6", 80);
    v6.spec.as_mut().unwrap().ip_families = Some(vec!["IPv6".into()]);
    create_service(&client, &v6).await;
    assert_eq!(
        addresses(&client, ns, "v6", 1).await,
        [ip("2001:db8:0:1::1")]
    );
    let mut asked = lb(ns, "asked", 80);
    let spec = asked.spec.as_mut().unwrap();
    spec.ip_family_policy = Some("PreferDualStack".into());
    let asked = annotated(
        asked,
        ADDRESSES_ANNOTATION,
        "192.0.2.70, 2001:db8:0:1::beef",
    );
    create_service(&client, &asked).await;
    let got: BTreeSet<IpAddr> = addresses(&client, ns, "asked", 2)
        .await
        .into_iter()
        .collect();
    assert_eq!(got, [ip("192.0.2.70"), ip("2001:db8:0:1::beef")].into());
    let pools: Api<IPPool> = Api::all(client.clone());
    eventually("dual's status counts", Duration::from_secs(30), || async {
        let s = pools.get("dual").await.ok()?.status?;
        (s.assigned_ipv4 == Some(2)
            && s.assigned_ipv6 == Some(3)
            && s.available_ipv6 == Some(i64::MAX))
        .then_some(())
    })
    .await;
}

#[tokio::test]
async fn bad_pools_are_refused_by_the_apiserver_naming_the_field() {
    let _serial = SERIAL.lock().await;
    let client = client().await;
    clean(&client).await;
    let pools: Api<IPPool> = Api::all(client.clone());
    let cases = [
        (
            "not-a-cidr",
            "192.0.2.0/33",
            "must be a CIDR (192.0.2.0/24) or a range",
        ),
        ("garbage", "nonsense", "should match"),
        ("host-bits", "192.0.2.1/24", "host bits are set"),
        (
            "reversed",
            "192.0.2.20-192.0.2.10",
            "first address must not be after the last",
        ),
        (
            "reversed-v6",
            "2001:db8::ff-2001:db8::1",
            "first address must not be after the last",
        ),
        (
            "mixed",
            "192.0.2.1-2001:db8::1",
            "first and last must be of the same IP family",
        ),
    ];
    for (name, entry, needle) in cases {
        let p = pool(name, &["198.51.100.0/24", entry]);
        let err = pools
            .create(&Default::default(), &p)
            .await
            .map(|_| ())
            .expect_err(&format!("{entry} was accepted"));
        let text = err.to_string();
        assert!(text.contains("spec.addresses[1]"), "{entry}: {text}");
        assert!(text.contains(needle), "{entry}: {text}");
        // Each verdict agrees with the addresses module's.
        assert!(AddressRange::parse(entry).is_err(), "{entry}");
    }
    // Good entries the module reads the same way: accepted.
    for (name, entry) in [
        ("ok-range", "192.0.2.10-192.0.2.20"),
        ("ok-carry", "10.0.0.255-10.0.1.0"),
        ("ok-2-64", "2001:db8::/64"),
    ] {
        assert!(AddressRange::parse(entry).is_ok());
        pools
            .create(&Default::default(), &pool(name, &[entry]))
            .await
            .unwrap();
    }
    // Overlap spans two objects, which no CEL rule sees: the later pool is
    // not used and says so in its Valid condition.
    let controller = Controller::start("bad-pools", &[]);
    controller.wait_ready().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    pools
        .create(
            &Default::default(),
            &pool("overlapping", &["192.0.2.16/28"]),
        )
        .await
        .unwrap();
    let message = eventually(
        "overlapping's Valid=False",
        Duration::from_secs(30),
        || async {
            let status = pools.get("overlapping").await.ok()?.status?;
            let c = status
                .conditions
                .into_iter()
                .find(|c| c.type_ == "Valid" && c.status == "False")?;
            Some(c.message)
        },
    )
    .await;
    assert_eq!(
        message,
        "spec.addresses: 192.0.2.16/28 overlaps 192.0.2.10-192.0.2.20 of IPPool ok-range, which is older; this pool is not used"
    );
    let ok = pools.get("ok-range").await.unwrap();
    assert!(
        ok.status
            .unwrap_or_default()
            .conditions
            .iter()
            .all(|c| c.status == "True")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_pools_are_refused_by_the_validating_webhook() {
    use crdforge::webhook::{ClientConfig, FailurePolicy, Target};
    use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
    let _serial = SERIAL.lock().await;
    let client = client().await;
    clean(&client).await;
    let dir = crdforge_envtest::Instance::from_env()
        .dir()
        .join("leifur-e2e/pki");
    let pki = crdforge_envtest::pki::ServingPki::generate(&dir, &["127.0.0.1"]).unwrap();
    let port = free_port();
    let controller = Controller::start(
        "webhook",
        &[
            &format!("--webhook-addr=127.0.0.1:{port}"),
            &format!("--tls-cert={}", pki.cert.display()),
            &format!("--tls-key={}", pki.key.display()),
        ],
    );
    controller.wait_ready().await;
    let mut hooks = leifur_api::webhooks(ClientConfig {
        target: Target::Url(format!("https://127.0.0.1:{port}/")),
        ca_bundle: Some(pki.ca_pem.clone().into_bytes()),
    });
    // Ignore, not the generated Fail: a test that dies with its webhook
    // down must not block the pools of the suites after it.
    for hook in &mut hooks.admission {
        hook.failure_policy = FailurePolicy::Ignore;
    }
    let validating = hooks.manifests().validating.unwrap();
    let configs: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    configs
        .patch(
            &validating.name_any(),
            &PatchParams::apply("leifur-e2e").force(),
            &Patch::Apply(&validating),
        )
        .await
        .unwrap();
    let pools: Api<IPPool> = Api::all(client.clone());
    create_pool(&client, &pool("first", &["192.0.2.0/24"])).await;
    let second = pool("second", &["198.51.100.0/24", "192.0.2.128/25"]);
    let dry = kube::api::PostParams {
        dry_run: true,
        ..Default::default()
    };
    let message = eventually("the webhook's denial", Duration::from_secs(30), || async {
        match pools.create(&dry, &second).await {
            Err(kube::Error::Api(s)) if s.message.contains("overlaps") => Some(s.message),
            _ => None,
        }
    })
    .await;
    assert!(
        message.contains("spec.addresses[1]: 192.0.2.128/25 overlaps 192.0.2.0/24 of IPPool first"),
        "{message}"
    );
    assert!(pools.create(&Default::default(), &second).await.is_err());
    // A pool that overlaps nothing, and an update of a pool (compared
    // with the others, not itself), are admitted.
    create_pool(&client, &pool("third", &["203.0.113.0/24"])).await;
    pools
        .patch(
            "first",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"addresses": ["192.0.2.0/24", "198.51.100.0/25"]}})),
        )
        .await
        .unwrap();
    configs
        .delete(&validating.name_any(), &DeleteParams::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_controller_killed_mid_way_changes_no_address_after_restart() {
    let _serial = SERIAL.lock().await;
    let client = client().await;
    clean(&client).await;
    let n: usize = std::env::var("LEIFUR_E2E_SERVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let ns = "lfe-restart";
    namespace(&client, ns).await;
    let range = if n > 250 {
        "192.0.2.0/22"
    } else {
        "192.0.2.0/24"
    };
    // /22 of documentation space does not exist as one block: use the
    // benchmarking range 198.18.0.0/15 for the large run.
    let range = if n > 250 { "198.18.0.0/22" } else { range };
    create_pool(&client, &pool("big", &[range])).await;
    // Short lease timings keep the CI run quick (a restarted replica waits
    // out the dead one's lease); the large run loads the apiserver enough
    // that a 2 s renew deadline is missed, and a replica that loses its
    // lease exits (to be restarted by its kubelet), so it gets the
    // defaults of a Deployment.
    let (duration, renew, retry) = if n > 250 {
        ("15", "10", "2000")
    } else {
        ("3", "2", "300")
    };
    let lease_flags = [
        "--leader-elect".to_string(),
        "--lease-namespace=leifur-system".into(),
        "--lease-name=leifur-e2e".into(),
        format!("--lease-duration={duration}"),
        format!("--renew-deadline={renew}"),
        format!("--retry-period-ms={retry}"),
        "--workers=4".into(),
    ];
    let lease_flags: Vec<&str> = lease_flags.iter().map(String::as_str).collect();
    let mut controller = Controller::start("restart", &lease_flags);
    controller.wait_ready().await;
    let started = Instant::now();
    // Created 20 at a time, concurrently.
    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    let mut killed_at = None;
    let mut before: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(20) {
        let mut creates = tokio::task::JoinSet::new();
        for i in chunk {
            let client = client.clone();
            let svc = lb(ns, &format!("s{i:04}"), 80);
            creates.spawn(async move { create_service(&client, &svc).await });
        }
        while let Some(done) = creates.join_next().await {
            done.unwrap();
        }
        if killed_at.is_none() {
            // Once some have addresses, kill the controller mid-way.
            let assigned = eventually("some assignments", Duration::from_secs(60), || async {
                let list = services.list(&ListParams::default()).await.ok()?;
                let assigned: BTreeMap<String, Vec<IpAddr>> = list
                    .items
                    .iter()
                    .map(|s| (s.name_any(), ingress(s)))
                    .filter(|(_, ips)| !ips.is_empty())
                    .collect();
                (assigned.len() >= 5).then_some(assigned)
            })
            .await;
            controller.kill();
            killed_at = Some(assigned.len());
            before = assigned;
            controller.restart();
        }
    }
    let all = eventually(
        &format!("all {n} Services assigned"),
        Duration::from_secs(120 + n as u64 / 5),
        || async {
            let list = services.list(&ListParams::default()).await.ok()?;
            let assigned: BTreeMap<String, Vec<IpAddr>> = list
                .items
                .iter()
                .map(|s| (s.name_any(), ingress(s)))
                .collect();
            (assigned.len() == n && assigned.values().all(|ips| ips.len() == 1)).then_some(assigned)
        },
    )
    .await;
    eprintln!(
        "{n} Services assigned in {:?}, controller SIGKILLed after {} had addresses",
        started.elapsed(),
        killed_at.unwrap()
    );
    // After the restart no address changed...
    let re_read = services.list(&ListParams::default()).await.unwrap();
    let now: BTreeMap<String, Vec<IpAddr>> = re_read
        .items
        .iter()
        .map(|s| (s.name_any(), ingress(s)))
        .collect();
    for (name, ips) in &before {
        assert_eq!(&now[name], ips, "{name} changed address across the restart");
    }
    assert_eq!(now, all);
    // ...none is duplicated, and every one is in the pool.
    let pool_range = AddressRange::parse(range).unwrap();
    let unique: BTreeSet<IpAddr> = all.values().flatten().copied().collect();
    assert_eq!(unique.len(), n, "duplicated addresses");
    assert!(unique.iter().all(|ip| pool_range.contains(*ip)));
    // A second restart reallocates nothing and writes no Service.
    let versions: BTreeMap<String, String> = re_read
        .items
        .iter()
        .map(|s| (s.name_any(), s.resource_version().unwrap()))
        .collect();
    controller.restart();
    controller.wait_ready().await;
    eventually(
        "the new leader's pool status",
        Duration::from_secs(30),
        || async {
            let pools: Api<IPPool> = Api::all(client.clone());
            let s = pools.get("big").await.ok()?.status?;
            (s.assigned_ipv4 == Some(n as i64)).then_some(())
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after: BTreeMap<String, String> = services
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|s| (s.name_any(), s.resource_version().unwrap()))
        .collect();
    assert_eq!(
        versions, after,
        "a restart with nothing changed wrote Services"
    );
}
