//! The forwarded request and the relayed response: the caller's request
//! rewritten for the upstream (credential stripped, caller identity and
//! forwarding headers added, path rebased on the target), and the
//! upstream's response with its hop-by-hop headers dropped. The exchange
//! itself is [`crate::upstream_client`]'s.

use crate::body::Body;
use crate::names::{
    hop_by_hop_index, HOP_BY_HOP, X_FORWARDED_FOR, X_FORWARDED_HOST, X_FORWARDED_PROTO, X_KEYWAY_APP_ID,
    X_KEYWAY_CLIENT_CERT_SHA256, X_KEYWAY_KEY_ID, X_KEYWAY_TENANT_ID, X_REQUEST_ID,
};
use crate::upstream_client::UpstreamError;
use http::header::{HeaderName, HeaderValue, HOST};
use http::{HeaderMap, Request, Response, Uri};
use keyway_pipeline::{places, Admitted, TargetOrigin};
use std::net::IpAddr;

/// What the forwarded request needs besides the original.
#[derive(Debug)]
pub struct Forwarding<'a> {
    /// Where the target is.
    pub origin: &'a TargetOrigin,
    /// The admitted call.
    pub admitted: &'a Admitted,
    /// The address that connected to the gateway.
    pub peer_ip: IpAddr,
    /// That address as text, when already written (else it is made here).
    pub peer_text: Option<&'a str>,
    /// Whether that peer is a trusted proxy: its forwarding headers are
    /// extended; anyone else's are replaced.
    pub peer_trusted: bool,
    /// The request id, as a header value.
    pub request_id: &'a HeaderValue,
    /// `http` or `https` as the caller used.
    pub proto: &'static str,
    /// The `traceparent` naming the gateway's upstream span, when the
    /// request is traced; otherwise the caller's passes through as sent.
    pub traceparent: Option<&'a str>,
}

/// Headers the gateway sets on a forwarded request (identity, request id,
/// trace parent, forwarding), in the order they go on the wire, after the
/// request's own: kept out of its header map, where each insert hashes
/// its name (~240 instructions each). The caller's own under these names
/// are removed from the map.
pub type Added = Vec<(HeaderName, HeaderValue)>;

/// Rewrites the caller's request into the upstream request: an
/// origin-form URI (the target's base path, then the caller's path past
/// the API's base path, then the query without credentials) and the
/// target's `Host`; the headers the gateway sets come apart, as
/// [`Added`], for the exchange to write after the map's.
pub fn build_request(
    parts: http::request::Parts,
    body: Body,
    fwd: &Forwarding<'_>,
) -> Result<(Request<Body>, Added), UpstreamError> {
    let api = &fwd.admitted.api.api;
    let path = parts.uri.path();
    let rest = if api.upstream.strip_base_path { strip_prefix(path, &api.base_path) } else { path };
    let query = parts.uri.query().map(places::strip_query);
    let base = &*fwd.origin.base_path;
    let mut target = String::with_capacity(base.len() + rest.len() + 2 + query.as_ref().map_or(0, |q| q.len()));
    target.push_str(base);
    if !rest.starts_with('/') {
        target.push('/');
    }
    target.push_str(rest);
    if let Some(q) = query.as_deref().filter(|q| !q.is_empty()) {
        target.push('?');
        target.push_str(q);
    }
    let uri = Uri::from_maybe_shared(bytes::Bytes::from(target)).map_err(|e| UpstreamError::BadUrl(format!("{e}")))?;

    let mut headers = parts.headers;
    let original_host =
        headers.remove(HOST).or_else(|| parts.uri.authority().and_then(|a| HeaderValue::from_str(a.as_str()).ok()));
    headers.insert(HOST, fwd.origin.host_header.clone());
    strip_hop_by_hop(&mut headers);
    // No credential reaches an upstream, wherever the caller put it.
    places::strip_headers(&mut headers);
    // Never let callers spoof identity headers: theirs are removed, ours
    // added.
    let present = Present::of(&headers);
    let mut added = Added::with_capacity(10);
    let ids = identity_headers(fwd.admitted);
    for (bit, name, value) in [
        (Present::TENANT_ID, X_KEYWAY_TENANT_ID, Some(ids.tenant)),
        (Present::APP_ID, X_KEYWAY_APP_ID, Some(ids.app)),
        (Present::KEY_ID, X_KEYWAY_KEY_ID, ids.key),
        (Present::CLIENT_CERT, X_KEYWAY_CLIENT_CERT_SHA256, client_cert_value(fwd.admitted)),
        (Present::REQUEST_ID, X_REQUEST_ID, Some(fwd.request_id.clone())),
    ] {
        set(&mut headers, &mut added, present.has(bit), name, value);
    }
    if let Some(tp) = fwd.traceparent {
        let name = HeaderName::from_static(crate::trace_sampler::TRACEPARENT);
        set(&mut headers, &mut added, present.has(Present::TRACEPARENT), name, HeaderValue::from_str(tp).ok());
    }
    forwarding_headers(&mut headers, &mut added, present, fwd, original_host);

    let mut req = Request::new(body);
    *req.method_mut() = parts.method;
    *req.uri_mut() = uri;
    *req.version_mut() = http::Version::HTTP_11;
    *req.headers_mut() = headers;
    Ok((req, added))
}

/// Which of the names the gateway sets a request already carries, found
/// in one pass over its names (most carry none of them).
#[derive(Clone, Copy, Debug)]
struct Present(u16);

impl Present {
    const TENANT_ID: u16 = 1;
    const APP_ID: u16 = 1 << 1;
    const KEY_ID: u16 = 1 << 2;
    const REQUEST_ID: u16 = 1 << 3;
    const TRACEPARENT: u16 = 1 << 4;
    const FORWARDED_FOR: u16 = 1 << 5;
    const FORWARDED_PROTO: u16 = 1 << 6;
    const FORWARDED_HOST: u16 = 1 << 7;
    const FORWARDED: u16 = 1 << 8;
    const CLIENT_CERT: u16 = 1 << 9;

    fn of(headers: &HeaderMap) -> Self {
        let mut bits = 0;
        for name in headers.keys() {
            bits |= match name.as_str() {
                "x-keyway-tenant-id" => Self::TENANT_ID,
                "x-keyway-app-id" => Self::APP_ID,
                "x-keyway-key-id" => Self::KEY_ID,
                "x-request-id" => Self::REQUEST_ID,
                crate::trace_sampler::TRACEPARENT => Self::TRACEPARENT,
                "x-forwarded-for" => Self::FORWARDED_FOR,
                "x-forwarded-proto" => Self::FORWARDED_PROTO,
                "x-forwarded-host" => Self::FORWARDED_HOST,
                "forwarded" => Self::FORWARDED,
                "x-keyway-client-cert-sha256" => Self::CLIENT_CERT,
                _ => 0,
            };
        }
        Present(bits)
    }

    fn has(self, bit: u16) -> bool {
        self.0 & bit != 0
    }
}

/// Sets `name` to `value` on the forwarded request, replacing every value
/// the caller sent under it (also when `value` cannot be a header value:
/// then none is kept).
/// The identity header values of an admitted call: a key's, made once
/// per key; a token caller's from its app and tenant, without a key id.
struct IdentityValues {
    tenant: HeaderValue,
    app: HeaderValue,
    key: Option<HeaderValue>,
}

fn identity_headers(a: &Admitted) -> IdentityValues {
    match &a.key {
        Some(k) => {
            let ids = k.id_headers();
            IdentityValues { tenant: ids.tenant.clone(), app: ids.app.clone(), key: Some(ids.key.clone()) }
        }
        None => {
            // Ids are ASCII, so always valid header values.
            let value = |id: &str| HeaderValue::from_str(id).unwrap_or(HeaderValue::from_static(""));
            IdentityValues { tenant: value(a.tenant.id.as_str()), app: value(a.app.id.as_str()), key: None }
        }
    }
}

/// The fingerprint of the certificate that was the call's credential.
fn client_cert_value(a: &Admitted) -> Option<HeaderValue> {
    a.certificate.as_ref().and_then(|c| HeaderValue::from_str(&c.sha256_fingerprint).ok())
}

fn set(headers: &mut HeaderMap, added: &mut Added, present: bool, name: HeaderName, value: Option<HeaderValue>) {
    if present {
        headers.remove(&name);
    }
    if let Some(value) = value {
        added.push((name, value));
    }
}

/// `X-Forwarded-For`, `-Proto`, `-Host` and `Forwarded`: a trusted
/// proxy's are extended with this hop; anyone else's are replaced, so a
/// client cannot make an upstream believe another address or scheme.
fn forwarding_headers(
    headers: &mut HeaderMap,
    added: &mut Added,
    present: Present,
    fwd: &Forwarding<'_>,
    host: Option<HeaderValue>,
) {
    let peer = fwd.peer_ip;
    let trusted = fwd.peer_trusted;
    let made;
    // Only a trusted peer's list is read (looked up only then).
    let prev = if trusted && present.has(Present::FORWARDED_FOR) {
        headers.get(X_FORWARDED_FOR).and_then(|v| v.to_str().ok())
    } else {
        None
    };
    let xff = match (prev, fwd.peer_text) {
        (Some(prev), _) => {
            made = format!("{prev}, {peer}");
            &made
        }
        (None, Some(text)) => text,
        (None, None) => {
            made = crate::client_ip::ip_text(peer);
            &made
        }
    };
    let xff = HeaderValue::from_str(xff).ok();
    set(headers, added, present.has(Present::FORWARDED_FOR), X_FORWARDED_FOR, xff);
    if !(trusted && present.has(Present::FORWARDED_PROTO)) {
        let proto = Some(HeaderValue::from_static(fwd.proto));
        set(headers, added, present.has(Present::FORWARDED_PROTO), X_FORWARDED_PROTO, proto);
    }
    if !(trusted && present.has(Present::FORWARDED_HOST)) {
        set(headers, added, present.has(Present::FORWARDED_HOST), X_FORWARDED_HOST, host);
    }
    if trusted {
        if let Some(prev) = headers.get(http::header::FORWARDED).and_then(|v| v.to_str().ok()) {
            let node = match peer {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => format!("\"[{v6}]\""),
            };
            let extended = format!("{prev}, for={node};proto={}", fwd.proto);
            insert(headers, http::header::FORWARDED, &extended);
        }
    } else if present.has(Present::FORWARDED) {
        headers.remove(http::header::FORWARDED);
    }
}

/// Turns the upstream response into the caller's, streaming the body. The
/// response speaks the caller's HTTP version, whatever the upstream's (an
/// HTTP/1.0 upstream must not turn a kept-alive HTTP/1.1 exchange into
/// HTTP/1.0).
pub fn relay_response(mut resp: Response<Body>, version: http::Version) -> Response<Body> {
    *resp.version_mut() = version;
    strip_hop_by_hop(resp.headers_mut());
    resp
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // One pass over the few names present notes which hop-by-hop names
    // are there: most requests carry none, most upstream responses just
    // `connection: keep-alive`; only those are removed.
    let mut present = [false; HOP_BY_HOP.len()];
    let mut any = false;
    for name in headers.keys() {
        if let Some(i) = hop_by_hop_index(name) {
            present[i] = true;
            any = true;
        }
    }
    if !any {
        return;
    }
    // Headers named in Connection are hop-by-hop too.
    if present[0] {
        strip_named_in_connection(headers);
    }
    for (name, _) in HOP_BY_HOP.iter().zip(present).filter(|(_, here)| *here) {
        headers.remove(name);
    }
}

/// Removes the headers a `Connection` value names (RFC 9110 §7.6.1),
/// besides the hop-by-hop ones removed anyway; `close` and `keep-alive`,
/// the usual tokens, name no other header and cost nothing.
fn strip_named_in_connection(headers: &mut HeaderMap) {
    let usual = |v: &HeaderValue| v.as_bytes().eq_ignore_ascii_case(b"keep-alive") || v.as_bytes().eq_ignore_ascii_case(b"close");
    if headers.get_all(http::header::CONNECTION).iter().all(usual) {
        return;
    }
    let named: Vec<HeaderName> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.eq_ignore_ascii_case("close") && !HOP_BY_HOP.iter().any(|h| t.eq_ignore_ascii_case(h.as_str())))
        .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok())
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

    fn names(h: &HeaderMap) -> Vec<&str> {
        let mut v: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_stripped() {
        let mut h = HeaderMap::new();
        for (n, v) in [
            ("connection", "keep-alive, X-Secret-Hop, close"),
            ("connection", "upgrade"),
            ("keep-alive", "timeout=5"),
            ("x-secret-hop", "1"),
            ("upgrade", "websocket"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("proxy-authorization", "Basic x"),
            ("proxy-connection", "keep-alive"),
            ("trailer", "x-t"),
            ("content-type", "text/plain"),
            ("x-kept", "yes"),
        ] {
            h.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        strip_hop_by_hop(&mut h);
        assert_eq!(names(&h), ["content-type", "x-kept"]);
    }

    #[test]
    fn messages_without_hop_by_hop_headers_are_left_alone() {
        let mut h = HeaderMap::new();
        h.insert(HeaderName::from_static("content-length"), HeaderValue::from_static("3"));
        h.insert(HeaderName::from_static("x-a"), HeaderValue::from_static("b"));
        strip_hop_by_hop(&mut h);
        assert_eq!(names(&h), ["content-length", "x-a"]);
        // Only `keep-alive` present, no `connection`: it goes, the rest stays.
        h.insert(HeaderName::from_static("keep-alive"), HeaderValue::from_static("timeout=5"));
        strip_hop_by_hop(&mut h);
        assert_eq!(names(&h), ["content-length", "x-a"]);
    }
}
