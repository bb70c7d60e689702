//! The upstream hop: builds the forwarded request (credential stripped,
//! caller identity and forwarding headers added), sends it over a pooled
//! keep-alive client with a timeout, and streams both bodies.

use crate::body::{Body, BodyError};
use crate::names::{
    HOP_BY_HOP, X_FORWARDED_FOR, X_FORWARDED_HOST, X_FORWARDED_PROTO, X_KEYWAY_APP_ID, X_KEYWAY_KEY_ID, X_KEYWAY_TENANT_ID,
    X_REQUEST_ID,
};
use http::header::{HeaderName, HeaderValue, HOST};
use http::{HeaderMap, Request, Response, Uri};
use http_body_util::BodyExt;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use keyway_listener::BodyProgress;
use keyway_pipeline::{places, Admitted};
use std::net::IpAddr;
use std::time::Duration;

/// Why the upstream hop failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The API has no targets.
    #[error("no upstream target configured")]
    NoTarget,
    /// The target URL plus path did not form a valid URI.
    #[error("bad upstream url: {0}")]
    BadUrl(String),
    /// Connection refused, reset, DNS failure, TLS failure...
    #[error("{0}")]
    Unavailable(String),
    /// No response head within the timeout.
    #[error("no response within {0:?}")]
    Timeout(Duration),
}

/// A pooled HTTP/1.1 + HTTP/2 client for upstream calls.
#[derive(Clone, Debug)]
pub struct UpstreamClient {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Body>,
}

impl UpstreamClient {
    /// A client with the given connect timeout and idle-pool settings.
    pub fn new(connect_timeout: Duration, pool_idle_timeout: Duration, pool_max_idle_per_host: usize) -> Self {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(connect_timeout));
        http.set_nodelay(true);
        http.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(pool_idle_timeout)
            .pool_max_idle_per_host(pool_max_idle_per_host)
            .build(https);
        Self { client }
    }

    /// Sends `req` and waits for the response head, at most `timeout`
    /// counted from when the request body has been sent: while a client
    /// is still sending (`body` not ended), the listener's body deadlines
    /// apply instead, and a slow client is not the upstream's fault.
    pub async fn send(
        &self,
        req: Request<Body>,
        timeout: Duration,
        body: Option<&BodyProgress>,
    ) -> Result<Response<hyper::body::Incoming>, UpstreamError> {
        let answer = self.client.request(req);
        let Some(body) = body else {
            return match tokio::time::timeout(timeout, answer).await {
                Err(_) => Err(UpstreamError::Timeout(timeout)),
                Ok(r) => r.map_err(|e| UpstreamError::Unavailable(describe(&e))),
            };
        };
        tokio::pin!(answer);
        loop {
            let wait = match body.ended_ago() {
                Some(ago) if ago >= timeout => return Err(UpstreamError::Timeout(timeout)),
                Some(ago) => timeout - ago,
                None => timeout,
            };
            if let Ok(r) = tokio::time::timeout(wait, &mut answer).await {
                return r.map_err(|e| UpstreamError::Unavailable(describe(&e)));
            }
        }
    }
}

fn describe(e: &hyper_util::client::legacy::Error) -> String {
    use std::error::Error;
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// What the forwarded request needs besides the original.
#[derive(Debug)]
pub struct Forwarding<'a> {
    /// The target base URL, e.g. `http://10.0.0.5:8080/base`.
    pub target: &'a str,
    /// The admitted call.
    pub admitted: &'a Admitted,
    /// The address that connected to the gateway.
    pub peer_ip: IpAddr,
    /// Whether that peer is a trusted proxy: its forwarding headers are
    /// extended; anyone else's are replaced.
    pub peer_trusted: bool,
    /// The request id.
    pub request_id: &'a str,
    /// `http` or `https` as the caller used.
    pub proto: &'static str,
    /// The `traceparent` naming the gateway's upstream span, when the
    /// request is traced; otherwise the caller's passes through as sent.
    pub traceparent: Option<&'a str>,
}

/// Rewrites the caller's request into the upstream request.
pub fn build_request(parts: http::request::Parts, body: Body, fwd: &Forwarding<'_>) -> Result<Request<Body>, UpstreamError> {
    let api = &fwd.admitted.api.api;
    let path = parts.uri.path();
    let rest = if api.upstream.strip_base_path { strip_prefix(path, &api.base_path) } else { path };
    let mut uri = String::with_capacity(fwd.target.len() + rest.len() + 32);
    uri.push_str(fwd.target);
    if !rest.starts_with('/') {
        uri.push('/');
    }
    uri.push_str(rest);
    if let Some(q) = parts.uri.query() {
        let q = places::strip_query(q);
        if !q.is_empty() {
            uri.push('?');
            uri.push_str(&q);
        }
    }
    let uri: Uri = uri.parse().map_err(|e| UpstreamError::BadUrl(format!("{e}")))?;

    let mut headers = parts.headers;
    let original_host =
        headers.remove(HOST).or_else(|| parts.uri.authority().and_then(|a| HeaderValue::from_str(a.as_str()).ok()));
    strip_hop_by_hop(&mut headers);
    // No credential reaches an upstream, wherever the caller put it.
    places::strip_headers(&mut headers);
    // Never let callers spoof identity headers.
    // (insert replaces whatever the caller sent under these names)
    let a = fwd.admitted;
    insert(&mut headers, X_KEYWAY_TENANT_ID, a.tenant.id.as_str());
    insert(&mut headers, X_KEYWAY_APP_ID, a.app.id.as_str());
    insert(&mut headers, X_KEYWAY_KEY_ID, a.key.key.id.as_str());
    insert(&mut headers, X_REQUEST_ID, fwd.request_id);
    if let Some(tp) = fwd.traceparent {
        insert(&mut headers, HeaderName::from_static(crate::trace_sampler::TRACEPARENT), tp);
    }
    forwarding_headers(&mut headers, fwd, original_host);

    let mut req = Request::builder().method(parts.method).uri(uri).version(http::Version::HTTP_11);
    if let Some(h) = req.headers_mut() {
        *h = headers;
    }
    req.body(body).map_err(|e| UpstreamError::BadUrl(e.to_string()))
}

/// `X-Forwarded-For`, `-Proto`, `-Host` and `Forwarded`: a trusted
/// proxy's are extended with this hop; anyone else's are replaced, so a
/// client cannot make an upstream believe another address or scheme.
fn forwarding_headers(headers: &mut HeaderMap, fwd: &Forwarding<'_>, host: Option<HeaderValue>) {
    let peer = fwd.peer_ip;
    let xff = match headers.get(X_FORWARDED_FOR).and_then(|v| v.to_str().ok()).filter(|_| fwd.peer_trusted) {
        Some(prev) => format!("{prev}, {peer}"),
        None => peer.to_string(),
    };
    insert(headers, X_FORWARDED_FOR, &xff);
    if !(fwd.peer_trusted && headers.contains_key(X_FORWARDED_PROTO)) {
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(fwd.proto));
    }
    if !(fwd.peer_trusted && headers.contains_key(X_FORWARDED_HOST)) {
        match host {
            Some(h) => {
                headers.insert(X_FORWARDED_HOST, h);
            }
            None => {
                headers.remove(X_FORWARDED_HOST);
            }
        }
    }
    if fwd.peer_trusted {
        if let Some(prev) = headers.get(http::header::FORWARDED).and_then(|v| v.to_str().ok()) {
            let node = match peer {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => format!("\"[{v6}]\""),
            };
            let extended = format!("{prev}, for={node};proto={}", fwd.proto);
            insert(headers, http::header::FORWARDED, &extended);
        }
    } else {
        headers.remove(http::header::FORWARDED);
    }
}

/// Turns the upstream response into the caller's, streaming the body. The
/// response speaks the caller's HTTP version, whatever the upstream's (an
/// HTTP/1.0 upstream must not turn a kept-alive HTTP/1.1 exchange into
/// HTTP/1.0).
pub fn relay_response(resp: Response<hyper::body::Incoming>, version: http::Version) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    parts.version = version;
    strip_hop_by_hop(&mut parts.headers);
    Response::from_parts(parts, body.map_err(|e| -> BodyError { Box::new(e) }).boxed())
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Headers named in Connection are hop-by-hop too.
    if headers.contains_key(http::header::CONNECTION) {
        strip_named_in_connection(headers);
    }
    for n in &HOP_BY_HOP {
        headers.remove(n);
    }
}

fn strip_named_in_connection(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named {
        headers.remove(n);
    }
}

/// Sets `name` to `value`, replacing every value the caller sent under it
/// (also when `value` cannot be a header value: then none is kept).
fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    match HeaderValue::from_str(value) {
        Ok(v) => {
            headers.insert(name, v);
        }
        Err(_) => {
            headers.remove(name);
        }
    }
}

fn strip_prefix<'a>(path: &'a str, base: &str) -> &'a str {
    let base = base.trim_end_matches('/');
    match path.strip_prefix(base) {
        Some("") => "/",
        Some(rest) => rest,
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_path_is_stripped_on_segment_boundaries() {
        assert_eq!(strip_prefix("/orders/v1/items", "/orders/v1"), "/items");
        assert_eq!(strip_prefix("/orders/v1", "/orders/v1"), "/");
        assert_eq!(strip_prefix("/anything", "/"), "/anything");
    }
}
