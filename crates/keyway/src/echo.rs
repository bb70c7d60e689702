//! The demo's built-in upstream: answers every request with a JSON echo
//! of what it received, so a newcomer sees what Keyway forwards (the
//! caller's identity headers) and what it strips (the key).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Starts the echo server on `addr`; returns its bound address.
pub async fn start(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            tokio::spawn(async move {
                let svc = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                    let (parts, body) = req.into_parts();
                    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    let headers: serde_json::Map<String, serde_json::Value> =
                        parts.headers.iter().map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or("<binary>")))).collect();
                    let echo = json!({
                        "echo": "hello from the demo upstream",
                        "method": parts.method.as_str(),
                        "path": parts.uri.path(),
                        "query": parts.uri.query(),
                        "headers": headers,
                        "body_bytes": body.len(),
                    });
                    let mut resp = hyper::Response::new(Full::new(Bytes::from(format!("{echo:#}\n"))));
                    resp.headers_mut().insert("content-type", http::HeaderValue::from_static("application/json"));
                    Ok::<_, std::convert::Infallible>(resp)
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok(local)
}
