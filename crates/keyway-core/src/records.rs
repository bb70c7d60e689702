//! Rows Keyway writes as it works: the call log and the audit log.

use crate::codes::ErrorCode;
use crate::ids::{ApiId, AppId, AuditId, KeyId, RequestId, TenantId};
use crate::trace::Trace;
use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// One request through the gateway, accepted or refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallLogRow {
    /// The request id (also in `x-request-id`).
    pub request_id: RequestId,
    /// When the request arrived.
    pub time: Timestamp,
    /// Tenant of the caller's key, once known.
    pub tenant_id: Option<TenantId>,
    /// The API routed to, once known.
    pub api_id: Option<ApiId>,
    /// The caller's app, once known.
    pub app_id: Option<AppId>,
    /// The caller's key, once verified.
    pub key_id: Option<KeyId>,
    /// The display prefix of the key presented, when well formed.
    pub key_prefix: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Request path (no query string: it may hold secrets).
    pub path: String,
    /// Response status sent to the caller.
    pub status: u16,
    /// Refusal code, when refused.
    pub code: Option<ErrorCode>,
    /// Client IP as the gateway saw it.
    pub client_ip: String,
    /// Total time in the gateway until the response head was sent.
    pub latency_ms: f64,
    /// Time the upstream took to answer, when it was reached.
    pub upstream_latency_ms: Option<f64>,
    /// AI: the model, as the caller named it.
    pub model: Option<String>,
    /// AI: the provider that answered, by name.
    #[serde(default)]
    pub provider: Option<String>,
    /// AI: prompt tokens.
    pub prompt_tokens: Option<u64>,
    /// AI: completion tokens.
    pub completion_tokens: Option<u64>,
    /// AI: cost in USD.
    pub cost_usd: Option<f64>,
    /// AI: the provider reported no usage, so Keyway counted the tokens
    /// itself (with a tokenizer; the row's tokens and cost are estimates).
    #[serde(default)]
    pub tokens_estimated: bool,
    /// AI: the parts of the tokens priced apart (flattened: on AI rows
    /// `cached_input_tokens`, `cache_write_tokens`, `reasoning_tokens`).
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub token_details: Option<TokenDetails>,
    /// The decision trace.
    pub trace: Trace,
}

impl CallLogRow {
    /// The row of a request that has just arrived at `time`: a fresh
    /// request id minted from that time, nothing decided yet (no owner,
    /// status 0, empty trace). The request path fills in the rest.
    pub fn arriving(time: Timestamp, method: impl Into<String>, path: impl Into<String>, client_ip: impl Into<String>) -> Self {
        CallLogRow {
            request_id: RequestId::at(time),
            time,
            tenant_id: None,
            api_id: None,
            app_id: None,
            key_id: None,
            key_prefix: None,
            method: method.into(),
            path: path.into(),
            status: 0,
            code: None,
            client_ip: client_ip.into(),
            latency_ms: 0.0,
            upstream_latency_ms: None,
            model: None,
            provider: None,
            tokens_estimated: false,
            token_details: None,
            prompt_tokens: None,
            completion_tokens: None,
            cost_usd: None,
            trace: Trace::default(),
        }
    }
}

/// Of an AI call's tokens, the parts priced apart from the plain ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenDetails {
    /// Of the prompt tokens, those read from the provider's prompt cache.
    pub cached_input_tokens: u64,
    /// Of the prompt tokens, those written to the provider's prompt cache.
    pub cache_write_tokens: u64,
    /// Of the completion tokens, hidden reasoning.
    pub reasoning_tokens: u64,
}

/// Filters for reading the call log (`GET /admin/v1/logs`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogQuery {
    /// Exactly this request.
    pub request_id: Option<String>,
    /// Calls with this key.
    pub key_id: Option<String>,
    /// Calls of this app.
    pub app_id: Option<String>,
    /// Calls of this tenant.
    pub tenant_id: Option<String>,
    /// Calls to this API.
    pub api_id: Option<String>,
    /// Calls refused with this code.
    pub code: Option<String>,
    /// At or after this time.
    pub since: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
    /// Most rows to return, newest first.
    pub limit: usize,
}

/// Who changed what, when: one admin write.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Id, `aud_…`.
    pub id: AuditId,
    /// When.
    pub time: Timestamp,
    /// Who (admin token id, or user id).
    pub actor: String,
    /// What was done, e.g. `key.revoke`.
    pub action: String,
    /// Kind of resource: `tenant`, `user`, `app`, `key`, `api`.
    pub resource_type: String,
    /// Id of the resource.
    pub resource_id: String,
    /// The resource's tenant, when it has one.
    pub tenant_id: Option<TenantId>,
    /// The resource before the change (secrets never included).
    pub before: Option<serde_json::Value>,
    /// The resource after the change (secrets never included).
    pub after: Option<serde_json::Value>,
}

/// Filters for reading the audit log.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// Entries about this resource id.
    pub resource_id: Option<String>,
    /// Entries about any of these resource ids (used by diagnose).
    pub resource_ids: Vec<String>,
    /// Entries of this resource type.
    pub resource_type: Option<String>,
    /// Entries of this tenant.
    pub tenant_id: Option<String>,
    /// Entries by this actor.
    pub actor: Option<String>,
    /// At or after this time.
    pub since: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
    /// Most rows to return, newest first.
    pub limit: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_details_are_flat_fields_of_ai_rows_and_absent_from_others() {
        let mut row = CallLogRow::arriving(chrono::Utc::now(), "POST", "/ai/v1/chat/completions", "::1");
        let plain = serde_json::to_value(&row).unwrap();
        assert!(plain.get("cached_input_tokens").is_none(), "{plain}");
        assert_eq!(serde_json::from_value::<CallLogRow>(plain).unwrap().token_details, None);
        row.token_details = Some(TokenDetails { cached_input_tokens: 3, cache_write_tokens: 2, reasoning_tokens: 1 });
        let ai = serde_json::to_value(&row).unwrap();
        assert_eq!(
            (ai["cached_input_tokens"].as_u64(), ai["cache_write_tokens"].as_u64(), ai["reasoning_tokens"].as_u64()),
            (Some(3), Some(2), Some(1))
        );
        assert_eq!(serde_json::from_value::<CallLogRow>(ai).unwrap(), row);
    }
}
