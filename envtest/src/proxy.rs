//! A loopback TCP proxy that a test can cut or stall, to put a client out of
//! touch with the apiserver while the test changes things behind its back.
//!
//! - [`Proxy::cut`] drops every connection and refuses new ones: the client
//!   sees errors at once.
//! - [`Proxy::stall`] keeps every connection open and accepts new ones, but
//!   holds the bytes it reads instead of forwarding them: the client sees an
//!   apiserver that takes requests and never answers, which only a client
//!   with its own timeouts survives.
//! - [`Proxy::restore`] forwards again, held bytes first.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinSet;

/// What the proxy does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Forward,
    Cut,
    Stall,
}

/// Forwards connections from a local port to `upstream` until cut or stalled.
pub struct Proxy {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
    connections: Arc<Mutex<JoinSet<()>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Starts forwarding from a free loopback port to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the proxy")?;
        let addr = listener.local_addr()?;
        let (mode, _) = watch::channel(Mode::Forward);
        let connections = Arc::new(Mutex::new(JoinSet::new()));
        let accept = tokio::spawn({
            let mode = mode.clone();
            let connections = Arc::clone(&connections);
            async move {
                while let Ok((inbound, _)) = listener.accept().await {
                    if *mode.borrow() == Mode::Cut {
                        // Refused: the client sees the connection close.
                        continue;
                    }
                    let mode = mode.subscribe();
                    connections.lock().await.spawn(async move {
                        if let Ok(outbound) = TcpStream::connect(upstream).await {
                            let (in_read, in_write) = inbound.into_split();
                            let (out_read, out_write) = outbound.into_split();
                            // Each direction closes on its own, as a
                            // half-closed TCP connection does.
                            tokio::join!(
                                pump(in_read, out_write, mode.clone()),
                                pump(out_read, in_write, mode),
                            );
                        }
                    });
                }
            }
        });
        Ok(Self {
            addr,
            mode,
            connections,
            accept,
        })
    }

    /// The address clients should use.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Drops every open connection and refuses new ones.
    pub async fn cut(&self) {
        self.mode.send_replace(Mode::Cut);
        self.connections.lock().await.abort_all();
    }

    /// Keeps every connection open and accepts new ones, but forwards
    /// nothing, in either direction, until [`restore`](Self::restore).
    pub fn stall(&self) {
        self.mode.send_replace(Mode::Stall);
    }

    /// Accepts and forwards again; bytes held while stalled go through first.
    pub fn restore(&self) {
        self.mode.send_replace(Mode::Forward);
    }
}

/// Copies `from` to `to`, holding each chunk read while the proxy is
/// stalled. Returns when `from` closes or fails, or the proxy is dropped,
/// and then closes `to`.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    mut mode: watch::Receiver<Mode>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if mode.wait_for(|m| *m != Mode::Stall).await.is_err() {
            break;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}
