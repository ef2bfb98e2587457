//! The server in a process with 256 file descriptors, as a pod with a low
//! `ulimit -n` has: while the process is out of descriptors the accept loop
//! keeps going (it used to end for good on the first `EMFILE`), and once
//! descriptors are free again `/healthz` answers within a probe's timeout
//! although 354 idle connections are held open against it.
//!
//! Its own process because it lowers the open-file limit: the test runs
//! itself again as the server (`harness = false`; `main` is the test).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CHILD: &str = "CRDFORGE_SERVER_FD_LIMIT_CHILD";
const LIMIT: u64 = 256;
/// How long the child keeps every descriptor taken.
const EXHAUSTED_FOR: Duration = Duration::from_secs(2);
const IDLE_CONNECTIONS: usize = 354;
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

fn main() {
    if std::env::var_os(CHILD).is_some() {
        child();
    } else {
        parent();
        println!("server_fd_limit: ok");
    }
}

#[tokio::main]
async fn child() {
    use rustix::process::{Resource, Rlimit, setrlimit};
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(LIMIT),
            maximum: Some(LIMIT),
        },
    )
    .expect("lowering the open-file limit");
    let ready = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let server = crdforge_runtime::server::Server::new()
        .health(ready)
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    // Take every descriptor left, so `accept` fails with EMFILE.
    let mut hoard = Vec::new();
    while let Ok(file) = std::fs::File::open("/dev/null") {
        hoard.push(file);
        assert!(hoard.len() < LIMIT as usize, "the limit holds");
    }
    println!(
        "{} {} {}",
        server.local_addr(),
        server.max_connections(),
        hoard.len()
    );
    std::io::stdout().flush().unwrap();
    tokio::time::sleep(EXHAUSTED_FOR).await;
    drop(hoard);
    // Serve until the parent closes stdin (bounded: the parent's own checks
    // take seconds).
    let _ = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(|| std::io::stdin().lines().count()),
    )
    .await;
}

#[tokio::main]
async fn parent() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let started = Instant::now();
    let mut fields = line.split_whitespace();
    let addr: std::net::SocketAddr = fields.next().expect("child's address").parse().unwrap();
    let cap: usize = fields.next().unwrap().parse().unwrap();
    let hoarded: usize = fields.next().unwrap().parse().unwrap();
    assert!(
        cap < LIMIT as usize,
        "cap {cap} leaves room under the limit"
    );
    assert!(hoarded > 0);

    // While the child has no descriptor left, the connections queue in the
    // listen backlog (std's and mio's 128 would stall the 129th connect) and
    // accept fails.
    let mut idle = Vec::new();
    for _ in 0..IDLE_CONNECTIONS {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    assert!(
        started.elapsed() < EXHAUSTED_FOR,
        "the flood was in place before the descriptors came back ({:?})",
        started.elapsed()
    );
    tokio::time::sleep(
        EXHAUSTED_FOR.saturating_sub(started.elapsed()) + Duration::from_millis(200),
    )
    .await;

    for i in 0..10 {
        let probe = tokio::time::timeout(PROBE_TIMEOUT, healthz(addr)).await;
        assert!(
            matches!(probe, Ok(Ok(200))),
            "probe {i} with {IDLE_CONNECTIONS} idle connections held: {probe:?}"
        );
    }
    drop(idle);
    let probe = tokio::time::timeout(PROBE_TIMEOUT, healthz(addr)).await;
    assert!(matches!(probe, Ok(Ok(200))), "after the flood: {probe:?}");

    drop(child.stdin.take());
    let status = child.wait().unwrap();
    assert!(status.success(), "the server process: {status}");
}

async fn healthz(addr: std::net::SocketAddr) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(addr).await?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(response))
}
