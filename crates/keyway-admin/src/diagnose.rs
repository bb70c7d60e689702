//! `POST /admin/v1/diagnose`: why was this request refused, or why would
//! this call be, and what fixes it.
//!
//! - `{request_id}`: the stored decision trace of a real request, plus
//!   every audited change since to the key, app, owner, tenant and API it
//!   involved ("the key was revoked at T by X").
//! - `{key?, headers?, method, path, client_ip?}`: the stages walked now,
//!   against the gateway's current snapshot, without calling the upstream.
//!   The key is used only for this evaluation and is never stored or
//!   echoed back (only its display prefix). `client_cert_sha256` stands
//!   for a TLS client certificate the listener trusted.

use crate::error::AdminError;
use crate::extract::JsonBody;
use crate::input::some;
use crate::state::AdminState;
use axum::extract::State;
use axum::Json;
use http::{HeaderMap, HeaderName, HeaderValue};
use keyway_core::records::{AuditQuery, CallLogRow, LogQuery};
use keyway_core::{fmt_time, Stage, StepResult, TraceEntry};
use keyway_pipeline::stages::certificate::PeerCert;
use keyway_pipeline::Call;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The request body: a request id alone, or a hypothetical call (`path`
/// with any of the other fields). No field may be `null`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagnoseRequest {
    /// A request id to replay.
    #[serde(default, deserialize_with = "some")]
    pub request_id: Option<String>,
    /// A key to try (sent as `Authorization: Bearer`).
    #[serde(default, deserialize_with = "some")]
    pub key: Option<String>,
    /// Headers to send instead of, or besides, the key.
    #[serde(default, deserialize_with = "some")]
    pub headers: Option<BTreeMap<String, String>>,
    /// HTTP method (default GET), letters only, any case.
    #[serde(default, deserialize_with = "some")]
    pub method: Option<String>,
    /// Path, e.g. `/orders/v1/items?x=1`.
    #[serde(default, deserialize_with = "some")]
    pub path: Option<String>,
    /// Client IP to assume (default 127.0.0.1).
    #[serde(default, deserialize_with = "some")]
    pub client_ip: Option<String>,
    /// A TLS client certificate (its SHA-256, hex, colons allowed) the
    /// call presents, assumed trusted by the listener; without it, none.
    #[serde(default, deserialize_with = "some")]
    pub client_cert_sha256: Option<String>,
    /// The request body, as text: what a signed call's `Content-Digest`
    /// is checked against (default empty).
    #[serde(default, deserialize_with = "some")]
    pub body: Option<String>,
}

impl DiagnoseRequest {
    /// The fields of a hypothetical call that are set.
    fn call_fields(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            ("key", self.key.is_some()),
            ("headers", self.headers.is_some()),
            ("method", self.method.is_some()),
            ("path", self.path.is_some()),
            ("client_ip", self.client_ip.is_some()),
            ("client_cert_sha256", self.client_cert_sha256.is_some()),
            ("body", self.body.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
    }
}

/// Handles `POST /admin/v1/diagnose`.
pub async fn diagnose(
    State(state): State<AdminState>,
    JsonBody(req): JsonBody<DiagnoseRequest>,
) -> Result<Json<Value>, AdminError> {
    if let Some(id) = &req.request_id {
        if let Some(field) = req.call_fields().next() {
            return Err(AdminError::invalid(
                field,
                format!("{field} describes a hypothetical call; send request_id alone to replay a request"),
            ));
        }
        return replay(&state, id).await.map(Json);
    }
    if req.path.is_none() {
        return Err(AdminError::invalid(
            "path",
            "send either {\"request_id\"} or a hypothetical call {\"path\", \"key\"?, \"method\"?, ...}",
        ));
    }
    hypothetical(&state, &req).map(Json)
}

/// A header name the diagnosed call may carry: an RFC 9110 token, at most
/// 65535 characters (what `http` accepts).
pub fn header_name(name: &str) -> Result<HeaderName, AdminError> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| AdminError::invalid(format!("headers.{name}"), format!("{name:?} is not a header name")))
}

/// A header value: any text without control characters other than tab.
pub fn header_value(param: &str, value: &str) -> Result<HeaderValue, AdminError> {
    HeaderValue::from_str(value).map_err(|_| {
        AdminError::invalid(param, format!("the value of {param} holds control characters, which no header can carry"))
    })
}

async fn replay(state: &AdminState, request_id: &str) -> Result<Value, AdminError> {
    let rows = state.calls(&LogQuery { request_id: Some(request_id.to_owned()), limit: 1, ..Default::default() }).await?;
    let Some(row) = rows.into_iter().next() else {
        return Err(AdminError::NotFound(format!(
            "no call-log row for request {request_id} (not a request of this gateway, or past retention)"
        )));
    };
    let mut ids: Vec<String> = Vec::new();
    ids.extend(row.key_id.iter().map(ToString::to_string));
    ids.extend(row.app_id.iter().map(ToString::to_string));
    ids.extend(row.tenant_id.iter().map(ToString::to_string));
    ids.extend(row.api_id.iter().map(ToString::to_string));
    let snapshot = state.snapshot.load();
    if let Some(app) = row.app_id.as_ref().and_then(|a| snapshot.apps.get(a)) {
        ids.push(app.owner_user_id.to_string());
        // Its certificate bindings: one deleted since unbinds the caller.
        ids.extend(state.store.certificates_of_app(&app.id).await?.into_iter().map(|c| c.id.to_string()));
    }
    if let Some(api) = row.api_id.as_ref().and_then(|a| snapshot.apis.get(a)) {
        ids.push(api.api.tenant_id.to_string());
    }
    ids.sort();
    ids.dedup();
    let changes = if ids.is_empty() {
        Vec::new()
    } else {
        let mut entries =
            state.store.audit(&AuditQuery { resource_ids: ids, since: Some(row.time), limit: 100, ..Default::default() }).await?;
        entries.reverse(); // oldest first reads as a story
        entries
    };
    let changes: Vec<Value> = changes
        .iter()
        .map(|e| {
            json!({
                "time": fmt_time(&e.time),
                "action": e.action,
                "resource_type": e.resource_type,
                "resource_id": e.resource_id,
                "actor": e.actor,
            })
        })
        .collect();
    Ok(json!({
        "request": request_json(&row),
        "outcome": {"status": row.status, "code": row.code},
        "steps": row.trace.entries,
        "changes_since": changes,
    }))
}

fn request_json(row: &CallLogRow) -> Value {
    json!({
        "request_id": row.request_id,
        "time": fmt_time(&row.time),
        "method": row.method,
        "path": row.path,
        "client_ip": row.client_ip,
        "key_prefix": row.key_prefix,
        "key_id": row.key_id,
        "app_id": row.app_id,
        "tenant_id": row.tenant_id,
        "api_id": row.api_id,
    })
}

fn hypothetical(state: &AdminState, req: &DiagnoseRequest) -> Result<Value, AdminError> {
    let method = req.method.clone().unwrap_or_else(|| "GET".to_owned());
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(AdminError::invalid("method", format!("{method:?} is not an HTTP method (letters only)")));
    }
    let method = method.to_ascii_uppercase();
    let full_path = req.path.clone().unwrap_or_default();
    if !full_path.starts_with('/') {
        return Err(AdminError::invalid("path", "path must start with /"));
    }
    let (path, query) = match full_path.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (full_path.clone(), None),
    };
    let client_ip: IpAddr = match &req.client_ip {
        Some(s) => s.parse().map_err(|_| AdminError::invalid("client_ip", format!("{s:?} is not an IP address")))?,
        None => IpAddr::from([127, 0, 0, 1]),
    };
    let mut headers = HeaderMap::new();
    for (name, value) in req.headers.iter().flatten() {
        let n = header_name(name)?;
        let v = header_value(&format!("headers.{name}"), value)?;
        headers.append(n, v);
    }
    if let Some(key) = &req.key {
        let v = header_value("key", &format!("Bearer {key}"))?;
        headers.insert(http::header::AUTHORIZATION, v);
    }
    let cert = req
        .client_cert_sha256
        .as_deref()
        .map(|t| crate::resources::certificates::fingerprint("client_cert_sha256", t))
        .transpose()?;
    let host = headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned);
    let snapshot = state.snapshot.load();
    let input = keyway_pipeline::CallInput {
        method: &method,
        host: host.as_deref(),
        path: &path,
        query: query.as_deref(),
        headers: &headers,
        client_ip,
        now: chrono::Utc::now(),
        // A hypothetical token is verified with the keys held now.
        token_check: None,
        // A certificate named is assumed trusted by the listener (the
        // listener's verdict on a chain is the request's, not the snapshot's).
        client_cert: match &cert {
            Some(sha256) => PeerCert::Trusted { sha256 },
            None => PeerCert::Missing,
        },
        scheme: "http",
        body: req.body.as_deref().unwrap_or("").as_bytes(),
        // A hypothetical signature is checked afresh: its nonce is
        // neither required to be new nor spent.
        signature_check: None,
    };
    let mut d = Call::new();
    let decided = d.decide(&snapshot, &state.settings, &input);
    d.close(decided.as_ref().err());
    let mut steps = std::mem::take(&mut d.trace.entries);
    let outcome = match &decided {
        Ok(_) => {
            steps.push(TraceEntry {
                stage: Stage::Limits,
                result: StepResult::NotReached,
                evidence: "not replayed: rate and quota counters change with every request (a request id shows them)".into(),
                fix: None,
            });
            steps.push(TraceEntry {
                stage: Stage::Upstream,
                result: StepResult::NotReached,
                evidence: "diagnose does not call the upstream".into(),
                fix: None,
            });
            json!({"status": 200, "code": null})
        }
        Err(r) => json!({"status": r.code.status(), "code": r.code, "detail": r.detail, "hint": r.hint}),
    };
    Ok(json!({
        "request": {
            "method": method,
            "path": path,
            "client_ip": client_ip.to_string(),
            "key_prefix": d.key_prefix,
            "key_id": d.key.as_ref().map(|k| k.key.id.to_string()),
            "app_id": d.key.as_ref().map(|k| k.key.app_id.to_string()).or_else(|| d.credential_app.as_ref().map(|a| a.id.to_string())),
            "certificate_id": d.certificate.as_ref().map(|c| c.id.to_string()),
            "api_id": d.api.as_ref().map(|a| a.api.id.to_string()),
            "hmac_key_id": d.hmac_key.as_ref().map(|k| k.record.id.to_string()),
        },
        "outcome": outcome,
        "steps": steps,
    }))
}
