//! The canonical chat model every wire format translates to and from.
//!
//! - [`request`]: [`ChatRequest`], [`Message`], [`ContentPart`], tools.
//! - [`response`]: [`ChatResponse`], [`Choice`], [`FinishReason`].
//! - [`usage`]: [`Usage`], with the exact per-provider token accounting.
//! - [`stream`]: [`StreamEvent`], the canonical streaming vocabulary.
//! - [`error`]: [`ApiError`], a provider-neutral error body.

pub mod error;
pub mod request;
pub mod response;
pub mod stream;
pub mod usage;

pub use error::{ApiError, ErrorKind};
pub use request::{ChatRequest, ContentPart, ImageSource, Message, ResponseFormat, Role, Tool, ToolCall, ToolChoice, WireFormat};
pub use response::{ChatResponse, Choice, FinishReason};
pub use stream::StreamEvent;
pub use usage::Usage;
