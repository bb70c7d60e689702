//! How each provider wants its credential sent.

use super::ProviderKind;

/// The `anthropic-version` header value sent to Anthropic.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// How a provider takes its API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialScheme {
    /// `Authorization: Bearer {key}`; a key is expected.
    Bearer,
    /// `Authorization: Bearer {key}` when a key is configured, nothing
    /// otherwise (Ollama needs none; a proxy in front of it may).
    OptionalBearer,
    /// The key verbatim in this header (`api-key`, `x-api-key`, `x-goog-api-key`).
    Header(&'static str),
}

impl ProviderKind {
    /// How the credential is sent: Bearer for OpenAI, Mistral and
    /// `openai_compatible`; optional Bearer for Ollama; `api-key` for
    /// Azure; `x-api-key` for Anthropic; `x-goog-api-key` for Gemini.
    pub fn credential_scheme(self) -> CredentialScheme {
        match self {
            Self::OpenAi | Self::Mistral | Self::OpenAiCompatible => CredentialScheme::Bearer,
            Self::Ollama => CredentialScheme::OptionalBearer,
            Self::AzureOpenAi => CredentialScheme::Header("api-key"),
            Self::Anthropic => CredentialScheme::Header("x-api-key"),
            Self::Gemini => CredentialScheme::Header("x-goog-api-key"),
        }
    }

    /// The headers to send with `key`: the credential per
    /// [`credential_scheme`](Self::credential_scheme) (none when `key` is
    /// `None` or empty — refusing a missing key is the caller's job), and
    /// for Anthropic always `anthropic-version: 2023-06-01`. Header names
    /// are lowercase.
    pub fn auth_headers(self, key: Option<&str>) -> Vec<(&'static str, String)> {
        let mut out = Vec::with_capacity(2);
        if let Some(key) = key.filter(|k| !k.is_empty()) {
            match self.credential_scheme() {
                CredentialScheme::Bearer | CredentialScheme::OptionalBearer => {
                    out.push(("authorization", format!("Bearer {key}")));
                }
                CredentialScheme::Header(name) => out.push((name, key.to_owned())),
            }
        }
        if self == Self::Anthropic {
            out.push(("anthropic-version", ANTHROPIC_VERSION.to_owned()));
        }
        out
    }
}
