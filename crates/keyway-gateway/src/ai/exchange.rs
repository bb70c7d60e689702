//! Phase upstream of an AI call: the attempts of the model's plan tried in
//! order, each over its provider's credential pool, until one answers.
//!
//! - 2xx: the answer (its body not yet read).
//! - 401/403: the provider refused the gateway's own credential: it is
//!   marked refused (skipped for a while, counted, logged) and the next
//!   credential, then the next target, is tried; when none is left the
//!   caller gets `502 upstream_credential_rejected`, never an
//!   authentication error of its own.
//! - 429, 5xx, a timeout or a connection error: the next target. When
//!   none is left, the last provider error is relayed in the caller's
//!   format (with the provider's `Retry-After`), a timeout is
//!   `upstream_timeout`, a connection error `upstream_unavailable`.
//! - Any other status (400, 404, 422...): the caller's request is at
//!   fault; the provider's error is relayed at once, not retried.
//!
//! Nothing is retried after an answer's first byte reached the caller:
//! this phase returns before any body is read.

use super::plan::Attempt;
use crate::body::{full, Body};
use crate::upstream_client::{UpstreamClient, UpstreamError};
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::uri::PathAndQuery;
use http::{Method, Request, Response, Uri};
use keyway_ai::outbound::{OutboundError, OutboundRequest, ResponseReader};
use keyway_ai::ApiError;
use keyway_core::providers::ProviderCredential;
use keyway_core::refusals::CredentialRejected;
use keyway_core::sealed::Sealer;
use keyway_core::Refusal;
use keyway_pipeline::{CredentialHealth, UpstreamTarget};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The most of a provider's error body that is read.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Provider origins kept taken apart at the most; past it the map starts
/// again (origins come from the providers configured, so it never should).
const MAX_ORIGINS: usize = 1024;

/// What the provider side needs, shared by a node's workers.
#[derive(Debug)]
pub struct Providers {
    /// Opens the sealed provider credentials.
    pub sealer: Sealer,
    /// Which credentials providers refused (shared with the admin API).
    pub health: Arc<CredentialHealth>,
    /// Each provider origin (`scheme://authority`) as an upstream target,
    /// its URL taken apart on first use, not on every call.
    origins: Mutex<HashMap<Box<str>, Arc<UpstreamTarget>>>,
    /// The model phase's evidence of each model.
    pub(super) model_evidence: super::model_phase::EvidenceCache,
}

/// A provider's answer, head received.
#[derive(Debug)]
pub struct Answered {
    /// The response, body unread.
    pub resp: Response<Body>,
    /// Which attempt answered.
    pub attempt: usize,
    /// How long the provider took to answer.
    pub elapsed: Duration,
    /// What the earlier attempts met, for the trace.
    pub tried: Vec<String>,
}

/// Why no attempt answered.
#[derive(Debug)]
pub enum Failed {
    /// A refusal of Keyway's own (`upstream_*`, `request_invalid`).
    Refused(Refusal),
    /// The provider's own error, to be relayed to the caller.
    Provider {
        /// Its HTTP status.
        status: u16,
        /// The error, parsed.
        error: ApiError,
        /// Its `Retry-After`, when it sent one.
        retry_after: Option<String>,
        /// What was met on the way, for the trace.
        tried: Vec<String>,
    },
}

/// How the last failed attempt failed, while more may be tried.
enum Last {
    None,
    Timeout(Duration, String),
    Unavailable(String),
    Unsupported(String),
    Rejected { provider: String, provider_id: String, credential_id: String, last4: String, status: u16 },
    Provider { status: u16, error: ApiError, retry_after: Option<String> },
}

impl Providers {
    /// The provider side of a node whose credentials `sealer` opens.
    pub fn new(sealer: Sealer, health: Arc<CredentialHealth>) -> Self {
        Self { sealer, health, origins: Mutex::default(), model_evidence: Default::default() }
    }

    /// The upstream target of `origin` (`scheme://authority`).
    fn origin(&self, origin: &str) -> Arc<UpstreamTarget> {
        let mut map = self.origins.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(t) = map.get(origin) {
            return t.clone();
        }
        if map.len() >= MAX_ORIGINS {
            map.clear();
        }
        let target = Arc::new(UpstreamTarget::new(origin));
        map.insert(origin.into(), target.clone());
        target
    }

    /// Tries `attempts` in order; `build` makes an attempt's request with
    /// a credential.
    pub async fn exchange(
        &self,
        client: &UpstreamClient,
        attempts: &[Attempt],
        timeout: Duration,
        build: impl Fn(&Attempt, Option<&str>) -> Result<OutboundRequest, OutboundError>,
    ) -> Result<Answered, Failed> {
        let mut last = Last::None;
        let mut tried = Vec::new();
        for (i, attempt) in attempts.iter().enumerate() {
            let p = &attempt.provider;
            let reader = ResponseReader::for_kind(p.kind);
            let credentials = self.health.order(p, Instant::now());
            let slots: Vec<Option<&ProviderCredential>> =
                if credentials.is_empty() { vec![None] } else { credentials.into_iter().map(Some).collect() };
            for credential in slots {
                let secret = match credential.map(|c| self.sealer.open(&c.sealed, c.id.as_str())) {
                    Some(Err(e)) => {
                        tracing::error!(provider = %p.id, error = %e, "a provider credential does not open with this node's key");
                        let id = credential.map(|c| c.id.to_string()).unwrap_or_default();
                        tried.push(format!("{} ({}): credential {id} unreadable", p.name, attempt.model));
                        last = Last::Unavailable(format!(
                            "provider {} ({}): its stored credential {id} does not open with this node's key \
                             (was ai.master_key or the server secret changed? set the credentials again)",
                            p.name, p.id
                        ));
                        continue;
                    }
                    Some(Ok(s)) => Some(String::from_utf8_lossy(&s).into_owned()),
                    None => None,
                };
                let out = match build(attempt, secret.as_deref()) {
                    Ok(out) => out,
                    Err(e @ OutboundError::Unsupported { .. }) => {
                        tried.push(format!("{} ({}): {e}", p.name, attempt.model));
                        last = Last::Unsupported(e.to_string());
                        break;
                    }
                    Err(e) => {
                        tried.push(format!("{} ({}): {e}", p.name, attempt.model));
                        last = Last::Unavailable(format!("provider {} ({}): {e}", p.name, p.id));
                        break;
                    }
                };
                let sent = Instant::now();
                let resp = match self.send(client, out, timeout).await {
                    Ok(r) => r,
                    Err(UpstreamError::Timeout(t)) => {
                        tried.push(format!("{} ({}): no answer within {} ms", p.name, attempt.model, t.as_millis()));
                        last = Last::Timeout(t, p.name.clone());
                        break;
                    }
                    Err(e) => {
                        tried.push(format!("{} ({}): {e}", p.name, attempt.model));
                        last = Last::Unavailable(format!("provider {} ({}): {e}", p.name, p.id));
                        break;
                    }
                };
                let status = resp.status().as_u16();
                if resp.status().is_success() {
                    if let Some(c) = credential {
                        self.health.accepted(&c.id);
                    }
                    return Ok(Answered { resp, attempt: i, elapsed: sent.elapsed(), tried });
                }
                let retry = resp.headers().get(http::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned);
                let body = read_error_body(resp.into_body()).await;
                let error = reader.parse_error(status, &body);
                tried.push(format!("{} ({}) answered {status}: {}", p.name, attempt.model, error.message));
                match (status, credential) {
                    (401 | 403, Some(c)) => {
                        self.health.refused(&c.id, Instant::now());
                        metrics::counter!("keyway_ai_credential_rejected_total", "provider_id" => p.id.to_string()).increment(1);
                        tracing::warn!(provider = %p.name, provider_id = %p.id, credential_id = %c.id, status, "provider refused Keyway's credential; skipping it");
                        last = Last::Rejected {
                            provider: p.name.clone(),
                            provider_id: p.id.to_string(),
                            credential_id: c.id.to_string(),
                            last4: c.last4.clone(),
                            status,
                        };
                    }
                    (401 | 403, None) => {
                        last = Last::Rejected {
                            provider: p.name.clone(),
                            provider_id: p.id.to_string(),
                            credential_id: "(none)".into(),
                            last4: String::new(),
                            status,
                        };
                        break;
                    }
                    (429 | 500..=599, _) => {
                        last = Last::Provider { status, error, retry_after: retry };
                        break;
                    }
                    _ => return Err(Failed::Provider { status, error, retry_after: retry, tried }),
                }
            }
        }
        Err(match last {
            Last::None => Failed::Refused(Refusal::upstream_unavailable("model", "no live provider target")),
            Last::Timeout(t, provider) => Failed::Refused(Refusal::upstream_timeout(t, &provider, tried.join("; "))),
            Last::Unavailable(e) => Failed::Refused(Refusal::upstream_unavailable(&e, tried.join("; "))),
            Last::Unsupported(e) => Failed::Refused(Refusal::request_invalid(Some("model"), e)),
            Last::Rejected { provider, provider_id, credential_id, last4, status } => {
                Failed::Refused(Refusal::upstream_credential_rejected(CredentialRejected {
                    provider: &provider,
                    provider_id: &provider_id,
                    credential_id: &credential_id,
                    last4: &last4,
                    status,
                }))
            }
            Last::Provider { status, error, retry_after } => Failed::Provider { status, error, retry_after, tried },
        })
    }
}

impl Providers {
    /// Sends `out` over the worker's upstream client: its origin's target
    /// (kept), the rest of its URL as the request target, its headers
    /// after `Host`.
    async fn send(
        &self,
        client: &UpstreamClient,
        out: OutboundRequest,
        timeout: Duration,
    ) -> Result<Response<Body>, UpstreamError> {
        let no_host = || UpstreamError::BadUrl("provider URL names no scheme or host".into());
        let host_at = out.url.find("://").ok_or_else(no_host)? + 3;
        let path_at = out.url[host_at..].find(['/', '?']).map_or(out.url.len(), |i| host_at + i);
        if path_at == host_at {
            return Err(no_host());
        }
        let target = self.origin(&out.url[..path_at]);
        let origin = target.origin.as_ref().map_err(|e| UpstreamError::BadUrl(e.clone()))?;
        let bad = |e: &dyn std::fmt::Display| UpstreamError::BadUrl(e.to_string());
        let path = match &out.url[path_at..] {
            "" => PathAndQuery::from_static("/"),
            p => PathAndQuery::try_from(p).map_err(|e| bad(&e))?,
        };
        let mut req = Request::new(full(Bytes::from(out.body)));
        *req.method_mut() = Method::from_bytes(out.method.as_bytes()).map_err(|e| bad(&e))?;
        *req.uri_mut() = Uri::from(path);
        let headers = req.headers_mut();
        headers.reserve(out.headers.len() + 1);
        headers.insert(http::header::HOST, origin.host_header.clone());
        for (name, value) in &out.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| bad(&e))?;
            headers.append(name, HeaderValue::from_str(value).map_err(|e| bad(&e))?);
        }
        client.send(&target, req, timeout, None).await
    }
}

/// At most [`MAX_ERROR_BODY`] bytes of an error answer.
async fn read_error_body(body: Body) -> Bytes {
    super::body::collect(body, MAX_ERROR_BODY).await.unwrap_or_default()
}
