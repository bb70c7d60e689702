//! A refusal written straight to a socket, for the answers a listener
//! gives before any request reaches a handler (the connection limit, a
//! request head that cannot be read).

use keyway_core::ids::RequestId;
use keyway_core::model::Protocol;
use keyway_core::Refusal;

/// The whole HTTP/1.1 response for `refusal`, head and body, closing the
/// connection.
pub fn response(refusal: &Refusal) -> Vec<u8> {
    let request_id = RequestId::generate();
    let rendered = refusal.render(Protocol::Rest, request_id.as_str());
    let status = http::StatusCode::from_u16(rendered.status).unwrap_or(http::StatusCode::BAD_REQUEST);
    let mut head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\nx-request-id: {}\r\n",
        status.as_str(),
        status.canonical_reason().unwrap_or(""),
        rendered.content_type,
        rendered.body.len(),
        request_id.as_str(),
    );
    for (name, value) in &rendered.headers {
        if !name.eq_ignore_ascii_case("connection") {
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(&rendered.body);
    out
}
