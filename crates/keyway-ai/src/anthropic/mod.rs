//! Anthropic Messages (`POST /v1/messages`).
//!
//! - [`parse_request`] / [`render_request`]: request bodies (the
//!   `anthropic-version` header is the caller's business, not the body's).
//! - [`parse_response`] / [`render_response`]: `"type": "message"` bodies.
//! - [`StreamDecoder`] / [`StreamEncoder`]: `message_start`,
//!   `content_block_start`/`_delta`/`_stop`, `message_delta`,
//!   `message_stop`, `ping` and `error` events.
//! - [`parse_error`] / [`render_error`]: `{"type": "error", "error": {type, message}}`.

mod content;
mod error;
mod request;
mod response;
mod stream_decode;
mod stream_encode;

pub use error::{parse_error, render_error};
pub use request::{parse_request, render_request, DEFAULT_MAX_TOKENS};
pub(crate) use response::UsageWire;
pub use response::{parse_response, render_response, usage_from_anthropic, usage_to_anthropic};
pub use stream_decode::StreamDecoder;
pub use stream_encode::StreamEncoder;
