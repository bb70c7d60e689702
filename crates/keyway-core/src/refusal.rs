//! A refusal: a catalog code plus what the caller may read (detail,
//! hint) and what only the operator reads (evidence, fix). Rendering is
//! separate from deciding: the route's protocol picks the envelope.

use crate::codes::ErrorCode;
use crate::model::Protocol;
pub use crate::problem::PROBLEM_TYPE_BASE;
use crate::problem::{ProblemDoc, PROBLEM_JSON};
use serde_json::json;

/// A refused request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Refusal {
    /// The catalog code.
    pub code: ErrorCode,
    /// Caller-facing explanation. For codes returned before the caller
    /// proved possession of a secret this is fixed text that says
    /// nothing about stored state.
    pub detail: String,
    /// Caller-facing advice.
    pub hint: Option<String>,
    /// Operator-only evidence: everything the stage saw (never a secret).
    pub evidence: String,
    /// Operator-only fix.
    pub fix: Option<String>,
    /// Extra response headers (e.g. `Allow`, `Retry-After`).
    pub headers: Vec<(&'static str, String)>,
    /// The request field at fault (`request_invalid`), as OpenAI's
    /// `param` and problem+json's `param` name it.
    pub param: Option<String>,
    /// Extension members of the answer (e.g. `signature_base`): caller
    /// facing, never a secret.
    pub members: Vec<(&'static str, String)>,
}

impl Refusal {
    /// A refusal with caller text and operator evidence; only the
    /// constructors of [`crate::refusals`] call it.
    pub(crate) fn new(code: ErrorCode, detail: impl Into<String>, evidence: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            hint: None,
            evidence: evidence.into(),
            fix: None,
            headers: Vec::new(),
            param: None,
            members: Vec::new(),
        }
    }

    /// Adds a caller-facing hint.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds an operator-facing fix.
    pub(crate) fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// Adds a response header.
    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Adds an extension member to the answer (problem+json member; in
    /// the OpenAI and Anthropic envelopes, a member of `error`).
    pub(crate) fn member(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.members.push((name, value.into()));
        self
    }

    /// Appends what the detecting code also knows to the operator's
    /// evidence (e.g. "upstream request to X aborted").
    pub fn noting(mut self, more: impl std::fmt::Display) -> Self {
        use std::fmt::Write;
        let _ = write!(self.evidence, "; {more}");
        self
    }

    /// Asks for the connection to be closed after the answer (its framing
    /// is lost, e.g. a request body cut off mid-way).
    pub fn closing_connection(self) -> Self {
        self.header("connection", "close")
    }

    /// Renders the refusal in the envelope of `protocol`.
    pub fn render(&self, protocol: Protocol, request_id: &str) -> RenderedRefusal {
        let status = self.code.status();
        let code = self.code.as_str();
        let (content_type, mut body) = match protocol {
            Protocol::Rest => {
                let doc = ProblemDoc {
                    code,
                    title: self.code.title(),
                    status,
                    detail: &self.detail,
                    hint: self.hint.as_deref(),
                    param: self.param.as_deref(),
                    request_id: Some(request_id),
                };
                (PROBLEM_JSON, doc.to_json())
            }
            Protocol::Openai => {
                let message = match &self.hint {
                    Some(h) => format!("{} {}", self.detail, h),
                    None => self.detail.clone(),
                };
                (
                    "application/json",
                    json!({"error": {
                        "message": message,
                        "type": self.code.openai_type().as_str(),
                        "param": self.param,
                        "code": code,
                    }}),
                )
            }
            Protocol::Anthropic => {
                let mut message = format!("{code}: {}", self.detail);
                if let Some(h) = &self.hint {
                    message.push(' ');
                    message.push_str(h);
                }
                ("application/json", json!({"type": "error", "error": {"type": self.code.anthropic_type(), "message": message}}))
            }
        };
        if !self.members.is_empty() {
            let target = match protocol {
                Protocol::Rest => Some(&mut body),
                Protocol::Openai | Protocol::Anthropic => body.get_mut("error"),
            };
            if let Some(obj) = target.and_then(serde_json::Value::as_object_mut) {
                for (name, value) in &self.members {
                    obj.insert((*name).to_owned(), json!(value));
                }
            }
        }
        let mut headers: Vec<(&'static str, String)> = Vec::with_capacity(self.headers.len() + 2);
        headers.push(("x-keyway-error-code", code.to_owned()));
        if status == 401 {
            headers.push(("www-authenticate", self.www_authenticate()));
        }
        headers.extend(self.headers.iter().cloned());
        RenderedRefusal { status, content_type, body: body.to_string().into_bytes(), headers }
    }

    /// RFC 6750 `WWW-Authenticate` value for a 401.
    fn www_authenticate(&self) -> String {
        match self.code {
            ErrorCode::CredentialMissing => "Bearer realm=\"keyway\"".to_owned(),
            c if c.stage() == crate::codes::Stage::Credential => {
                format!("Bearer realm=\"keyway\", error=\"invalid_request\", error_description=\"{}\"", c.as_str())
            }
            c => format!("Bearer realm=\"keyway\", error=\"invalid_token\", error_description=\"{}\"", c.as_str()),
        }
    }
}

/// A refusal ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedRefusal {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Body bytes.
    pub body: Vec<u8>,
    /// Headers besides `content-type` and `x-request-id`.
    pub headers: Vec<(&'static str, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_json_has_the_contract_members() {
        let r = Refusal::key_unknown().render(Protocol::Rest, "req_1");
        assert_eq!(r.status, 401);
        assert_eq!(r.content_type, "application/problem+json");
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        for m in ["type", "title", "status", "detail", "code", "hint", "request_id"] {
            assert!(v.get(m).is_some(), "missing {m}");
        }
        assert_eq!(v["code"], "key_unknown");
        assert!(r.headers.iter().any(|(n, v)| *n == "www-authenticate" && v.contains("invalid_token")));
        assert!(r.headers.iter().any(|(n, v)| *n == "x-keyway-error-code" && v == "key_unknown"));
    }

    #[test]
    fn openai_and_anthropic_envelopes() {
        let r = Refusal::key_unknown();
        let o: serde_json::Value = serde_json::from_slice(&r.render(Protocol::Openai, "req_1").body).unwrap();
        assert_eq!(o["error"]["code"], "key_unknown");
        assert_eq!(o["error"]["type"], "authentication_error");
        assert!(o["error"]["param"].is_null());
        let a: serde_json::Value = serde_json::from_slice(&r.render(Protocol::Anthropic, "req_1").body).unwrap();
        assert_eq!(a["type"], "error");
        assert_eq!(a["error"]["type"], "authentication_error");
        assert!(a["error"]["message"].as_str().unwrap().starts_with("key_unknown: "));
    }

    #[test]
    fn missing_credential_challenge_has_no_error_attribute() {
        let r = Refusal::credential_missing("the Authorization header").render(Protocol::Rest, "req_1");
        let h = r.headers.iter().find(|(n, _)| *n == "www-authenticate").unwrap();
        assert_eq!(h.1, "Bearer realm=\"keyway\"");
    }
}
