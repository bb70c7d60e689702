//! An HMAC-signed request verified before the snapshot phases run,
//! because verification needs I/O: the whole body, for its
//! `Content-Digest` (read within the gateway's body limit), and the nonce
//! store, which a cluster puts in Redis. The secret was opened when the
//! snapshot was built; nothing here reads storage. The phases then read
//! the outcome (`CallInput::signature_check`) instead of verifying again,
//! and the body goes upstream as read.

use crate::inbound::{read_whole, Inbound};
use bytes::Bytes;
use http::Request;
use keyway_core::model::AuthMethod;
use keyway_credentials::http_signature::NonceStore;
use keyway_listener::GuardedBody;
use keyway_pipeline::stages::{route, signature};
use keyway_pipeline::Snapshot;

/// What a signed request needs besides itself.
pub struct Context<'a> {
    /// The snapshot this request reads.
    pub snapshot: &'a Snapshot,
    /// `http` or `https`, as callers reach the gateway.
    pub scheme: &'a str,
    /// The gateway's body limit.
    pub max_body_bytes: u64,
    /// This node's nonce store.
    pub nonces: &'a dyn NonceStore,
    /// Now.
    pub now: chrono::DateTime<chrono::Utc>,
}

/// The request with its body (read whole when it was signed for an API
/// that accepts `hmac`), and the outcome of verifying its signature
/// (`None`: not signed, or its API does not take signatures).
pub async fn verify(ctx: Context<'_>, req: Request<GuardedBody>) -> (Request<Inbound>, Option<signature::Prechecked>) {
    let (parts, body) = req.into_parts();
    let host = match parts.headers.get(http::header::HOST) {
        Some(h) => h.to_str().ok(),
        None => parts.uri.authority().map(|a| a.as_str()),
    };
    let api = match route::check(ctx.snapshot, host, parts.method.as_str(), parts.uri.path()) {
        Ok(api) if signature::signed(&parts.headers) && api.api.auth.contains(&AuthMethod::Hmac) => api,
        _ => return (Request::from_parts(parts, Inbound::Streaming(body)), None),
    };
    let bytes = match read_whole(&parts.headers, body, ctx.max_body_bytes, "the gateway (signed body)").await {
        Ok(bytes) => bytes,
        Err(refusal) => return (Request::from_parts(parts, Inbound::Read(Bytes::new())), Some(Err(refusal))),
    };
    let outcome = {
        let request = signature::request(
            parts.method.as_str(),
            ctx.scheme,
            host,
            parts.uri.path(),
            parts.uri.query(),
            &parts.headers,
            &bytes,
        );
        let now = u64::try_from(ctx.now.timestamp()).unwrap_or(0);
        signature::verifier(&api)
            .verify(&request, &ctx.snapshot.hmac, ctx.nonces, now)
            .await
            .map_err(|e| signature::verify_error(ctx.snapshot, &e))
    };
    (Request::from_parts(parts, Inbound::Read(bytes)), Some(outcome))
}
