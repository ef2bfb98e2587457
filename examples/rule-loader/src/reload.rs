//! Asking Prometheus to reload its configuration and rule files:
//! `POST /-/reload` (Prometheus runs with `--web.enable-lifecycle`). The
//! call returns once the reload is done, with 200 when every rule file
//! loaded and 500 with Prometheus' message when one did not.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// How much of an error answer is kept for the message.
const MAX_ERROR_BODY: usize = 16 * 1024;

/// Why a reload did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// Prometheus could not be reached (down, restarting, wrong address).
    #[error("cannot reach Prometheus at {url}: {message}")]
    Unreachable {
        /// The reload URL.
        url: String,
        /// Why.
        message: String,
    },
    /// Prometheus answered with an error: a rule file it refused, say.
    #[error("Prometheus refused the reload ({status}): {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// Prometheus' message.
        body: String,
    },
}

/// Calls `/-/reload` on one Prometheus.
#[derive(Clone, Debug)]
pub struct Reloader {
    client: Client<HttpConnector, Empty<Bytes>>,
    url: http::Uri,
    timeout: Duration,
}

impl Reloader {
    /// A reloader for the Prometheus at `base` (`http://host:port`), each
    /// call bounded by `timeout`.
    pub fn new(base: &str, timeout: Duration) -> Result<Self, String> {
        let url: http::Uri = format!("{}/-/reload", base.trim_end_matches('/'))
            .parse()
            .map_err(|e| format!("--prometheus-url {base:?} is not a URL: {e}"))?;
        if url.scheme_str() != Some("http") || url.host().is_none() {
            return Err(format!(
                "--prometheus-url {base:?} must be http://host:port"
            ));
        }
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeout));
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            url,
            timeout,
        })
    }

    /// The URL it posts to.
    pub fn url(&self) -> String {
        self.url.to_string()
    }

    /// Reloads; `Ok` once Prometheus has loaded every file.
    pub async fn reload(&self) -> Result<(), ReloadError> {
        let unreachable = |message: String| ReloadError::Unreachable {
            url: self.url(),
            message,
        };
        let request = http::Request::post(self.url.clone())
            .body(Empty::new())
            .map_err(|e| unreachable(e.to_string()))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| unreachable(format!("{e:?}")))?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let body = Limited::new(response.into_body(), MAX_ERROR_BODY)
                .collect()
                .await
                .map(|b| String::from_utf8_lossy(&b.to_bytes()).trim().to_string())
                .unwrap_or_else(|e| format!("(unreadable answer: {e})"));
            Err(ReloadError::Refused {
                status: status.as_u16(),
                body,
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| unreachable(format!("no answer within {:?}", self.timeout)))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn only_http_urls_are_taken() {
        assert!(Reloader::new("http://127.0.0.1:9090/", Duration::from_secs(1)).is_ok());
        assert!(Reloader::new("ftp://x", Duration::from_secs(1)).is_err());
        assert!(Reloader::new("not a url", Duration::from_secs(1)).is_err());
    }

    async fn answer_once(response: &'static [u8]) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            // Read the whole header, however the bytes arrive.
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.ends_with(b"\r\n\r\n") {
                let n = stream.read(&mut buf).await.unwrap();
                assert!(n > 0, "the client closed before the end of its header");
                request.extend_from_slice(&buf[..n]);
            }
            assert!(String::from_utf8_lossy(&request).starts_with("POST /-/reload HTTP/1.1"));
            stream.write_all(response).await.unwrap();
        });
        addr
    }

    #[tokio::test]
    async fn a_refusal_carries_prometheus_message_and_silence_is_bounded() {
        let addr = answer_once(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 22\r\n\r\nfailed to reload rules",
        )
        .await;
        let reloader = Reloader::new(&format!("http://{addr}"), Duration::from_secs(5)).unwrap();
        let err = reloader.reload().await.unwrap_err();
        assert!(
            matches!(&err, ReloadError::Refused { status: 500, body } if body == "failed to reload rules"),
            "{err}"
        );

        let addr = answer_once(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await;
        let reloader = Reloader::new(&format!("http://{addr}"), Duration::from_secs(5)).unwrap();
        reloader.reload().await.unwrap();

        // Nobody listens: unreachable, quickly.
        let reloader = Reloader::new("http://127.0.0.1:9", Duration::from_secs(2)).unwrap();
        let started = std::time::Instant::now();
        assert!(matches!(
            reloader.reload().await,
            Err(ReloadError::Unreachable { .. })
        ));
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
