//! The provider catalog: which upstreams Keyway speaks to, and how.
//!
//! - [`kind`]: [`ProviderKind`] (`openai`, `azure_openai`, `anthropic`,
//!   `gemini`, `mistral`, `ollama`, `openai_compatible`), with each kind's
//!   default base URL and the [`WireFormat`](crate::WireFormat) it speaks.
//! - [`auth`]: how the credential is sent ([`CredentialScheme`],
//!   [`ProviderKind::auth_headers`]).
//! - [`endpoint`]: the URL of an [`Operation`] ([`ProviderKind::url`]).
//! - [`support`]: what a kind's format cannot carry ([`ProviderKind::unsupported`]).
//! - [`preset`](mod@preset): named `openai_compatible` upstreams (vLLM, DeepSeek,
//!   Groq, OpenRouter, Together, Fireworks, LM Studio) and their base URLs.
//!
//! Everything here is data and string building; no request is sent.

pub mod auth;
pub mod endpoint;
pub mod kind;
pub mod preset;
pub mod support;

pub use auth::{CredentialScheme, ANTHROPIC_VERSION};
pub use endpoint::{Operation, AZURE_DEFAULT_API_VERSION};
pub use kind::{ProviderKind, UnknownProvider};
pub use preset::{preset, Preset, PRESETS};
pub use support::Unsupported;
