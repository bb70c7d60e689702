//! Bodies read whole: the caller's request body (within the gateway's
//! body limit, a body the client broke named as the client's fault) and a
//! provider's answer or error.

use crate::body::{Body, BodyError};
use crate::inbound::Inbound;
use bytes::Bytes;
use http::Request;
use http_body::Body as _;
use http_body_util::BodyExt;
use keyway_core::Refusal;

/// The largest provider answer read whole (non-streamed).
pub const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// The request body, whole, within `limit`.
pub async fn read_body(req: Request<Inbound>, limit: u64) -> Result<Bytes, Refusal> {
    let (parts, body) = req.into_parts();
    body.read(&parts.headers, limit, "the AI provider").await
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
