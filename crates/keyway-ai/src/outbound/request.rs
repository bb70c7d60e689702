//! [`ProviderTarget`], [`OutboundRequest`] and [`OutboundError`].

use std::fmt;

use crate::error::FormatError;
use crate::provider::ProviderKind;

/// The upstream a request goes to, and the model it asks for there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderTarget {
    /// The kind of provider.
    pub kind: ProviderKind,
    /// The base URL; `None` for the catalog's default (or the preset's).
    pub base_url: Option<String>,
    /// Azure's `api-version`; `None` for
    /// [`AZURE_DEFAULT_API_VERSION`](crate::provider::AZURE_DEFAULT_API_VERSION).
    /// Other kinds ignore it.
    pub api_version: Option<String>,
    /// An `openai_compatible` [`Preset`](crate::provider::Preset) name,
    /// giving the base URL when none is configured.
    pub preset: Option<String>,
    /// The provider's model name (Azure: the deployment name), sent in
    /// place of the caller's.
    pub model: String,
}

impl ProviderTarget {
    /// A target of `kind` for `model`, with every option defaulted.
    pub fn new(kind: ProviderKind, model: impl Into<String>) -> Self {
        Self { kind, base_url: None, api_version: None, preset: None, model: model.into() }
    }
}

/// Header names whose values are credentials, hidden from `Debug`.
const SECRET_HEADERS: [&str; 4] = ["authorization", "api-key", "x-api-key", "x-goog-api-key"];

/// A request ready to be sent: method, URL, headers and body.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// The HTTP method (always `POST` for chat and embeddings).
    pub method: &'static str,
    /// The full URL, query included.
    pub url: String,
    /// Headers, names lowercase, the credential among them.
    pub headers: Vec<(&'static str, String)>,
    /// The body (JSON).
    pub body: Vec<u8>,
    /// Whether the answer is an SSE stream (read it with
    /// [`ResponseReader::stream`](super::ResponseReader::stream)).
    pub stream: bool,
}

impl OutboundRequest {
    /// The value of header `name` (lowercase), if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for OutboundRequest {
    /// Credential headers show as `<redacted>`; the body as its length.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Headers<'a>(&'a [(&'static str, String)]);
        impl fmt::Debug for Headers<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut m = f.debug_map();
                for (name, value) in self.0 {
                    if SECRET_HEADERS.contains(name) {
                        m.entry(name, &"<redacted>");
                    } else {
                        m.entry(name, value);
                    }
                }
                m.finish()
            }
        }
        f.debug_struct("OutboundRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &Headers(&self.headers))
            .field("body_len", &self.body.len())
            .field("stream", &self.stream)
            .finish()
    }
}

/// Why a request could not be built. Never holds a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// No base URL configured and the kind has no default.
    #[error("provider `{kind}` needs a base_url: none is configured and it has no default")]
    NoBaseUrl {
        /// The provider kind.
        kind: ProviderKind,
    },
    /// The configured preset is not a known one.
    #[error("unknown openai_compatible preset `{0}`")]
    UnknownPreset(String),
    /// A preset was configured for a kind other than `openai_compatible`.
    #[error("preset `{preset}` only applies to openai_compatible, not `{kind}`")]
    PresetNotApplicable {
        /// The provider kind.
        kind: ProviderKind,
        /// The preset configured.
        preset: String,
    },
    /// The base URL is not an `http://` or `https://` URL.
    #[error("base_url `{0}` must start with http:// or https://")]
    BadBaseUrl(String),
    /// The target names no model.
    #[error("provider `{kind}` target has an empty model")]
    NoModel {
        /// The provider kind.
        kind: ProviderKind,
    },
    /// The provider has no such operation.
    #[error("provider `{kind}` does not support {operation}")]
    Unsupported {
        /// The provider kind.
        kind: ProviderKind,
        /// What was asked, e.g. `embeddings`.
        operation: &'static str,
    },
    /// The provider needs a credential and none (or an empty one) was given.
    #[error("provider `{kind}` needs a credential and none is configured")]
    MissingCredential {
        /// The provider kind.
        kind: ProviderKind,
    },
    /// The credential cannot be sent in an HTTP header (the value itself
    /// is never shown).
    #[error("credential for provider `{kind}` has a character not allowed in an HTTP header at byte {at}")]
    BadCredential {
        /// The provider kind.
        kind: ProviderKind,
        /// Byte offset of the first bad character.
        at: usize,
    },
    /// The caller's original body is not a JSON object (or lacks a
    /// required field).
    #[error("original request body: {0}")]
    Body(#[from] FormatError),
}
