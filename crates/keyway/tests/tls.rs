//! The gateway over TLS (`gateway.tls.*`): a keyed call through https,
//! the upstream told `x-forwarded-proto: https`, the key never forwarded,
//! and a node refusing to start on half a TLS setting.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::{new_key, world, Node};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls_pki_types::ServerName;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

#[tokio::test]
async fn a_keyed_call_over_https_reaches_the_upstream_as_https_without_the_key() {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&key, &ca, &ca_key).unwrap();
    let dir = common::temp_dir("tls");
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();

    let node = Node::start_with(|c| {
        c.gateway.tls.cert_file = Some(dir.join("cert.pem"));
        c.gateway.tls.key_file = Some(dir.join("key.pem"));
    })
    .await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, secret) = new_key(&node, &w.app, json!({})).await;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let addr = node.gateway.trim_start_matches("http://");
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let request = format!(
        "GET /orders/v1/items HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {secret}\r\nconnection: close\r\n\r\n"
    );
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tls.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // The echo upstream's body (chunked or not, the JSON is in it).
    let json = &body[body.find('{').unwrap()..=body.rfind('}').unwrap()];
    let echo: Value = serde_json::from_str(json).unwrap();
    assert_eq!(echo["headers"]["x-forwarded-proto"], "https", "{echo}");
    assert!(!body.contains(&secret), "the key never reaches the upstream: {body}");

    // Plain HTTP on the TLS port gets no answer in the clear.
    let plain = node.http.get(format!("{}/orders/v1/items", node.gateway)).send().await;
    assert!(plain.is_err(), "a plain-HTTP answer from a TLS listener: {:?}", plain.map(|r| r.status()));
}

#[tokio::test]
async fn half_a_tls_setting_stops_the_node_with_a_clear_error() {
    let mut c = common::config(common::temp_dir("tls-half"));
    c.gateway.tls.cert_file = Some("/nonexistent/cert.pem".into());
    let Err(err) = keyway::app::start(c).await else { panic!("a node started on half a TLS setting") };
    assert!(format!("{err:#}").contains("gateway.tls.cert_file is set but gateway.tls.key_file is not"), "{err:#}");

    let mut c = common::config(common::temp_dir("tls-missing"));
    c.gateway.tls.cert_file = Some("/nonexistent/cert.pem".into());
    c.gateway.tls.key_file = Some("/nonexistent/key.pem".into());
    let Err(err) = keyway::app::start(c).await else { panic!("a node started on half a TLS setting") };
    assert!(format!("{err:#}").contains("/nonexistent/cert.pem"), "{err:#}");
}
