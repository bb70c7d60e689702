//! [`ChatResponse`]: a complete (non-streamed) answer.

use super::request::Message;
use super::usage::Usage;

/// A complete chat answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    /// Provider-assigned id (`chatcmpl-...`, `msg_...`), kept as is.
    pub id: String,
    /// The model that answered.
    pub model: String,
    /// OpenAI `created` (Unix seconds); Anthropic has none.
    pub created: Option<u64>,
    /// The generated choices (Anthropic: exactly one).
    pub choices: Vec<Choice>,
    /// Token accounting, when reported.
    pub usage: Option<Usage>,
}

/// One generated answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// Position among the choices.
    pub index: u32,
    /// The assistant message (role [`Role::Assistant`](super::Role::Assistant)).
    pub message: Message,
    /// Why generation stopped, when known.
    pub finish_reason: Option<FinishReason>,
    /// Anthropic `stop_sequence`: which stop sequence matched.
    pub stop_sequence: Option<String>,
}

/// Why generation stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    /// Natural end or a stop sequence (OpenAI `stop`; Anthropic `end_turn`, `stop_sequence`).
    Stop,
    /// The token bound was hit (OpenAI `length`, Anthropic `max_tokens`).
    Length,
    /// The model called tools (OpenAI `tool_calls`/`function_call`, Anthropic `tool_use`).
    ToolCalls,
    /// Output was withheld (OpenAI `content_filter`, Anthropic `refusal`).
    ContentFilter,
    /// Anything else, verbatim (e.g. Anthropic `pause_turn`).
    Other(String),
}

impl FinishReason {
    /// Reads an OpenAI `finish_reason`.
    pub fn from_openai(s: &str) -> Self {
        match s {
            "stop" => Self::Stop,
            "length" => Self::Length,
            "tool_calls" | "function_call" => Self::ToolCalls,
            "content_filter" => Self::ContentFilter,
            other => Self::Other(other.to_owned()),
        }
    }

    /// As an OpenAI `finish_reason`.
    pub fn to_openai(&self) -> &str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
            Self::ToolCalls => "tool_calls",
            Self::ContentFilter => "content_filter",
            Self::Other(s) => s,
        }
    }

    /// Reads an Anthropic `stop_reason`.
    pub fn from_anthropic(s: &str) -> Self {
        match s {
            "end_turn" | "stop_sequence" => Self::Stop,
            "max_tokens" => Self::Length,
            "tool_use" => Self::ToolCalls,
            "refusal" => Self::ContentFilter,
            other => Self::Other(other.to_owned()),
        }
    }

    /// As an Anthropic `stop_reason`; [`Stop`](Self::Stop) becomes
    /// `stop_sequence` when a stop sequence matched, else `end_turn`.
    pub fn to_anthropic(&self, matched_stop_sequence: bool) -> &str {
        match self {
            Self::Stop if matched_stop_sequence => "stop_sequence",
            Self::Stop => "end_turn",
            Self::Length => "max_tokens",
            Self::ToolCalls => "tool_use",
            Self::ContentFilter => "refusal",
            Self::Other(s) => s,
        }
    }
}
