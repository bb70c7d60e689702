//! Certificates made in the test (rcgen) and calls over TLS that present
//! them, for the mTLS tests: a CA that signs leaves, the gateway's TLS
//! files, and one HTTP/1.1 request per connection.

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use rustls_pki_types::{PrivateKeyDer, ServerName};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

/// A CA that signs certificates.
pub struct Ca {
    pub cert: rcgen::Certificate,
    key: KeyPair,
}

/// A leaf certificate and its key.
pub struct Leaf {
    pub cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        Self { cert: params.self_signed(&key).unwrap(), key }
    }

    /// A client certificate for `name`; `expired`: valid in 2000 only.
    pub fn client(&self, name: &str, expired: bool) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        if expired {
            params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            params.not_after = rcgen::date_time_ymd(2000, 12, 31);
        }
        Leaf { cert: params.signed_by(&key, &self.cert, &self.key).unwrap(), key }
    }

    /// The server certificate for `localhost`.
    pub fn server(&self) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&key, &self.cert, &self.key).unwrap();
        Leaf { cert, key }
    }
}

impl Leaf {
    /// SHA-256 of the certificate's DER, lowercase hex (computed here,
    /// not by the code under test).
    pub fn sha256(&self) -> String {
        Sha256::digest(self.cert.der()).iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The gateway's TLS files under `dir`: a server certificate from
/// `server_ca`, and `client_ca` (if any) as the client CA bundle.
pub struct TlsDir {
    pub dir: PathBuf,
}

impl TlsDir {
    pub fn write(dir: &Path, server_ca: &Ca, client_ca: Option<&Ca>) -> Self {
        let server = server_ca.server();
        std::fs::write(dir.join("cert.pem"), server.cert.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), server.key.serialize_pem()).unwrap();
        if let Some(ca) = client_ca {
            std::fs::write(dir.join("clients.pem"), ca.cert.pem()).unwrap();
        }
        Self { dir: dir.to_owned() }
    }

    /// Points `c`'s `gateway.tls` at these files.
    pub fn configure(&self, c: &mut keyway::config::Config, with_client_ca: bool) {
        c.gateway.tls.cert_file = Some(self.dir.join("cert.pem"));
        c.gateway.tls.key_file = Some(self.dir.join("key.pem"));
        if with_client_ca {
            c.gateway.tls.client_ca_file = Some(self.dir.join("clients.pem"));
        }
    }
}

/// What came back.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        let body = &self.text[self.text.find('{').unwrap()..=self.text.rfind('}').unwrap()];
        serde_json::from_str(body).unwrap()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// A refusal's status, code, envelope; its body.
    pub fn refusal(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "for {code}: {}", self.text);
        assert_eq!(self.header("x-keyway-error-code"), Some(code));
        assert_eq!(self.header("content-type"), Some("application/problem+json"));
        if status == 401 {
            assert!(self.header("www-authenticate").is_some(), "401 needs WWW-Authenticate");
        }
        let body = self.json();
        assert_eq!(body["code"], code, "{body}");
        assert_eq!(body["request_id"].as_str(), self.header("x-request-id"));
        body
    }
}

/// `GET path` over TLS to `gateway` (`http://host:port` as the node
/// names it), trusting `server_ca`, presenting `client` if any, with
/// `headers`; HTTP/1.1, one request.
pub async fn get(gateway: &str, server_ca: &Ca, client: Option<&Leaf>, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(server_ca.cert.der().clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Some(leaf) => builder
            .with_client_auth_cert(vec![leaf.cert.der().clone()], PrivateKeyDer::try_from(leaf.key.serialize_der()).unwrap())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let tcp = tokio::net::TcpStream::connect(gateway.trim_start_matches("http://")).await.unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), tls.read_to_string(&mut answer)).await.unwrap().unwrap();
    let (head, text) = answer.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned())).collect();
    Answer { status, headers, text: text.to_owned() }
}
