//! The plain-http upstream exchange against a scripted raw TCP upstream:
//! response framings (chunked with extensions and trailers, a length, until
//! close, interim 1xx, HEAD), ambiguous or broken heads, heads that arrive a
//! byte at a time, and the request framing the gateway decides itself.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test harness code")]

use bytes::Bytes;
use http::{HeaderValue, Method, Request};
use http_body_util::BodyExt;
use keyway_gateway::body::{self, Body, BodyError};
use keyway_gateway::upstream_client::{UpstreamClient, UpstreamError};
use keyway_pipeline::UpstreamTarget;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the upstream saw and did.
#[derive(Default)]
struct Seen {
    /// Connections accepted.
    connections: AtomicUsize,
    /// Each request as its raw bytes (head and body).
    requests: Mutex<Vec<Vec<u8>>>,
}

/// How the scripted upstream sends its answers.
#[derive(Clone, Copy)]
struct Script {
    /// Closes the connection after each answer.
    close: bool,
    /// Writes the answer one byte at a time.
    trickle: bool,
}

/// An upstream answering every request with `answer`, raw.
async fn upstream(answer: &'static [u8], script: Script) -> (SocketAddr, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let seen2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let (s, _) = listener.accept().await.unwrap();
            seen2.connections.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve(s, answer, script, seen2.clone()));
        }
    });
    (addr, seen)
}

async fn serve(mut s: TcpStream, answer: &'static [u8], script: Script, seen: Arc<Seen>) {
    let mut buf = Vec::new();
    loop {
        let Some(request) = read_request(&mut s, &mut buf).await else { return };
        seen.requests.lock().unwrap().push(request);
        if script.trickle {
            for b in answer {
                if s.write_all(&[*b]).await.is_err() {
                    return;
                }
                s.flush().await.unwrap();
            }
        } else if s.write_all(answer).await.is_err() {
            return;
        }
        if script.close {
            let _ = s.shutdown().await;
            return;
        }
    }
}

/// One request off the connection: its head, then a body by its
/// `content-length` or up to the last chunk.
async fn read_request(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length = head.lines().find_map(|l| l.strip_prefix("content-length: ")).map(|v| v.trim().parse::<usize>().unwrap());
    let chunked = head.contains("transfer-encoding: chunked");
    let end = loop {
        if let Some(n) = length {
            if buf.len() >= head_end + n {
                break head_end + n;
            }
        } else if chunked {
            if let Some(at) = buf[head_end..].windows(5).position(|w| w == b"0\r\n\r\n") {
                break head_end + at + 5;
            }
        } else {
            break head_end;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    Some(buf.drain(..end).collect())
}

fn request(addr: SocketAddr, method: Method, body: Body) -> Request<Body> {
    let mut req = Request::builder().method(method).uri("/x?q=1").body(body).unwrap();
    req.headers_mut().insert(http::header::HOST, HeaderValue::from_str(&addr.to_string()).unwrap());
    req
}

fn client() -> UpstreamClient {
    UpstreamClient::new(Duration::from_secs(2), Duration::from_secs(60), 8)
}

async fn exchange(addr: SocketAddr, method: Method, body: Body) -> Result<(http::response::Parts, Vec<u8>), UpstreamError> {
    exchange_with(&client(), &target(addr), addr, method, body).await
}

fn target(addr: SocketAddr) -> Arc<UpstreamTarget> {
    Arc::new(UpstreamTarget::new(&format!("http://{addr}")))
}

async fn exchange_with(
    client: &UpstreamClient,
    target: &Arc<UpstreamTarget>,
    addr: SocketAddr,
    method: Method,
    body: Body,
) -> Result<(http::response::Parts, Vec<u8>), UpstreamError> {
    let resp = client.send(target, request(addr, method, body), Duration::from_secs(5), None).await?;
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.map_err(|e| UpstreamError::Unavailable(e.to_string()))?.to_bytes();
    Ok((parts, bytes.to_vec()))
}

const KEEP: Script = Script { close: false, trickle: false };

#[tokio::test]
async fn chunked_answers_with_extensions_and_trailers_arrive_whole_and_keep_the_connection() {
    static ANSWER: &[u8] =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n5;ext=v\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n";
    let (addr, seen) = upstream(ANSWER, KEEP).await;
    let (client, target) = (client(), target(addr));
    for _ in 0..3 {
        let (parts, body) = exchange_with(&client, &target, addr, Method::GET, body::empty()).await.unwrap();
        assert_eq!(parts.status, 200);
        assert_eq!(parts.headers["x-a"], "1");
        assert_eq!(body, b"hello, world");
    }
    assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn heads_and_bodies_that_arrive_a_byte_at_a_time_parse() {
    static ANSWER: &[u8] = b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\nX-B: two words\r\n\r\nbody";
    let (addr, seen) = upstream(ANSWER, Script { close: false, trickle: true }).await;
    let (client, target) = (client(), target(addr));
    for _ in 0..2 {
        let (parts, body) = exchange_with(&client, &target, addr, Method::GET, body::empty()).await.unwrap();
        assert_eq!(parts.status, 201);
        assert_eq!(parts.headers["x-b"], "two words");
        assert_eq!(body, b"body");
    }
    assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_body_until_close_is_read_to_the_end_and_its_connection_not_reused() {
    static ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end";
    let (addr, seen) = upstream(ANSWER, Script { close: true, trickle: false }).await;
    let (client, target) = (client(), target(addr));
    for _ in 0..2 {
        let (_, body) = exchange_with(&client, &target, addr, Method::GET, body::empty()).await.unwrap();
        assert_eq!(body, b"until the end");
    }
    assert_eq!(seen.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn interim_answers_are_skipped() {
    static ANSWER: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let (addr, _) = upstream(ANSWER, KEEP).await;
    let (parts, body) = exchange(addr, Method::GET, body::empty()).await.unwrap();
    assert_eq!(parts.status, 200);
    assert!(!parts.headers.contains_key("link"));
    assert_eq!(body, b"ok");
}

#[tokio::test]
async fn a_head_answer_has_no_body_whatever_its_length_says() {
    static ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    let (addr, seen) = upstream(ANSWER, KEEP).await;
    let (client, target) = (client(), target(addr));
    for _ in 0..2 {
        let (parts, body) = exchange_with(&client, &target, addr, Method::HEAD, body::empty()).await.unwrap();
        assert_eq!(parts.headers["content-length"], "5");
        assert!(body.is_empty());
    }
    assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_length_beside_chunked_is_dropped_and_the_connection_not_reused() {
    static ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    let (addr, seen) = upstream(ANSWER, KEEP).await;
    let (client, target) = (client(), target(addr));
    for _ in 0..2 {
        let (parts, body) = exchange_with(&client, &target, addr, Method::GET, body::empty()).await.unwrap();
        assert!(!parts.headers.contains_key("content-length"));
        assert_eq!(body, b"abc");
    }
    assert_eq!(seen.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn broken_heads_and_bodies_are_errors_not_answers() {
    for answer in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"[..],
        b"HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabcd",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"NOT HTTP\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
    ] {
        let answer: &'static [u8] = Box::leak(answer.to_vec().into_boxed_slice());
        let (addr, _) = upstream(answer, KEEP).await;
        let outcome = exchange(addr, Method::GET, body::empty()).await;
        assert!(
            matches!(outcome, Err(UpstreamError::Unavailable(_))),
            "{:?}: {:?}",
            String::from_utf8_lossy(answer),
            outcome.map(|r| r.0)
        );
    }
    // Bodies cut short or badly chunked fail while being read.
    for answer in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"[..],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
    ] {
        let answer: &'static [u8] = Box::leak(answer.to_vec().into_boxed_slice());
        let (addr, _) = upstream(answer, Script { close: true, trickle: false }).await;
        assert!(exchange(addr, Method::GET, body::empty()).await.is_err(), "{:?}", String::from_utf8_lossy(answer));
    }
}

#[tokio::test]
async fn the_request_is_framed_by_its_body_never_by_the_callers_headers() {
    static ANSWER: &[u8] = b"HTTP/1.1 204 No Content\r\n\r\n";
    let (addr, seen) = upstream(ANSWER, KEEP).await;
    let (client, target) = (client(), target(addr));

    // A body of known length, with a caller's content-length that lies and
    // a transfer-encoding that should never pass.
    let mut req = request(addr, Method::POST, body::full("abc"));
    req.headers_mut().insert("content-length", HeaderValue::from_static("999"));
    req.headers_mut().insert("transfer-encoding", HeaderValue::from_static("chunked"));
    let resp = client.send(&target, req, Duration::from_secs(5), None).await.unwrap();
    assert_eq!(resp.status(), 204);
    drop(resp);

    // A streamed body of unknown length goes chunked.
    let pieces = futures_like_stream(vec![Bytes::from_static(b"ab"), Bytes::from_static(b"cde")]);
    let (parts, _) = exchange_with(&client, &target, addr, Method::PUT, pieces).await.unwrap();
    assert_eq!(parts.status, 204);

    // No body: no framing header on a GET, an explicit zero on a POST.
    exchange_with(&client, &target, addr, Method::GET, body::empty()).await.unwrap();
    exchange_with(&client, &target, addr, Method::POST, body::empty()).await.unwrap();

    let requests: Vec<String> =
        seen.requests.lock().unwrap().iter().map(|r| String::from_utf8_lossy(r).to_ascii_lowercase()).collect();
    assert_eq!(requests.len(), 4);
    assert!(requests[0].starts_with("post /x?q=1 http/1.1\r\n"), "{}", requests[0]);
    assert!(requests[0].contains("content-length: 3\r\n") && !requests[0].contains("999"), "{}", requests[0]);
    assert!(!requests[0].contains("transfer-encoding"), "{}", requests[0]);
    assert!(requests[0].ends_with("\r\n\r\nabc"), "{}", requests[0]);
    assert!(requests[1].contains("transfer-encoding: chunked\r\n"), "{}", requests[1]);
    assert!(requests[1].ends_with("\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"), "{}", requests[1]);
    assert!(!requests[2].contains("content-length") && !requests[2].contains("transfer-encoding"), "{}", requests[2]);
    assert!(requests[3].contains("content-length: 0\r\n"), "{}", requests[3]);
    assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
}

/// A body of `pieces` whose length is not known ahead.
fn futures_like_stream(pieces: Vec<Bytes>) -> Body {
    BodyExt::boxed(Pieces(pieces.into()))
}

/// Data frames one after another, of a length not said ahead.
struct Pieces(std::collections::VecDeque<Bytes>);

impl http_body::Body for Pieces {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, BodyError>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(http_body::Frame::data(b))))
    }
}
