//! Phase respond of AI calls: answers in the caller's format, whole or
//! streamed, the provider's own errors relayed, and the model list.

use super::metering::Settlement;
use super::model_phase;
use super::stream::{CallerEncoder, PassThrough, TranslatedStream};
use crate::body::{full, Body};
use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use http::{Response, StatusCode};
use http_body_util::BodyExt;
use keyway_ai::outbound::ResponseReader;
use keyway_ai::{anthropic, openai, ApiError, ChatRequest, ChatResponse, WireFormat};
use keyway_pipeline::{Admitted, Snapshot};
use std::sync::Arc;

/// A JSON answer.
pub fn json(status: u16, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// `answer` in the caller's `format`.
pub fn render(format: WireFormat, answer: &ChatResponse) -> Vec<u8> {
    match format {
        WireFormat::Anthropic => anthropic::render_response(answer),
        _ => openai::render_response(answer),
    }
}

/// The provider's error, in the caller's format, with the provider's
/// status and `Retry-After`.
pub fn provider_error(format: WireFormat, status: u16, error: &ApiError, retry_after: Option<&str>) -> Response<Body> {
    let body = match format {
        WireFormat::Anthropic => anthropic::render_error(error),
        _ => openai::render_error(error),
    };
    let mut r = json(status, body);
    if let Some(v) = retry_after.and_then(|v| HeaderValue::from_str(v).ok()) {
        r.headers_mut().insert(RETRY_AFTER, v);
    }
    r
}

/// The provider's stream `upstream` for the caller: passed through when
/// the caller speaks its format, else translated.
pub fn stream(
    upstream: Response<Body>,
    reader: ResponseReader,
    format: WireFormat,
    req: &ChatRequest,
    prompt: String,
    settlement: Arc<Settlement>,
    json_mode: bool,
) -> Response<Body> {
    let created = chrono::Utc::now().timestamp().max(0).unsigned_abs();
    let encoder = if ResponseReader::for_format(format) == reader {
        CallerEncoder::PassThrough(PassThrough::new(reader, req.include_usage))
    } else {
        CallerEncoder::new(format, req.include_usage, created)
    };
    let body = TranslatedStream::new(upstream.into_body(), reader.stream(), encoder, prompt, settlement);
    let body = if json_mode { body.answering_json() } else { body };
    let mut r = Response::new(body.boxed());
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// `GET B/v1/models`: the tenant's models this key may use, in OpenAI's
/// list shape, by name.
pub fn model_list(snapshot: &Snapshot, admitted: &Admitted) -> Response<Body> {
    let owner = snapshot.tenants.get(&admitted.api.api.tenant_id).map_or("keyway", |t| t.slug.as_str());
    let mut models: Vec<_> =
        snapshot.models_of(&admitted.api.api.tenant_id).filter(|m| model_phase::allowed(admitted, &m.name)).collect();
    models.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    let data: Vec<serde_json::Value> = models
        .iter()
        .map(|m| {
            serde_json::json!({
                "id": m.name,
                "object": "model",
                "created": m.created_at.timestamp(),
                "owned_by": owner,
            })
        })
        .collect();
    json(200, serde_json::json!({"object": "list", "data": data}).to_string().into_bytes())
}
