//! OpenAI Chat Completions (`POST /v1/chat/completions`).
//!
//! - [`parse_request`] / [`render_request`]: request bodies.
//! - [`parse_response`] / [`render_response`]: `chat.completion` bodies.
//! - [`StreamDecoder`] / [`StreamEncoder`]: `data: {chat.completion.chunk}`
//!   ... `data: [DONE]` streams.
//! - [`parse_error`] / [`render_error`]: `{"error": {message, type, param, code}}`.

mod content;
mod error;
mod request;
mod request_typed;
mod response;
mod stream_decode;
mod stream_encode;

pub use error::{parse_error, render_error};
pub use request::{parse_request, render_request};
pub(crate) use response::UsageWire;
pub use response::{parse_response, render_response, usage_from_openai, usage_to_openai};
pub(crate) use stream_decode::usage_only_event;
pub use stream_decode::StreamDecoder;
pub use stream_encode::StreamEncoder;
