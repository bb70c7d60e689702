//! [`ApiError`]: an error body, independent of any wire format.

use crate::error::FormatError;

/// What kind of failure an error body reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed (HTTP 400).
    InvalidRequest,
    /// Bad or missing credentials (401).
    Authentication,
    /// Credentials lack permission (403).
    Permission,
    /// No such model or resource (404).
    NotFound,
    /// The body is too large (413).
    RequestTooLarge,
    /// Rate or quota limit hit (429).
    RateLimit,
    /// The provider is overloaded (Anthropic 529, OpenAI 503).
    Overloaded,
    /// Provider-side failure (500).
    Server,
    /// Anything else, with the provider's `type` verbatim.
    Other(String),
}

impl ErrorKind {
    /// The HTTP status this kind is usually sent with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::InvalidRequest | Self::Other(_) => 400,
            Self::Authentication => 401,
            Self::Permission => 403,
            Self::NotFound => 404,
            Self::RequestTooLarge => 413,
            Self::RateLimit => 429,
            Self::Overloaded => 529,
            Self::Server => 500,
        }
    }
}

/// An error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// What failed.
    pub kind: ErrorKind,
    /// Human-readable explanation.
    pub message: String,
    /// OpenAI `param`: the offending field, when known.
    pub param: Option<String>,
    /// OpenAI `code`: a machine-readable code, when given.
    pub code: Option<String>,
}

impl From<&FormatError> for ApiError {
    /// A `400 request_invalid` naming the bad field.
    fn from(e: &FormatError) -> Self {
        Self {
            kind: ErrorKind::InvalidRequest,
            message: e.to_string(),
            param: e.path().map(str::to_owned),
            code: Some("request_invalid".to_owned()),
        }
    }
}
