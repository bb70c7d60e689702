//! Outbound requests to a provider, built but not sent (still no I/O).
//!
//! - [`ProviderTarget`]: which upstream (kind, base URL, API version,
//!   preset) and which of its models (Azure: the deployment).
//! - [`build_chat`]: a [`ChatRequest`](crate::ChatRequest) as an
//!   [`OutboundRequest`] (method, URL, headers, body), passing the
//!   caller's bytes through when the caller speaks the provider's format.
//! - [`build_embeddings`]: an OpenAI embeddings body, for OpenAI-style kinds.
//! - [`ResponseReader`]: the provider's bytes (bodies, error bodies,
//!   streams) back into canonical values.
//!
//! Credentials only ever live in [`OutboundRequest::headers`]; every
//! `Debug` output here shows them as `<redacted>`.

mod build;
mod reader;
mod request;
mod splice;

pub use build::{build_chat, build_embeddings};
pub use reader::{retry_after, ProviderStream, ResponseReader};
pub use request::{OutboundError, OutboundRequest, ProviderTarget};
