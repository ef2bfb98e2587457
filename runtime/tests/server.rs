//! The server as an attacker meets it, on loopback: idle floods, slowloris,
//! huge headers, garbage, big bodies, slow handlers — and `/healthz` keeps
//! answering within a kubelet probe's timeout throughout.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crdforge_runtime::server::{HttpResponse, Limits, Running, Server, text};
use hyper::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A kubelet probe's default timeout.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

async fn start(limits: Limits) -> (Running, Arc<AtomicBool>) {
    let ready = Arc::new(AtomicBool::new(false));
    let registry = Arc::new(prometheus_client::registry::Registry::default());
    let running = Server::new()
        .limits(limits)
        .health(ready.clone())
        .metrics(registry)
        .route("/echo", |request| async move {
            HttpResponse::new(request.into_body().into())
        })
        .route("/slow", |_| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            text(StatusCode::OK, "late\n")
        })
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (running, ready)
}

/// One request on a fresh connection; the status code and body.
async fn request(addr: SocketAddr, raw: &[u8]) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(raw).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {response:?}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

async fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let raw = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    request(addr, raw.as_bytes()).await
}

/// A probe as the kubelet sends it: it must answer 200 within the timeout.
async fn probe(addr: SocketAddr) {
    let started = Instant::now();
    let answer = tokio::time::timeout(PROBE_TIMEOUT, get(addr, "/healthz")).await;
    match answer {
        Ok(Ok((200, _))) => {}
        other => panic!("probe failed after {:?}: {other:?}", started.elapsed()),
    }
}

/// Whether the server closed the connection within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn health_readiness_metrics_and_unknown_paths() {
    let (server, ready) = start(Limits::default()).await;
    let addr = server.local_addr();
    assert_eq!(get(addr, "/healthz").await.unwrap().0, 200);
    assert_eq!(get(addr, "/livez").await.unwrap().0, 200);
    assert_eq!(get(addr, "/readyz").await.unwrap().0, 503);
    ready.store(true, Ordering::SeqCst);
    assert_eq!(get(addr, "/readyz").await.unwrap().0, 200);
    let (status, body) = get(addr, "/metrics").await.unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("# EOF"), "OpenMetrics text: {body}");
    assert_eq!(get(addr, "/nothing-here").await.unwrap().0, 404);
    // Keep-alive: two requests on one connection.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let two = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    stream.write_all(two.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert_eq!(response.matches("HTTP/1.1 200").count(), 2, "{response}");
}

#[tokio::test]
async fn ten_thousand_idle_connections_do_not_starve_the_probe() {
    let limits = Limits {
        // Below the test process's own file-descriptor needs: the client
        // side of the flood holds 10,000 descriptors too.
        max_connections: 2_000,
        ..Limits::default()
    };
    let (server, _) = start(limits).await;
    let addr = server.local_addr();
    let mut idle = Vec::with_capacity(10_000);
    for i in 0..10_000 {
        idle.push(TcpStream::connect(addr).await.unwrap());
        if i % 2_500 == 2_499 {
            probe(addr).await;
        }
    }
    for _ in 0..20 {
        probe(addr).await;
    }
    assert!(
        server.open_connections() <= server.max_connections(),
        "{} open, cap {}",
        server.open_connections(),
        server.max_connections()
    );
    // The first idle connections were shed to make room: closed by the server.
    assert!(closed_within(&mut idle[0], Duration::from_secs(2)).await);
    drop(idle);
    probe(addr).await;
}

#[tokio::test]
async fn a_slowloris_is_cut_off_at_the_header_timeout() {
    let limits = Limits {
        header_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let (server, _) = start(limits).await;
    let addr = server.local_addr();
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(stream);
    }
    let started = Instant::now();
    // One byte per connection every 100 ms: never a whole header.
    let mut cut = 0;
    for _ in 0..30 {
        for stream in &mut slow {
            if stream.write_all(b"a").await.is_err() {
                cut += 1;
            }
        }
        probe(addr).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut closed = 0;
    for stream in &mut slow {
        if closed_within(stream, Duration::from_millis(500)).await {
            closed += 1;
        }
    }
    assert_eq!(
        closed,
        slow.len(),
        "every slow connection is closed within {:?} ({cut} writes failed)",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_huge_header_and_garbage_are_refused_and_the_connection_closed() {
    let (server, _) = start(Limits::default()).await;
    let addr = server.local_addr();
    let huge = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1 << 20)
    );
    // hyper answers 431 once the header outgrows its buffer, and closes; the
    // client may still be writing then, which resets the connection.
    match request(addr, huge.as_bytes()).await {
        Ok((status, _)) => assert_eq!(status, 431),
        Err(error) => assert!(
            matches!(
                error.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            "{error}"
        ),
    }
    probe(addr).await;
    let mut garbage = vec![0u8; 4096];
    for (i, byte) in garbage.iter_mut().enumerate() {
        *byte = (i * 7919 % 251) as u8;
    }
    garbage.extend_from_slice(b"\r\n\r\n");
    match request(addr, &garbage).await {
        Ok((status, _)) => assert_eq!(status, 400),
        Err(error) => assert_ne!(error.kind(), std::io::ErrorKind::TimedOut, "{error}"),
    }
    probe(addr).await;
}

#[tokio::test]
async fn bodies_are_bounded_and_slow_handlers_time_out() {
    let limits = Limits {
        max_body_bytes: 1024,
        request_timeout: Duration::from_millis(500),
        ..Limits::default()
    };
    let (server, _) = start(limits).await;
    let addr = server.local_addr();
    let post = |body: String| {
        format!(
            "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let (status, body) = request(addr, post("x".repeat(1024)).as_bytes())
        .await
        .unwrap();
    assert_eq!((status, body.len()), (200, 1024));
    let (status, _) = request(addr, post("x".repeat(1025)).as_bytes())
        .await
        .unwrap();
    assert_eq!(status, 413);
    let started = Instant::now();
    let (status, _) = get(addr, "/slow").await.unwrap();
    assert_eq!(status, 408);
    assert!(started.elapsed() < Duration::from_secs(5));
    probe(addr).await;
}
