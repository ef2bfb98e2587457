//! TLS for the server: a certificate and key from PEM files (a mounted
//! Secret's `tls.crt` and `tls.key`), reloaded when they change, served with
//! rustls and the same `ring` provider kube's client uses.
//!
//! Guarantees:
//! - until a certificate and key that match have been read, every handshake
//!   is refused and [`Tls::is_loaded`] is false (wire it into readiness, so
//!   the Service sends no traffic to a pod that cannot answer it);
//! - a changed pair is picked up within one poll interval by new
//!   connections; connections already open keep the certificate they
//!   started with;
//! - a pair that fails to load (half-written files, a key that does not
//!   match the certificate) is logged and skipped: the last good pair stays
//!   in use, so a bad rotation never takes the webhook down.
//!
//! Reloading polls the files' contents rather than subscribing to file
//! events: the kubelet updates a Secret volume by swapping a `..data`
//! symlink, which inotify watches of the files themselves do not see, and
//! reading two small files every few seconds costs nothing.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, ServerConfig};

/// How often [`Tls::from_files`] checks the files by default. The kubelet
/// itself refreshes Secret volumes only every minute or so.
pub const DEFAULT_POLL: Duration = Duration::from_secs(10);

/// Why a certificate and key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The PEM held no certificate, or no usable private key.
    #[error("{what}: {message}")]
    Pem {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The parser's complaint.
        message: String,
    },
    /// rustls refused the pair (the key does not match the certificate, or
    /// its algorithm is not supported).
    #[error("certificate and key: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A TLS configuration whose certificate can change while serving. Clones
/// share the certificate.
#[derive(Clone)]
pub struct Tls {
    resolver: Arc<Resolver>,
    config: Arc<ServerConfig>,
    // The reload task, aborted when the last clone goes.
    _reload: Option<Arc<AbortOnDrop>>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("loaded", &self.is_loaded())
            .finish_non_exhaustive()
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Debug, Default)]
struct Resolver {
    current: RwLock<Option<Arc<CertifiedKey>>>,
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().unwrap().clone()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Tls {
    fn with_resolver(resolver: Arc<Resolver>) -> Self {
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        // The server speaks HTTP/1.1 only, which is what the apiserver's
        // webhook client uses.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self {
            resolver,
            config: Arc::new(config),
            _reload: None,
        }
    }

    /// A fixed certificate chain and key, both PEM.
    pub fn from_pem(cert: &[u8], key: &[u8]) -> Result<Self, TlsError> {
        let tls = Self::with_resolver(Arc::default());
        tls.set_pem(cert, key)?;
        Ok(tls)
    }

    /// The certificate chain and key in these files, read now and again
    /// every `poll`, each change taking effect for new connections. Missing
    /// or bad files at start are not an error: the server refuses
    /// handshakes, and [`Tls::is_loaded`] stays false, until they appear.
    /// Must be called inside a tokio runtime (it spawns the poller).
    pub fn from_files(cert: impl Into<PathBuf>, key: impl Into<PathBuf>, poll: Duration) -> Self {
        let (cert, key) = (cert.into(), key.into());
        let mut tls = Self::with_resolver(Arc::default());
        let mut last = None;
        reload(&tls, &cert, &key, &mut last);
        let watched = tls.resolver.clone();
        let config = tls.config.clone();
        let task = tokio::spawn(async move {
            let tls = Tls {
                resolver: watched,
                config,
                _reload: None,
            };
            let mut interval = tokio::time::interval(poll);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            interval.tick().await;
            loop {
                interval.tick().await;
                reload(&tls, &cert, &key, &mut last);
            }
        });
        tls._reload = Some(Arc::new(AbortOnDrop(task)));
        tls
    }

    /// Replaces the certificate chain and key (PEM) for new connections.
    pub fn set_pem(&self, cert: &[u8], key: &[u8]) -> Result<(), TlsError> {
        let certified = certified_key(cert, key)?;
        *self.resolver.current.write().unwrap() = Some(Arc::new(certified));
        Ok(())
    }

    /// Whether a certificate is loaded, so handshakes can succeed.
    pub fn is_loaded(&self) -> bool {
        self.resolver.current.read().unwrap().is_some()
    }

    /// The end-entity certificate in use (DER), to tell rotations apart.
    pub fn certificate(&self) -> Option<Vec<u8>> {
        let current = self.resolver.current.read().unwrap();
        current
            .as_ref()
            .and_then(|key| key.cert.first())
            .map(|der| der.as_ref().to_vec())
    }

    pub(super) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.clone())
    }
}

/// Reads both files; loads them if they differ from what was loaded last.
fn reload(tls: &Tls, cert: &Path, key: &Path, last: &mut Option<(Vec<u8>, Vec<u8>)>) {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })
    };
    let pair = match (read(cert), read(key)) {
        (Ok(c), Ok(k)) => (c, k),
        (Err(error), _) | (_, Err(error)) => {
            tracing::debug!(%error, "serving certificate not readable yet");
            return;
        }
    };
    if last.as_ref() == Some(&pair) {
        return;
    }
    match tls.set_pem(&pair.0, &pair.1) {
        Ok(()) => {
            tracing::info!(cert = %cert.display(), "serving certificate loaded");
            *last = Some(pair);
        }
        // Often a rotation caught between its two writes: the next poll
        // sees the pair complete. Until then the previous pair serves.
        Err(error) => {
            tracing::warn!(%error, cert = %cert.display(), "serving certificate not loaded")
        }
    }
}

fn certified_key(cert: &[u8], key: &[u8]) -> Result<CertifiedKey, TlsError> {
    let chain = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            what: "certificate",
            message: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Pem {
            what: "certificate",
            message: "no CERTIFICATE block found".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| TlsError::Pem {
        what: "private key",
        message: e.to_string(),
    })?;
    Ok(CertifiedKey::from_der(chain, key, &provider())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn a_matching_pair_loads_and_a_mismatched_one_is_refused_keeping_the_last() {
        let (cert, key) = pair("a");
        let tls = Tls::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
        assert!(tls.is_loaded());
        let before = tls.certificate();
        let (other_cert, _) = pair("b");
        let error = tls
            .set_pem(other_cert.as_bytes(), key.as_bytes())
            .unwrap_err();
        assert!(matches!(error, TlsError::Rustls(_)), "{error}");
        assert_eq!(tls.certificate(), before);
        let error = Tls::from_pem(b"", key.as_bytes()).unwrap_err();
        assert!(error.to_string().starts_with("certificate:"), "{error}");
        let error = Tls::from_pem(cert.as_bytes(), b"junk").unwrap_err();
        assert!(error.to_string().starts_with("private key:"), "{error}");
    }
}
