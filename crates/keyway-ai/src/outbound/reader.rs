//! [`ResponseReader`]: a provider's answer bytes, back to canonical values.

use std::time::Duration;

use crate::canonical::{ApiError, ChatResponse, ErrorKind, StreamEvent, Usage, WireFormat};
use crate::error::FormatError;
use crate::provider::ProviderKind;
use crate::{anthropic, gemini, openai};

/// Longest provider error text kept when the body is not a known error shape.
const MAX_RAW_MESSAGE: usize = 1000;

/// Which parsers read a provider's answers: its wire format's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseReader {
    /// OpenAI Chat Completions (OpenAI, Azure, Mistral, Ollama, `openai_compatible`).
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
    /// Gemini `generateContent`.
    Gemini,
}

impl ResponseReader {
    /// The reader for `kind`'s [`wire_format`](ProviderKind::wire_format).
    pub fn for_kind(kind: ProviderKind) -> Self {
        Self::for_format(kind.wire_format())
    }

    /// The reader for `format`.
    pub fn for_format(format: WireFormat) -> Self {
        match format {
            WireFormat::OpenAi => Self::OpenAi,
            WireFormat::Anthropic => Self::Anthropic,
            WireFormat::Gemini => Self::Gemini,
        }
    }

    /// Parses a successful (2xx) non-streamed chat body.
    pub fn parse_response(self, body: &[u8]) -> Result<ChatResponse, FormatError> {
        match self {
            Self::OpenAi => openai::parse_response(body),
            Self::Anthropic => anthropic::parse_response(body),
            Self::Gemini => gemini::parse_response(body),
        }
    }

    /// The usage of a successful (2xx) non-streamed chat body, reading only
    /// its top-level `usage` member (the rest is skipped, not built): what
    /// metering needs when the body itself goes back to a caller of the
    /// same format. `Ok(None)` when the body has no usage; Gemini bodies
    /// (`usageMetadata`) are parsed whole.
    pub fn usage_of(self, body: &[u8]) -> Result<Option<Usage>, FormatError> {
        match self {
            Self::OpenAi => usage_member::<openai::UsageWire>(body)
                .map_or_else(|| read_usage_map(body)?.map(|m| openai::usage_from_openai(&m, "usage")).transpose(), Ok),
            Self::Anthropic => usage_member::<anthropic::UsageWire>(body)
                .map_or_else(|| read_usage_map(body)?.map(|m| anthropic::usage_from_anthropic(&m, "usage")).transpose(), Ok),
            Self::Gemini => Ok(gemini::parse_response(body)?.usage),
        }
    }

    /// The usage of one whole SSE event of a stream in this format, when
    /// the event carries nothing else (OpenAI's usage-only chunk: a single
    /// `data:` line, `choices` empty, no `error`), read without decoding
    /// the rest; `None` for any other event (or format): decode it with
    /// [`ResponseReader::stream`].
    pub fn usage_only_event(self, event: &[u8]) -> Option<Usage> {
        match self {
            Self::OpenAi => openai::usage_only_event(event),
            Self::Anthropic | Self::Gemini => None,
        }
    }

    /// Reads an error answer (HTTP `status`, non-2xx). Never fails:
    ///
    /// - a body in the format's error shape is parsed; when its kind is
    ///   unknown ([`ErrorKind::Other`], e.g. Azure's `{"error": {"code":
    ///   "401"}}` without `type`) and `status` names one, the status wins
    ///   and the provider's type is kept in [`ApiError::code`] (if unset);
    /// - any other body (Mistral's `{"detail": ...}`, an HTML proxy page)
    ///   gives the kind from `status` and the body text (lossy UTF-8, at
    ///   most 1000 bytes) as the message.
    pub fn parse_error(self, status: u16, body: &[u8]) -> ApiError {
        let parsed = match self {
            Self::OpenAi => openai::parse_error(body),
            Self::Anthropic => anthropic::parse_error(body),
            Self::Gemini => gemini::parse_error(body),
        };
        let from_status = kind_from_status(status);
        match parsed {
            Ok(mut e) => {
                if let (ErrorKind::Other(t), Some(k)) = (&e.kind, &from_status) {
                    if e.code.is_none() && !t.is_empty() {
                        e.code = Some(t.clone());
                    }
                    e.kind = k.clone();
                }
                e
            }
            Err(_) => ApiError {
                kind: from_status.unwrap_or_else(|| ErrorKind::Other(status.to_string())),
                message: raw_message(status, body),
                param: None,
                code: None,
            },
        }
    }

    /// A fresh stream decoder for a streamed (2xx) answer.
    pub fn stream(self) -> ProviderStream {
        match self {
            Self::OpenAi => ProviderStream::OpenAi(openai::StreamDecoder::new()),
            Self::Anthropic => ProviderStream::Anthropic(anthropic::StreamDecoder::new()),
            Self::Gemini => ProviderStream::Gemini(gemini::StreamDecoder::new()),
        }
    }
}

/// The stream decoder of a provider's format.
#[derive(Debug)]
pub enum ProviderStream {
    /// `data: {chat.completion.chunk}` ... `data: [DONE]`.
    OpenAi(openai::StreamDecoder),
    /// `message_start` ... `message_stop`.
    Anthropic(anthropic::StreamDecoder),
    /// Gemini `alt=sse` chunks.
    Gemini(gemini::StreamDecoder),
}

impl ProviderStream {
    /// Feeds raw body bytes, split anywhere.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<StreamEvent>, FormatError> {
        match self {
            Self::OpenAi(d) => d.feed(bytes),
            Self::Anthropic(d) => d.feed(bytes),
            Self::Gemini(d) => d.feed(bytes),
        }
    }

    /// Ends the stream; call it when the HTTP body ends (Gemini's final
    /// usage and [`StreamEvent::Done`] only come from here).
    pub fn finish(&mut self) -> Result<Vec<StreamEvent>, FormatError> {
        match self {
            Self::OpenAi(d) => d.finish(),
            Self::Anthropic(d) => d.finish(),
            Self::Gemini(d) => d.finish(),
        }
    }
}

/// A `Retry-After` header value in delta-seconds (`30`, or `1.5` as some
/// providers send). `None` for an HTTP-date or anything else.
pub fn retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    v.parse::<f64>().ok().and_then(|s| Duration::try_from_secs_f64(s).ok())
}

fn kind_from_status(status: u16) -> Option<ErrorKind> {
    Some(match status {
        400 | 422 => ErrorKind::InvalidRequest,
        401 => ErrorKind::Authentication,
        403 => ErrorKind::Permission,
        404 => ErrorKind::NotFound,
        413 => ErrorKind::RequestTooLarge,
        429 => ErrorKind::RateLimit,
        503 | 529 => ErrorKind::Overloaded,
        500..=599 => ErrorKind::Server,
        _ => return None,
    })
}

fn raw_message(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body.get(..MAX_RAW_MESSAGE).unwrap_or(body));
    let text = text.trim();
    if text.is_empty() {
        format!("provider answered HTTP {status} with no error body")
    } else {
        text.to_owned()
    }
}

/// The top-level `usage` member of a JSON body read straight into `U`
/// (the rest skipped, nothing built); `None` when the body is not one
/// `U` takes, to be read again by [`read_usage_map`] for the error.
fn usage_member<U: serde::de::DeserializeOwned + Into<Usage>>(body: &[u8]) -> Option<Option<Usage>> {
    #[derive(serde::Deserialize)]
    struct UsageOnly<U> {
        // Absent reads as `None` (serde's rule for an `Option` member).
        usage: Option<U>,
    }
    let read: UsageOnly<U> = serde_json::from_slice(body).ok()?;
    Some(read.usage.map(Into::into))
}

/// The top-level `usage` member of a JSON body as a map, for the readers
/// that name the member at fault.
fn read_usage_map(body: &[u8]) -> Result<Option<serde_json::Map<String, serde_json::Value>>, FormatError> {
    #[derive(serde::Deserialize)]
    struct UsageOnly {
        #[serde(default)]
        usage: Option<serde_json::Map<String, serde_json::Value>>,
    }
    Ok(serde_json::from_slice::<UsageOnly>(body).map_err(|e| FormatError::Json { detail: e.to_string() })?.usage)
}

#[cfg(test)]
mod tests {
    use super::ResponseReader;

    #[test]
    fn usage_alone_reads_what_the_whole_parse_reads() {
        let openai = br#"{"id":"c","object":"chat.completion","created":1,"model":"m",
            "choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],
            "usage":{"prompt_tokens":19,"completion_tokens":6,"total_tokens":25,
                     "prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":2}}}"#;
        let anthropic = br#"{"id":"msg","type":"message","role":"assistant","model":"m",
            "content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","stop_sequence":null,
            "usage":{"input_tokens":12,"cache_creation_input_tokens":1,"cache_read_input_tokens":7,"output_tokens":6}}"#;
        for (reader, body) in [(ResponseReader::OpenAi, &openai[..]), (ResponseReader::Anthropic, &anthropic[..])] {
            let whole = reader.parse_response(body).unwrap().usage;
            assert!(whole.is_some());
            assert_eq!(reader.usage_of(body).unwrap(), whole);
        }
        assert_eq!(ResponseReader::OpenAi.usage_of(br#"{"choices":[]}"#).unwrap(), None);
        assert_eq!(ResponseReader::OpenAi.usage_of(br#"{"choices":[],"usage":null}"#).unwrap(), None);
        assert!(ResponseReader::OpenAi.usage_of(b"not json").is_err());
    }

    #[test]
    fn nulls_read_as_absent_and_a_member_of_the_wrong_shape_is_named() {
        let nulls = br#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":null,
            "prompt_tokens_details":null,"completion_tokens_details":{"reasoning_tokens":null}}}"#;
        let read = ResponseReader::OpenAi.usage_of(nulls).unwrap().unwrap();
        assert_eq!(Some(read), ResponseReader::OpenAi.parse_response(nulls).unwrap().usage);
        assert_eq!((read.input_tokens, read.output_tokens, read.reasoning_tokens), (3, 0, 0));
        for (reader, body, member) in [
            (ResponseReader::OpenAi, &br#"{"choices":[],"usage":{"prompt_tokens":1.5}}"#[..], "prompt_tokens"),
            (
                ResponseReader::OpenAi,
                br#"{"choices":[],"usage":{"prompt_tokens_details":{"cached_tokens":-1}}}"#,
                "cached_tokens",
            ),
            (ResponseReader::Anthropic, br#"{"usage":{"input_tokens":"7"}}"#, "input_tokens"),
        ] {
            let err = reader.usage_of(body).unwrap_err().to_string();
            assert!(err.contains(member), "{err}");
        }
    }
}
