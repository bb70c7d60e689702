//! The AI gateway's refusals: `model_unknown`, `model_not_allowed`,
//! `request_invalid` (a body that is not a valid AI request) and
//! `upstream_credential_rejected`. All come after the caller proved it
//! holds a real key, so their text may name the tenant's models.

use crate::{ErrorCode, Refusal};
use std::fmt::Display;

/// Which level's `allowed_models` left a model out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelListOf {
    /// The key's own list.
    Key,
    /// The key's app's list.
    App,
    /// The tenant's list.
    Tenant,
}

impl ModelListOf {
    fn as_str(self) -> &'static str {
        match self {
            Self::Key => "key",
            Self::App => "app",
            Self::Tenant => "tenant",
        }
    }
}

/// A provider's refusal of one of the gateway's stored credentials.
#[derive(Debug, Clone, Copy)]
pub struct CredentialRejected<'a> {
    /// The provider's name.
    pub provider: &'a str,
    /// The provider's id.
    pub provider_id: &'a str,
    /// The credential's id.
    pub credential_id: &'a str,
    /// Its last four characters, as the admin API shows them.
    pub last4: &'a str,
    /// The provider's HTTP status (401 or 403).
    pub status: u16,
}

impl Refusal {
    /// `model_unknown`: no model named `model` in the tenant, which has
    /// the models `known` (names).
    pub fn model_unknown(model: &str, tenant_slug: &str, known: &[&str]) -> Self {
        let detail = if model.is_empty() {
            "The request names no model.".to_owned()
        } else {
            format!("No model named {model:?} is offered here.")
        };
        Self::new(
            ErrorCode::ModelUnknown,
            detail,
            format!("tenant {tenant_slug} has {} model(s): [{}]; asked for {model:?}", known.len(), known.join(", ")),
        )
        .hint("GET <base>/v1/models lists the models your key may use; put one of them in `model`.")
        .fix("create the model with POST /admin/v1/tenants/{id}/models, or correct the caller's model name")
        .with_param("model")
    }

    /// `model_not_allowed`: `model` exists but the `of` level's
    /// `allowed_models` (`allowed`) leaves it out.
    pub fn model_not_allowed(model: &str, of: ModelListOf, id: &str, allowed: &[String]) -> Self {
        Self::new(
            ErrorCode::ModelNotAllowed,
            format!("This {} may not use model {model:?}; it may use: {}.", of.as_str(), allowed.join(", ")),
            format!("{} {id} allowed_models = [{}]", of.as_str(), allowed.join(", ")),
        )
        .hint("Use one of the allowed models, or ask the API's operators to allow this one for your key.")
        .fix(format!("add {model:?} to the {}'s allowed_models, or leave the list empty to allow every model", of.as_str()))
        .with_param("model")
    }

    /// `request_invalid`: the body is not a valid request of this
    /// operation; `param` names the field when one is at fault.
    pub fn request_invalid(param: Option<&str>, problem: impl Display) -> Self {
        let mut r = Self::new(ErrorCode::RequestInvalid, format!("The request body is invalid: {problem}."), problem.to_string())
            .hint("Fix the named field and send the request again.");
        r.param = param.map(str::to_owned);
        r
    }

    /// `upstream_credential_rejected`: the provider refused the gateway's
    /// own credential. The caller learns it is not their key's fault; the
    /// operator learns which credential.
    pub fn upstream_credential_rejected(c: CredentialRejected<'_>) -> Self {
        Self::new(
            ErrorCode::UpstreamCredentialRejected,
            "The AI provider refused the gateway's own credential. This is not a problem with your key.",
            format!(
                "provider {} ({}) answered {} to credential {} (...{}); marked unhealthy",
                c.provider, c.provider_id, c.status, c.credential_id, c.last4
            ),
        )
        .hint("Retry later; tell the API's operators the request id.")
        .fix(format!("replace the credential with PATCH /admin/v1/providers/{}", c.provider_id))
    }

    /// `method_not_allowed` on an operation of an `ai` API, which takes
    /// only `allowed`.
    pub fn operation_method_not_allowed(method: &str, path: &str, allowed: &str) -> Self {
        Self::new(
            ErrorCode::MethodNotAllowed,
            format!("{method} is not allowed on {path}."),
            format!("AI operation {path} takes {allowed}"),
        )
        .hint(format!("Allowed methods: {allowed}."))
        .header("allow", allowed)
    }

    /// Names the request field at fault.
    pub(crate) fn with_param(mut self, param: &str) -> Self {
        self.param = Some(param.to_owned());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Protocol;

    #[test]
    fn the_openai_envelope_names_the_field_at_fault() {
        let r = Refusal::request_invalid(Some("messages[0].role"), "unknown role \"robot\"");
        let v: serde_json::Value = serde_json::from_slice(&r.render(Protocol::Openai, "req_1").body).unwrap();
        assert_eq!(v["error"]["param"], "messages[0].role");
        assert_eq!(v["error"]["code"], "request_invalid");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        let p: serde_json::Value = serde_json::from_slice(&r.render(Protocol::Rest, "req_1").body).unwrap();
        assert_eq!(p["param"], "messages[0].role");
    }

    #[test]
    fn a_rejected_credential_is_never_the_callers_auth_failure() {
        let r = Refusal::upstream_credential_rejected(CredentialRejected {
            provider: "openai",
            provider_id: "prv_1",
            credential_id: "crd_1",
            last4: "abcd",
            status: 401,
        });
        let rendered = r.render(Protocol::Openai, "req_1");
        assert_eq!(rendered.status, 502);
        assert!(!rendered.headers.iter().any(|(n, _)| *n == "www-authenticate"));
        let body = String::from_utf8(rendered.body).unwrap();
        assert!(!body.contains("abcd") && !body.contains("crd_1"), "the operator's evidence stays out of the answer: {body}");
        assert!(r.evidence.contains("crd_1") && r.evidence.contains("401"));
    }
}
