//! [`ProviderKind`]: the kinds of upstream, by name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::canonical::WireFormat;

/// A kind of upstream provider. Serialized (and parsed with [`FromStr`])
/// as `openai`, `azure_openai`, `anthropic`, `gemini`, `mistral`,
/// `ollama` or `openai_compatible`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProviderKind {
    /// OpenAI (`api.openai.com`).
    #[serde(rename = "openai")]
    OpenAi,
    /// Azure OpenAI: deployments on a per-resource endpoint.
    #[serde(rename = "azure_openai")]
    AzureOpenAi,
    /// Anthropic (`api.anthropic.com`).
    #[serde(rename = "anthropic")]
    Anthropic,
    /// Google Gemini API (`generativelanguage.googleapis.com`).
    #[serde(rename = "gemini")]
    Gemini,
    /// Mistral La Plateforme (`api.mistral.ai`), OpenAI-compatible.
    #[serde(rename = "mistral")]
    Mistral,
    /// A local Ollama server, through its OpenAI-compatible `/v1`.
    #[serde(rename = "ollama")]
    Ollama,
    /// Any other OpenAI-compatible server (see [`PRESETS`](super::PRESETS)).
    #[serde(rename = "openai_compatible")]
    OpenAiCompatible,
}

/// A provider name that is not a [`ProviderKind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown provider kind `{0}` (expected one of openai, azure_openai, anthropic, gemini, mistral, ollama, openai_compatible)"
)]
pub struct UnknownProvider(pub String);

impl ProviderKind {
    /// Every kind, in declaration order.
    pub const ALL: [Self; 7] =
        [Self::OpenAi, Self::AzureOpenAi, Self::Anthropic, Self::Gemini, Self::Mistral, Self::Ollama, Self::OpenAiCompatible];

    /// The kind's name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::AzureOpenAi => "azure_openai",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
            Self::Mistral => "mistral",
            Self::Ollama => "ollama",
            Self::OpenAiCompatible => "openai_compatible",
        }
    }

    /// The base URL used when none is configured. OpenAI-style kinds end in
    /// `/v1`; Anthropic and Gemini are bare hosts (their paths carry the
    /// version). `None` for Azure (each resource has its own endpoint) and
    /// `openai_compatible` (use a [`Preset`](super::Preset) or configure one):
    /// a base URL is then required.
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            Self::OpenAi => Some("https://api.openai.com/v1"),
            Self::Anthropic => Some("https://api.anthropic.com"),
            Self::Gemini => Some("https://generativelanguage.googleapis.com"),
            Self::Mistral => Some("https://api.mistral.ai/v1"),
            Self::Ollama => Some("http://localhost:11434/v1"),
            Self::AzureOpenAi | Self::OpenAiCompatible => None,
        }
    }

    /// The base URL to use: the configured one, else the named preset's
    /// (for `openai_compatible`), else [`default_base_url`](Self::default_base_url).
    /// `None` when a base URL is required and none was given (or the
    /// preset is unknown).
    pub fn resolve_base_url<'a>(self, configured: Option<&'a str>, preset: Option<&str>) -> Option<&'a str> {
        if let Some(url) = configured.filter(|u| !u.is_empty()) {
            return Some(url);
        }
        match (self, preset) {
            (Self::OpenAiCompatible, Some(name)) => super::preset(name).map(|p| p.base_url),
            _ => self.default_base_url(),
        }
    }

    /// The wire format the provider's chat endpoint speaks.
    pub fn wire_format(self) -> WireFormat {
        match self {
            Self::Anthropic => WireFormat::Anthropic,
            Self::Gemini => WireFormat::Gemini,
            Self::OpenAi | Self::AzureOpenAi | Self::Mistral | Self::Ollama | Self::OpenAiCompatible => WireFormat::OpenAi,
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProviderKind {
    type Err = UnknownProvider;

    /// Parses the serialized name, exactly (case-sensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| UnknownProvider(s.to_owned()))
    }
}
