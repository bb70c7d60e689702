//! A finished request as OpenTelemetry spans, built in the exporter task
//! from its call-log row: one root span `keyway.request` (kind server,
//! HTTP attributes after the semantic conventions, Keyway's ids) and one
//! child per stage that ran, from where the previous stage ended to where
//! it ended; the refusing stage's span has status error. Stages that were
//! not reached have no span. The upstream span is a client span whose id
//! was sent upstream in `traceparent`.

use keyway_core::records::CallLogRow;
use keyway_core::{Stage, StepResult};
use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{IdGenerator, SpanData, SpanEvents, SpanLinks};
use std::borrow::Cow;
use std::time::{Duration, SystemTime};

/// The root span's name.
pub const REQUEST_SPAN: &str = "keyway.request";

/// The spans of `row`, root first; none when the request was not traced.
pub fn spans(row: &CallLogRow, ids: &dyn IdGenerator, scope: &InstrumentationScope) -> Vec<SpanData> {
    let Some(timing) = row.trace.spans.as_deref() else { return Vec::new() };
    let ctx = &timing.context;
    let trace_id = TraceId::from_bytes(ctx.trace_id);
    let root_id = SpanId::from_bytes(ctx.request_span_id);
    let start = SystemTime::from(row.time);
    let at = |d: Duration| start + d;
    let base = Span { trace_id, scope };
    let mut out = Vec::with_capacity(1 + row.trace.entries.len());
    out.push(base.make(
        root_id,
        ctx.parent_span_id.map(SpanId::from_bytes),
        SpanKind::Server,
        Cow::Borrowed(REQUEST_SPAN),
        (start, at(Duration::from_secs_f64(row.latency_ms.max(0.0) / 1000.0))),
        request_attributes(row),
        root_status(row),
    ));
    let mut from = Duration::ZERO;
    for entry in row.trace.entries.iter().filter(|e| e.result != StepResult::NotReached) {
        let Some(until) = timing.ended(entry.stage) else { continue };
        let failed = entry.result == StepResult::Fail;
        let mut attributes = vec![
            KeyValue::new("keyway.stage", entry.stage.as_str()),
            KeyValue::new("keyway.stage.result", entry.result.as_str()),
        ];
        if !entry.evidence.is_empty() {
            attributes.push(KeyValue::new("keyway.evidence", entry.evidence.to_string()));
        }
        let status = match (failed, row.code) {
            (true, Some(code)) => {
                attributes.push(KeyValue::new("keyway.refusal.code", code.as_str()));
                Status::error(code.as_str())
            }
            (true, None) => Status::error(entry.stage.as_str()),
            (false, _) => Status::Unset,
        };
        let (id, kind) = match entry.stage {
            Stage::Upstream => (SpanId::from_bytes(ctx.upstream_span_id), SpanKind::Client),
            _ => (ids.new_span_id(), SpanKind::Internal),
        };
        let name = Cow::Owned(format!("keyway.{}", entry.stage.as_str()));
        out.push(base.make(id, Some(root_id), kind, name, (at(from), at(until)), attributes, status));
        from = until;
    }
    out
}

/// What every span of one trace shares.
struct Span<'a> {
    trace_id: TraceId,
    scope: &'a InstrumentationScope,
}

impl Span<'_> {
    #[allow(clippy::too_many_arguments)]
    fn make(
        &self,
        id: SpanId,
        parent: Option<SpanId>,
        span_kind: SpanKind,
        name: Cow<'static, str>,
        (start_time, end_time): (SystemTime, SystemTime),
        attributes: Vec<KeyValue>,
        status: Status,
    ) -> SpanData {
        SpanData {
            span_context: SpanContext::new(self.trace_id, id, TraceFlags::SAMPLED, false, TraceState::default()),
            parent_span_id: parent.unwrap_or(SpanId::INVALID),
            // Only the root's parent (the caller's span) is remote.
            parent_span_is_remote: parent.is_some() && span_kind == SpanKind::Server,
            span_kind,
            name,
            start_time,
            end_time: end_time.max(start_time),
            attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status,
            instrumentation_scope: self.scope.clone(),
        }
    }
}

/// The root span's attributes: HTTP semantic conventions, then Keyway's.
fn request_attributes(row: &CallLogRow) -> Vec<KeyValue> {
    let mut a = vec![
        KeyValue::new("http.request.method", row.method.clone()),
        KeyValue::new("url.path", row.path.clone()),
        KeyValue::new("http.response.status_code", i64::from(row.status)),
        KeyValue::new("client.address", row.client_ip.clone()),
        KeyValue::new("keyway.request_id", row.request_id.as_str().to_owned()),
    ];
    let ids = [
        ("keyway.api.id", row.api_id.as_ref().map(|i| i.as_str())),
        ("keyway.tenant.id", row.tenant_id.as_ref().map(|i| i.as_str())),
        ("keyway.app.id", row.app_id.as_ref().map(|i| i.as_str())),
        ("keyway.key.id", row.key_id.as_ref().map(|i| i.as_str())),
        ("gen_ai.request.model", row.model.as_deref()),
    ];
    for (name, value) in ids {
        if let Some(v) = value {
            a.push(KeyValue::new(name, v.to_owned()));
        }
    }
    if let Some(code) = row.code {
        a.push(KeyValue::new("keyway.refusal.code", code.as_str()));
        a.push(KeyValue::new("error.type", code.as_str()));
    }
    let tokens = [("gen_ai.usage.input_tokens", row.prompt_tokens), ("gen_ai.usage.output_tokens", row.completion_tokens)];
    for (name, value) in tokens {
        if let Some(n) = value {
            a.push(KeyValue::new(name, i64::try_from(n).unwrap_or(i64::MAX)));
        }
    }
    a
}

/// Server spans are errors for 5xx only (HTTP semantic conventions); the
/// refusing stage's span carries the refusal in any case.
fn root_status(row: &CallLogRow) -> Status {
    match row.code {
        Some(code) if row.status >= 500 => Status::error(code.as_str()),
        _ => Status::Unset,
    }
}
