//! The URL of each operation, per provider kind.

use super::ProviderKind;

/// The `api-version` query parameter sent to Azure OpenAI when none is
/// configured (the GA data-plane version).
pub const AZURE_DEFAULT_API_VERSION: &str = "2024-10-21";

/// Something Keyway asks a provider to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// A complete chat answer.
    Chat,
    /// A streamed chat answer.
    ChatStream,
    /// Embeddings of some input.
    Embeddings,
    /// The list of models.
    Models,
}

impl ProviderKind {
    /// The full URL for `op` against `base_url` (one trailing `/` ignored).
    ///
    /// | kind | chat / chat-stream | embeddings | models |
    /// |---|---|---|---|
    /// | OpenAI-style (`openai`, `mistral`, `ollama`, `openai_compatible`) | `{base}/chat/completions` (both) | `{base}/embeddings` | `{base}/models` |
    /// | `azure_openai` | `{base}/openai/deployments/{model}/chat/completions?api-version={v}` (both) | `.../deployments/{model}/embeddings?api-version={v}` | `{base}/openai/models?api-version={v}` |
    /// | `anthropic` | `{base}/v1/messages` (both) | — | `{base}/v1/models` |
    /// | `gemini` | `{base}/v1beta/models/{model}:generateContent`, `:streamGenerateContent?alt=sse` | `.../models/{model}:embedContent` | `{base}/v1beta/models` |
    ///
    /// For Azure `model` is the deployment name and `api_version` defaults
    /// to [`AZURE_DEFAULT_API_VERSION`]; other kinds ignore `api_version`.
    /// Gemini accepts the model with or without its `models/` prefix. The
    /// model is percent-encoded as a path segment. OpenAI-style kinds and
    /// Anthropic carry the model in the body, and ignore `model` here.
    ///
    /// `None` when the kind has no such operation (Anthropic embeddings) or
    /// the URL needs a model and `model` is empty.
    pub fn url(self, base_url: &str, op: Operation, model: &str, api_version: Option<&str>) -> Option<String> {
        let base = base_url.strip_suffix('/').unwrap_or(base_url);
        match self {
            Self::OpenAi | Self::Mistral | Self::Ollama | Self::OpenAiCompatible => Some(match op {
                Operation::Chat | Operation::ChatStream => format!("{base}/chat/completions"),
                Operation::Embeddings => format!("{base}/embeddings"),
                Operation::Models => format!("{base}/models"),
            }),
            Self::AzureOpenAi => {
                let v = api_version.filter(|v| !v.is_empty()).unwrap_or(AZURE_DEFAULT_API_VERSION);
                let v = encode_segment(v);
                if op == Operation::Models {
                    return Some(format!("{base}/openai/models?api-version={v}"));
                }
                let dep = non_empty(model)?;
                let tail = if op == Operation::Embeddings { "embeddings" } else { "chat/completions" };
                Some(format!("{base}/openai/deployments/{}/{tail}?api-version={v}", encode_segment(dep)))
            }
            Self::Anthropic => match op {
                Operation::Chat | Operation::ChatStream => Some(format!("{base}/v1/messages")),
                Operation::Models => Some(format!("{base}/v1/models")),
                Operation::Embeddings => None,
            },
            Self::Gemini => {
                if op == Operation::Models {
                    return Some(format!("{base}/v1beta/models"));
                }
                let model = encode_segment(non_empty(model.strip_prefix("models/").unwrap_or(model))?);
                let method = match op {
                    Operation::Chat => "generateContent",
                    Operation::ChatStream => "streamGenerateContent?alt=sse",
                    Operation::Embeddings | Operation::Models => "embedContent",
                };
                Some(format!("{base}/v1beta/models/{model}:{method}"))
            }
        }
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
