//! The HTTP server a controller exposes: `/healthz`, `/readyz`, `/metrics`,
//! and any route a caller adds (webhooks).
//!
//! Built on hyper, which kube's client already links, so the server adds no
//! HTTP stack of its own. What it adds is the defence a probe endpoint needs,
//! because a pod whose probe fails is killed:
//! - headers must arrive complete within [`Limits::header_timeout`] (a
//!   slowloris is cut off) and fit in [`Limits::max_header_bytes`] (a 1 MiB
//!   header gets `431` and the connection is closed);
//! - a request must be read and answered within [`Limits::request_timeout`],
//!   and its body fit in [`Limits::max_body_bytes`] (`413` otherwise);
//! - at most [`Limits::max_connections`] connections are open, never more
//!   than the process's file-descriptor limit leaves room for, and a new
//!   connection at the cap evicts the one idle longest, so idle connections
//!   cannot starve a probe;
//! - an `accept` error (out of file descriptors included) sheds an idle
//!   connection and retries: the accept loop ends only with the server.
//!
//! ```no_run
//! # async fn f() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use std::sync::atomic::AtomicBool;
//! use crdforge_runtime::server::Server;
//!
//! let ready = Arc::new(AtomicBool::new(false));
//! let registry = Arc::new(prometheus_client::registry::Registry::default());
//! let running = Server::new()
//!     .health(ready.clone())
//!     .metrics(registry)
//!     .bind("127.0.0.1:8080".parse().unwrap())
//!     .await?;
//! println!("serving on {}", running.local_addr());
//! # Ok(()) }
//! ```

mod connections;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

use connections::{Admission, Table};

/// The bounds every connection is held to. The defaults suit health probes,
/// metrics scrapes and admission or conversion webhooks (whose reviews hold
/// up to two objects of etcd's 1.5 MiB limit).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Open connections at most (lowered to what the file-descriptor limit
    /// leaves room for).
    pub max_connections: usize,
    /// Time from a connection's first byte of a request (or from accepting
    /// it, or from its previous response) to the end of the request's headers.
    pub header_timeout: Duration,
    /// Time to read a request's body and produce its response.
    pub request_timeout: Duration,
    /// Size of a request's headers at most (not below hyper's minimum of 8 KiB).
    pub max_header_bytes: usize,
    /// Size of a request's body at most.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 16_384,
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_header_bytes: 16 * 1024,
            max_body_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Connections the kernel may queue before they are accepted (capped by
/// `net.core.somaxconn`). std's and tokio's 128 is too few for a burst, and
/// while the process is out of file descriptors the queue is all there is.
const BACKLOG: u32 = 4096;

/// File descriptors kept for everything else the process opens (its
/// apiserver connections, logs, files) when the cap is derived from the limit.
const RESERVED_FDS: u64 = 64;

/// A request as a handler sees it: headers and the whole body.
pub type HttpRequest = Request<Bytes>;
/// What a handler answers.
pub type HttpResponse = Response<Full<Bytes>>;

type BoxFuture = Pin<Box<dyn Future<Output = HttpResponse> + Send>>;
type Handler = Arc<dyn Fn(HttpRequest) -> BoxFuture + Send + Sync>;

/// Routes and limits; [`Server::bind`] starts serving them.
#[derive(Default)]
pub struct Server {
    routes: HashMap<String, Handler>,
    limits: Limits,
}

impl Server {
    /// A server with no routes and the default [`Limits`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Serves `path` (an exact match, any method) with `handler`.
    pub fn route<F, Fut>(mut self, path: &str, handler: F) -> Self
    where
        F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HttpResponse> + Send + 'static,
    {
        self.routes.insert(
            path.to_owned(),
            Arc::new(move |request| Box::pin(handler(request))),
        );
        self
    }

    /// `/healthz` and `/livez` (always `200` while the process serves), and
    /// `/readyz` (`200` once `ready` is set, `503` before).
    pub fn health(self, ready: Arc<AtomicBool>) -> Self {
        let live = |_| async { text(StatusCode::OK, "ok\n") };
        self.route("/healthz", live)
            .route("/livez", live)
            .route("/readyz", move |_| {
                let ready = ready.load(Ordering::SeqCst);
                async move {
                    if ready {
                        text(StatusCode::OK, "ok\n")
                    } else {
                        text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
                    }
                }
            })
    }

    /// `/metrics` in the OpenMetrics text format.
    pub fn metrics(self, registry: Arc<Registry>) -> Self {
        self.route("/metrics", move |_| {
            let mut body = String::new();
            let response = match prometheus_client::encoding::text::encode(&mut body, &registry) {
                Ok(()) => Response::builder()
                    .header(
                        hyper::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )
                    .body(Full::new(Bytes::from(body)))
                    .expect("static headers are valid"),
                Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "encoding failed\n"),
            };
            async move { response }
        })
    }

    /// Binds `addr` and serves until the returned handle is dropped or
    /// [`Running::shutdown`] is called. Port 0 picks a free port
    /// ([`Running::local_addr`] says which).
    pub async fn bind(self, addr: SocketAddr) -> std::io::Result<Running> {
        let listener = listen(addr)?;
        let local_addr = listener.local_addr()?;
        let capacity = self.limits.max_connections.min(fd_capacity());
        let table = Table::new(capacity);
        let shared = Arc::new(Shared {
            routes: self.routes,
            limits: self.limits,
        });
        let task = tokio::spawn(accept_loop(listener, shared, table.clone()));
        Ok(Running {
            local_addr,
            table,
            task,
        })
    }
}

/// A serving server. Dropping it stops accepting and closes every connection.
pub struct Running {
    local_addr: SocketAddr,
    table: Arc<Table>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// How many connections it may hold open at once: the configured
    /// maximum, or less where the file-descriptor limit is lower.
    pub fn max_connections(&self) -> usize {
        self.table.capacity()
    }

    /// How many connections are open now.
    pub fn open_connections(&self) -> usize {
        self.table.len()
    }

    /// Stops serving.
    pub fn shutdown(self) {}
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Shared {
    routes: HashMap<String, Handler>,
    limits: Limits,
}

/// Connections the process's open-file limit leaves room for. The soft
/// limit is raised to the hard one first, as Go's runtime does at start-up:
/// the soft default of 1,024 (or less) is a relic that only hurts servers.
fn fd_capacity() -> usize {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            limit = getrlimit(Resource::Nofile);
        }
    }
    match limit.current {
        // Unlimited.
        None => usize::MAX,
        Some(n) => usize::try_from(n.saturating_sub(RESERVED_FDS).max(1)).unwrap_or(usize::MAX),
    }
}

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // A restarted controller rebinds its port at once.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, table: Arc<Table>) {
    // Every connection task lives in this set, so dropping the server (the
    // set goes with the aborted task) closes them all.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors (EMFILE, ENFILE) or a connection
                // reset before it was accepted: free a descriptor if one is
                // idle, pause briefly so a persistent error does not spin,
                // and go on. Never end the loop: a server that stops
                // accepting fails every probe from then on.
                tracing::debug!(%error, "accept failed");
                let pause = if table.evict_one() { 1 } else { 20 };
                tokio::time::sleep(Duration::from_millis(pause)).await;
                continue;
            }
        };
        let (slot, evicted) = match table.admit() {
            Admission::Serve(slot, evicted) => (slot, evicted),
            Admission::Refuse => {
                tracing::debug!("every connection has a request in progress; refusing one");
                drop(stream);
                continue;
            }
        };
        let shared = shared.clone();
        connections.spawn(async move {
            let _ = stream.set_nodelay(true);
            // The service owns the slot: the entry lives as long as the
            // connection does.
            let limits = shared.limits.clone();
            let service = hyper::service::service_fn(move |request| {
                let busy = slot.busy();
                let shared = shared.clone();
                async move {
                    let response = handle(&shared, request).await;
                    drop(busy);
                    Ok::<_, Infallible>(response)
                }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .max_buf_size(limits.max_header_bytes.max(8192));
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                _ = evicted => {}
            }
        });
    }
}

async fn handle(shared: &Shared, request: Request<Incoming>) -> HttpResponse {
    let Some(handler) = shared.routes.get(request.uri().path()).cloned() else {
        return text(StatusCode::NOT_FOUND, "not found\n");
    };
    let limits = &shared.limits;
    let answer = async {
        let (parts, body) = request.into_parts();
        let body = match Limited::new(body, limits.max_body_bytes).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) if error.is::<http_body_util::LengthLimitError>() => {
                return text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n");
            }
            Err(_) => return text(StatusCode::BAD_REQUEST, "request body unreadable\n"),
        };
        handler(Request::from_parts(parts, body)).await
    };
    tokio::time::timeout(limits.request_timeout, answer)
        .await
        .unwrap_or_else(|_| text(StatusCode::REQUEST_TIMEOUT, "request timed out\n"))
}

/// A plain-text response.
pub fn text(status: StatusCode, body: &'static str) -> HttpResponse {
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("static headers are valid")
}
