//! Extractors whose rejections are [`AdminError`]s, so a bad request
//! never gets axum's default `text/plain` answer.
//!
//! - [`JsonBody`]: a JSON body; errors name the field (`param`) via the
//!   serde path of the failure.
//! - [`PathId`]: the one `{id}` segment of a resource path.
//! - [`QueryPairs`]: the query string as ordered pairs, for handlers that
//!   validate each parameter themselves.
//! - [`Actor`]: who is calling, set by the authentication layer.

use crate::error::AdminError;
use crate::json::{Node, Strict};
use crate::BODY_LIMIT;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

/// A JSON request body of type `T` (requests use `deny_unknown_fields`).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = AdminError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        check_content_type(req.headers())?;
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AdminError::PayloadTooLarge { limit: BODY_LIMIT }
            } else {
                AdminError::RequestInvalid { detail: rejection.body_text(), param: None }
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

fn check_content_type(headers: &HeaderMap) -> Result<(), AdminError> {
    let mime = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = mime.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json")) {
        Ok(())
    } else {
        Err(AdminError::RequestInvalid {
            detail: "the request body must be JSON: send Content-Type: application/json".to_owned(),
            param: None,
        })
    }
}

/// Parses a JSON document into `T`, naming the failing field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AdminError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AdminError::RequestInvalid {
            detail: "the request body is empty: send a JSON object".to_owned(),
            param: None,
        });
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(AdminError::RequestInvalid { detail: "the request body must be a JSON object".to_owned(), param: None });
    }
    // Parse first (syntax errors, duplicate members), then read strictly.
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let node: Node = serde_path_to_error::deserialize(&mut de).map_err(json_error)?;
    de.end().map_err(|e| AdminError::RequestInvalid { detail: format!("malformed JSON: {e}"), param: None })?;
    serde_path_to_error::deserialize(Strict(&node)).map_err(json_error)
}

fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> AdminError {
    let inner = e.inner();
    if !inner.is_data() {
        return AdminError::RequestInvalid { detail: format!("malformed JSON: {inner}"), param: None };
    }
    let path = e.path().to_string();
    let path = if path == "." { String::new() } else { path };
    let message = inner.to_string();
    let param = match named_field(&message) {
        // Missing and unknown fields are reported at their parent's path.
        Some(field) if path.is_empty() => field.to_owned(),
        Some(field) if !path.ends_with(field) => format!("{path}.{field}"),
        _ if path.is_empty() => return AdminError::RequestInvalid { detail: message, param: None },
        _ => path,
    };
    // Drop serde_json's " at line 1 column 9": the param says where.
    let detail = message.split(" at line ").next().unwrap_or(&message).to_owned();
    AdminError::RequestInvalid { detail: format!("{param}: {detail}"), param: Some(param) }
}

/// The field named by serde's "missing field `x`" / "unknown field `x`" /
/// "duplicate field `x`".
fn named_field(message: &str) -> Option<&str> {
    if !["missing field `", "unknown field `", "duplicate field `"].iter().any(|lead| message.starts_with(lead)) {
        return None;
    }
    message.split('`').nth(1)
}

/// The `{id}` segment of a resource path.
#[derive(Debug)]
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(id) =
            Path::<String>::from_request_parts(parts, state).await.map_err(|r| AdminError::invalid("id", r.body_text()))?;
        Ok(PathId(id))
    }
}

/// The query string as `(name, value)` pairs, in order.
#[derive(Debug)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|r| AdminError::RequestInvalid { detail: r.body_text(), param: None })?;
        Ok(QueryPairs(pairs))
    }
}

/// Who is making the request: the admin token's id. Recorded as the
/// `actor` of every audit entry and status change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Actor>()
            .cloned()
            .ok_or_else(|| AdminError::Internal("no actor on an authenticated route".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only deserialized")]
    struct Inner {
        requests: u64,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only deserialized")]
    struct Outer {
        name: String,
        limit: Option<Inner>,
        ips: Option<Vec<u32>>,
    }

    fn param_of(json: &str) -> Option<String> {
        match parse_json::<Outer>(json.as_bytes()) {
            Err(AdminError::RequestInvalid { param, .. }) => param,
            other => panic!("expected request_invalid, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(param_of(r#"{"name": 1}"#).as_deref(), Some("name"));
        assert_eq!(param_of(r#"{"name": "a", "nope": 1}"#).as_deref(), Some("nope"));
        assert_eq!(param_of(r#"{}"#).as_deref(), Some("name"));
        assert_eq!(param_of(r#"{"name": "a", "limit": {}}"#).as_deref(), Some("limit.requests"));
        assert_eq!(param_of(r#"{"name": "a", "limit": {"requests": 1, "x": 2}}"#).as_deref(), Some("limit.x"));
        assert_eq!(param_of(r#"{"name": "a", "ips": [1, "x"]}"#).as_deref(), Some("ips[1]"));
    }

    #[test]
    fn malformed_and_empty_bodies_have_no_param() {
        assert_eq!(param_of(r#"{"name": "#), None);
        assert_eq!(param_of(""), None);
        assert_eq!(param_of(r#"{"name": "a"} trailing"#), None);
        assert_eq!(param_of("[]"), None);
    }
}
