//! Keyway's AI gateway formats, with no I/O.
//!
//! Layering: a caller speaks one wire format, a provider another, and
//! everything passes through one canonical model in between:
//!
//! ```text
//! caller bytes --parse--> canonical --render--> provider bytes
//! provider bytes --parse/decode--> canonical --render/encode--> caller bytes
//! ```
//!
//! - [`canonical`]: [`ChatRequest`], [`ChatResponse`], [`StreamEvent`],
//!   [`Usage`], [`ApiError`]: the provider-neutral model.
//! - [`openai`]: OpenAI Chat Completions requests, responses, errors and
//!   `chat.completion.chunk` streams.
//! - [`anthropic`]: Anthropic Messages requests, responses, errors and
//!   `message_start`...`message_stop` streams.
//! - [`gemini`]: Google Gemini `generateContent` as a provider: requests
//!   rendered, responses, `alt=sse` streams and errors parsed.
//! - [`price`]: [`Price`](price::Price), [`cost`](price::cost) and the
//!   built-in [`PriceTable`](price::PriceTable) (`prices.toml`).
//! - [`provider`]: the provider catalog: [`ProviderKind`], base URLs,
//!   credential headers, operation URLs and `openai_compatible` presets.
//! - [`outbound`]: a request for a [`ProviderTarget`](outbound::ProviderTarget)
//!   built (URL, headers, body; the caller's bytes passed through when
//!   formats match) and the provider's answer read back
//!   ([`ResponseReader`](outbound::ResponseReader)). Still no I/O.
//! - [`sse`]: an incremental Server-Sent Events decoder and an encoder,
//!   used by both streaming formats.
//! - [`error`]: [`FormatError`], which names the JSON path of a bad field.
//!
//! Parsers take bytes and never panic: bad input is a [`FormatError`].
//! Renderers take canonical values and cannot fail. Unknown top-level
//! request fields are kept in [`ChatRequest::extra`] and rendered back only
//! into the format they came from. Anything one format cannot express in
//! the other is dropped on translation; each renderer documents what.
//!
//! ```
//! # fn main() -> Result<(), keyway_ai::FormatError> {
//! use keyway_ai::{anthropic, openai};
//!
//! // An OpenAI caller, an Anthropic provider.
//! let req = openai::parse_request(br#"{"model":"claude-sonnet-4-5",
//!     "messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]}"#)?;
//! let upstream = anthropic::render_request(&req); // system top-level, max_tokens 4096
//! assert!(String::from_utf8_lossy(&upstream).contains(r#""system":"Be brief.""#));
//!
//! // The provider's stream, translated back chunk by chunk.
//! let mut decode = anthropic::StreamDecoder::new();
//! let mut encode = openai::StreamEncoder::new(1_700_000_000, false);
//! let mut out = Vec::new();
//! for chunk in [&b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"[..]] {
//!     for ev in decode.feed(chunk)? {
//!         out.extend(encode.encode(&ev));
//!     }
//! }
//! assert_eq!(out, b"data: [DONE]\n\n");
//! # Ok(())
//! # }
//! ```

pub mod anthropic;
pub mod canonical;
pub mod error;
pub mod gemini;
mod json;
pub mod json_mode;
pub mod openai;
pub mod outbound;
pub mod price;
pub mod provider;
pub mod sse;

pub use canonical::{
    ApiError, ChatRequest, ChatResponse, Choice, ContentPart, ErrorKind, FinishReason, ImageSource, Message, ResponseFormat,
    Role, StreamEvent, Tool, ToolCall, ToolChoice, Usage, WireFormat,
};
pub use error::FormatError;
pub use provider::ProviderKind;
