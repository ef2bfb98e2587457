//! `/metrics`, `/healthz` and `/readyz` over plain HTTP.
//!
//! Hand-rolled on a tokio listener: three fixed GET endpoints with no
//! routing, bodies or TLS do not justify an HTTP framework's compile time.
//! The same as the User controller's, until `crdforge-runtime` serves these
//! endpoints itself (its server feature is written but not yet landed).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the endpoints report.
#[derive(Clone)]
pub struct Health {
    /// Set once the informer caches have synced (or this replica is a
    /// healthy standby waiting for the lease).
    pub ready: Arc<AtomicBool>,
    /// Metrics to export.
    pub registry: Arc<Registry>,
}

/// Serves until the task is dropped. Returns the bound address (useful with
/// port 0).
pub async fn serve(
    addr: SocketAddr,
    health: Health,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let health = health.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 2048];
                let Ok(n) = stream.read(&mut buf).await else {
                    return;
                };
                let request = String::from_utf8_lossy(&buf[..n]);
                let path = request.split_whitespace().nth(1).unwrap_or("/");
                let (status, content_type, body) = respond(path, &health);
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    Ok((bound, task))
}

fn respond(path: &str, health: &Health) -> (&'static str, &'static str, String) {
    match path {
        "/healthz" | "/livez" => ("200 OK", "text/plain", "ok\n".into()),
        "/readyz" if health.ready.load(Ordering::SeqCst) => ("200 OK", "text/plain", "ok\n".into()),
        "/readyz" => (
            "503 Service Unavailable",
            "text/plain",
            "caches not synced\n".into(),
        ),
        "/metrics" => {
            let mut body = String::new();
            match encode(&mut body, &health.registry) {
                Ok(()) => (
                    "200 OK",
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    body,
                ),
                Err(_) => (
                    "500 Internal Server Error",
                    "text/plain",
                    "encoding failed\n".into(),
                ),
            }
        }
        _ => ("404 Not Found", "text/plain", "not found\n".into()),
    }
}
