//! A request's body as the phases after authorization take it: still
//! streaming from the client, or already read whole (a signed request's,
//! whose `Content-Digest` the signature stage checked against it).

use crate::body::{full, Body, BodyError};
use crate::handler::{client_fault, declared_within};
use bytes::Bytes;
use http::HeaderMap;
use http_body_util::BodyExt;
use keyway_core::Refusal;
use keyway_listener::{BodyProgress, GuardedBody};
use std::sync::Arc;

/// The caller's request body.
#[derive(Debug)]
pub enum Inbound {
    /// Not read yet: forwarded as it arrives, under the listener's rules.
    Streaming(GuardedBody),
    /// Read whole, within the gateway's body limit.
    Read(Bytes),
}

impl Inbound {
    /// The streaming body's progress (for telling a client's fault from
    /// the upstream's); `None` once read or when empty.
    pub fn progress(&self) -> Option<Arc<BodyProgress>> {
        match self {
            Inbound::Streaming(b) => b.progress(),
            Inbound::Read(_) => None,
        }
    }

    /// The body to forward.
    pub fn into_body(self) -> Body {
        match self {
            Inbound::Streaming(b) => b.map_err(|e| -> BodyError { Box::new(e) }).boxed(),
            Inbound::Read(bytes) => full(bytes),
        }
    }

    /// The whole body, within `limit` (a body the client broke is named
    /// as the client's fault, `reader` being who would have read it).
    pub async fn read(self, headers: &HeaderMap, limit: u64, reader: &str) -> Result<Bytes, Refusal> {
        match self {
            Inbound::Read(bytes) => Ok(bytes),
            Inbound::Streaming(body) => read_whole(headers, body, limit, reader).await,
        }
    }
}

/// `body`, whole, within `limit`: a declared longer one is refused before
/// any of it is read, a streamed longer one when it passes the limit.
pub async fn read_whole(headers: &HeaderMap, body: GuardedBody, limit: u64, reader: &str) -> Result<Bytes, Refusal> {
    declared_within(headers, limit)?;
    let progress = body.progress();
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    let body: Body = body.map_err(|e| -> BodyError { Box::new(e) }).boxed();
    match crate::ai::body::collect(body, cap).await {
        Ok(bytes) => Ok(bytes),
        Err(e) => Err(match progress.as_deref().and_then(|p| p.fault()) {
            Some(fault) => client_fault(fault, reader),
            None => match e {
                crate::ai::body::Collect::TooLarge => Refusal::payload_too_large(limit, "streamed body over the limit"),
                crate::ai::body::Collect::Broken(e) => {
                    Refusal::request_invalid(None, format_args!("the body could not be read: {e}"))
                }
            },
        }),
    }
}
