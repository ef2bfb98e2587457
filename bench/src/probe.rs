//! `/readyz` and `/metrics` for the controller contenders written here (the
//! limit client and the kube-runtime peer), answering exactly what the User
//! controller's own endpoints answer, so that the harness reads every
//! contender the same way:
//!
//! * `/readyz` is 200 once the caches have synced, 503 before;
//! * `/metrics` has `controller_runtime_reconcile_total`, the reconciles
//!   finished so far (the harness waits on it after a restart).
//!
//! Hand-rolled on a tokio listener, as the User controller's server is: two
//! fixed GET endpoints do not justify an HTTP framework.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the endpoints report; cheap to clone and share.
#[derive(Clone, Default)]
pub struct Probe {
    ready: Arc<AtomicBool>,
    reconciles: Arc<AtomicU64>,
}

impl Probe {
    /// Marks the contender ready (caches synced).
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }

    /// Counts one finished reconcile.
    pub fn reconciled(&self) {
        self.reconciles.fetch_add(1, Ordering::Relaxed);
    }

    /// Serves the endpoints on `addr` until the runtime stops.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let probe = self.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    let Ok(n) = stream.read(&mut buf).await else {
                        return;
                    };
                    let request = String::from_utf8_lossy(&buf[..n]);
                    let path = request.split_whitespace().nth(1).unwrap_or("/");
                    let (status, body) = match path {
                        "/readyz" if probe.ready.load(Ordering::SeqCst) => {
                            ("200 OK", "ok\n".into())
                        }
                        "/readyz" => ("503 Service Unavailable", "caches not synced\n".into()),
                        "/metrics" => (
                            "200 OK",
                            format!(
                                "controller_runtime_reconcile_total {}\n",
                                probe.reconciles.load(Ordering::Relaxed)
                            ),
                        ),
                        _ => ("404 Not Found", "not found\n".to_string()),
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                         Connection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                });
            }
        });
        Ok(())
    }
}
