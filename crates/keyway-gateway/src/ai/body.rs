//! Bodies read whole: the caller's request body (within the gateway's
//! body limit, a body the client broke named as the client's fault) and a
//! provider's answer or error.

use crate::body::{Body, BodyError};
use bytes::Bytes;
use http::Request;
use http_body::Body as _;
use http_body_util::BodyExt;
use keyway_core::Refusal;
use keyway_listener::GuardedBody;

/// The largest provider answer read whole (non-streamed).
pub const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// The request body, whole, within `limit`.
pub async fn read_body(req: Request<GuardedBody>, limit: u64) -> Result<Bytes, Refusal> {
    crate::handler::declared_within(req.headers(), limit)?;
    let body = req.into_body();
    let progress = body.progress();
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let body: Body = body.map_err(|e| -> BodyError { Box::new(e) }).boxed();
    match collect(body, limit).await {
        Ok(bytes) => Ok(bytes),
        Err(e) => Err(match progress.as_deref().and_then(|p| p.fault()) {
            Some(fault) => crate::handler::client_fault(fault, "the AI provider"),
            None => match e {
                Collect::TooLarge => Refusal::payload_too_large(limit as u64, "streamed body over the limit"),
                Collect::Broken(e) => Refusal::request_invalid(None, format_args!("the body could not be read: {e}")),
            },
        }),
    }
}

/// A provider's whole answer.
pub async fn read_answer(body: Body, provider: &str) -> Result<Bytes, Refusal> {
    collect(body, MAX_ANSWER_BYTES).await.map_err(|e| match e {
        Collect::TooLarge => Refusal::upstream_unavailable(provider, format_args!("answer over {MAX_ANSWER_BYTES} bytes")),
        Collect::Broken(e) => Refusal::upstream_unavailable(provider, format_args!("answer body: {e}")),
    })
}

/// Why a body could not be read whole.
pub enum Collect {
    /// It is longer than the limit.
    TooLarge,
    /// It broke off.
    Broken(BodyError),
}

/// `body`, whole, if at most `limit` bytes.
pub async fn collect(mut body: Body, limit: usize) -> Result<Bytes, Collect> {
    let mut out = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(Collect::Broken)?.into_data() else { continue };
        if out.len() + data.len() > limit {
            return Err(Collect::TooLarge);
        }
        if out.is_empty() && body.is_end_stream() {
            return Ok(data);
        }
        out.extend_from_slice(&data);
    }
    Ok(out.freeze())
}
