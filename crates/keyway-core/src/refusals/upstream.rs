//! Stage 7, the body and the upstream exchange: `payload_too_large`,
//! `request_timeout`, `upstream_timeout`, `upstream_unavailable`,
//! `gateway_overloaded`, and `internal_error` for a bug.

use crate::{ErrorCode, Refusal};
use std::fmt::Display;
use std::time::Duration;

/// How a request body was too slow.
#[derive(Debug, Clone, Copy)]
pub enum BodyTimeout {
    /// It paused longer than the body-read timeout.
    Stalled(Duration),
    /// It did not finish within the whole-request deadline.
    TooSlow(Duration),
}

impl Refusal {
    /// `payload_too_large`: the body is over `limit` bytes; `evidence`
    /// says how that was seen (a declared length, or the bytes streamed).
    pub fn payload_too_large(limit: u64, evidence: impl Display) -> Self {
        Self::new(
            ErrorCode::PayloadTooLarge,
            format!("The request body is larger than this gateway accepts ({limit} bytes)."),
            evidence.to_string(),
        )
        .hint("Send a smaller body.")
    }

    /// `request_timeout`: the client sent its body too slowly.
    pub fn request_timeout(why: BodyTimeout, evidence: impl Display) -> Self {
        let (detail, hint) = match why {
            BodyTimeout::Stalled(t) => {
                (format!("The request body paused for more than {} ms.", t.as_millis()), "Send the body without long pauses.")
            }
            BodyTimeout::TooSlow(t) => (
                format!("The request body did not arrive within {} ms.", t.as_millis()),
                "Send the body faster, or a smaller one.",
            ),
        };
        Self::new(ErrorCode::RequestTimeout, detail, evidence.to_string()).hint(hint)
    }

    /// `upstream_timeout`: `target` did not answer within `timeout`.
    pub fn upstream_timeout(timeout: Duration, target: &str, error: impl Display) -> Self {
        Self::new(
            ErrorCode::UpstreamTimeout,
            format!("The upstream service did not answer within {} ms.", timeout.as_millis()),
            format!("{target}: {error}"),
        )
        .hint("Retry later; if it persists, tell the API's operators the request id.")
        .fix("check the upstream's health and latency, or raise upstream.timeout_ms")
    }

    /// `upstream_unavailable`: no target, or `target` could not be reached.
    pub fn upstream_unavailable(target: &str, error: impl Display) -> Self {
        Self::new(ErrorCode::UpstreamUnavailable, "The upstream service is unavailable.", format!("{target}: {error}"))
            .hint("Retry later; if it persists, tell the API's operators the request id.")
            .fix("check that the API's upstream targets are up and reachable from the gateway")
    }

    /// `gateway_overloaded`: listener `listener` is at `max_connections`.
    pub fn gateway_overloaded(listener: &str, max_connections: usize) -> Self {
        Self::new(
            ErrorCode::GatewayOverloaded,
            "The gateway is at its connection limit.",
            format!("{listener} listener at max_connections = {max_connections}"),
        )
        .hint("Retry in a moment; reuse connections (keep-alive) instead of opening new ones.")
        .header("retry-after", "1")
    }

    /// `internal_error`: a bug; the request id leads to the log.
    pub fn internal(evidence: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, "The gateway failed to handle this request.", evidence)
            .hint("Quote the request id to the API's operators.")
    }
}
