//! One request through the gateway, top to bottom, as the phases of
//! [`keyway_pipeline::phases`]: request through authorization
//! ([`Call::decide`]), limits, upstream, respond, and [`Gateway::finish`],
//! which closes the trace and queues the call-log row.

use crate::ai::{self, AiCall, Providers, Served};
use crate::body::{Body, BodyError};
use crate::call_log::CallLogSender;
use crate::client_ip::ClientIpResolver;
use crate::hmac_precheck;
use crate::inbound::Inbound;
use crate::jwt_precheck;
use crate::limits::Limiters;
use crate::proxy::{self, Forwarding};
use crate::respond;
use crate::trace_sampler::{upstream_traceparent, TraceSampler};
use crate::upstream_client::{UpstreamClient, UpstreamError};
use http::{Request, Response};
use keyway_core::model::{ApiKind, Protocol};
use keyway_core::records::CallLogRow;
use keyway_core::refusals::{BodyTimeout, Malformed};
use keyway_core::{ErrorCode, Refusal, Stage};
use keyway_credentials::http_signature::{MemoryNonceStore, NonceStore};
use keyway_listener::serve::Handler;
use keyway_listener::tls::PeerCertificate;
use keyway_listener::{BodyFault, GuardedBody};
use keyway_pipeline::stages::certificate::PeerCert;
use keyway_pipeline::{Admitted, Call, CallInput, CredentialHealth, Settings, Snapshot, SnapshotHandle};
use keyway_store::Store;
use std::net::{IpAddr, SocketAddr};
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
    /// Which requests are traced as spans: `Some` only when traces are
    /// exported (then each traced request notes when its stages end).
    pub traces: Option<TraceSampler>,
    /// Most nonces of signed requests this node's memory store holds.
    pub nonce_capacity: usize,
}

/// The address that connected, and the client it stands for.
#[derive(Clone, Copy, Debug)]
struct Peer {
    addr: SocketAddr,
    client_ip: IpAddr,
}

/// Everything a request needs, shared by all connections.
#[derive(Clone)]
pub struct Gateway {
    snapshot: Arc<SnapshotHandle>,
    settings: GatewaySettings,
    upstream: UpstreamClient,
    call_log: CallLogSender,
    store: Arc<dyn Store>,
    limiters: Arc<Limiters>,
    /// The AI gateway's provider side (credentials and their health).
    ai: Arc<Providers>,
    /// Nonces of verified signatures, to refuse replays (this node's
    /// memory unless [`Gateway::with_nonce_store`] shares one).
    nonces: Arc<dyn NonceStore>,
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
        credential_health: Arc<CredentialHealth>,
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
        let ai = Arc::new(Providers::new(settings.stages.credentials.clone(), credential_health));
        let nonces = Arc::new(MemoryNonceStore::new(settings.nonce_capacity));
        Self { snapshot, settings, upstream, call_log, store, limiters, ai, nonces, accepted, refused }
    }

    /// The same gateway recording signature nonces in `nonces` (e.g. one
    /// store shared by a cluster's nodes).
    pub fn with_nonce_store(self, nonces: Arc<dyn NonceStore>) -> Self {
        Self { nonces, ..self }
    }

    /// The same gateway with its own upstream connection pool and call-log
    /// stage: a worker thread's runtime owns the connections it opens, and
    /// stages its rows apart from the other workers', so each worker of a
    /// per-core listener gets one of each.
    pub fn with_upstream(&self, upstream: UpstreamClient) -> Self {
        Self { upstream, call_log: self.call_log.for_worker(), ..self.clone() }
    }

    /// Handles one request from `peer`: the phases of
    /// [`keyway_pipeline::phases`] in order, then [`Gateway::finish`].
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
        let client_ip = self.settings.client_ip.resolve(peer.ip(), req.headers());
        let snapshot = self.snapshot.load();
        let mut row = CallLogRow::arriving(now, req.method().as_str(), req.uri().path(), crate::client_ip::ip_text(client_ip));
        let mut call = Call::new();
        if let Some(sampler) = &self.settings.traces {
            call.trace.spans = sampler.start(req.headers(), started);
        }
        // A signed request for an API that takes signatures is verified
        // first, its body read whole for its Content-Digest and its nonce
        // recorded; boxed, so other requests' futures stay small.
        let (req, signature_check) = if keyway_pipeline::stages::signature::signed(req.headers()) {
            let ctx = hmac_precheck::Context {
                snapshot: &snapshot,
                scheme: self.settings.proto,
                max_body_bytes: self.settings.max_body_bytes,
                nonces: self.nonces.as_ref(),
                now,
            };
            Box::pin(hmac_precheck::verify(ctx, req)).await
        } else {
            (req.map(Inbound::Streaming), None)
        };
        let body_read = match req.body() {
            Inbound::Read(bytes) => bytes.clone(),
            Inbound::Streaming(_) => bytes::Bytes::new(),
        };
        let host = match req.headers().get(http::header::HOST) {
            Some(h) => h.to_str().ok(),
            None => req.uri().authority().map(|a| a.as_str()),
        };
        // A bearer JWT is verified first, off the snapshot phases, so a
        // `jwks_url` issuer's key set can be fetched or refreshed on the way.
        // Boxed, and only for a bearer JWT: its state stays out of every
        // other request's future.
        let token_check = match keyway_pipeline::stages::token::bearer_jwt(req.headers()) {
            Some(_) => {
                Box::pin(jwt_precheck::verify(&snapshot, host, req.method().as_str(), req.uri().path(), req.headers(), now)).await
            }
            None => None,
        };
        // Phases request … authorization: the snapshot alone decides.
        let admitted = {
            let input = CallInput {
                method: req.method().as_str(),
                host,
                path: req.uri().path(),
                query: req.uri().query(),
                headers: req.headers(),
                client_ip,
                now,
                token_check: token_check.as_ref(),
                client_cert: peer_cert(&req),
                scheme: self.settings.proto,
                body: &body_read,
                signature_check: signature_check.as_ref(),
            };
            match missing_host(&req) {
                Some(refusal) => Err(refusal),
                None => call.decide(&snapshot, &self.settings.stages, &input),
            }
        };
        // Phases limits, upstream, respond.
        let outcome = match admitted {
            Ok(admitted) => self.forward(&mut call, &admitted, req, Peer { addr: peer, client_ip }, &snapshot, &mut row).await,
            Err(refusal) => Err(refusal),
        };
        self.finish(call, row, outcome, started)
    }

    /// Phases limits, upstream and respond of an admitted call.
    async fn forward(
        &self,
        call: &mut Call,
        admitted: &Admitted,
        req: Request<Inbound>,
        peer: Peer,
        snapshot: &Snapshot,
        row: &mut CallLogRow,
    ) -> Result<Served, Refusal> {
        if let Some(key) = &admitted.key {
            key.usage.touch(row.time.timestamp_millis());
        }
        let limit_headers = self.limits(call, admitted, row.time)?;
        // One value for the upstream request and the response: cloning it
        // shares its bytes.
        let id = respond::request_id_value(row.request_id.as_str());
        let kind = admitted.api.api.kind;
        if kind != ApiKind::Rest {
            let ctx = AiCall {
                call,
                admitted,
                snapshot,
                row,
                client: &self.upstream,
                max_body_bytes: self.settings.max_body_bytes,
                default_timeout: self.settings.upstream_timeout,
                meter: &self.limiters.meter,
            };
            // Boxed: the AI exchange's state would otherwise sit in every
            // request's future, REST ones included.
            let served = if kind == ApiKind::Prompt {
                Box::pin(self.ai.serve_prompt(ctx, req)).await?
            } else {
                Box::pin(self.ai.serve(ctx, req)).await?
            };
            let resp = respond::admitted(served.resp, &admitted.api.api, snapshot, id, limit_headers);
            return Ok(Served { resp, settlement: served.settlement });
        }
        let resp = self.upstream(call, admitted, req, peer, row, &id).await?;
        Ok(respond::admitted(resp, &admitted.api.api, snapshot, id, limit_headers).into())
    }

    /// Phase limits.
    fn limits(
        &self,
        call: &mut Call,
        admitted: &Admitted,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(&'static str, String)>, Refusal> {
        let passed = self.limiters.check(admitted, now)?;
        call.trace.pass(Stage::Limits, passed.evidence);
        Ok(passed.headers)
    }

    /// Phase upstream: the body limit, a target, the exchange. A body the
    /// client broke is named as the client's fault, not the upstream's.
    async fn upstream(
        &self,
        call: &mut Call,
        admitted: &Admitted,
        req: Request<Inbound>,
        peer: Peer,
        row: &mut CallLogRow,
        request_id: &http::HeaderValue,
    ) -> Result<Response<Body>, Refusal> {
        declared_within(req.headers(), self.settings.max_body_bytes)?;
        let Some(target) = admitted.api.next_target() else {
            return Err(upstream_refusal(&UpstreamError::NoTarget, ""));
        };
        let origin = target.origin.as_ref().map_err(|e| upstream_refusal(&UpstreamError::BadUrl(e.clone()), &target.url))?;
        let version = req.version();
        let (parts, body) = req.into_parts();
        let progress = body.progress();
        let body: Body = body.into_body();
        let traceparent = call.trace.spans.as_deref().map(upstream_traceparent);
        let fwd = Forwarding {
            origin,
            admitted,
            peer_ip: peer.addr.ip(),
            // The row's text of the client's address is the peer's when
            // they are the same address: not written twice.
            peer_text: (peer.client_ip == peer.addr.ip()).then_some(row.client_ip.as_str()),
            peer_trusted: self.settings.client_ip.trusts(peer.addr.ip()),
            request_id,
            proto: self.settings.proto,
            traceparent: traceparent.as_deref(),
        };
        let (upstream_req, added) = proxy::build_request(parts, body, &fwd).map_err(|e| upstream_refusal(&e, &target.url))?;
        let timeout = admitted.api.api.upstream.timeout_ms.map_or(self.settings.upstream_timeout, Duration::from_millis);
        let sent = Instant::now();
        let resp = match self.upstream.send_with(target, upstream_req, &added, timeout, progress.as_deref()).await {
            Ok(r) => r,
            Err(e) => {
                return Err(match progress.as_deref().and_then(|p| p.fault()) {
                    Some(fault) => client_fault(fault, &target.url),
                    None => upstream_refusal(&e, &target.url),
                })
            }
        };
        let upstream_ms = ms(sent.elapsed());
        call.trace.pass(Stage::Upstream, answered(&target.url, resp.status(), upstream_ms));
        row.upstream_latency_ms = Some(upstream_ms);
        Ok(proxy::relay_response(resp, version))
    }

    /// Closes the trace, renders a refusal in the API's envelope, counts,
    /// and queues the call-log row (phase log): the one place every
    /// request ends, admitted or refused.
    fn finish(&self, mut call: Call, mut row: CallLogRow, outcome: Result<Served, Refusal>, started: Instant) -> Response<Body> {
        call.close(outcome.as_ref().err());
        let mut settlement = None;
        let resp = match outcome {
            Ok(served) => {
                self.accepted.increment(1);
                settlement = served.settlement;
                served.resp
            }
            Err(refusal) => {
                if refusal.code.stage() == Stage::Upstream && refusal.code.status() >= 500 {
                    tracing::warn!(request_id = %row.request_id, code = refusal.code.as_str(), evidence = %refusal.evidence, "upstream failed");
                } else {
                    tracing::debug!(request_id = %row.request_id, code = refusal.code.as_str(), "refused");
                }
                if let Some(c) = self.refused.get(refusal.code.index()) {
                    c.increment(1);
                }
                row.code = Some(refusal.code);
                let protocol = call.api.as_ref().map_or(Protocol::Rest, |a| ai::protocol(&a.api, &row.path));
                respond::refusal(&refusal, protocol, row.request_id.as_str())
            }
        };
        if let Some(k) = &call.key {
            row.tenant_id = Some(k.key.tenant_id.clone());
            row.app_id = Some(k.key.app_id.clone());
            row.key_id = Some(k.key.id.clone());
        } else if let Some(app) = &call.credential_app {
            row.tenant_id = Some(app.tenant_id.clone());
            row.app_id = Some(app.id.clone());
        }
        row.api_id = call.api.as_ref().map(|a| a.api.id.clone());
        row.key_prefix = call.key_prefix.take();
        row.status = resp.status().as_u16();
        row.latency_ms = ms(started.elapsed());
        row.trace = call.trace;
        match settlement {
            // A stream's row waits for the stream's end and its usage.
            Some(s) => s.row_ready(row, self.call_log.clone()),
            None => self.call_log.record(row),
        }
        resp
    }
}

/// The refusal for an upstream that failed.
fn upstream_refusal(err: &UpstreamError, target: &str) -> Refusal {
    match err {
        UpstreamError::Timeout(t) => Refusal::upstream_timeout(*t, target, err),
        UpstreamError::NoTarget | UpstreamError::BadUrl(_) | UpstreamError::Unavailable(_) => {
            Refusal::upstream_unavailable(target, err)
        }
    }
}

impl Handler for Gateway {
    type Body = Body;
    type Error = BodyError;

    async fn handle(&self, req: Request<GuardedBody>, peer: SocketAddr) -> Response<Body> {
        Gateway::handle(self, req, peer).await
    }
}

/// A request whose `content-length` is over `limit` is refused at once,
/// before any of its body is read.
pub(crate) fn declared_within(headers: &http::HeaderMap, limit: u64) -> Result<(), Refusal> {
    let declared = headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    match declared.filter(|n| *n > limit) {
        Some(n) => Err(Refusal::payload_too_large(limit, format_args!("content-length {n} over limit {limit}"))),
        None => Ok(()),
    }
}

/// The connection's client certificate as the listener judged it (no
/// extension: a plain HTTP connection, which asks for none).
fn peer_cert<B>(req: &Request<B>) -> PeerCert<'_> {
    match req.extensions().get::<PeerCertificate>() {
        None | Some(PeerCertificate::NotAsked) => PeerCert::NotAsked,
        Some(PeerCertificate::Missing) => PeerCert::Missing,
        Some(PeerCertificate::Trusted { sha256 }) => PeerCert::Trusted { sha256 },
        Some(PeerCertificate::Untrusted { sha256, reason }) => PeerCert::Untrusted { sha256, reason },
    }
}

/// HTTP/1.1 requires `Host` (RFC 9112 §3.2); HTTP/2 carries `:authority`.
fn missing_host<B>(req: &Request<B>) -> Option<Refusal> {
    (req.version() == http::Version::HTTP_11 && !req.headers().contains_key(http::header::HOST))
        .then(|| Refusal::request_malformed(Malformed::MissingHost))
}

/// The refusal for a request body the client broke; the upstream request
/// was aborted, and the connection is closed (its framing is lost).
pub(crate) fn client_fault(fault: &BodyFault, target: &str) -> Refusal {
    let refusal = match fault {
        BodyFault::TooLarge { limit } => Refusal::payload_too_large(*limit, fault),
        BodyFault::Malformed(_) => Refusal::request_malformed(Malformed::BodyFraming(fault)),
        BodyFault::ClientGone { .. } => Refusal::request_malformed(Malformed::BodyCut(fault)),
        BodyFault::Stalled { timeout, .. } => Refusal::request_timeout(BodyTimeout::Stalled(*timeout), fault),
        BodyFault::TooSlow { timeout, .. } => Refusal::request_timeout(BodyTimeout::TooSlow(*timeout), fault),
    };
    refusal.noting(format_args!("upstream request to {target} aborted")).closing_connection()
}

fn health(status: u16, text: &'static str) -> Response<Body> {
    let mut r = Response::new(crate::body::full(format!("{{\"status\":\"{text}\"}}")));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    r
}

/// `{url} answered {status} in {ms:.1} ms`, without float formatting:
/// written on every request.
fn answered(url: &str, status: http::StatusCode, ms: f64) -> String {
    let tenths = (ms * 10.0).round() as u64;
    let mut s = String::with_capacity(url.len() + 32);
    s.push_str(url);
    s.push_str(" answered ");
    s.push_str(status.as_str());
    s.push_str(" in ");
    let mut digits = [0; 20];
    s.extend(keyway_h1::decimal(tenths / 10, &mut digits).iter().map(|&d| char::from(d)));
    s.push('.');
    s.push(char::from(b'0' + (tenths % 10) as u8));
    s.push_str(" ms");
    s
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    #[test]
    fn upstream_evidence_reads_as_before() {
        assert_eq!(super::answered("http://a:1", http::StatusCode::OK, 1.26), "http://a:1 answered 200 in 1.3 ms");
        assert_eq!(super::answered("u", http::StatusCode::BAD_GATEWAY, 0.04), "u answered 502 in 0.0 ms");
        assert_eq!(super::answered("u", http::StatusCode::OK, 12_345.67), "u answered 200 in 12345.7 ms");
    }
}
