//! OpenAI error bodies: `{"error": {"message", "type", "param", "code"}}`.

use serde_json::{json, Value};

use crate::canonical::{ApiError, ErrorKind};
use crate::error::FormatError;
use crate::json::{self, ROOT};

/// Reads an OpenAI `type` (and `code`, which OpenAI uses for rate limits).
pub(crate) fn kind_from_openai(t: &str, code: Option<&str>) -> ErrorKind {
    match (t, code) {
        (_, Some("rate_limit_exceeded")) => ErrorKind::RateLimit,
        (_, Some("invalid_api_key")) => ErrorKind::Authentication,
        (_, Some("overloaded")) => ErrorKind::Overloaded,
        (_, Some("request_too_large")) => ErrorKind::RequestTooLarge,
        ("invalid_request_error", _) => ErrorKind::InvalidRequest,
        ("authentication_error", _) => ErrorKind::Authentication,
        ("permission_error", _) => ErrorKind::Permission,
        ("not_found_error", _) => ErrorKind::NotFound,
        ("rate_limit_error" | "requests" | "tokens", _) => ErrorKind::RateLimit,
        ("server_error" | "api_error", _) => ErrorKind::Server,
        ("overloaded_error", _) => ErrorKind::Overloaded,
        (other, _) => ErrorKind::Other(other.to_owned()),
    }
}

fn kind_to_openai(k: &ErrorKind) -> &str {
    match k {
        ErrorKind::InvalidRequest | ErrorKind::RequestTooLarge => "invalid_request_error",
        ErrorKind::Authentication => "authentication_error",
        ErrorKind::Permission => "permission_error",
        ErrorKind::NotFound => "not_found_error",
        ErrorKind::RateLimit => "rate_limit_error",
        ErrorKind::Overloaded | ErrorKind::Server => "server_error",
        ErrorKind::Other(s) => s,
    }
}

/// Reads the inner `error` object (also used for mid-stream errors).
pub(crate) fn error_from_value(v: &Value, path: &str) -> Result<ApiError, FormatError> {
    let e = json::object(v, path)?;
    let code = match json::get(e, "code") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    let t = json::opt_str(e, "type", path)?.unwrap_or("");
    Ok(ApiError {
        kind: kind_from_openai(t, code.as_deref()),
        message: json::opt_string(e, "message", path)?.unwrap_or_default(),
        param: json::opt_string(e, "param", path)?,
        code,
    })
}

/// The inner `error` object of [`render_error`]. OpenAI has no type for
/// overload or oversized bodies, so those get `code` `overloaded` /
/// `request_too_large` (when no code is set), which [`parse_error`] reads back.
pub(crate) fn error_to_value(e: &ApiError) -> Value {
    let code = e.code.clone().or(match e.kind {
        ErrorKind::Overloaded => Some("overloaded".to_owned()),
        ErrorKind::RequestTooLarge => Some("request_too_large".to_owned()),
        _ => None,
    });
    json!({"message": e.message, "type": kind_to_openai(&e.kind), "param": e.param, "code": code})
}

/// Parses an OpenAI error body.
pub fn parse_error(body: &[u8]) -> Result<ApiError, FormatError> {
    let v = json::parse(body)?;
    let m = json::object(&v, ROOT)?;
    error_from_value(json::req(m, "error", ROOT)?, "error")
}

/// Renders an OpenAI error body.
pub fn render_error(e: &ApiError) -> Vec<u8> {
    json::to_bytes(&json!({"error": error_to_value(e)}))
}
