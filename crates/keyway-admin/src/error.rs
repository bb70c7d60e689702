//! Admin API errors, rendered as RFC 9457 `application/problem+json` with
//! a stable `code` (and `param` when one field is to blame).
//!
//! The body is rendered twice on purpose: [`AdminError::into_response`]
//! writes it without a request id and leaves a [`Problem`] in the
//! response extensions; the request-id layer then re-renders it with the
//! request's id. So every problem, whoever produced it, carries the id.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use keyway_core::problem::ProblemDoc;
use keyway_store::StoreError;
use serde_json::Value;

/// Media type of every error body.
pub use keyway_core::problem::PROBLEM_JSON;

/// Why an admin request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// 400 `request_invalid`: malformed JSON, unknown fields, wrong types, bad values.
    #[error("{detail}")]
    RequestInvalid {
        /// What is wrong, for the operator.
        detail: String,
        /// The field to blame, e.g. `allowed_ips[1]`, when known.
        param: Option<String>,
    },
    /// 401 `admin_token_missing`: no `Authorization: Bearer` header.
    #[error("an admin token is required: send Authorization: Bearer <token>")]
    TokenMissing,
    /// 401 `admin_token_invalid`: a token was sent but matches no admin token.
    #[error("{0}")]
    TokenInvalid(String),
    /// 404 `resource_not_found`: no such resource, or no such path.
    #[error("{0}")]
    NotFound(String),
    /// 409 `already_exists`: a unique field (slug, email, base path) clashes.
    #[error("{detail}")]
    AlreadyExists {
        /// What clashes with what.
        detail: String,
        /// The field to blame, when known.
        param: Option<String>,
    },
    /// 409 `invalid_state`: the resource is in a state that forbids this
    /// (rotating a revoked key, changing a deleted user).
    #[error("{0}")]
    InvalidState(String),
    /// 422 `reference_invalid`: a field names a resource that does not
    /// exist or may not be used here.
    #[error("{detail}")]
    ReferenceInvalid {
        /// What the reference is and why it is refused.
        detail: String,
        /// The field holding the reference.
        param: Option<String>,
    },
    /// 413 `payload_too_large`: the body is over the limit.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 405 `method_not_allowed`: the path exists, the method does not.
    #[error("this method is not allowed on this path")]
    MethodNotAllowed,
    /// 500 `internal_error`: a bug. The evidence goes to the log only.
    #[error("internal error: {0}")]
    Internal(String),
    /// 503 `storage_unavailable`: the store failed. The evidence goes to
    /// the log only.
    #[error("storage unavailable: {0}")]
    StorageUnavailable(String),
}

impl AdminError {
    /// A 400 naming the field at fault.
    pub fn invalid(param: impl Into<String>, detail: impl Into<String>) -> Self {
        AdminError::RequestInvalid { detail: detail.into(), param: Some(param.into()) }
    }

    /// A 422 naming the field holding the bad reference.
    pub fn reference(param: impl Into<String>, detail: impl Into<String>) -> Self {
        AdminError::ReferenceInvalid { detail: detail.into(), param: Some(param.into()) }
    }

    /// A 404 for resource `kind` with id `id`.
    pub fn not_found(kind: &str, id: &str) -> Self {
        AdminError::NotFound(format!("no {kind} with id {id}"))
    }

    /// A 409 `already_exists` naming the clashing field.
    pub fn exists(param: impl Into<String>, detail: impl Into<String>) -> Self {
        AdminError::AlreadyExists { detail: detail.into(), param: Some(param.into()) }
    }

    /// The same refusal about item `index` of the list field `list` of a
    /// batch: `param` `scopes[0]` becomes `keys[3].scopes[0]` and the
    /// detail says which item it is about. Other errors stay as they are.
    pub fn in_item(self, list: &str, index: usize) -> Self {
        let item = format!("{list}[{index}]");
        let at = |param: Option<String>| Some(param.map_or_else(|| item.clone(), |p| format!("{item}.{p}")));
        match self {
            AdminError::RequestInvalid { detail, param } => {
                AdminError::RequestInvalid { detail: format!("{item}: {detail}"), param: at(param) }
            }
            AdminError::ReferenceInvalid { detail, param } => {
                AdminError::ReferenceInvalid { detail: format!("{item}: {detail}"), param: at(param) }
            }
            other => other,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            AdminError::RequestInvalid { .. } => StatusCode::BAD_REQUEST,
            AdminError::TokenMissing | AdminError::TokenInvalid(_) => StatusCode::UNAUTHORIZED,
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
            AdminError::AlreadyExists { .. } | AdminError::InvalidState(_) => StatusCode::CONFLICT,
            AdminError::ReferenceInvalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AdminError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AdminError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AdminError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AdminError::StorageUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AdminError::RequestInvalid { .. } => "request_invalid",
            AdminError::TokenMissing => "admin_token_missing",
            AdminError::TokenInvalid(_) => "admin_token_invalid",
            AdminError::NotFound(_) => "resource_not_found",
            AdminError::AlreadyExists { .. } => "already_exists",
            AdminError::InvalidState(_) => "invalid_state",
            AdminError::ReferenceInvalid { .. } => "reference_invalid",
            AdminError::PayloadTooLarge { .. } => "payload_too_large",
            AdminError::MethodNotAllowed => "method_not_allowed",
            AdminError::Internal(_) => "internal_error",
            AdminError::StorageUnavailable(_) => "storage_unavailable",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            AdminError::RequestInvalid { .. } => "Invalid request",
            AdminError::TokenMissing => "Admin token missing",
            AdminError::TokenInvalid(_) => "Admin token invalid",
            AdminError::NotFound(_) => "Not found",
            AdminError::AlreadyExists { .. } => "Already exists",
            AdminError::InvalidState(_) => "Invalid state",
            AdminError::ReferenceInvalid { .. } => "Invalid reference",
            AdminError::PayloadTooLarge { .. } => "Payload too large",
            AdminError::MethodNotAllowed => "Method not allowed",
            AdminError::Internal(_) => "Internal error",
            AdminError::StorageUnavailable(_) => "Storage unavailable",
        }
    }

    fn param(&self) -> Option<&str> {
        match self {
            AdminError::RequestInvalid { param, .. }
            | AdminError::AlreadyExists { param, .. }
            | AdminError::ReferenceInvalid { param, .. } => param.as_deref(),
            _ => None,
        }
    }

    /// What the client reads: everything but internal evidence, which
    /// stays in the log.
    fn public_detail(&self) -> String {
        match self {
            AdminError::Internal(_) => "The admin API failed to handle this request; the request id leads to the log.".to_owned(),
            AdminError::StorageUnavailable(_) => "Storage did not answer; nothing was changed. Try again shortly.".to_owned(),
            other => other.to_string(),
        }
    }

    /// The problem document this error renders as.
    pub fn problem(&self) -> Problem {
        Problem {
            status: self.status(),
            code: self.code(),
            title: self.title(),
            detail: self.public_detail(),
            param: self.param().map(str::to_owned),
        }
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(detail) => AdminError::AlreadyExists { detail, param: None },
            StoreError::NotFound(what) => AdminError::NotFound(what),
            StoreError::Backend(evidence) => AdminError::StorageUnavailable(evidence),
        }
    }
}

/// An RFC 9457 problem document, kept in the response extensions so the
/// request-id layer can add the id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code, also the last segment of `type`.
    pub code: &'static str,
    /// Short title.
    pub title: &'static str,
    /// Explanation.
    pub detail: String,
    /// Field to blame, when known.
    pub param: Option<String>,
}

impl Problem {
    /// The JSON body, rendered by the same code as the gateway's refusals.
    pub fn body(&self, request_id: Option<&str>) -> Value {
        ProblemDoc {
            code: self.code,
            title: self.title,
            status: self.status.as_u16(),
            detail: &self.detail,
            hint: None,
            param: self.param.as_deref(),
            request_id,
        }
        .to_json()
    }

    /// A complete response: status, headers and body.
    pub fn into_response_with(self, request_id: Option<&str>) -> Response {
        let body = self.body(request_id).to_string();
        let mut res = (self.status, body).into_response();
        let headers = res.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.insert("x-keyway-error-code", HeaderValue::from_static(self.code));
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6750 section 3: no error attribute when no token was sent.
            let challenge = if self.code == "admin_token_missing" {
                "Bearer realm=\"keyway-admin\""
            } else {
                "Bearer realm=\"keyway-admin\", error=\"invalid_token\""
            };
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        res.extensions_mut().insert(self);
        res
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match &self {
            AdminError::Internal(evidence) => tracing::error!(%evidence, "admin request failed"),
            AdminError::StorageUnavailable(evidence) => tracing::warn!(%evidence, "admin storage unavailable"),
            _ => {}
        }
        self.problem().into_response_with(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_evidence_stays_out_of_the_body() {
        let p = AdminError::Internal("db file /secret/path".into()).problem();
        assert!(!p.detail.contains("/secret/path"));
        let p = AdminError::StorageUnavailable("disk I/O error".into()).problem();
        assert!(!p.detail.contains("disk"));
        assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn body_has_the_rfc9457_members_and_param() {
        let body = AdminError::invalid("slug", "bad slug").problem().body(Some("req_1"));
        assert_eq!(body["type"], "https://keyway.dev/errors/request_invalid");
        assert_eq!(body["status"], 400);
        assert_eq!(body["code"], "request_invalid");
        assert_eq!(body["param"], "slug");
        assert_eq!(body["request_id"], "req_1");
        assert!(body["title"].is_string());
        assert_eq!(body["detail"], "bad slug");
    }
}
