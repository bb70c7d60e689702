//! Gemini error bodies: `{"error": {"code", "message", "status", "details"}}`
//! (Google's standard `google.rpc.Status` shape).

use serde_json::{json, Value};

use crate::canonical::{ApiError, ErrorKind};
use crate::error::FormatError;
use crate::json::{self, ROOT};

/// Reads a canonical gRPC `status` (falling back to the HTTP `code`).
fn kind_from_gemini(status: Option<&str>, code: Option<u64>) -> ErrorKind {
    match (status, code) {
        (Some("INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE"), _) => ErrorKind::InvalidRequest,
        (Some("UNAUTHENTICATED"), _) => ErrorKind::Authentication,
        (Some("PERMISSION_DENIED"), _) => ErrorKind::Permission,
        (Some("NOT_FOUND"), _) => ErrorKind::NotFound,
        (Some("RESOURCE_EXHAUSTED"), _) => ErrorKind::RateLimit,
        (Some("UNAVAILABLE"), _) => ErrorKind::Overloaded,
        (Some("INTERNAL" | "UNKNOWN" | "DEADLINE_EXCEEDED"), _) => ErrorKind::Server,
        (Some(other), _) => ErrorKind::Other(other.to_owned()),
        (None, Some(400)) => ErrorKind::InvalidRequest,
        (None, Some(401)) => ErrorKind::Authentication,
        (None, Some(403)) => ErrorKind::Permission,
        (None, Some(404)) => ErrorKind::NotFound,
        (None, Some(413)) => ErrorKind::RequestTooLarge,
        (None, Some(429)) => ErrorKind::RateLimit,
        (None, Some(503)) => ErrorKind::Overloaded,
        (None, Some(c)) if c >= 500 => ErrorKind::Server,
        (None, c) => ErrorKind::Other(c.map(|c| c.to_string()).unwrap_or_default()),
    }
}

fn kind_to_gemini(k: &ErrorKind) -> (u16, &str) {
    match k {
        ErrorKind::InvalidRequest => (400, "INVALID_ARGUMENT"),
        ErrorKind::Authentication => (401, "UNAUTHENTICATED"),
        ErrorKind::Permission => (403, "PERMISSION_DENIED"),
        ErrorKind::NotFound => (404, "NOT_FOUND"),
        ErrorKind::RequestTooLarge => (413, "INVALID_ARGUMENT"),
        ErrorKind::RateLimit => (429, "RESOURCE_EXHAUSTED"),
        ErrorKind::Overloaded => (503, "UNAVAILABLE"),
        ErrorKind::Server => (500, "INTERNAL"),
        ErrorKind::Other(s) => (400, s),
    }
}

/// Reads the inner `error` object (also used for mid-stream errors). The
/// `status` goes to [`ApiError::code`]. A bad API key comes as `400
/// INVALID_ARGUMENT` with a `details[].reason` of `API_KEY_INVALID`; it is
/// read as [`ErrorKind::Authentication`].
pub(crate) fn error_from_value(v: &Value, path: &str) -> Result<ApiError, FormatError> {
    let e = json::object(v, path)?;
    let status = json::opt_str(e, "status", path)?;
    let code = json::opt_u64(e, "code", path)?;
    let bad_key = json::get(e, "details")
        .and_then(Value::as_array)
        .is_some_and(|d| d.iter().any(|x| x.get("reason").and_then(Value::as_str) == Some("API_KEY_INVALID")));
    Ok(ApiError {
        kind: if bad_key { ErrorKind::Authentication } else { kind_from_gemini(status, code) },
        message: json::opt_string(e, "message", path)?.unwrap_or_default(),
        param: None,
        code: status.map(str::to_owned),
    })
}

/// Parses a Gemini error body. Also accepts the body wrapped in a one-element
/// array, as `streamGenerateContent` without `alt=sse` sends it.
pub fn parse_error(body: &[u8]) -> Result<ApiError, FormatError> {
    let v = json::parse(body)?;
    let (v, root) = match &v {
        Value::Array(items) => (items.first().ok_or_else(|| FormatError::Missing { path: "body[0]".into() })?, "body[0]"),
        _ => (&v, ROOT),
    };
    let m = json::object(v, root)?;
    error_from_value(json::req(m, "error", root)?, &json::key_path(root, "error"))
}

/// Renders a Gemini error body. [`ApiError::param`] is appended to the
/// message when the message does not name it already.
pub fn render_error(e: &ApiError) -> Vec<u8> {
    let (code, status) = kind_to_gemini(&e.kind);
    let message = match &e.param {
        Some(p) if !e.message.contains(p.as_str()) => format!("{}: {p}", e.message),
        _ => e.message.clone(),
    };
    json::to_bytes(&json!({"error": {"code": code, "message": message, "status": status}}))
}
