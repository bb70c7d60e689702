//! The plain-http upstream pool, against a raw TCP upstream that counts
//! its connections: reuse, an upstream that closes idle connections, a
//! body dropped half way, the idle timeout.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test harness code")]

use http::{HeaderValue, Request};
use http_body_util::BodyExt;
use keyway_gateway::body;
use keyway_gateway::upstream_client::UpstreamClient;
use keyway_pipeline::UpstreamTarget;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How the test upstream treats a connection after answering.
#[derive(Clone, Copy)]
enum After {
    /// Keeps it open for the next request.
    KeepAlive,
    /// Closes it (without saying so in the response).
    Close,
}

/// An upstream answering every request with `body`; returns its address
/// and the number of connections it accepted.
async fn upstream(after: After, body: &'static [u8]) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = s.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
                        if s.write_all(head.as_bytes()).await.is_err() || s.write_all(body).await.is_err() {
                            return;
                        }
                        if let After::Close = after {
                            let _ = s.shutdown().await;
                            return;
                        }
                    }
                }
            });
        }
    });
    (addr, accepted)
}

fn request(addr: SocketAddr) -> Request<body::Body> {
    let mut req = Request::builder().uri("/x").body(body::empty()).unwrap();
    req.headers_mut().insert(http::header::HOST, HeaderValue::from_str(&addr.to_string()).unwrap());
    req
}

async fn get(client: &UpstreamClient, target: &Arc<UpstreamTarget>, addr: SocketAddr) -> Vec<u8> {
    let resp = client.send(target, request(addr), Duration::from_secs(5), None).await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.into_body().collect().await.unwrap().to_bytes().to_vec()
}

fn client(idle: Duration) -> UpstreamClient {
    UpstreamClient::new(Duration::from_secs(2), idle, 8)
}

#[tokio::test]
async fn sequential_requests_reuse_one_connection() {
    let (addr, accepted) = upstream(After::KeepAlive, b"hello").await;
    let target = Arc::new(UpstreamTarget::new(&format!("http://{addr}")));
    let client = client(Duration::from_secs(60));
    for _ in 0..20 {
        assert_eq!(get(&client, &target, addr).await, b"hello");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_connection_the_upstream_closed_is_replaced_and_the_request_still_answered() {
    let (addr, accepted) = upstream(After::Close, b"hi").await;
    let target = Arc::new(UpstreamTarget::new(&format!("http://{addr}")));
    let client = client(Duration::from_secs(60));
    for _ in 0..5 {
        assert_eq!(get(&client, &target, addr).await, b"hi");
        // Let the close reach the pooled connection, or race it: both must work.
        tokio::task::yield_now().await;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn a_body_dropped_half_way_is_not_reused() {
    static BIG: [u8; 256 * 1024] = [b'x'; 256 * 1024];
    let (addr, accepted) = upstream(After::KeepAlive, &BIG).await;
    let target = Arc::new(UpstreamTarget::new(&format!("http://{addr}")));
    let client = client(Duration::from_secs(60));
    let resp = client.send(&target, request(addr), Duration::from_secs(5), None).await.unwrap();
    let mut body = resp.into_body();
    let first = body.frame().await.unwrap().unwrap();
    assert!(first.data_ref().is_some_and(|d| d.len() < BIG.len()));
    drop(body);
    assert_eq!(get(&client, &target, addr).await.len(), BIG.len());
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "the cut connection must not carry the next request");
    // The complete exchange left its connection reusable.
    assert_eq!(get(&client, &target, addr).await.len(), BIG.len());
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn connections_idle_past_the_timeout_are_not_reused() {
    let (addr, accepted) = upstream(After::KeepAlive, b"ok").await;
    let target = Arc::new(UpstreamTarget::new(&format!("http://{addr}")));
    let client = client(Duration::from_millis(50));
    get(&client, &target, addr).await;
    get(&client, &target, addr).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_millis(120)).await;
    get(&client, &target, addr).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn concurrent_requests_get_connections_of_their_own() {
    let (addr, accepted) = upstream(After::KeepAlive, b"c").await;
    let target = Arc::new(UpstreamTarget::new(&format!("http://{addr}")));
    let client = client(Duration::from_secs(60));
    let round = || async {
        let (a, b, c, d) = tokio::join!(
            get(&client, &target, addr),
            get(&client, &target, addr),
            get(&client, &target, addr),
            get(&client, &target, addr)
        );
        for body in [a, b, c, d] {
            assert_eq!(body, b"c");
        }
    };
    round().await;
    let opened = accepted.load(Ordering::SeqCst);
    assert_eq!(opened, 4, "four requests in flight at once need four connections");
    // Then they are all reused: no new connection for the next round.
    round().await;
    assert_eq!(accepted.load(Ordering::SeqCst), 4);
}
