//! `POST /admin/v1/diagnose`: why was this request refused, or why would
//! this call be, and what fixes it.
//!
//! - `{request_id}`: the stored decision trace of a real request, plus
//!   every audited change since to the key, app, owner, tenant and API it
//!   involved ("the key was revoked at T by X").
//! - `{key?, headers?, method, path, client_ip?}`: the stages walked now,
//!   against the gateway's current snapshot, without calling the upstream.
//!   The key is used only for this evaluation and is never stored or
//!   echoed back (only its display prefix).

use crate::error::AdminError;
use crate::extract::JsonBody;
use crate::state::AdminState;
use axum::extract::State;
use axum::Json;
use http::{HeaderMap, HeaderName, HeaderValue};
use keyway_core::records::{AuditQuery, CallLogRow, LogQuery};
use keyway_core::{fmt_time, Stage, StepResult, TraceEntry};
use keyway_pipeline::decide;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The request body: a request id, or a hypothetical call.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagnoseRequest {
    /// A request id to replay.
    pub request_id: Option<String>,
    /// A key to try (sent as `Authorization: Bearer`).
    pub key: Option<String>,
    /// Headers to send instead of, or besides, the key.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// HTTP method (default GET).
    pub method: Option<String>,
    /// Path, e.g. `/orders/v1/items?x=1`.
    pub path: Option<String>,
    /// Client IP to assume (default 127.0.0.1).
    pub client_ip: Option<String>,
}

/// Handles `POST /admin/v1/diagnose`.
pub async fn diagnose(
    State(state): State<AdminState>,
    JsonBody(req): JsonBody<DiagnoseRequest>,
) -> Result<Json<Value>, AdminError> {
    match (&req.request_id, &req.path) {
        (Some(id), None) if req.key.is_none() && req.headers.is_empty() => replay(&state, id).await.map(Json),
        (None, Some(_)) => hypothetical(&state, &req).map(Json),
        _ => Err(AdminError::RequestInvalid {
            detail: "send either {\"request_id\"} or {\"key\", \"method\", \"path\"}".to_owned(),
            param: None,
        }),
    }
}

async fn replay(state: &AdminState, request_id: &str) -> Result<Value, AdminError> {
    let rows = state.store.calls(&LogQuery { request_id: Some(request_id.to_owned()), limit: 1, ..Default::default() }).await?;
    let Some(row) = rows.into_iter().next() else {
        return Err(AdminError::NotFound(format!(
            "no call-log row for request {request_id} (it may not be flushed yet, or past retention)"
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
    let method = req.method.clone().unwrap_or_else(|| "GET".to_owned()).to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(AdminError::RequestInvalid {
            detail: format!("{method:?} is not an HTTP method"),
            param: Some("method".into()),
        });
    }
    let full_path = req.path.clone().unwrap_or_default();
    if !full_path.starts_with('/') {
        return Err(AdminError::RequestInvalid { detail: "path must start with /".into(), param: Some("path".into()) });
    }
    let (path, query) = match full_path.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (full_path.clone(), None),
    };
    let client_ip: IpAddr = match &req.client_ip {
        Some(s) => s.parse().map_err(|_| AdminError::RequestInvalid {
            detail: format!("{s:?} is not an IP address"),
            param: Some("client_ip".into()),
        })?,
        None => IpAddr::from([127, 0, 0, 1]),
    };
    let mut headers = HeaderMap::new();
    for (name, value) in &req.headers {
        let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| AdminError::RequestInvalid {
            detail: format!("{name:?} is not a header name"),
            param: Some(format!("headers.{name}")),
        })?;
        let v = HeaderValue::from_str(value).map_err(|_| AdminError::RequestInvalid {
            detail: format!("the value of header {name} is not valid"),
            param: Some(format!("headers.{name}")),
        })?;
        headers.append(n, v);
    }
    if let Some(key) = &req.key {
        let v = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| AdminError::RequestInvalid {
            detail: "the key holds characters no header can carry".into(),
            param: Some("key".into()),
        })?;
        headers.insert(http::header::AUTHORIZATION, v);
    }
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
    };
    let d = decide(&snapshot, &state.settings, &input);
    let mut steps = d.trace.entries;
    let outcome = match &d.outcome {
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
            "api_id": d.api.as_ref().map(|a| a.api.id.to_string()),
        },
        "outcome": outcome,
        "steps": steps,
    }))
}
