use super::*;
use serde_json::json;

fn pool(value: serde_json::Value) -> Pool {
    let ippool: IPPool = serde_json::from_value(value).unwrap();
    Pool::from_ippool(&ippool, &[]).unwrap()
}

fn l2_pool(name: &str, addresses: &[&str], selector: serde_json::Value) -> Pool {
    pool(json!({
        "apiVersion": "leifur.crdforge.dev/v1alpha1", "kind": "IPPool",
        "metadata": {"name": name},
        "spec": {"addresses": addresses, "announce": {"l2": {"nodeSelector": selector}}}
    }))
}

fn service(class: Option<&str>, type_: &str, ips: &[&str]) -> Arc<Service> {
    let ingress: Vec<_> = ips.iter().map(|ip| json!({"ip": ip})).collect();
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"type": type_, "loadBalancerClass": class},
            "status": {"loadBalancer": {"ingress": ingress}}
        }))
        .unwrap(),
    )
}

fn node(name: &str, labels: serde_json::Value) -> Arc<Node> {
    Arc::new(serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap())
}

fn lease(name: &str, renewed: &str, seconds: i32) -> Arc<Lease> {
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "leifur-system"},
            "spec": {"renewTime": renewed, "leaseDurationSeconds": seconds}
        }))
        .unwrap(),
    )
}

fn ready(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[test]
fn ready_speakers_are_those_with_unexpired_leases() {
    let now: Timestamp = "2026-12-07T06:00:10Z".parse().unwrap();
    let leases = [
        lease("leifur-speaker-a", "2026-12-07T06:00:05.000000Z", 15),
        lease("leifur-speaker-b", "2026-12-07T05:59:50.000000Z", 15),
        lease("leifur-speaker-c", "2026-12-07T06:00:09.000000Z", 1),
        lease("someone-else", "2026-12-07T06:00:09.000000Z", 15),
    ];
    assert_eq!(ready_speakers(&leases, now), ready(&["a"]));
}

#[test]
fn exactly_one_ready_matching_node_announces_each_l2_address() {
    let pools = [l2_pool("p", &["192.0.2.0/24"], json!(null))];
    let nodes = [
        node("a", json!({})),
        node("b", json!({})),
        node("c", json!({})),
    ];
    let services: Vec<_> = (10..40)
        .map(|i| service(None, "LoadBalancer", &[&format!("192.0.2.{i}")]))
        .collect();
    let all = ready(&["a", "b", "c"]);
    let mut owners = BTreeMap::new();
    for me in ["a", "b", "c"] {
        for address in desired(me, &pools, &services, &nodes, &all).l2.keys() {
            assert!(owners.insert(*address, me).is_none(), "{address} twice");
        }
    }
    assert_eq!(owners.len(), 30);
    // `a` leaves: its addresses move, nobody else's do.
    let rest = ready(&["b", "c"]);
    let mut after = BTreeMap::new();
    for me in ["a", "b", "c"] {
        for address in desired(me, &pools, &services, &nodes, &rest).l2.keys() {
            after.insert(*address, me);
        }
    }
    assert_eq!(after.len(), 30);
    for (address, owner) in &owners {
        if *owner != "a" {
            assert_eq!(after[address], *owner);
        }
    }
    assert!(!after.values().any(|owner| *owner == "a"));
}

#[test]
fn the_node_selector_limits_the_candidates() {
    let pools = [l2_pool(
        "p",
        &["192.0.2.0/24"],
        json!({"matchLabels": {"edge": "true"}}),
    )];
    let nodes = [node("a", json!({"edge": "true"})), node("b", json!({}))];
    let services: Vec<_> = (10..20)
        .map(|i| service(None, "LoadBalancer", &[&format!("192.0.2.{i}")]))
        .collect();
    let all = ready(&["a", "b"]);
    assert_eq!(desired("a", &pools, &services, &nodes, &all).l2.len(), 10);
    assert!(desired("b", &pools, &services, &nodes, &all).l2.is_empty());
    // A node without a Node object is no candidate either.
    assert!(
        desired("z", &pools, &services, &nodes, &ready(&["z"]))
            .l2
            .is_empty()
    );
}

#[test]
fn only_our_load_balancers_in_a_pool_are_announced() {
    let pools = [l2_pool("p", &["192.0.2.0/24"], json!(null))];
    let nodes = [node("a", json!({}))];
    let services = [
        service(Some("other.example/lb"), "LoadBalancer", &["192.0.2.1"]),
        service(None, "ClusterIP", &["192.0.2.2"]),
        service(None, "LoadBalancer", &["198.51.100.3"]),
        service(
            Some("leifur.crdforge.dev/leifur"),
            "LoadBalancer",
            &["192.0.2.4"],
        ),
    ];
    let out = desired("a", &pools, &services, &nodes, &ready(&["a"]));
    assert_eq!(
        out.l2.keys().copied().collect::<Vec<_>>(),
        ["192.0.2.4".parse::<IpAddr>().unwrap()]
    );
}

#[test]
fn bgp_pools_give_every_speaker_a_route_per_address_per_peer() {
    let pools = [pool(json!({
        "apiVersion": "leifur.crdforge.dev/v1alpha1", "kind": "IPPool",
        "metadata": {"name": "b"},
        "spec": {"addresses": ["198.51.100.0/28"], "announce": {"bgp": {
            "myASN": 64512,
            "peers": [{"address": "198.51.100.254", "asn": 64513, "holdTime": "9s"}],
            "communities": ["65000:100"],
            "localPref": 200
        }}}
    }))];
    let services = [service(
        None,
        "LoadBalancer",
        &["198.51.100.5", "198.51.100.6"],
    )];
    let out = desired("a", &pools, &services, &[], &ready(&[]));
    assert!(out.l2.is_empty());
    let (peer, routes) = out.bgp.iter().next().unwrap();
    assert_eq!(peer.address, "198.51.100.254".parse::<IpAddr>().unwrap());
    assert_eq!((peer.asn, peer.my_asn, peer.port), (64513, 64512, 179));
    assert_eq!(peer.hold_time, Duration::from_secs(9));
    assert_eq!(routes.len(), 2);
    let attributes = routes.values().next().unwrap();
    assert_eq!(attributes.communities, [(65000, 100)]);
    assert_eq!(attributes.local_pref, Some(200));
    // With nothing to announce, the session is still wanted.
    let idle = desired("a", &pools, &[], &[], &ready(&[]));
    assert_eq!(idle.bgp.len(), 1);
    assert!(idle.bgp.values().next().unwrap().is_empty());
}

#[test]
fn a_pool_with_a_bad_community_is_refused_naming_the_field() {
    let ippool: IPPool = serde_json::from_value(json!({
        "apiVersion": "leifur.crdforge.dev/v1alpha1", "kind": "IPPool",
        "metadata": {"name": "bad"},
        "spec": {"addresses": ["198.51.100.0/28"], "announce": {"bgp": {
            "myASN": 64512, "peers": [], "communities": ["65000-100"]
        }}}
    }))
    .unwrap();
    let err = Pool::from_ippool(&ippool, &[]).unwrap_err().to_string();
    assert!(err.contains("spec.announce.bgp.communities[0]"), "{err}");
}

fn md5_pool() -> IPPool {
    serde_json::from_value(json!({
        "apiVersion": "leifur.crdforge.dev/v1alpha1", "kind": "IPPool",
        "metadata": {"name": "md5"},
        "spec": {"addresses": ["198.51.100.0/28"], "announce": {"bgp": {
            "myASN": 64512,
            "peers": [
                {"address": "198.51.100.253", "asn": 64513,
                 "passwordSecretRef": {"name": "bgp", "key": "password"}},
                {"address": "198.51.100.254", "asn": 64513}
            ]
        }}}
    }))
    .unwrap()
}

fn secret(name: &str, data: serde_json::Value) -> Arc<Secret> {
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "leifur-system"},
            "data": data
        }))
        .unwrap(),
    )
}

#[test]
fn a_peer_whose_password_cannot_be_read_is_refused_naming_the_field_and_the_others_kept() {
    // "czNjcmV0" is base64 for "s3cret".
    let cases = [
        (vec![], "passwordSecretRef.name", "Secret \"bgp\" not found"),
        (
            vec![secret("other", json!({"password": "czNjcmV0"}))],
            "passwordSecretRef.name",
            "Secret \"bgp\" not found",
        ),
        (
            vec![secret("bgp", json!({"pass": "czNjcmV0"}))],
            "passwordSecretRef.key",
            "Secret \"bgp\" has no key \"password\"",
        ),
        (
            vec![secret("bgp", json!({"password": ""}))],
            "passwordSecretRef.key",
            "is 0 bytes long",
        ),
    ];
    for (secrets, field, message) in cases {
        let pools = [Pool::from_ippool(&md5_pool(), &secrets).unwrap()];
        let [refusal] = &pools[0].refused[..] else {
            panic!("{:?}", pools[0].refused)
        };
        assert_eq!(refusal.field, format!("spec.announce.bgp.peers[0].{field}"));
        assert!(refusal.message.contains(message), "{}", refusal.message);
        assert!(refusal.message.ends_with(NO_SESSION), "{}", refusal.message);
        let services = [service(None, "LoadBalancer", &["198.51.100.5"])];
        let out = desired("a", &pools, &services, &[], &ready(&[]));
        let peers: Vec<IpAddr> = out.bgp.keys().map(|peer| peer.address).collect();
        assert_eq!(peers, ["198.51.100.254".parse::<IpAddr>().unwrap()]);
    }
}

#[test]
fn a_readable_password_goes_with_its_peer_and_never_shows() {
    let secrets = [secret("bgp", json!({"password": "czNjcmV0"}))];
    let pool = Pool::from_ippool(&md5_pool(), &secrets).unwrap();
    assert!(pool.refused.is_empty(), "{:?}", pool.refused);
    let peers = &pool.bgp.as_ref().unwrap().peers;
    assert_eq!(
        peers[0].password.as_ref().map(Password::expose),
        Some(&b"s3cret"[..])
    );
    assert_eq!(peers[1].password, None);
    let shown = format!(
        "{pool:?} {:?}",
        desired("a", std::slice::from_ref(&pool), &[], &[], &ready(&[]))
    );
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("Password(<redacted>)"), "{shown}");
    // A changed password is another session (the old one ends).
    let changed = [secret("bgp", json!({"password": "b3RoZXI="}))];
    let other = Pool::from_ippool(&md5_pool(), &changed).unwrap();
    assert_ne!(pool.bgp.unwrap().peers[0], other.bgp.unwrap().peers[0]);
}

#[test]
fn a_password_longer_than_tcp_md5_takes_is_refused() {
    let long = "k".repeat(crate::md5::MAX_KEY_LEN + 1);
    let encoded = k8s_openapi::ByteString(long.into_bytes());
    let secrets = [secret("bgp", json!({"password": encoded}))];
    let pool = Pool::from_ippool(&md5_pool(), &secrets).unwrap();
    assert_eq!(pool.refused.len(), 1);
    assert!(
        pool.refused[0]
            .message
            .contains("81 bytes long; TCP MD5 takes 1 to 80"),
        "{}",
        pool.refused[0].message
    );
    assert!(!pool.refused[0].message.contains("kkkk"));
}

#[test]
fn durations_parse_like_go() {
    assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
    assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
    assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
    assert_eq!(parse_duration("1.5h"), Some(Duration::from_secs(5400)));
    assert_eq!(parse_duration(""), None);
    assert_eq!(parse_duration("90"), None);
    assert_eq!(parse_duration("s"), None);
}
