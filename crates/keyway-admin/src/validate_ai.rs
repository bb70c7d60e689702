//! Field checks of the AI resources (providers and models). Like
//! [`crate::validate`], each returns the cleaned value or a 400 naming the
//! field, and accepts exactly what the matching schema of `openapi.json`
//! accepts (`ApiKey`, `ModelName`, `BaseUrl`, `PriceInput`).

use crate::error::AdminError;
use crate::validate::{is_blank_or_control, target_url, MAX_NAME};
use keyway_core::providers::{Price, ProviderKind};
use serde::Deserialize;

/// Most credentials in one provider's pool.
pub const MAX_CREDENTIALS: usize = 16;
/// Longest provider API key, in characters.
pub const MAX_API_KEY: usize = 4096;
/// Longest model name (a model's own, or a target's model at its provider).
pub const MAX_MODEL_NAME: usize = 200;
/// Most targets of one model.
pub const MAX_MODEL_TARGETS: usize = 16;
/// Most fallbacks of one model.
pub const MAX_FALLBACKS: usize = 16;
/// Longest model timeout: ten minutes.
pub const MAX_MODEL_TIMEOUT_MS: u64 = 600_000;

/// A credential as sent: the provider's API key, write-only.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialIn {
    /// The secret.
    pub api_key: String,
}

impl std::fmt::Debug for CredentialIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredentialIn(..)")
    }
}

/// A price as sent: USD per million tokens.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceIn {
    /// An uncached prompt token.
    pub input_per_mtok: f64,
    /// A generated token.
    pub output_per_mtok: f64,
    /// A prompt token read from the cache; left out: priced as input.
    #[serde(default, deserialize_with = "crate::input::some")]
    pub cached_input_per_mtok: Option<f64>,
    /// A prompt token written to the cache; left out: priced as input.
    #[serde(default, deserialize_with = "crate::input::some")]
    pub cache_write_per_mtok: Option<f64>,
    /// A reasoning token; left out: priced as output.
    #[serde(default, deserialize_with = "crate::input::some")]
    pub reasoning_per_mtok: Option<f64>,
}

/// A provider API key: 1 to [`MAX_API_KEY`] characters, no control
/// characters. Kept exactly as sent.
pub fn api_key(param: &str, value: &str) -> Result<(), AdminError> {
    if value.is_empty() {
        return Err(AdminError::invalid(param, format!("{param} must not be empty")));
    }
    if value.chars().count() > MAX_API_KEY {
        return Err(AdminError::invalid(param, format!("{param} is longer than {MAX_API_KEY} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(AdminError::invalid(param, format!("{param} must not contain control characters")));
    }
    Ok(())
}

/// A model name: 1 to [`MAX_MODEL_NAME`] characters, no whitespace or
/// control characters.
pub fn model_name(param: &str, value: &str) -> Result<String, AdminError> {
    if value.is_empty() || value.chars().count() > MAX_MODEL_NAME {
        return Err(AdminError::invalid(param, format!("{param} must be 1 to {MAX_MODEL_NAME} characters")));
    }
    if value.chars().any(is_blank_or_control) {
        return Err(AdminError::invalid(param, format!("{param} must not contain whitespace or control characters")));
    }
    Ok(value.to_owned())
}

/// A provider's base URL: an upstream URL as [`target_url`] says (http or
/// https, no credentials, query or fragment), returned without a
/// trailing `/`.
pub fn base_url(param: &str, url: &str) -> Result<String, AdminError> {
    target_url(url)
        .map_err(|why| AdminError::invalid(param, format!("{param} {url:?} {why}, e.g. https://api.openai.com/v1")))?;
    Ok(url.strip_suffix('/').unwrap_or(url).to_owned())
}

/// An `api_version`: given for `azure_openai` (required there), refused
/// for every other kind, which sends none.
pub fn api_version(kind: ProviderKind, value: Option<&str>) -> Result<Option<String>, AdminError> {
    match (kind, value) {
        (ProviderKind::AzureOpenAi, None) => {
            Err(AdminError::invalid("api_version", "api_version is required for azure_openai, e.g. 2024-10-21"))
        }
        (ProviderKind::AzureOpenAi, Some(v)) => crate::validate::text("api_version", v, MAX_NAME).map(Some),
        (_, None) => Ok(None),
        (kind, Some(_)) => {
            Err(AdminError::invalid("api_version", format!("api_version applies to azure_openai only, not to {}", kind.as_str())))
        }
    }
}

/// A preset: only for `openai_compatible`, and one of keyway-ai's presets.
pub fn preset(kind: ProviderKind, value: Option<&str>) -> Result<Option<String>, AdminError> {
    let Some(name) = value else { return Ok(None) };
    if kind != ProviderKind::OpenAiCompatible {
        return Err(AdminError::invalid("preset", format!("preset applies to openai_compatible only, not to {}", kind.as_str())));
    }
    if keyway_ai::provider::preset(name).is_none() {
        let known: Vec<&str> = keyway_ai::provider::PRESETS.iter().map(|p| p.name).collect();
        return Err(AdminError::invalid("preset", format!("unknown preset {name:?}; known: {}", known.join(", "))));
    }
    Ok(Some(name.to_owned()))
}

/// Checks that a provider of `kind` has a base URL to call: the given
/// one, its preset's, or the kind's public default.
pub fn has_base_url(kind: ProviderKind, base_url: Option<&str>, preset: Option<&str>) -> Result<(), AdminError> {
    if kind.resolve_base_url(base_url, preset).is_some() {
        return Ok(());
    }
    let why = match kind {
        ProviderKind::AzureOpenAi => {
            "azure_openai has no public default: give the resource's endpoint, e.g. https://acme.openai.azure.com"
        }
        _ => "this kind has no public default: give base_url or a preset",
    };
    Err(AdminError::invalid("base_url", format!("base_url is required: {why}")))
}

/// Credentials: 1 to [`MAX_CREDENTIALS`], each key as [`api_key`] says.
pub fn credentials(list: &[CredentialIn]) -> Result<(), AdminError> {
    if list.is_empty() || list.len() > MAX_CREDENTIALS {
        return Err(AdminError::invalid("credentials", format!("credentials must hold 1 to {MAX_CREDENTIALS} entries")));
    }
    for (i, c) in list.iter().enumerate() {
        api_key(&format!("credentials[{i}].api_key"), &c.api_key)?;
    }
    Ok(())
}

/// A price: every figure finite and 0 or more.
pub fn price(p: PriceIn) -> Result<Price, AdminError> {
    let figures = [
        ("input_per_mtok", Some(p.input_per_mtok)),
        ("output_per_mtok", Some(p.output_per_mtok)),
        ("cached_input_per_mtok", p.cached_input_per_mtok),
        ("cache_write_per_mtok", p.cache_write_per_mtok),
        ("reasoning_per_mtok", p.reasoning_per_mtok),
    ];
    for (name, value) in figures {
        if value.is_some_and(|v| !v.is_finite() || v < 0.0) {
            return Err(AdminError::invalid(format!("price.{name}"), format!("price.{name} must be a number, 0 or more")));
        }
    }
    Ok(Price {
        input_per_mtok: p.input_per_mtok,
        output_per_mtok: p.output_per_mtok,
        cached_input_per_mtok: p.cached_input_per_mtok,
        cache_write_per_mtok: p.cache_write_per_mtok,
        reasoning_per_mtok: p.reasoning_per_mtok,
    })
}

/// A model timeout: 1 to [`MAX_MODEL_TIMEOUT_MS`].
pub fn timeout_ms(ms: u64) -> Result<u64, AdminError> {
    if (1..=MAX_MODEL_TIMEOUT_MS).contains(&ms) {
        Ok(ms)
    } else {
        Err(AdminError::invalid("timeout_ms", format!("timeout_ms must be 1 to {MAX_MODEL_TIMEOUT_MS}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_lose_one_trailing_slash_and_keep_their_path() {
        assert_eq!(base_url("b", "https://api.openai.com/v1/").unwrap_or_default(), "https://api.openai.com/v1");
        assert_eq!(base_url("b", "http://localhost:11434/v1").unwrap_or_default(), "http://localhost:11434/v1");
        for bad in ["ftp://x", "https://u:p@x", "https://x/v1?a=1", "https://x#f", "api.openai.com", ""] {
            assert!(base_url("b", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn model_names_take_no_whitespace() {
        assert!(model_name("n", "gpt-4o:latest/x").is_ok());
        for bad in ["", "gpt 4o", "gpt\t4o", "a\u{a0}b", &"a".repeat(201)] {
            assert!(model_name("n", bad).is_err(), "{bad:?}");
        }
    }
}
