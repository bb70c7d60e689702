//! Keyway's HTTP/1.1 server connection over real sockets: framing,
//! keep-alive, pipelining, `100 Continue`, refusals of heads it cannot
//! trust, h2c handed to hyper, and a graceful drain.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use keyway_listener::{serve, GuardedBody, ListenerSettings};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Answers `METHOD PATH len=N body=...`, after reading the whole body;
/// `/slow` waits 300 ms first, `/ignore` never reads the body.
struct Echo;

impl keyway_listener::serve::Handler for Echo {
    type Body = Full<Bytes>;
    type Error = std::convert::Infallible;

    async fn handle(&self, req: Request<GuardedBody>, _peer: SocketAddr) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        if parts.uri.path() == "/slow" {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let text = if parts.uri.path() == "/ignore" {
            format!("{} {} ignored", parts.method, parts.uri.path())
        } else {
            match body.collect().await {
                Ok(b) => {
                    let b = b.to_bytes();
                    format!("{} {} len={} body={}", parts.method, parts.uri.path(), b.len(), String::from_utf8_lossy(&b))
                }
                Err(e) => format!("body error: {e}"),
            }
        };
        Response::new(Full::new(Bytes::from(text)))
    }
}

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

async fn start() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let settings = ListenerSettings { max_body_bytes: Some(1 << 20), ..ListenerSettings::defaults("test") };
    let done = tokio::spawn(serve(
        listener,
        settings,
        Arc::new(Echo),
        async move {
            let _ = stopped.await;
        },
        Duration::from_secs(5),
    ));
    Server { addr, stop: Some(stop), done }
}

/// Sends `wire`, reads until the server closes or `timeout` passes.
async fn exchange(addr: SocketAddr, wire: &[u8], timeout: Duration) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(wire).await.unwrap();
    read_until_quiet(&mut s, timeout).await
}

async fn read_until_quiet(s: &mut TcpStream, timeout: Duration) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(timeout, s.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Ok(Err(_)) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

const QUIET: Duration = Duration::from_millis(300);

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_on_one_connection() {
    let srv = start().await;
    let wire = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyzGET /c HTTP/1.1\r\nHost: h\r\n\r\n";
    let out = exchange(srv.addr, wire, QUIET).await;
    let a = out.find("GET /a len=0").expect(&out);
    let b = out.find("POST /b len=3 body=xyz").expect(&out);
    let c = out.find("GET /c len=0").expect(&out);
    assert!(a < b && b < c, "{out}");
    assert_eq!(out.matches("HTTP/1.1 200 OK\r\n").count(), 3, "{out}");
    assert!(out.contains("content-length: 18\r\n") && out.contains("date: "), "{out}");
}

#[tokio::test]
async fn a_chunked_body_arriving_in_pieces_is_read_whole() {
    let srv = start().await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(b"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nWiki").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    s.write_all(b"\r\n5\r\npedia\r\n0\r\nTrailer: t\r\n\r\n").await.unwrap();
    let out = read_until_quiet(&mut s, QUIET).await;
    assert!(out.contains("POST /up len=9 body=Wikipedia"), "{out}");
    // The connection is still usable.
    s.write_all(b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n").await.unwrap();
    assert!(read_until_quiet(&mut s, QUIET).await.contains("GET /next len=0"));
}

#[tokio::test]
async fn a_client_that_expects_100_continue_gets_it_before_sending_its_body() {
    let srv = start().await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(b"PUT /c HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n").await.unwrap();
    let interim = read_until_quiet(&mut s, Duration::from_millis(200)).await;
    assert_eq!(interim, "HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(b"hello").await.unwrap();
    assert!(read_until_quiet(&mut s, QUIET).await.contains("PUT /c len=5 body=hello"));
}

#[tokio::test]
async fn ambiguous_framing_is_refused_with_keyways_envelope_and_the_connection_closed() {
    let srv = start().await;
    for wire in [
        &b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
    ] {
        let out = exchange(srv.addr, wire, Duration::from_secs(2)).await;
        assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{out}");
        assert!(out.contains("application/problem+json") && out.contains("request_malformed"), "{out}");
        assert!(out.contains("connection: close\r\n"), "{out}");
    }
}

#[tokio::test]
async fn a_head_too_large_gets_431() {
    let srv = start().await;
    let many: String = (0..120).map(|i| format!("X-{i}: v\r\n")).collect();
    let out = exchange(srv.addr, format!("GET / HTTP/1.1\r\nHost: h\r\n{many}\r\n").as_bytes(), Duration::from_secs(2)).await;
    assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
    let big = "a".repeat(70 * 1024);
    let out =
        exchange(srv.addr, format!("GET / HTTP/1.1\r\nHost: h\r\nX-Big: {big}\r\n\r\n").as_bytes(), Duration::from_secs(2)).await;
    assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
}

#[tokio::test]
async fn http10_closes_unless_kept_alive_and_head_gets_no_body() {
    let srv = start().await;
    let out = exchange(srv.addr, b"GET /old HTTP/1.0\r\n\r\n", Duration::from_secs(2)).await;
    assert!(out.starts_with("HTTP/1.0 200 OK\r\n") || out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.contains("connection: close\r\n") && out.ends_with("GET /old len=0 body="), "{out}");
    let out = exchange(srv.addr, b"GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /ka2 HTTP/1.0\r\n\r\n", QUIET).await;
    assert!(out.contains("connection: keep-alive\r\n") && out.contains("GET /ka2"), "{out}");
    let out = exchange(srv.addr, b"HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n", QUIET).await;
    assert!(out.contains("content-length: 19\r\n") && out.ends_with("\r\n\r\n"), "HEAD carries no body: {out}");
}

#[tokio::test]
async fn an_unread_body_closes_the_connection_unless_it_was_already_buffered() {
    let srv = start().await;
    // Whole in the first read: drained from the buffer, the next request follows.
    let out = exchange(
        srv.addr,
        b"POST /ignore HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcdGET /after HTTP/1.1\r\nHost: h\r\n\r\n",
        QUIET,
    )
    .await;
    assert!(out.contains("POST /ignore ignored") && out.contains("GET /after len=0"), "{out}");
    // Still to come: the connection closes after the answer.
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(b"POST /ignore HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\npartial").await.unwrap();
    let out = read_until_quiet(&mut s, Duration::from_secs(2)).await;
    assert!(out.contains("POST /ignore ignored") && out.contains("connection: close\r\n"), "{out}");
}

#[tokio::test]
async fn h2c_by_prior_knowledge_is_served() {
    let srv = start().await;
    let stream = TcpStream::connect(srv.addr).await.unwrap();
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = Request::post(format!("http://{}/two", srv.addr)).body(Full::new(Bytes::from_static(b"hi"))).unwrap();
    let resp = send.send_request(req).await.unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"POST /two len=2 body=hi");
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight_and_closes_idle_connections() {
    let mut srv = start().await;
    let mut idle = TcpStream::connect(srv.addr).await.unwrap();
    idle.write_all(b"GET /warm HTTP/1.1\r\nHost: h\r\n\r\n").await.unwrap();
    assert!(read_until_quiet(&mut idle, Duration::from_millis(200)).await.contains("GET /warm"));
    let mut busy = TcpStream::connect(srv.addr).await.unwrap();
    busy.write_all(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = srv.stop.take().unwrap().send(());
    let out = read_until_quiet(&mut busy, Duration::from_secs(2)).await;
    assert!(out.contains("GET /slow len=0") && out.contains("connection: close\r\n"), "{out}");
    assert_eq!(read_until_quiet(&mut idle, Duration::from_secs(2)).await, "", "the idle connection is closed");
    tokio::time::timeout(Duration::from_secs(3), srv.done).await.expect("the drain ends").unwrap();
}

#[tokio::test]
async fn connection_close_is_answered_then_the_connection_closes() {
    let srv = start().await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(b"GET /bye HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: h\r\n\r\n")
        .await
        .unwrap();
    let out = read_until_quiet(&mut s, Duration::from_secs(2)).await;
    assert!(out.contains("GET /bye len=0") && out.contains("connection: close\r\n"), "{out}");
    assert!(!out.contains("/never"), "nothing after a request that closes: {out}");
}

#[tokio::test]
async fn a_request_half_closed_after_sending_is_still_answered() {
    let srv = start().await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(b"POST /half HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok").await.unwrap();
    s.shutdown().await.unwrap();
    let out = read_until_quiet(&mut s, Duration::from_secs(2)).await;
    assert!(out.contains("POST /half len=2 body=ok"), "{out}");
}

#[tokio::test]
async fn an_answer_before_the_whole_upload_reaches_a_client_still_sending() {
    let srv = start().await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    let mut wire = b"POST /ignore HTTP/1.1\r\nHost: h\r\nContent-Length: 10000000\r\n\r\n".to_vec();
    wire.extend(std::iter::repeat_n(b'x', 64 * 1024));
    s.write_all(&wire).await.unwrap();
    // The server answers and closes with body bytes unread. Closing a
    // socket with unread bytes resets it, and a reset makes the client's
    // kernel drop the answer it has not read yet; so the client reads
    // only after a pause, and must still find the answer.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut out)).await;
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("POST /ignore ignored") && out.contains("connection: close\r\n"), "{read:?} {out}");
    // The server closed its side (the end of stream above) but still
    // takes what the client sends, rather than resetting it.
    for _ in 0..3 {
        assert!(s.write_all(&[b'y'; 4096]).await.is_ok(), "the server reset the connection instead of lingering");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
