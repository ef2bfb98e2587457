//! The server over TLS, on loopback: handshakes only once a certificate is
//! loaded (and readiness follows), a renewed certificate is served to new
//! connections without a restart, a bad rotation keeps the last good pair,
//! a stalled handshake is cut off, and plain HTTP beside it keeps working.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crdforge_envtest::pki::ServingPki;
use crdforge_runtime::server::{Limits, Running, Server, Tls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

const POLL: Duration = Duration::from_millis(50);

fn connector(ca_pem: &str) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// One HTTPS GET; the status and the server's certificate (DER).
async fn get(server: &Running, ca_pem: &str, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let stream = TcpStream::connect(server.local_addr()).await?;
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = connector(ca_pem).connect(name, stream).await?;
    let peer = tls.get_ref().1.peer_certificates().unwrap()[0]
        .as_ref()
        .to_vec();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    // A peer that closes without close_notify is fine for this test.
    let _ = tls.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line: {response:?}")))?;
    Ok((status, peer))
}

/// Retries `get` until it answers `status` or `within` passes.
async fn eventually(server: &Running, ca: &str, path: &str, want: impl Fn(u16, &[u8]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let answer = get(server, ca, path).await;
        if let Ok((status, cert)) = &answer
            && want(*status, cert)
        {
            return;
        }
        assert!(Instant::now() < deadline, "last answer: {answer:?}");
        tokio::time::sleep(POLL).await;
    }
}

fn der(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .as_ref()
        .to_vec()
}

#[tokio::test]
async fn handshakes_wait_for_the_certificate_and_follow_its_renewal() {
    let dir = std::env::temp_dir().join(format!("crdforge-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // The certificate is not there yet: the server starts anyway.
    let tls = Tls::from_files(dir.join("tls.crt"), dir.join("tls.key"), POLL);
    let ready = Arc::new(AtomicBool::new(true));
    let gate = {
        let (tls, ready) = (tls.clone(), ready.clone());
        move || ready.load(Ordering::SeqCst) && tls.is_loaded()
    };
    // Plain HTTP for the probes, HTTPS for the webhooks.
    let plain = Server::new()
        .health_with(gate)
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let secure = Server::new()
        .tls(tls.clone())
        .route("/hello", |_| async {
            crdforge_runtime::server::text(hyper::StatusCode::OK, "hello\n")
        })
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let readyz = || async {
        let mut stream = TcpStream::connect(plain.local_addr()).await.unwrap();
        stream
            .write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).await.unwrap();
        out.split_whitespace().nth(1).unwrap().to_owned()
    };
    assert_eq!(readyz().await, "503");
    assert!(!tls.is_loaded());

    let pki = ServingPki::generate(&dir, &["127.0.0.1"]).unwrap();
    assert!(
        get(&secure, &pki.ca_pem, "/hello").await.is_err() || tls.is_loaded(),
        "no handshake succeeds before the certificate is loaded"
    );
    let first = der(&std::fs::read_to_string(&pki.cert).unwrap());
    eventually(&secure, &pki.ca_pem, "/hello", |s, c| {
        s == 200 && c == first
    })
    .await;
    assert_eq!(readyz().await, "200");

    // A renewal from the same CA: new connections get the new certificate.
    let renewed = der(&pki.renew().unwrap());
    eventually(&secure, &pki.ca_pem, "/hello", |s, c| {
        s == 200 && c == renewed
    })
    .await;

    // A broken rotation (a key that is not the certificate's) is skipped:
    // the last good pair keeps serving.
    let (other_cert, _) = {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key)
    };
    std::fs::write(&pki.cert, other_cert).unwrap();
    tokio::time::sleep(POLL * 4).await;
    let (status, cert) = get(&secure, &pki.ca_pem, "/hello").await.unwrap();
    assert_eq!((status, cert), (200, renewed));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_stalled_handshake_is_cut_off_and_plain_text_is_refused() {
    let dir = std::env::temp_dir().join(format!("crdforge-tls-stall-{}", std::process::id()));
    let pki = ServingPki::generate(&dir, &["127.0.0.1"]).unwrap();
    let tls = Tls::from_pem(
        &std::fs::read(&pki.cert).unwrap(),
        &std::fs::read(&pki.key).unwrap(),
    )
    .unwrap();
    let secure = Server::new()
        .limits(Limits {
            header_timeout: Duration::from_millis(500),
            ..Limits::default()
        })
        .tls(tls)
        .route("/hello", |_| async {
            crdforge_runtime::server::text(hyper::StatusCode::OK, "hello\n")
        })
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    // Connect and send nothing: the server closes within the timeout.
    let mut stalled = TcpStream::connect(secure.local_addr()).await.unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(3), stalled.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "closed, not {read:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    // Plain HTTP to the TLS port gets no HTTP answer.
    let mut plain = TcpStream::connect(secure.local_addr()).await.unwrap();
    plain
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), plain.read_to_end(&mut out)).await;
    assert!(!String::from_utf8_lossy(&out).contains("200"), "{out:?}");
    // And HTTPS still works.
    let (status, _) = get(&secure, &pki.ca_pem, "/hello").await.unwrap();
    assert_eq!(status, 200);
    std::fs::remove_dir_all(&dir).unwrap();
}
