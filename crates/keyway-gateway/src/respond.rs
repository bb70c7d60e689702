//! Building responses: refusals in the route's envelope, and the
//! lifecycle headers of deprecated APIs.

use crate::body::{full, Body};
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, Response, StatusCode};
use keyway_core::model::{Api, ApiStatus, Protocol};
use keyway_core::Refusal;
use keyway_pipeline::Snapshot;

/// Renders `refusal` as a response carrying `x-request-id`.
pub fn refusal(refusal: &Refusal, protocol: Protocol, request_id: &str) -> Response<Body> {
    let r = refusal.render(protocol, request_id);
    let mut resp = Response::new(full(r.body));
    *resp.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(r.content_type));
    for (name, value) in r.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.append(name, v);
        }
    }
    set_request_id(h, request_id);
    resp
}

/// Phase respond: an admitted call's upstream response with Keyway's
/// headers: `x-request-id`, the API's lifecycle headers, and the rate
/// limit headers of the limits phase.
pub fn admitted(
    mut resp: Response<Body>,
    api: &Api,
    snapshot: &Snapshot,
    request_id: HeaderValue,
    limit_headers: Vec<(&'static str, String)>,
) -> Response<Body> {
    let h = resp.headers_mut();
    h.insert(crate::names::X_REQUEST_ID, request_id);
    lifecycle_headers(h, api, snapshot);
    for (name, value) in limit_headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    resp
}

/// `request_id` as a header value (request ids are ASCII; were one not, the
/// header would say so rather than fail the request).
pub fn request_id_value(request_id: &str) -> HeaderValue {
    HeaderValue::from_str(request_id).unwrap_or_else(|_| HeaderValue::from_static("invalid-request-id"))
}

/// Sets `x-request-id`.
pub fn set_request_id(headers: &mut HeaderMap, request_id: &str) {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert(crate::names::X_REQUEST_ID, v);
    }
}

/// Adds `Deprecation` (RFC 9745), `Sunset` (RFC 8594) and a successor
/// `Link` to responses of a deprecated API.
pub fn lifecycle_headers(headers: &mut HeaderMap, api: &Api, snapshot: &Snapshot) {
    if api.status != ApiStatus::Deprecated {
        return;
    }
    let deprecation = match api.deprecated_at {
        Some(t) => format!("@{}", t.timestamp()),
        None => "@0".to_owned(),
    };
    if let Ok(v) = HeaderValue::from_str(&deprecation) {
        headers.insert("deprecation", v);
    }
    if let Some(s) = api.sunset_at {
        if let Ok(v) = HeaderValue::from_str(&s.format("%a, %d %b %Y %H:%M:%S GMT").to_string()) {
            headers.insert("sunset", v);
        }
    }
    if let Some(s) = snapshot.successor(api) {
        if let Ok(v) = HeaderValue::from_str(&format!("<{}>; rel=\"successor-version\"", s.api.base_path)) {
            headers.append("link", v);
        }
    }
}
