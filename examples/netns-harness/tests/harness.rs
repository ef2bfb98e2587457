//! The harness against the real kernel: needs root and iproute2
//! (`cargo test -p netns-harness --features e2e`).

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use netns_harness::{Lab, Netns};

/// Every `Lab::new` sweeps stale namespaces, so the test that plants one
/// and checks its own sweep takes this exclusively; the others share it.
static SWEEP: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    SWEEP.read().unwrap_or_else(PoisonError::into_inner)
}

fn exists(ns: &Netns) -> bool {
    Path::new("/run/netns").join(ns.name()).exists()
}

/// Two namespaces on one bridge reach each other over TCP (no `ping` on
/// the machine: a listener thread inside one, a connection from the other).
#[test]
fn two_namespaces_on_a_bridge_reach_each_other() {
    let _shared = shared();
    let lab = Lab::new().unwrap();
    let a = lab.namespace("a").unwrap();
    let b = lab.namespace("b").unwrap();
    let port_a = lab.attach(&a, "eth0", &["192.0.2.1/24"]).unwrap();
    let port_b = lab.attach(&b, "eth0", &["192.0.2.2/24"]).unwrap();
    assert_ne!(port_a.mac, port_b.mac);
    assert_eq!(port_a.mac.len(), 17, "{}", port_a.mac);

    let listener = b
        .enter(|| TcpListener::bind("192.0.2.2:7000"))
        .unwrap()
        .unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.write_all(b"hello from b").unwrap();
    });
    let addr: SocketAddr = "192.0.2.2:7000".parse().unwrap();
    let reply = a.tcp_get(addr, 20, Duration::from_secs(10)).unwrap();
    assert_eq!(reply, "hello from b");
    server.join().unwrap();

    // The kernel resolved b's address to b's MAC over the bridge.
    let neigh = a.ip(&["neigh", "show", "192.0.2.2"]).unwrap();
    assert!(neigh.contains(&port_b.mac), "{neigh}");
}

/// The host's namespace is not reachable from a lab namespace: nothing
/// leaks out.
#[test]
fn a_lab_namespace_sees_only_its_own_interfaces() {
    let _shared = shared();
    let lab = Lab::new().unwrap();
    let a = lab.namespace("iso").unwrap();
    lab.attach(&a, "eth0", &["198.51.100.1/24"]).unwrap();
    let links = a.ip(&["-o", "link", "show"]).unwrap();
    let names: Vec<&str> = links
        .lines()
        .filter_map(|line| line.split(':').nth(1))
        .map(|name| name.trim().split('@').next().unwrap())
        .collect();
    assert_eq!(names, ["lo", "eth0"], "{links}");
    let routes = a.ip(&["route", "show"]).unwrap();
    assert!(!routes.contains("default"), "{routes}");
}

#[test]
fn drop_removes_every_namespace() {
    let _shared = shared();
    let (a, sw) = {
        let lab = Lab::new().unwrap();
        let a = lab.namespace("gone").unwrap();
        lab.attach(&a, "eth0", &["192.0.2.9/24"]).unwrap();
        assert!(exists(&a));
        (a, format!("{}-sw", lab.id()))
    };
    assert!(!exists(&a), "{} survived the drop", a.name());
    assert!(!Path::new("/run/netns").join(&sw).exists(), "{sw} survived");
}

#[test]
fn a_panic_removes_every_namespace() {
    let _shared = shared();
    let name = std::sync::Mutex::new(String::new());
    let result = std::panic::catch_unwind(|| {
        let lab = Lab::new().unwrap();
        let a = lab.namespace("panics").unwrap();
        *name.lock().unwrap() = a.name().to_owned();
        let _process = Netns::spawn(a.command("sleep").arg("30")).unwrap();
        panic!("a failing test");
    });
    assert!(result.is_err());
    let name = name.into_inner().unwrap();
    assert!(!name.is_empty());
    assert!(
        !Path::new("/run/netns").join(&name).exists(),
        "{name} survived"
    );
}

#[test]
fn a_spawned_process_runs_inside_the_namespace() {
    let _shared = shared();
    let lab = Lab::new().unwrap();
    let a = lab.namespace("exec").unwrap();
    lab.attach(&a, "veth7", &["192.0.2.7/24"]).unwrap();
    let out = a.exec("ip", &["-o", "addr", "show", "veth7"]).unwrap();
    assert!(out.contains("192.0.2.7/24"), "{out}");
    a.sysctl("net.ipv4.conf.all.arp_ignore", "1").unwrap();
    let value = a
        .exec("sysctl", &["-n", "net.ipv4.conf.all.arp_ignore"])
        .unwrap();
    assert_eq!(value.trim(), "1");
}

#[test]
fn stale_namespaces_of_dead_processes_are_swept() {
    let _exclusive = SWEEP.write().unwrap_or_else(PoisonError::into_inner);
    // A pid far above pid_max's default cannot be alive.
    let stale = "lf-4000000-0-stale";
    std::process::Command::new("ip")
        .args(["netns", "add", stale])
        .status()
        .unwrap();
    assert!(Path::new("/run/netns").join(stale).exists());
    let swept = netns_harness::sweep_stale().unwrap();
    assert!(swept.iter().any(|name| name == stale), "{swept:?}");
    assert!(!Path::new("/run/netns").join(stale).exists());
}

#[test]
fn terminate_stops_a_process_with_sigterm() {
    let _shared = shared();
    let lab = Lab::new().unwrap();
    let ns = lab.namespace("term").unwrap();
    let mut process = Netns::spawn(ns.command("sleep").arg("30")).unwrap();
    let started = std::time::Instant::now();
    let status = process.terminate(Duration::from_secs(5)).unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(15),
        "{status}"
    );
}
