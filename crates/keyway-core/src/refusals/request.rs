//! Stage 0, the request itself: `request_malformed`.

use super::Seen;
use crate::{ErrorCode, Refusal};

/// What is wrong with the request's form.
#[derive(Debug, Clone, Copy)]
pub enum Malformed<'a> {
    /// The path holds `what` (a broken escape, NUL, bad UTF-8).
    Path {
        /// The path as received.
        path: &'a str,
        /// What it holds, e.g. "percent-escapes that do not decode to UTF-8".
        what: &'a str,
    },
    /// An HTTP/1.1 request without `Host`.
    MissingHost,
    /// The request head cannot be parsed (what is wrong with it).
    Head(&'a dyn Seen),
    /// The body's framing (chunked encoding, length) is broken.
    BodyFraming(&'a dyn Seen),
    /// The body ended before the length it declared.
    BodyCut(&'a dyn Seen),
}

impl Refusal {
    /// `request_malformed`: the request cannot be read as HTTP says.
    pub fn request_malformed(why: Malformed<'_>) -> Self {
        match why {
            Malformed::Path { path, what } => Self::new(
                ErrorCode::RequestMalformed,
                format!("The request path contains {what}."),
                format!("path {path:?} contains {what}"),
            )
            .hint("Percent-encode the path as RFC 3986 says: % and two hex digits per byte of UTF-8 text."),
            Malformed::MissingHost => Self::new(
                ErrorCode::RequestMalformed,
                "An HTTP/1.1 request must carry a Host header.",
                "HTTP/1.1 request without Host",
            )
            .hint("Send the Host header (every HTTP/1.1 client library does; check hand-written requests)."),
            Malformed::Head(what) => Self::new(
                ErrorCode::RequestMalformed,
                format!("The request head is not valid HTTP/1.1: {what}."),
                format!("request head: {what}"),
            )
            .hint("Check the request line and headers the client sends (one header per line, name: value, lines ending in CRLF).")
            .closing_connection(),
            Malformed::BodyFraming(fault) => {
                Self::new(ErrorCode::RequestMalformed, "The request body's framing is broken.", fault.to_string())
                    .hint("Check the client's chunked encoding or Content-Length.")
            }
            Malformed::BodyCut(fault) => {
                Self::new(ErrorCode::RequestMalformed, "The request body ended before it was complete.", fault.to_string())
                    .hint("Send the whole body the request declares.")
            }
        }
    }
}
