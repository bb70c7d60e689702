//! Google Gemini `generateContent` (`POST /v1beta/models/{model}:generateContent`,
//! and `:streamGenerateContent?alt=sse` for streams).
//!
//! Provider side only: requests are rendered, responses and streams parsed.
//! The model is named in the URL, not the body (see
//! [`ProviderKind::url`](crate::provider::ProviderKind::url)).
//!
//! - [`render_request`]: request bodies (`contents`, `systemInstruction`,
//!   `tools`, `toolConfig`, `generationConfig`).
//! - [`parse_response`]: `GenerateContentResponse` bodies;
//!   [`usage_from_gemini`] documents the exact `usageMetadata` mapping.
//! - [`StreamDecoder`]: `alt=sse` streams, which have no end marker: call
//!   [`StreamDecoder::finish`] when the body ends.
//! - [`parse_error`] / [`render_error`]: `{"error": {code, message, status}}`.
//!
//! Not provided: parsing Gemini requests or rendering Gemini responses and
//! streams (a Gemini-speaking caller), and `embedContent` bodies.

mod error;
mod request;
mod response;
mod schema;
mod stream_decode;

pub use error::{parse_error, render_error};
pub use request::render_request;
pub(crate) use response::split_signed_id;
pub use response::{finish_reason_from_gemini, parse_response, usage_from_gemini};
pub use stream_decode::StreamDecoder;
