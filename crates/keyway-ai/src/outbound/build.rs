//! [`build_chat`] and [`build_embeddings`]: URL, headers and body.

use super::request::{OutboundError, OutboundRequest, ProviderTarget};
use super::splice::Splice;
use crate::canonical::{ChatRequest, WireFormat};
use crate::error::FormatError;
use crate::provider::{self, CredentialScheme, Operation, ProviderKind};
use crate::{anthropic, gemini, json, openai};

/// The `stream_options` forced onto OpenAI-format streams.
const INCLUDE_USAGE: &[u8] = br#"{"include_usage":true}"#;

/// Builds the chat request for `target` from `req`.
///
/// - URL: [`ProviderKind::url`] for [`Operation::ChatStream`] when
///   `req.stream`, else [`Operation::Chat`] (Gemini names the model in the
///   URL; Azure the deployment, with `api-version`).
/// - Headers: the credential per [`ProviderKind::auth_headers`] (plus
///   `anthropic-version` for Anthropic), `content-type: application/json`,
///   and `accept: text/event-stream` for streams (`application/json`
///   otherwise). A missing credential is refused unless the kind's scheme
///   is [`CredentialScheme::OptionalBearer`] (Ollama).
/// - Body, pass-through: when `caller_format` is the provider's wire
///   format and `original_body` is given, the caller's bytes with only the
///   top-level `model` replaced by `target.model` (added when absent; left
///   alone for Gemini, whose body has none). Every other byte is kept:
///   key order, spacing, unknown fields. `original_body` must be the body
///   `req` was parsed from (it is not validated as JSON again: only a root
///   that is not an object is refused); `req.stream` decides the URL and
///   headers.
/// - Body, translated: otherwise `req` rendered by the provider's
///   renderer with `model` set to `target.model`.
///
/// OpenAI-format streams always ask for usage, so every answer can be
/// metered: `stream_options.include_usage` is forced `true` (the rest of
/// the caller's `stream_options` kept). Mistral is the exception: it
/// refuses `stream_options` (422 `extra_forbidden`) and always sends usage
/// on its last chunk, so `stream_options` is removed from its bodies instead.
pub fn build_chat(
    target: &ProviderTarget,
    req: &ChatRequest,
    credential: Option<&str>,
    caller_format: WireFormat,
    original_body: Option<&[u8]>,
) -> Result<OutboundRequest, OutboundError> {
    let kind = target.kind;
    let base = base_url(target)?;
    let model = model(target)?;
    let op = if req.stream { Operation::ChatStream } else { Operation::Chat };
    let url =
        kind.url(base, op, model, target.api_version.as_deref()).ok_or(OutboundError::Unsupported { kind, operation: "chat" })?;
    let headers = headers(kind, credential, req.stream)?;
    let format = kind.wire_format();
    let body = match original_body {
        Some(original) if caller_format == format => pass_through(kind, original, model, req.stream)?,
        _ => render(kind, req, model),
    };
    Ok(OutboundRequest { method: "POST", url, headers, body, stream: req.stream })
}

/// Builds an embeddings request for `target` from the caller's OpenAI
/// embeddings body (`{"model", "input", ...}`), passed through with only
/// `model` replaced by `target.model`.
///
/// OpenAI-style kinds only (`openai`, `azure_openai`, `mistral`,
/// `ollama`, `openai_compatible`); Anthropic has no embeddings, and
/// Gemini's `embedContent` body is another shape (not provided).
pub fn build_embeddings(
    target: &ProviderTarget,
    body: &[u8],
    credential: Option<&str>,
) -> Result<OutboundRequest, OutboundError> {
    let kind = target.kind;
    if kind.wire_format() != WireFormat::OpenAi {
        return Err(OutboundError::Unsupported { kind, operation: "embeddings" });
    }
    let base = base_url(target)?;
    let model = model(target)?;
    let url = kind
        .url(base, Operation::Embeddings, model, target.api_version.as_deref())
        .ok_or(OutboundError::Unsupported { kind, operation: "embeddings" })?;
    let headers = headers(kind, credential, false)?;
    let mut splice = Splice::new(body)?;
    if splice.get("input").is_none_or(|v| v == b"null") {
        return Err(FormatError::Missing { path: "input".into() }.into());
    }
    splice.set("model", &json_string(model));
    Ok(OutboundRequest { method: "POST", url, headers, body: splice.finish(), stream: false })
}

/// The base URL: configured, else the preset's, else the kind's default.
fn base_url(target: &ProviderTarget) -> Result<&str, OutboundError> {
    let kind = target.kind;
    if let Some(name) = target.preset.as_deref() {
        if kind != ProviderKind::OpenAiCompatible {
            return Err(OutboundError::PresetNotApplicable { kind, preset: name.to_owned() });
        }
        if provider::preset(name).is_none() {
            return Err(OutboundError::UnknownPreset(name.to_owned()));
        }
    }
    let base =
        kind.resolve_base_url(target.base_url.as_deref(), target.preset.as_deref()).ok_or(OutboundError::NoBaseUrl { kind })?;
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(OutboundError::BadBaseUrl(base.to_owned()));
    }
    Ok(base)
}

fn model(target: &ProviderTarget) -> Result<&str, OutboundError> {
    let model = target.model.as_str();
    if model.is_empty() {
        return Err(OutboundError::NoModel { kind: target.kind });
    }
    Ok(model)
}

/// Credential headers, then `content-type` and `accept`.
fn headers(kind: ProviderKind, credential: Option<&str>, stream: bool) -> Result<Vec<(&'static str, String)>, OutboundError> {
    let credential = credential.filter(|c| !c.is_empty());
    match (credential, kind.credential_scheme()) {
        (None, CredentialScheme::Bearer | CredentialScheme::Header(_)) => {
            return Err(OutboundError::MissingCredential { kind });
        }
        (Some(c), _) => {
            // Visible ASCII, space and tab only: no CR/LF header injection.
            if let Some(at) = c.bytes().position(|b| !(b == b'\t' || (b' '..=b'~').contains(&b))) {
                return Err(OutboundError::BadCredential { kind, at });
            }
        }
        (None, CredentialScheme::OptionalBearer) => {}
    }
    let mut out = kind.auth_headers(credential);
    out.push(("content-type", "application/json".to_owned()));
    out.push(("accept", if stream { "text/event-stream" } else { "application/json" }.to_owned()));
    Ok(out)
}

/// The caller's body with `model` (and, for OpenAI-format streams,
/// `stream_options`) edited in place. `body` parsed into the request
/// already, so it is not validated again.
fn pass_through(kind: ProviderKind, body: &[u8], model: &str, stream: bool) -> Result<Vec<u8>, OutboundError> {
    let mut splice = Splice::of_parsed(body)?;
    let format = kind.wire_format();
    if format != WireFormat::Gemini {
        splice.set("model", &json_string(model));
    }
    if kind == ProviderKind::Mistral {
        splice.remove("stream_options");
    } else if format == WireFormat::OpenAi && stream {
        let options = match splice.get("stream_options") {
            Some(raw) if raw.first() == Some(&b'{') => {
                let mut inner = Splice::of_parsed(raw)?;
                inner.set("include_usage", b"true");
                inner.finish()
            }
            _ => INCLUDE_USAGE.to_vec(),
        };
        splice.set("stream_options", &options);
    }
    Ok(splice.finish())
}

/// `req` rendered for the provider, with the target's model.
fn render(kind: ProviderKind, req: &ChatRequest, model: &str) -> Vec<u8> {
    let mut req = req.clone();
    req.model = model.to_owned();
    match kind.wire_format() {
        WireFormat::OpenAi => {
            if req.stream {
                req.include_usage = kind != ProviderKind::Mistral;
            }
            openai::render_request(&req)
        }
        WireFormat::Anthropic => anthropic::render_request(&req),
        WireFormat::Gemini => gemini::render_request(&req),
    }
}

fn json_string(s: &str) -> Vec<u8> {
    json::to_bytes(&serde_json::Value::String(s.to_owned()))
}
