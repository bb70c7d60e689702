//! [`FormatError`]: why a body, a stream event or an SSE frame could not be
//! read. Every variant about a field names its JSON path (`messages[2].content`),
//! so the gateway can answer `400 request_invalid` naming the field.

/// A body or stream frame that does not fit its wire format.
///
/// Parsing never panics: truncated, garbage or mistyped input comes back as
/// one of these. Paths use dots for object keys and `[i]` for array
/// elements, relative to the body root (`messages[2].content[0].text`);
/// the root itself is `body`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The bytes are not JSON at all (or are truncated JSON).
    #[error("body is not valid JSON: {detail}")]
    Json {
        /// The JSON parser's message (line and column).
        detail: String,
    },
    /// A required field is absent (or `null`).
    #[error("missing required field `{path}`")]
    Missing {
        /// JSON path of the absent field.
        path: String,
    },
    /// A field is present with the wrong JSON type.
    #[error("field `{path}` must be {expected}")]
    WrongType {
        /// JSON path of the field.
        path: String,
        /// What the format requires there, e.g. `a string`.
        expected: &'static str,
    },
    /// A field has the right type but a value the format does not allow.
    #[error("field `{path}` is invalid: {reason}")]
    Invalid {
        /// JSON path of the field.
        path: String,
        /// Why the value is refused.
        reason: String,
    },
    /// One SSE event grew beyond the decoder's size bound.
    #[error("stream event exceeds {max} bytes")]
    EventTooLarge {
        /// The bound, in bytes.
        max: usize,
    },
}

impl FormatError {
    /// The JSON path of the offending field, when the error is about one.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Missing { path } | Self::WrongType { path, .. } | Self::Invalid { path, .. } => Some(path),
            Self::Json { .. } | Self::EventTooLarge { .. } => None,
        }
    }

    pub(crate) fn invalid(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid { path: path.into(), reason: reason.into() }
    }
}
