//! Anthropic error bodies: `{"type": "error", "error": {"type", "message"}}`.

use serde_json::{json, Value};

use crate::canonical::{ApiError, ErrorKind};
use crate::error::FormatError;
use crate::json::{self, ROOT};

fn kind_from_anthropic(t: &str) -> ErrorKind {
    match t {
        "invalid_request_error" => ErrorKind::InvalidRequest,
        "authentication_error" => ErrorKind::Authentication,
        "permission_error" => ErrorKind::Permission,
        "not_found_error" => ErrorKind::NotFound,
        "request_too_large" => ErrorKind::RequestTooLarge,
        "rate_limit_error" => ErrorKind::RateLimit,
        "api_error" => ErrorKind::Server,
        "overloaded_error" => ErrorKind::Overloaded,
        other => ErrorKind::Other(other.to_owned()),
    }
}

fn kind_to_anthropic(k: &ErrorKind) -> &str {
    match k {
        ErrorKind::InvalidRequest => "invalid_request_error",
        ErrorKind::Authentication => "authentication_error",
        ErrorKind::Permission => "permission_error",
        ErrorKind::NotFound => "not_found_error",
        ErrorKind::RequestTooLarge => "request_too_large",
        ErrorKind::RateLimit => "rate_limit_error",
        ErrorKind::Server => "api_error",
        ErrorKind::Overloaded => "overloaded_error",
        ErrorKind::Other(s) => s,
    }
}

/// Reads the inner `error` object (also used by the `error` stream event).
pub(crate) fn error_from_value(v: &Value, path: &str) -> Result<ApiError, FormatError> {
    let e = json::object(v, path)?;
    Ok(ApiError {
        kind: kind_from_anthropic(json::opt_str(e, "type", path)?.unwrap_or("")),
        message: json::opt_string(e, "message", path)?.unwrap_or_default(),
        param: None,
        code: None,
    })
}

/// The whole error body (also the `error` stream event's data). Anthropic
/// has no `param`/`code`; a known `param` is appended to the message.
pub(crate) fn error_to_value(e: &ApiError) -> Value {
    let message = match &e.param {
        Some(p) if !e.message.contains(p.as_str()) => format!("{}: {p}", e.message),
        _ => e.message.clone(),
    };
    json!({"type": "error", "error": {"type": kind_to_anthropic(&e.kind), "message": message}})
}

/// Parses an Anthropic error body.
pub fn parse_error(body: &[u8]) -> Result<ApiError, FormatError> {
    let v = json::parse(body)?;
    let m = json::object(&v, ROOT)?;
    error_from_value(json::req(m, "error", ROOT)?, "error")
}

/// Renders an Anthropic error body.
pub fn render_error(e: &ApiError) -> Vec<u8> {
    json::to_bytes(&error_to_value(e))
}
