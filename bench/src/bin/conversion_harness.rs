//! The harness of the conversion webhook benchmark: runs one contender (a
//! program taking `--listen`, `--cert`, `--key` and printing `listening on
//! <addr>`) as a child process and measures it from outside, over HTTPS on
//! loopback, the way the apiserver calls a conversion webhook.
//!
//! 1. **Same answers**: one review of v1 Users to v2 and one of v2 Users to
//!    v1 are sent, and the converted objects must equal what
//!    `user_api::conversion` gives in process (JSON `null`s aside, which Go
//!    writes for empty timestamps). A contender that converts differently
//!    is an error, not a figure.
//! 2. **Warm-up**: `--warmup` reviews, not measured.
//! 3. **Load**: `--requests` reviews of `--objects` Users each, half v1 → v2
//!    and half v2 → v1, over `--concurrency` keep-alive HTTP/1.1
//!    connections (each sends its next review when the previous answer is
//!    in). Measured: wall time, every review's latency, the contender's
//!    CPU time (utime + stime over the load) and its peak resident set.
//!
//! Prints one JSON line.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use bytes::Bytes;
use clap::Parser;
use crdforge_bench::{emit, process};
use crdforge_envtest::pki::ServingPki;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

#[derive(Parser)]
struct Args {
    /// The contender's name in the output.
    #[arg(long)]
    name: String,
    /// Reviews sent under load.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Reviews sent before the load, not measured.
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    /// Users per review.
    #[arg(long, default_value_t = 100)]
    objects: usize,
    /// Connections sending reviews at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Where the certificate goes.
    #[arg(long)]
    work: PathBuf,
    /// The contender's program and arguments.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

/// One run's result.
#[derive(Serialize)]
struct Outcome {
    #[serde(rename = "impl")]
    implementation: String,
    requests: usize,
    objects_per_review: usize,
    concurrency: usize,
    seconds: f64,
    reviews_per_second: f64,
    latency_ms: Vec<f64>,
    cpu_seconds: f64,
    peak_rss_bytes: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(
        args.requests > 0 && args.objects > 0 && args.concurrency > 0,
        "--requests, --objects and --concurrency must be positive"
    );
    let pki = ServingPki::generate(&args.work, &["127.0.0.1"])?;
    let mut child = Contender::start(&args.command, &pki)?;
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(measure(&args, &pki.ca_pem, &child));
    child.stop();
    emit(&result?)
}

/// The contender's process, killed when dropped.
struct Contender {
    child: Child,
    addr: SocketAddr,
}

impl Contender {
    fn start(command: &[String], pki: &ServingPki) -> Result<Self> {
        let mut child = Command::new(&command[0])
            .args(&command[1..])
            .arg("--listen=127.0.0.1:0")
            .arg(format!("--cert={}", pki.cert.display()))
            .arg(format!("--key={}", pki.key.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", command[0]))?;
        let stdout = child.stdout.take().context("no stdout")?;
        // The first line, read on a thread so that a contender that never
        // prints it cannot hang the harness.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                bail!("{} printed no `listening on` line within 60 s", command[0]);
            }
        };
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .with_context(|| {
                format!("{} printed {line:?}, not `listening on <addr>`", command[0])
            })?;
        Ok(Self { child, addr })
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Contender {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn measure(args: &Args, ca_pem: &str, contender: &Contender) -> Result<Outcome> {
    let connector = connector(ca_pem)?;
    let to_v2 = Bytes::from(serde_json::to_vec(&review(
        "example.com/v2",
        (0..args.objects).map(v1_user).collect(),
    ))?);
    let to_v1 = Bytes::from(serde_json::to_vec(&review(
        "example.com/v1",
        (0..args.objects).map(v2_user).collect(),
    ))?);

    let mut conn = Connection::open(&connector, contender.addr).await?;
    for body in [&to_v2, &to_v1] {
        let answer = conn.send(body.clone()).await?;
        check_same_answer(body, &answer).await?;
    }
    for i in 0..args.warmup {
        let body = if i.is_multiple_of(2) { &to_v2 } else { &to_v1 };
        conn.send(body.clone()).await?;
    }
    drop(conn);

    let pid = contender.child.id();
    let next = Arc::new(AtomicUsize::new(0));
    let bodies = Arc::new([to_v2, to_v1]);
    let cpu_before = process::cpu_seconds(pid)?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (next, bodies, connector) = (next.clone(), bodies.clone(), connector.clone());
        let (addr, requests) = (contender.addr, args.requests);
        tasks.push(tokio::spawn(async move {
            let mut conn = Connection::open(&connector, addr).await?;
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    return anyhow::Ok(latencies);
                }
                let sent = Instant::now();
                conn.send(bodies[i % 2].clone()).await?;
                latencies.push(sent.elapsed().as_secs_f64() * 1e3);
            }
        }));
    }
    let mut latency_ms = Vec::with_capacity(args.requests);
    for task in tasks {
        latency_ms.extend(task.await??);
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = process::cpu_seconds(pid)? - cpu_before;
    Ok(Outcome {
        implementation: args.name.clone(),
        requests: args.requests,
        objects_per_review: args.objects,
        concurrency: args.concurrency,
        seconds,
        reviews_per_second: args.requests as f64 / seconds,
        latency_ms,
        cpu_seconds,
        peak_rss_bytes: process::peak_rss_bytes(pid)?,
    })
}

fn connector(ca_pem: &str) -> Result<TlsConnector> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert?)?;
    }
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// One keep-alive HTTP/1.1 connection over TLS.
struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Connection {
    async fn open(connector: &TlsConnector, addr: SocketAddr) -> Result<Self> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let tls = connector
            .connect(ServerName::try_from("127.0.0.1")?.to_owned(), tcp)
            .await?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(connection);
        Ok(Self { sender })
    }

    /// POSTs one review to `/convert`; the answer's body as JSON.
    async fn send(&mut self, body: Bytes) -> Result<Value> {
        self.sender.ready().await?;
        let request = http::Request::post("/convert")
            .header(http::header::HOST, "127.0.0.1")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        ensure!(
            status.is_success(),
            "status {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        Ok(serde_json::from_slice(&bytes)?)
    }
}

/// The contender's converted objects must be the ones `user_api`'s
/// conversion gives, in order.
async fn check_same_answer(request: &Bytes, answer: &Value) -> Result<()> {
    let converter = user_api::conversion::converter();
    let reference = crdforge_runtime::webhook::conversion_response(&converter, request);
    let reference = reference.into_body().collect().await?.to_bytes();
    let reference: Value = serde_json::from_slice(&reference)?;
    let result = &answer["response"]["result"]["status"];
    ensure!(result == "Success", "the review failed: {answer}");
    ensure!(
        answer["response"]["uid"] == reference["response"]["uid"],
        "the answer's uid is not the request's"
    );
    let (theirs, ours) = (
        without_nulls(answer["response"]["convertedObjects"].clone()),
        without_nulls(reference["response"]["convertedObjects"].clone()),
    );
    if theirs != ours {
        bail!("the contender converts differently:\n  theirs: {theirs}\n  ours:   {ours}");
    }
    Ok(())
}

/// `value` without object members that are `null`.
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

fn review(desired: &str, objects: Vec<Value>) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "ConversionReview",
        "request": {
            "uid": "0d1f5c0e-6b8a-4b8e-9d55-bench0000001",
            "desiredAPIVersion": desired,
            "objects": objects,
        }
    })
}

fn metadata(i: usize, team_annotation: bool) -> Value {
    let mut annotations = serde_json::Map::new();
    annotations.insert("example.com/owner".into(), json!(format!("team-{}", i % 7)));
    if team_annotation {
        annotations.insert(
            "example.com/conversion-data".into(),
            json!(format!("{{\"team\":\"team-{}\"}}", i % 5)),
        );
    }
    json!({
        "name": format!("developer-{i:05}"),
        "uid": format!("6f1c9a52-3c1e-4d0b-8a7e-{i:012}"),
        "resourceVersion": format!("{}", 1000 + i),
        "generation": 1 + (i % 3),
        "creationTimestamp": "2026-12-07T10:00:00Z",
        "labels": { "example.com/tier": if i.is_multiple_of(2) { "core" } else { "edge" } },
        "annotations": annotations,
    })
}

fn status(i: usize) -> Value {
    json!({
        "namespace": format!("dev-developer-{i:05}"),
        "observedGeneration": 1 + (i % 3),
        "conditions": [{
            "type": "Ready",
            "status": "True",
            "reason": "Provisioned",
            "message": "namespace, role binding and quota are in place",
            "lastTransitionTime": "2026-12-07T10:00:05Z",
            "observedGeneration": 1 + (i % 3),
        }],
    })
}

const ROLES: [&str; 3] = ["admin", "edit", "view"];

/// A v1 User; every other one carries v2's team in the annotation.
fn v1_user(i: usize) -> Value {
    json!({
        "apiVersion": "example.com/v1",
        "kind": "User",
        "metadata": metadata(i, i.is_multiple_of(2)),
        "spec": {
            "displayName": format!("Developer {i}"),
            "email": format!("developer{i}@example.com"),
            "role": ROLES[i % 3],
            "groups": ["developers", format!("squad-{}", i % 11)],
            "quota": { "pods": "10", "requests.cpu": "4", "requests.memory": "8Gi" },
        },
        "status": status(i),
    })
}

/// A v2 User; every other one has a team.
fn v2_user(i: usize) -> Value {
    let mut spec = json!({
        "displayName": format!("Developer {i}"),
        "email": format!("developer{i}@example.com"),
        "access": { "role": ROLES[i % 3], "groups": ["developers", format!("squad-{}", i % 11)] },
        "quota": { "pods": "10", "requests.cpu": "4", "requests.memory": "8Gi" },
    });
    if i.is_multiple_of(2) {
        spec["team"] = json!(format!("team-{}", i % 5));
    }
    json!({
        "apiVersion": "example.com/v2",
        "kind": "User",
        "metadata": metadata(i, false),
        "spec": spec,
        "status": status(i),
    })
}
