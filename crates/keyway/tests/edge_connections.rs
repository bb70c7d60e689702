//! The listeners under hostile clients: slow and silent connections are
//! closed on time, a saturated gateway answers 503 while the admin API
//! keeps answering, Host-less HTTP/1.1 is refused, and an HTTP/1.0
//! upstream does not change the client's protocol.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test harness code")]

mod common;

use common::raw::*;
use common::*;
use keyway::config::Threading;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const GET: &[u8] = b"GET /orders/v1/items HTTP/1.1\r\nhost: gw.test\r\n\r\n";

#[tokio::test]
async fn slow_headers_are_closed_within_the_header_read_timeout() {
    let node = Node::start_with(|c| c.gateway.timeouts.header_read_ms = 400).await;
    let mut s = TcpStream::connect(addr_of(&node.gateway)).await.unwrap();
    let started = Instant::now();
    // One byte every 50 ms: never a whole head, always some progress.
    let trickle = async {
        for b in b"GET /orders/v1/items HTTP/1.1\r\nhost: gw.test\r\nx-padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if s.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(3), trickle).await.ok();
    assert!(closed_within(&mut s, Duration::from_secs(2)).await, "slow-headers connection still open");
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1500), "closed after {took:?}, timeout 400 ms");
}

#[tokio::test]
async fn a_silent_connection_is_closed_and_an_idle_one_after_the_idle_timeout() {
    let node = Node::start_with(|c| {
        c.gateway.timeouts.header_read_ms = 300;
        c.gateway.timeouts.idle_ms = 1200;
    })
    .await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;

    let mut silent = TcpStream::connect(addr_of(&node.gateway)).await.unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut silent, Duration::from_secs(2)).await, "silent connection still open");
    assert!(started.elapsed() < Duration::from_millis(1000), "silent connection closed after {:?}", started.elapsed());

    // Kept alive past the header-read timeout (idle is longer), then closed.
    let mut s = TcpStream::connect(addr_of(&node.gateway)).await.unwrap();
    let req = format!("GET /orders/v1/items HTTP/1.1\r\nhost: gw.test\r\nauthorization: Bearer {key}\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut s).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(600)).await;
    s.write_all(req.as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut s).await.status(), 200, "kept-alive connection must survive 600 ms idle");
    let idle_from = Instant::now();
    assert!(closed_within(&mut s, Duration::from_secs(3)).await, "idle connection still open");
    let idle = idle_from.elapsed();
    assert!(idle >= Duration::from_millis(1000) && idle < Duration::from_millis(2200), "closed after {idle:?} idle");
}

#[tokio::test]
async fn at_the_connection_limit_the_gateway_says_so_and_the_admin_api_still_answers() {
    // Four per-core workers: the limit is the listener's, not each worker's.
    let node = Node::start_with(|c| {
        c.gateway.max_connections = 16;
        c.gateway.worker_threads = 4;
        c.gateway.timeouts.header_read_ms = 30_000;
    })
    .await;
    let gw = addr_of(&node.gateway);
    let mut held = Vec::new();
    for _ in 0..16 {
        held.push(TcpStream::connect(gw).await.unwrap());
    }
    // Let the accept loop take them all.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let over = exchange(gw, GET).await;
    assert_eq!(over.status(), 503, "{over:?}");
    assert_eq!(over.header("x-keyway-error-code"), Some("gateway_overloaded"));
    assert_eq!(over.header("content-type"), Some("application/problem+json"));
    assert!(over.header("retry-after").is_some() && over.header("x-request-id").is_some());
    let body: serde_json::Value = serde_json::from_slice(&over.body).unwrap();
    assert_eq!(body["code"], "gateway_overloaded");

    for _ in 0..5 {
        let started = Instant::now();
        let resp = node.http.get(format!("{}/healthz", node.admin)).send().await.unwrap();
        let took = started.elapsed();
        assert_eq!(resp.status(), 200);
        assert!(took < Duration::from_millis(100), "admin /healthz took {took:?} with the gateway saturated");
    }

    // A freed slot serves again.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after = exchange(gw, GET).await;
    assert_ne!(after.status(), 503, "{after:?}");

    let metrics = node.http.get(format!("{}/metrics", node.admin)).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    let text = metrics.text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("keyway_listener_connections_refused_total{listener=\"gateway\"} ") && !l.ends_with(" 0")),
        "{text}"
    );
}

#[tokio::test]
async fn http11_without_host_is_malformed_and_http10_without_host_is_fine() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let gw = addr_of(&node.gateway);
    let r = exchange(gw, format!("GET /orders/v1/items HTTP/1.1\r\nauthorization: Bearer {key}\r\n\r\n").as_bytes()).await;
    assert_eq!(r.status(), 400, "{r:?}");
    assert_eq!(r.header("x-keyway-error-code"), Some("request_malformed"));
    let r = exchange(gw, format!("GET /orders/v1/items HTTP/1.0\r\nauthorization: Bearer {key}\r\n\r\n").as_bytes()).await;
    assert_eq!(r.status(), 200, "{r:?}");
}

#[tokio::test]
async fn an_http10_upstream_does_not_downgrade_the_clients_http11() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let old = http10_upstream().await;
    publish_api(&node, &w.tenant, "/legacy", &format!("http://{old}")).await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let mut s = TcpStream::connect(addr_of(&node.gateway)).await.unwrap();
    let req = format!("GET /legacy/x HTTP/1.1\r\nhost: gw.test\r\nauthorization: Bearer {key}\r\n\r\n");
    for round in 0..2 {
        s.write_all(req.as_bytes()).await.unwrap();
        let r = read_response(&mut s).await;
        assert!(r.status_line.starts_with("HTTP/1.1 200"), "round {round}: {r:?}");
        assert_ne!(r.header("connection"), Some("close"), "round {round}: {r:?}");
        assert_eq!(r.body_text(), "from an http/1.0 upstream");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn data_files_are_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let node = Node::start().await;
    for entry in std::fs::read_dir(&node.data_dir).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} is mode {mode:o}", entry.path().display());
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off_after_the_send_timeout() {
    let node = Node::start_with(|c| c.gateway.timeouts.send_ms = 500).await;
    let w = world(&node, "acme", "/orders/v1").await;
    const SIZE: usize = 64 << 20; // far more than the gateway's socket buffers hold
    let big = big_upstream(SIZE).await;
    publish_api(&node, &w.tenant, "/big", &format!("http://{big}")).await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    // A small receive buffer, so the gateway's writes block soon.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(64 * 1024).unwrap();
    let mut s = socket.connect(addr_of(&node.gateway)).await.unwrap();
    s.write_all(format!("GET /big/file HTTP/1.1\r\nhost: gw.test\r\nauthorization: Bearer {key}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    // Read nothing for well past the send timeout, then drain what is left.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), tokio::io::AsyncReadExt::read(&mut s, &mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got += n,
            Err(_) => panic!("connection neither closed nor finished after {got} bytes"),
        }
    }
    assert!(got < SIZE, "the whole {SIZE}-byte response was delivered to a client that stopped reading");
}

#[tokio::test]
async fn the_admin_listener_closes_slow_headers_too() {
    let node = Node::start_with(|c| c.admin.timeouts.header_read_ms = 300).await;
    let mut s = TcpStream::connect(addr_of(&node.admin)).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: admin").await.unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut s, Duration::from_secs(2)).await, "admin connection still open");
    assert!(started.elapsed() < Duration::from_millis(1200), "{:?}", started.elapsed());
}

#[tokio::test]
async fn both_threading_modes_serve_many_connections() {
    for threading in [Threading::PerCore, Threading::Shared] {
        let node = Node::start_with(|c| {
            c.gateway.threading = threading;
            c.gateway.worker_threads = 3;
        })
        .await;
        let w = world(&node, "acme", "/orders/v1").await;
        let (_, key) = new_key(&node, &w.app, json!({})).await;
        let req = format!("GET /orders/v1/items HTTP/1.1\r\nhost: gw.test\r\nauthorization: Bearer {key}\r\n\r\n");
        let gw = addr_of(&node.gateway);
        let mut conns = Vec::new();
        for _ in 0..24 {
            conns.push(TcpStream::connect(gw).await.unwrap());
        }
        for round in 0..3 {
            for s in &mut conns {
                s.write_all(req.as_bytes()).await.unwrap();
                assert_eq!(read_response(s).await.status(), 200, "{threading:?}, round {round}");
            }
        }
    }
}
