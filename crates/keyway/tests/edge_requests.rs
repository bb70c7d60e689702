//! Requests under hostile clients: no credential reaches an upstream,
//! two different credentials are ambiguous, a body the client breaks is
//! named for what it is (and never reaches the upstream whole), broken
//! paths are malformed, and forwarding headers are not believed from
//! just anyone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test harness code")]

mod common;

use common::raw::*;
use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// What a case is called, the path to call and the headers to send.
type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);

/// An API accepting keys in all three places, at `/all`.
async fn api_accepting_everywhere(node: &Node, tenant: &str, upstream: &str) {
    node.ok(
        "POST",
        &format!("/admin/v1/tenants/{tenant}/apis"),
        json!({"name": "all", "version": "v1", "base_path": "/all", "upstream": {"targets": [{"url": upstream}]},
               "auth": ["api_key"], "key_locations": ["authorization_bearer", "x_api_key", "query"],
               "requires_approval": false, "visibility": "tenant"}),
    )
    .await;
}

#[tokio::test]
async fn no_credential_reaches_the_upstream_wherever_it_was_sent() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    api_accepting_everywhere(&node, &w.tenant, &node.upstream_url()).await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let bearer = format!("Bearer {key}");
    let cases: Vec<Case> = vec![
        ("bearer", "/all/x".into(), vec![("authorization", &bearer)]),
        ("x-api-key", "/all/x".into(), vec![("x-api-key", &key)]),
        ("query", format!("/all/x?a=1&api_key={key}&b=2"), vec![]),
        ("bearer and x-api-key, same key", "/all/x".into(), vec![("authorization", &bearer), ("x-api-key", &key)]),
        ("bearer and query, same key", format!("/all/x?api_key={key}"), vec![("authorization", &bearer)]),
        ("x-api-key twice", "/all/x".into(), vec![("x-api-key", &key), ("x-api-key", &key)]),
        ("stray apikey header too", "/all/x".into(), vec![("authorization", &bearer), ("apikey", &key)]),
        ("stray token parameter too", format!("/all/x?token={key}"), vec![("authorization", &bearer)]),
        ("encoded parameter name", format!("/all/x?api%5Fkey={key}"), vec![("authorization", &bearer)]),
        // The default API reads headers only; the same key in the query is stripped too.
        ("query on a headers-only API", format!("/orders/v1/x?api_key={key}"), vec![("authorization", &bearer)]),
    ];
    for (what, path, headers) in cases {
        let resp = node.get(&path, &headers).await;
        assert_eq!(resp.status(), 200, "{what}");
        let echo: Value = resp.json().await.unwrap();
        let seen = echo.to_string();
        assert!(!seen.contains(&key), "{what}: the key reached the upstream: {seen}");
        assert!(echo["headers"].get("authorization").is_none() && echo["headers"].get("x-api-key").is_none(), "{what}: {seen}");
        if what == "query" {
            assert_eq!(echo["query"], "a=1&b=2", "{what}: other parameters are kept");
        }
    }
}

#[tokio::test]
async fn two_different_credentials_are_ambiguous() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    api_accepting_everywhere(&node, &w.tenant, &node.upstream_url()).await;
    let (_, k1) = new_key(&node, &w.app, json!({})).await;
    let (_, k2) = new_key(&node, &w.app, json!({})).await;
    let b1 = format!("Bearer {k1}");
    let cases: Vec<Case> = vec![
        ("authorization and x-api-key", "/orders/v1/x".into(), vec![("authorization", &b1), ("x-api-key", &k2)]),
        ("header and an unaccepted query", format!("/orders/v1/x?api_key={k2}"), vec![("authorization", &b1)]),
        ("header and accepted query", format!("/all/x?api_key={k2}"), vec![("authorization", &b1)]),
        ("x-api-key twice, different", "/all/x".into(), vec![("x-api-key", &k1), ("x-api-key", &k2)]),
        ("header and a stray header", "/orders/v1/x".into(), vec![("authorization", &b1), ("x-auth-token", &k2)]),
    ];
    for (what, path, headers) in cases {
        let body = expect_refusal(node.get(&path, &headers).await, 401, "credential_ambiguous").await;
        let detail = body["detail"].as_str().unwrap();
        assert!(!detail.contains(&k1) && !detail.contains(&k2), "{what}: {detail}");
        assert!(body["hint"].as_str().unwrap().contains("one credential"), "{what}: {body}");
    }
}

/// A node whose API `/rec` goes to a recording upstream.
async fn recording_node(
    tweak: impl FnOnce(&mut keyway::config::Config),
) -> (Node, String, std::sync::Arc<std::sync::Mutex<Vec<Seen>>>) {
    let node = Node::start_with(tweak).await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (up, seen) = recording_upstream().await;
    publish_api(&node, &w.tenant, "/rec", &format!("http://{up}")).await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    (node, key, seen)
}

fn head(key: &str, framing: &str) -> String {
    format!("POST /rec/upload HTTP/1.1\r\nhost: gw.test\r\nauthorization: Bearer {key}\r\n{framing}\r\n")
}

/// The gateway's answer was `status` with `code`, and (once the upstream
/// had time to see everything) no request reached the upstream whole.
async fn assert_refused_and_nothing_whole_upstream(
    s: &mut TcpStream,
    status: u16,
    code: &str,
    seen: &std::sync::Mutex<Vec<Seen>>,
) -> RawResponse {
    let r = read_response(s).await;
    assert_eq!(r.status(), status, "{r:?}");
    assert_eq!(r.header("x-keyway-error-code"), Some(code));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let seen = seen.lock().unwrap();
    assert!(seen.iter().all(|s| s.body.is_none()), "{code}: the upstream got a whole body: {seen:?}");
    r
}

#[tokio::test]
async fn a_chunked_body_past_the_limit_is_cut_off_with_413() {
    let (node, key, seen) = recording_node(|c| c.gateway.max_body_bytes = 64 * 1024).await;
    let mut s = TcpStream::connect(addr_of(&node.gateway)).await.unwrap();
    s.write_all(head(&key, "transfer-encoding: chunked\r\n").as_bytes()).await.unwrap();
    let chunk = vec![b'x'; 16 * 1024];
    let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
    framed.extend_from_slice(&chunk);
    framed.extend_from_slice(b"\r\n");
    // 8 x 16 KiB = 128 KiB, twice the limit; the gateway may stop reading.
    for _ in 0..8 {
        if s.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    assert_refused_and_nothing_whole_upstream(&mut s, 413, "payload_too_large", &seen).await;
}

#[tokio::test]
async fn a_broken_chunk_is_malformed_not_an_upstream_fault() {
    let (node, key, seen) = recording_node(|_| {}).await;
    let mut s = TcpStream::connect(addr_of(&node.gateway)).await.unwrap();
    s.write_all(head(&key, "transfer-encoding: chunked\r\n").as_bytes()).await.unwrap();
    s.write_all(b"5\r\nhello\r\nZZ-not-hex\r\n").await.unwrap();
    assert_refused_and_nothing_whole_upstream(&mut s, 400, "request_malformed", &seen).await;
}

#[tokio::test]
async fn a_body_too_slow_to_arrive_is_a_request_timeout() {
    let (node, key, seen) = recording_node(|c| {
        c.gateway.timeouts.body_read_ms = 400;
        c.gateway.timeouts.request_ms = 1000;
        c.gateway.upstream_timeout_ms = 300;
    })
    .await;
    // A pause longer than body_read_ms.
    let mut s = TcpStream::connect(addr_of(&node.gateway)).await.unwrap();
    s.write_all(head(&key, "content-length: 100\r\n").as_bytes()).await.unwrap();
    s.write_all(b"0123456789").await.unwrap();
    let started = Instant::now();
    assert_refused_and_nothing_whole_upstream(&mut s, 408, "request_timeout", &seen).await;
    assert!(started.elapsed() < Duration::from_millis(1700), "{:?}", started.elapsed());

    // A byte every 100 ms: never a long pause, but not done within request_ms.
    let mut s = TcpStream::connect(addr_of(&node.gateway)).await.unwrap();
    s.write_all(head(&key, "content-length: 100\r\n").as_bytes()).await.unwrap();
    let started = Instant::now();
    let trickle = async {
        for _ in 0..100 {
            if s.write_all(b"x").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(1600), trickle).await;
    let r = assert_refused_and_nothing_whole_upstream(&mut s, 408, "request_timeout", &seen).await;
    assert!(r.body_text().contains("did not arrive within 1000 ms"), "{}", r.body_text());
    assert!(started.elapsed() < Duration::from_millis(2700));

    // A whole body sent in time still goes through, and the upstream
    // timeout counts from its end, not from the head.
    let resp =
        node.http.post(format!("{}/rec/upload", node.gateway)).bearer_auth(&key).body(vec![b'y'; 1000]).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(seen.lock().unwrap().iter().any(|s| s.body == Some(1000)));
}

#[tokio::test]
async fn broken_paths_are_malformed_and_encoded_slashes_are_never_decoded_for_routing() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let gw = addr_of(&node.gateway);
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nhost: gw.test\r\nauthorization: Bearer {key}\r\n\r\n");
    for path in ["/orders/v1/%zz", "/orders/v1/a%", "/orders/v1/%00", "/orders/v1/%ff", "/orders/v1/%C3%28"] {
        let r = exchange(gw, get(path).as_bytes()).await;
        assert_eq!(r.status(), 400, "{path}: {r:?}");
        assert_eq!(r.header("x-keyway-error-code"), Some("request_malformed"), "{path}");
    }
    for path in ["/orders/v1/..%2fadmin", "/orders/v1/%2e%2e%5cadmin"] {
        let r = exchange(gw, get(path).as_bytes()).await;
        assert_eq!(r.status(), 404, "{path}: {r:?}");
        assert_eq!(r.header("x-keyway-error-code"), Some("route_not_found"), "{path}");
    }
    // `/orders%2Fv1/...` is not the API `/orders/v1`...
    let r = exchange(gw, get("/orders%2Fv1/items").as_bytes()).await;
    assert_eq!(r.header("x-keyway-error-code"), Some("route_not_found"), "{r:?}");
    // ...and an encoded slash inside the API's path is forwarded as sent.
    let r = exchange(gw, get("/orders/v1/a%2Fb/caf%C3%A9").as_bytes()).await;
    assert_eq!(r.status(), 200, "{r:?}");
    let echo: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(echo["path"], "/a%2Fb/caf%C3%A9");
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_replaced() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let spoofed = [
        ("authorization", format!("Bearer {key}")),
        ("x-forwarded-for", "1.2.3.4".to_owned()),
        ("x-forwarded-proto", "https".to_owned()),
        ("x-forwarded-host", "evil.test".to_owned()),
        ("forwarded", "for=1.2.3.4;proto=https;host=evil.test".to_owned()),
    ];
    let headers: Vec<(&str, &str)> = spoofed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let echo: Value = node.get("/orders/v1/x", &headers).await.json().await.unwrap();
    let h = &echo["headers"];
    assert_eq!(h["x-forwarded-for"], "127.0.0.1", "{h}");
    assert_eq!(h["x-forwarded-proto"], "http", "{h}");
    assert_ne!(h["x-forwarded-host"], "evil.test", "{h}");
    assert!(h.get("forwarded").is_none(), "{h}");
    assert!(!echo.to_string().contains("1.2.3.4"), "{echo}");
}

#[tokio::test]
async fn forwarding_headers_from_a_trusted_proxy_are_extended() {
    let node = Node::start_with(|c| c.gateway.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let bearer = format!("Bearer {key}");
    let headers = [
        ("authorization", bearer.as_str()),
        ("x-forwarded-for", "1.2.3.4"),
        ("x-forwarded-proto", "https"),
        ("forwarded", "for=1.2.3.4;proto=https"),
    ];
    let echo: Value = node.get("/orders/v1/x", &headers).await.json().await.unwrap();
    let h = &echo["headers"];
    assert_eq!(h["x-forwarded-for"], "1.2.3.4, 127.0.0.1", "{h}");
    assert_eq!(h["x-forwarded-proto"], "https", "{h}");
    assert_eq!(h["forwarded"], "for=1.2.3.4;proto=https, for=127.0.0.1;proto=http", "{h}");
}
