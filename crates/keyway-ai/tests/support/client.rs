//! A plain hyper client that sends an [`OutboundRequest`] and reads the
//! answer through a [`ResponseReader`].

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use keyway_ai::outbound::{OutboundRequest, ResponseReader};
use keyway_ai::StreamEvent;
use tokio::net::TcpStream;

/// An answer as received.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The `retry-after` header, if any.
    pub retry_after: Option<String>,
    /// The `content-type` header, if any.
    pub content_type: Option<String>,
    /// The body, or for a 2xx stream the decoded events (frame by frame).
    pub body: Vec<u8>,
    /// Stream events, decoded as the frames arrived (2xx streams only).
    pub events: Vec<StreamEvent>,
}

/// Sends `req` over a fresh HTTP/1.1 connection (`http://` URLs only).
pub async fn send(req: &OutboundRequest, reader: ResponseReader) -> Answer {
    let rest = req.url.strip_prefix("http://").expect("an http:// URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let tcp = TcpStream::connect(authority).await.expect("connect to the mock");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.expect("handshake");
    tokio::spawn(conn);
    let mut builder = hyper::Request::builder().method(req.method).uri(path).header("host", authority);
    for (name, value) in &req.headers {
        builder = builder.header(*name, value);
    }
    let request = builder.body(Full::new(Bytes::from(req.body.clone()))).expect("request");
    let resp = sender.send_request(request).await.expect("send");
    let status = resp.status().as_u16();
    let header = |n: &str| resp.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (retry_after, content_type) = (header("retry-after"), header("content-type"));
    let mut body = resp.into_body();
    let mut bytes = Vec::new();
    let mut events = Vec::new();
    let mut decoder = (req.stream && (200..300).contains(&status)).then(|| reader.stream());
    while let Some(frame) = body.frame().await {
        let frame = frame.expect("body frame");
        if let Some(data) = frame.data_ref() {
            bytes.extend_from_slice(data);
            if let Some(d) = decoder.as_mut() {
                events.extend(d.feed(data).expect("stream decodes"));
            }
        }
    }
    if let Some(d) = decoder.as_mut() {
        events.extend(d.finish().expect("stream finishes"));
    }
    Answer { status, retry_after, content_type, body: bytes, events }
}
