//! [`ChatRequest`] and what it is made of.

use serde_json::{Map, Value};

/// A wire format this crate speaks. Used to tag data that only makes sense
/// in the format it came from (unknown fields, unknown content parts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireFormat {
    /// OpenAI Chat Completions (`/v1/chat/completions`).
    OpenAi,
    /// Anthropic Messages (`/v1/messages`).
    Anthropic,
    /// Google Gemini `generateContent` (`/v1beta/models/{model}:generateContent`).
    Gemini,
}

/// A chat request, independent of any wire format.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatRequest {
    /// The model the caller asked for, as sent.
    pub model: String,
    /// System instructions that precede the conversation: OpenAI's leading
    /// `system`/`developer` messages, Anthropic's top-level `system`.
    pub system: Vec<ContentPart>,
    /// The conversation, oldest first.
    pub messages: Vec<Message>,
    /// Tools (functions) the model may call.
    pub tools: Vec<Tool>,
    /// How the model must choose among [`tools`](Self::tools).
    pub tool_choice: Option<ToolChoice>,
    /// Whether the model may call several tools in one turn (OpenAI
    /// `parallel_tool_calls`, Anthropic `!disable_parallel_tool_use`).
    pub parallel_tool_calls: Option<bool>,
    /// The required shape of the output (OpenAI `response_format`).
    pub response_format: Option<ResponseFormat>,
    /// Upper bound on generated tokens.
    pub max_tokens: Option<u64>,
    /// OpenAI only: the caller spelt the bound `max_completion_tokens`
    /// (required by o-series models) rather than `max_tokens`; the OpenAI
    /// renderer keeps the caller's spelling.
    pub openai_max_completion_tokens: bool,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    pub top_p: Option<f64>,
    /// Stop sequences (OpenAI `stop`, Anthropic `stop_sequences`).
    pub stop: Vec<String>,
    /// Sampling seed (OpenAI only).
    pub seed: Option<i64>,
    /// How many choices to generate (OpenAI only; Anthropic always makes one).
    pub n: Option<u32>,
    /// Whether the caller wants a stream.
    pub stream: bool,
    /// Whether a stream must report usage (OpenAI
    /// `stream_options.include_usage`; Anthropic streams always do).
    pub include_usage: bool,
    /// End-user identifier (OpenAI `user`, Anthropic `metadata.user_id`).
    pub user: Option<String>,
    /// Unknown top-level fields, kept verbatim for pass-through.
    pub extra: Map<String, Value>,
    /// The format [`extra`](Self::extra) came from. Renderers write `extra`
    /// only when this is `None` (set by the gateway itself) or their own
    /// format, so OpenAI-only fields never reach Anthropic and vice versa.
    pub extra_format: Option<WireFormat>,
}

/// Who wrote a [`Message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Instructions; only appears here when it is not leading (leading
    /// instructions live in [`ChatRequest::system`]).
    System,
    /// The end user.
    User,
    /// The model.
    Assistant,
    /// The result of a tool call.
    Tool,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Text and images. For [`Role::Tool`], the tool's output.
    pub content: Vec<ContentPart>,
    /// [`Role::Assistant`] only: the tools the model called.
    pub tool_calls: Vec<ToolCall>,
    /// [`Role::Tool`] only: which call this is the result of.
    pub tool_call_id: Option<String>,
    /// [`Role::Tool`] only: the tool failed (Anthropic `is_error`).
    pub is_error: bool,
    /// Optional participant name (OpenAI `name`).
    pub name: Option<String>,
}

impl Message {
    /// A message with `role` and `content` and nothing else.
    pub fn new(role: Role, content: Vec<ContentPart>) -> Self {
        Self { role, content, tool_calls: Vec::new(), tool_call_id: None, is_error: false, name: None }
    }

    /// A message holding a single text part.
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Self::new(role, vec![ContentPart::Text(text.into())])
    }

    /// A tool result for `tool_call_id`.
    pub fn tool_result(tool_call_id: impl Into<String>, content: Vec<ContentPart>) -> Self {
        Self { tool_call_id: Some(tool_call_id.into()), ..Self::new(Role::Tool, content) }
    }

    /// The text parts concatenated.
    pub fn joined_text(&self) -> String {
        joined_text(&self.content)
    }
}

/// The text of `parts` concatenated (see [`ContentPart::as_text`]; images
/// and other parts skipped).
pub fn joined_text(parts: &[ContentPart]) -> String {
    parts.iter().filter_map(ContentPart::as_text).collect()
}

/// A piece of message content.
#[derive(Debug, Clone, PartialEq)]
pub enum ContentPart {
    /// Plain text.
    Text(String),
    /// An image.
    Image {
        /// Where the image is.
        source: ImageSource,
        /// OpenAI `detail` (`low`/`high`/`auto`), when given.
        detail: Option<String>,
    },
    /// A part type this crate does not model (audio, documents, thinking
    /// blocks...), kept verbatim. Only rendered back into `format`.
    Other {
        /// The format the part came from.
        format: WireFormat,
        /// The part as received.
        value: Value,
    },
}

impl ContentPart {
    /// The text of a [`Text`](Self::Text) part, and of an
    /// [`Other`](Self::Other) part that is a text block kept verbatim for
    /// its extra fields (an Anthropic `text` block with `cache_control` or
    /// `citations`). Renderers of the other format use this to keep the text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t),
            Self::Other { value, .. } if value.get("type").and_then(Value::as_str) == Some("text") => {
                value.get("text").and_then(Value::as_str)
            }
            Self::Image { .. } | Self::Other { .. } => None,
        }
    }
}

/// Where an image is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// Fetched by the provider from this URL.
    Url(String),
    /// Inline bytes, base64-encoded. OpenAI carries these as a
    /// `data:{media_type};base64,{data}` URL.
    Base64 {
        /// MIME type, e.g. `image/png`.
        media_type: String,
        /// The base64 text (not decoded).
        data: String,
    },
}

impl ImageSource {
    /// Reads a URL, recognising `data:<type>;base64,<data>` URLs.
    pub fn from_url(url: &str) -> Self {
        if let Some(rest) = url.strip_prefix("data:") {
            if let Some((media_type, data)) = rest.split_once(";base64,") {
                return Self::Base64 { media_type: media_type.to_owned(), data: data.to_owned() };
            }
        }
        Self::Url(url.to_owned())
    }

    /// As a URL (`data:` URL for inline bytes).
    pub fn to_url(&self) -> String {
        match self {
            Self::Url(u) => u.clone(),
            Self::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        }
    }
}

/// A tool call made by the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// Provider-assigned call id, echoed back in the tool result.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments as a JSON text (OpenAI sends a string; Anthropic's
    /// `input` object is serialized into one).
    pub arguments: String,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    /// The tool's name.
    pub name: String,
    /// What the tool does.
    pub description: Option<String>,
    /// JSON Schema of the arguments (OpenAI `parameters`, Anthropic `input_schema`).
    pub parameters: Value,
    /// OpenAI `strict` (structured outputs for the arguments).
    pub strict: Option<bool>,
    /// Unknown fields of the tool (Anthropic: beside `name`, e.g.
    /// `cache_control`; OpenAI: inside `function`), rendered only into the
    /// format of [`ChatRequest::extra_format`]. When `parameters` is `null`
    /// the tool is one this crate does not model (an Anthropic server tool
    /// such as `web_search_*`, an OpenAI non-`function` tool): `extra` then
    /// holds the whole tool object, passed through to its own format and
    /// dropped by the other format's renderer.
    pub extra: Map<String, Value>,
}

/// How the model must use tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tool calls.
    None,
    /// At least one tool call (OpenAI `required`, Anthropic `any`).
    Required,
    /// This tool must be called.
    Tool(String),
}

/// The required shape of the output.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    /// Free text.
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON matching a schema.
    JsonSchema {
        /// Schema name.
        name: String,
        /// The JSON Schema.
        schema: Value,
        /// Strict adherence.
        strict: Option<bool>,
    },
}
