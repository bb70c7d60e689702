//! TLS on a listener with real certificates made in the test (rcgen):
//! HTTP/1.1 and HTTP/2 by ALPN, client certificates judged (missing,
//! trusted, from another CA, expired), and a certificate reloaded from
//! its files without a restart.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use keyway_listener::tls::{fingerprint, PeerCertificate, TlsFiles, TlsTerminator};
use keyway_listener::{serve, GuardedBody, ListenerSettings, Tls};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;

/// Answers with the client certificate the request carries.
struct Echo;

impl keyway_listener::serve::Handler for Echo {
    type Body = Full<Bytes>;
    type Error = std::convert::Infallible;

    async fn handle(&self, req: Request<GuardedBody>, _peer: SocketAddr) -> Response<Full<Bytes>> {
        let seen = match req.extensions().get::<PeerCertificate>() {
            Some(PeerCertificate::NotAsked) => "not-asked".to_owned(),
            Some(PeerCertificate::Missing) => "missing".to_owned(),
            Some(PeerCertificate::Trusted { sha256 }) => format!("trusted {sha256}"),
            Some(PeerCertificate::Untrusted { sha256, reason }) => format!("untrusted {sha256} {reason}"),
            None => "none".to_owned(),
        };
        Response::new(Full::new(Bytes::from(format!("{:?} {seen}", req.version()))))
    }
}

/// A CA that signs certificates.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        Self { cert: params.self_signed(&key).unwrap(), key }
    }

    /// A leaf for `name`; `client`: for client authentication; `expired`: valid in 2000 only.
    fn issue(&self, name: &str, client: bool, expired: bool) -> (rcgen::Certificate, KeyPair) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        if client {
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        if expired {
            params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            params.not_after = rcgen::date_time_ymd(2000, 12, 31);
        }
        (params.signed_by(&key, &self.cert, &self.key).unwrap(), key)
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("keyway-tls-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes the server's files (and the client CA's, if any) under `dir`.
fn server_files(dir: &std::path::Path, server: &(rcgen::Certificate, KeyPair), client_ca: Option<&Ca>) -> TlsFiles {
    std::fs::write(dir.join("cert.pem"), server.0.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), server.1.serialize_pem()).unwrap();
    let client_ca = client_ca.map(|ca| {
        std::fs::write(dir.join("clients.pem"), ca.cert.pem()).unwrap();
        dir.join("clients.pem")
    });
    TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem"), client_ca }
}

async fn start(tls: Arc<TlsTerminator>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let settings = ListenerSettings { tls: Some(Tls(tls)), ..ListenerSettings::defaults("test") };
    tokio::spawn(serve(listener, settings, Arc::new(Echo), std::future::pending(), Duration::from_secs(1)));
    addr
}

/// Connects trusting `ca`, presenting `client` if any, offering `alpn`.
async fn connect(
    addr: SocketAddr,
    ca: &Ca,
    client: Option<&(rcgen::Certificate, KeyPair)>,
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.cert.der().clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match client {
        Some((cert, key)) => builder
            .with_client_auth_cert(vec![cert.der().clone()], PrivateKeyDer::try_from(key.serialize_der()).unwrap())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = TcpStream::connect(addr).await.unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config)).connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap()
}

/// One HTTP/1.1 request; the response body.
async fn get(mut stream: tokio_rustls::client::TlsStream<TcpStream>) -> String {
    stream.write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").await.unwrap();
    let mut out = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut out)).await;
    out.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn serves_http1_and_negotiates_h2_and_without_a_client_ca_asks_for_no_certificate() {
    let ca = Ca::new("server CA");
    let dir = scratch("plain");
    let tls = Arc::new(TlsTerminator::load(server_files(&dir, &ca.issue("localhost", false, false), None)).unwrap());
    let addr = start(tls).await;

    assert_eq!(get(connect(addr, &ca, None, &[b"http/1.1"]).await).await, "HTTP/1.1 not-asked");
    let h2 = connect(addr, &ca, None, &[b"h2", b"http/1.1"]).await;
    assert_eq!(h2.get_ref().1.alpn_protocol(), Some(&b"h2"[..]), "ALPN picks HTTP/2");
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), hyper_util::rt::TokioIo::new(h2))
            .await
            .unwrap();
    tokio::spawn(conn);
    let resp = send.send_request(Request::get("https://localhost/").body(Full::new(Bytes::new())).unwrap()).await.unwrap();
    let body = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes();
    assert_eq!(body, "HTTP/2.0 not-asked");
}

#[tokio::test]
async fn client_certificates_are_judged_after_the_handshake_so_each_failure_has_a_name() {
    let ca = Ca::new("server CA");
    let clients = Ca::new("client CA");
    let strangers = Ca::new("another CA");
    let dir = scratch("mtls");
    let tls = Arc::new(TlsTerminator::load(server_files(&dir, &ca.issue("localhost", false, false), Some(&clients))).unwrap());
    let addr = start(tls).await;

    assert_eq!(get(connect(addr, &ca, None, &[]).await).await, "HTTP/1.1 missing", "optional at the TLS layer");

    let good = clients.issue("app-1", true, false);
    let sha = fingerprint(&CertificateDer::from(good.0.der().to_vec()));
    assert_eq!(get(connect(addr, &ca, Some(&good), &[]).await).await, format!("HTTP/1.1 trusted {sha}"));

    let stranger = strangers.issue("app-2", true, false);
    let answer = get(connect(addr, &ca, Some(&stranger), &[]).await).await;
    assert!(answer.starts_with("HTTP/1.1 untrusted ") && answer.ends_with("not signed by a CA this gateway trusts"), "{answer}");

    let server_only = {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["app-4".to_owned()]).unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        (params.signed_by(&key, &clients.cert, &clients.key).unwrap(), key)
    };
    let answer = get(connect(addr, &ca, Some(&server_only), &[]).await).await;
    assert!(answer.ends_with("not for client authentication (extended key usage)"), "{answer}");

    let expired = clients.issue("app-3", true, true);
    let answer = get(connect(addr, &ca, Some(&expired), &[]).await).await;
    assert!(answer.starts_with("HTTP/1.1 untrusted ") && answer.ends_with("the certificate has expired"), "{answer}");
}

#[tokio::test]
async fn a_changed_certificate_is_served_after_a_reload_and_a_broken_one_is_not() {
    let ca = Ca::new("server CA");
    let dir = scratch("reload");
    let first = ca.issue("localhost", false, false);
    let tls = Arc::new(TlsTerminator::load(server_files(&dir, &first, None)).unwrap());
    let addr = start(tls.clone()).await;
    let served = |s: &tokio_rustls::client::TlsStream<TcpStream>| s.get_ref().1.peer_certificates().unwrap()[0].to_vec();

    assert_eq!(served(&connect(addr, &ca, None, &[]).await), first.0.der().to_vec());
    assert!(!tls.reload_if_changed(), "nothing changed");

    let second = ca.issue("localhost", false, false);
    // A new modification time even on a coarse clock.
    tokio::time::sleep(Duration::from_millis(20)).await;
    server_files(&dir, &second, None);
    assert!(tls.reload_if_changed(), "the new files are read");
    assert_eq!(served(&connect(addr, &ca, None, &[]).await), second.0.der().to_vec(), "new connections get the new certificate");

    std::fs::write(dir.join("key.pem"), "not a key").unwrap();
    assert!(!tls.reload_if_changed(), "a broken key is not used");
    assert_eq!(served(&connect(addr, &ca, None, &[]).await), second.0.der().to_vec(), "still serving the last good one");

    std::fs::write(dir.join("cert.pem"), "").unwrap();
    let err =
        TlsTerminator::load(TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem"), client_ca: None }).unwrap_err();
    assert!(err.to_string().contains("holds no certificate"), "{err}");
}
