//! One request through the gateway, top to bottom: decide (route,
//! credential, key, identity), then the upstream hop, then the call log.

use crate::body::{Body, BodyError};
use crate::call_log::CallLogSender;
use crate::client_ip::ClientIpResolver;
use crate::limits::Limiters;
use crate::proxy::{self, Forwarding, UpstreamClient, UpstreamError};
use crate::respond;
use http::{Request, Response};
use http_body_util::BodyExt;
use keyway_core::ids::RequestId;
use keyway_core::model::Protocol;
use keyway_core::records::CallLogRow;
use keyway_core::{ErrorCode, Refusal, Stage, Trace};
use keyway_listener::serve::Handler;
use keyway_listener::{BodyFault, GuardedBody};
use keyway_pipeline::{decide, CallInput, Decision, Settings, SnapshotHandle};
use keyway_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Gateway behaviour that is not per-API.
#[derive(Clone, Debug)]
pub struct GatewaySettings {
    /// Stage settings (environment, key hasher).
    pub stages: Settings,
    /// Who is trusted to report the client IP.
    pub client_ip: ClientIpResolver,
    /// Largest request body forwarded (a declared larger one is refused
    /// at once; a streamed one is cut off by the listener's body rules).
    pub max_body_bytes: u64,
    /// Upstream timeout when the API sets none.
    pub upstream_timeout: Duration,
    /// `http` or `https`, as callers reach this listener.
    pub proto: &'static str,
}

/// Everything a request needs, shared by all connections.
pub struct Gateway {
    snapshot: Arc<SnapshotHandle>,
    settings: GatewaySettings,
    upstream: UpstreamClient,
    call_log: CallLogSender,
    store: Arc<dyn Store>,
    limiters: Arc<Limiters>,
    /// `keyway_gateway_requests_total{code="ok"}`, registered once: the
    /// hot path only increments it.
    accepted: metrics::Counter,
    /// `keyway_gateway_requests_total{code=...}` per refusal code, indexed
    /// by [`ErrorCode::index`]; all exported from the start at zero.
    refused: Vec<metrics::Counter>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Gateway {
    /// Assembles a gateway.
    pub fn new(
        snapshot: Arc<SnapshotHandle>,
        settings: GatewaySettings,
        upstream: UpstreamClient,
        call_log: CallLogSender,
        store: Arc<dyn Store>,
        limiters: Arc<Limiters>,
    ) -> Self {
        let accepted = metrics::counter!("keyway_gateway_requests_total", "code" => "ok");
        accepted.increment(0);
        let refused = ErrorCode::ALL
            .iter()
            .map(|c| {
                let counter = metrics::counter!("keyway_gateway_requests_total", "code" => c.as_str());
                counter.increment(0);
                counter
            })
            .collect();
        Self { snapshot, settings, upstream, call_log, store, limiters, accepted, refused }
    }

    /// Handles one request from `peer`.
    pub async fn handle(&self, req: Request<GuardedBody>, peer: SocketAddr) -> Response<Body> {
        match req.uri().path() {
            "/healthz" => return health(200, "ok"),
            "/readyz" => {
                return match self.store.ping().await {
                    Ok(()) => health(200, "ready"),
                    Err(_) => health(503, "storage unreachable"),
                };
            }
            _ => {}
        }
        let started = Instant::now();
        let now = chrono::Utc::now();
        let request_id = RequestId::at(now);
        let client_ip = self.settings.client_ip.resolve(peer.ip(), req.headers());
        let snapshot = self.snapshot.load();
        let host = match req.headers().get(http::header::HOST) {
            Some(h) => h.to_str().ok(),
            None => req.uri().authority().map(|a| a.as_str()),
        };
        let input = CallInput {
            method: req.method().as_str(),
            host,
            path: req.uri().path(),
            query: req.uri().query(),
            headers: req.headers(),
            client_ip,
            now,
        };
        let Decision { mut trace, outcome, api, key_prefix, key } = match missing_host(&req) {
            Some(refusal) => Decision::refused_before_routing(refusal),
            None => decide(&snapshot, &self.settings.stages, &input),
        };
        let mut row = CallLogRow {
            request_id: request_id.clone(),
            time: now,
            tenant_id: key.as_ref().map(|k| k.key.tenant_id.clone()),
            api_id: api.as_ref().map(|a| a.api.id.clone()),
            app_id: key.as_ref().map(|k| k.key.app_id.clone()),
            key_id: key.as_ref().map(|k| k.key.id.clone()),
            key_prefix,
            method: req.method().to_string(),
            path: req.uri().path().to_owned(),
            status: 0,
            code: None,
            client_ip: client_ip.to_string(),
            latency_ms: 0.0,
            upstream_latency_ms: None,
            model: None,
            prompt_tokens: None,
            completion_tokens: None,
            cost_usd: None,
            trace: Trace::default(),
        };
        let protocol = api.as_ref().map_or(Protocol::Rest, |a| a.api.protocol);
        let admitted = match outcome {
            Ok(a) => a,
            Err(refusal) => {
                // `decide` already recorded the failing stage in the trace.
                return self.finish_refusal(&refusal, protocol, row, trace, started);
            }
        };
        admitted.key.usage.touch(now.timestamp_millis());

        // 6. limits
        let limit_headers = match self.limiters.check(&admitted, now) {
            Ok(passed) => {
                trace.pass(Stage::Limits, passed.evidence);
                passed.headers
            }
            Err(refusal) => {
                trace.fail(Stage::Limits, refusal.evidence.clone(), refusal.fix.clone());
                trace.close(Stage::Upstream);
                return self.finish_refusal(&refusal, protocol, row, trace, started);
            }
        };

        // 7. upstream
        let declared =
            req.headers().get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        let limit = self.settings.max_body_bytes;
        if declared.is_some_and(|n| n > limit) {
            let r = Refusal::new(
                ErrorCode::PayloadTooLarge,
                format!("The request body is larger than this gateway accepts ({limit} bytes)."),
                format!("content-length {} over limit {limit}", declared.unwrap_or_default()),
            )
            .hint("Send a smaller body.");
            trace.fail(Stage::Upstream, r.evidence.clone(), None);
            return self.finish_refusal(&r, protocol, row, trace, started);
        }
        let Some(target) = admitted.api.next_target().cloned() else {
            return self.upstream_failed(UpstreamError::NoTarget, "", protocol, row, trace, started);
        };
        let version = req.version();
        let (parts, body) = req.into_parts();
        let progress = body.progress();
        let body: Body = body.map_err(|e| -> BodyError { Box::new(e) }).boxed();
        let fwd = Forwarding {
            target: &target,
            admitted: &admitted,
            peer_ip: peer.ip(),
            peer_trusted: self.settings.client_ip.trusts(peer.ip()),
            request_id: request_id.as_str(),
            proto: self.settings.proto,
        };
        let upstream_req = match proxy::build_request(parts, body, &fwd) {
            Ok(r) => r,
            Err(e) => return self.upstream_failed(e, &target, protocol, row, trace, started),
        };
        let timeout = admitted.api.api.upstream.timeout_ms.map_or(self.settings.upstream_timeout, Duration::from_millis);
        let sent = Instant::now();
        let resp = match self.upstream.send(upstream_req, timeout, progress.as_deref()).await {
            Ok(r) => r,
            Err(e) => {
                // A body the client broke fails the upstream exchange too:
                // name the client's fault, not the upstream's.
                if let Some(fault) = progress.as_deref().and_then(|p| p.fault()) {
                    let r = client_fault(fault);
                    trace.fail(Stage::Upstream, format!("{}; upstream request to {target} aborted", r.evidence), None);
                    let mut resp = self.finish_refusal(&r, protocol, row, trace, started);
                    resp.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
                    return resp;
                }
                return self.upstream_failed(e, &target, protocol, row, trace, started);
            }
        };
        let upstream_ms = ms(sent.elapsed());
        trace.pass(Stage::Upstream, format!("{target} answered {} in {upstream_ms:.1} ms", resp.status().as_u16()));
        let mut out = proxy::relay_response(resp, version);
        respond::set_request_id(out.headers_mut(), request_id.as_str());
        respond::lifecycle_headers(out.headers_mut(), &admitted.api.api, &snapshot);
        for (name, value) in limit_headers {
            if let Ok(v) = http::HeaderValue::from_str(&value) {
                out.headers_mut().insert(name, v);
            }
        }
        row.status = out.status().as_u16();
        row.upstream_latency_ms = Some(upstream_ms);
        row.latency_ms = ms(started.elapsed());
        row.trace = trace;
        self.accepted.increment(1);
        self.call_log.record(row);
        out
    }

    fn upstream_failed(
        &self,
        err: UpstreamError,
        target: &str,
        protocol: Protocol,
        row: CallLogRow,
        mut trace: Trace,
        started: Instant,
    ) -> Response<Body> {
        let r = match &err {
            UpstreamError::Timeout(t) => Refusal::new(
                ErrorCode::UpstreamTimeout,
                format!("The upstream service did not answer within {} ms.", t.as_millis()),
                format!("{target}: {err}"),
            )
            .hint("Retry later; if it persists, tell the API's operators the request id.")
            .fix("check the upstream's health and latency, or raise upstream.timeout_ms"),
            UpstreamError::NoTarget | UpstreamError::BadUrl(_) | UpstreamError::Unavailable(_) => {
                Refusal::new(ErrorCode::UpstreamUnavailable, "The upstream service is unavailable.", format!("{target}: {err}"))
                    .hint("Retry later; if it persists, tell the API's operators the request id.")
                    .fix("check that the API's upstream targets are up and reachable from the gateway")
            }
        };
        tracing::warn!(request_id = %row.request_id, code = r.code.as_str(), evidence = %r.evidence, "upstream failed");
        trace.fail(Stage::Upstream, r.evidence.clone(), r.fix.clone());
        self.finish_refusal(&r, protocol, row, trace, started)
    }

    fn finish_refusal(
        &self,
        refusal: &Refusal,
        protocol: Protocol,
        mut row: CallLogRow,
        trace: Trace,
        started: Instant,
    ) -> Response<Body> {
        let resp = respond::refusal(refusal, protocol, row.request_id.as_str());
        row.status = resp.status().as_u16();
        row.code = Some(refusal.code);
        row.latency_ms = ms(started.elapsed());
        row.trace = trace;
        if let Some(c) = self.refused.get(refusal.code.index()) {
            c.increment(1);
        }
        tracing::debug!(request_id = %row.request_id, code = refusal.code.as_str(), "refused");
        self.call_log.record(row);
        resp
    }
}

impl Handler for Gateway {
    type Body = Body;
    type Error = BodyError;

    async fn handle(&self, req: Request<GuardedBody>, peer: SocketAddr) -> Response<Body> {
        Gateway::handle(self, req, peer).await
    }
}

/// HTTP/1.1 requires `Host` (RFC 9112 §3.2); HTTP/2 carries `:authority`.
fn missing_host<B>(req: &Request<B>) -> Option<Refusal> {
    (req.version() == http::Version::HTTP_11 && !req.headers().contains_key(http::header::HOST)).then(|| {
        Refusal::new(
            ErrorCode::RequestMalformed,
            "An HTTP/1.1 request must carry a Host header.",
            "HTTP/1.1 request without Host",
        )
        .hint("Send the Host header (every HTTP/1.1 client library does; check hand-written requests).")
    })
}

/// The refusal for a request body the client broke.
fn client_fault(fault: &BodyFault) -> Refusal {
    match fault {
        BodyFault::TooLarge { limit } => Refusal::new(
            ErrorCode::PayloadTooLarge,
            format!("The request body is larger than this gateway accepts ({limit} bytes)."),
            fault.to_string(),
        )
        .hint("Send a smaller body."),
        BodyFault::Malformed(_) => {
            Refusal::new(ErrorCode::RequestMalformed, "The request body's framing is broken.", fault.to_string())
                .hint("Check the client's chunked encoding or Content-Length.")
        }
        BodyFault::ClientGone { .. } => {
            Refusal::new(ErrorCode::RequestMalformed, "The request body ended before it was complete.", fault.to_string())
                .hint("Send the whole body the request declares.")
        }
        BodyFault::Stalled { timeout, .. } => Refusal::new(
            ErrorCode::RequestTimeout,
            format!("The request body paused for more than {} ms.", timeout.as_millis()),
            fault.to_string(),
        )
        .hint("Send the body without long pauses."),
        BodyFault::TooSlow { timeout, .. } => Refusal::new(
            ErrorCode::RequestTimeout,
            format!("The request body did not arrive within {} ms.", timeout.as_millis()),
            fault.to_string(),
        )
        .hint("Send the body faster, or a smaller one."),
    }
}

fn health(status: u16, text: &'static str) -> Response<Body> {
    let mut r = Response::new(crate::body::full(format!("{{\"status\":\"{text}\"}}")));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    r
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
