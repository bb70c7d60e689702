//! Gemini `GenerateContentResponse` bodies -> [`ChatResponse`], the usage
//! mapping and the finish-reason mapping. Also used per chunk by the
//! stream decoder.

use serde_json::{Map, Value};

use crate::canonical::{
    ChatResponse, Choice, ContentPart, FinishReason, ImageSource, Message, Role, ToolCall, Usage, WireFormat,
};
use crate::error::FormatError;
use crate::json::{self, index_path, key_path, Obj, ROOT};

/// Reads a Gemini `usageMetadata` object.
///
/// | canonical | Gemini |
/// |---|---|
/// | `input_tokens` | `promptTokenCount + toolUsePromptTokenCount` |
/// | `cached_input_tokens` | `cachedContentTokenCount` |
/// | `cache_write_tokens` | — (0) |
/// | `output_tokens` | `candidatesTokenCount + thoughtsTokenCount` |
/// | `reasoning_tokens` | `thoughtsTokenCount` |
///
/// `promptTokenCount` already INCLUDES `cachedContentTokenCount` (it is
/// the whole effective prompt), like OpenAI's `prompt_tokens`.
/// `candidatesTokenCount` EXCLUDES `thoughtsTokenCount` (Gemini's
/// `totalTokenCount` is prompt + candidates + thoughts + tool-use prompt),
/// so the canonical output, which includes reasoning, is their sum.
/// `toolUsePromptTokenCount` (results of Gemini's built-in tools fed back
/// as input) is counted as input. `totalTokenCount` is not read.
pub fn usage_from_gemini(m: &Map<String, Value>, path: &str) -> Result<Usage, FormatError> {
    let prompt = json::opt_u64(m, "promptTokenCount", path)?.unwrap_or(0);
    let tool_prompt = json::opt_u64(m, "toolUsePromptTokenCount", path)?.unwrap_or(0);
    let candidates = json::opt_u64(m, "candidatesTokenCount", path)?.unwrap_or(0);
    let thoughts = json::opt_u64(m, "thoughtsTokenCount", path)?.unwrap_or(0);
    Ok(Usage {
        input_tokens: prompt.saturating_add(tool_prompt),
        output_tokens: candidates.saturating_add(thoughts),
        cached_input_tokens: json::opt_u64(m, "cachedContentTokenCount", path)?.unwrap_or(0),
        cache_write_tokens: 0,
        reasoning_tokens: thoughts,
    })
}

/// Reads a Gemini `finishReason`. `STOP` becomes
/// [`FinishReason::ToolCalls`] when the candidate called functions (Gemini
/// says `STOP` either way); `MAX_TOKENS` is [`FinishReason::Length`]; the
/// safety family (`SAFETY`, `RECITATION`, `BLOCKLIST`,
/// `PROHIBITED_CONTENT`, `SPII`, `IMAGE_SAFETY`) is
/// [`FinishReason::ContentFilter`]; anything else (`LANGUAGE`, `OTHER`,
/// `MALFORMED_FUNCTION_CALL`, ...) is kept verbatim as
/// [`FinishReason::Other`].
pub fn finish_reason_from_gemini(s: &str, called_tools: bool) -> FinishReason {
    match s {
        "STOP" if called_tools => FinishReason::ToolCalls,
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// The id given to the `n`-th function call of a response that carries no
/// call id: `call_{responseId}_{n}`, or `call_{n}` without a `responseId`.
/// Deterministic (this crate has no randomness); unique within a response,
/// and across turns as long as Gemini's `responseId`s are.
pub(crate) fn call_id(response_id: &str, n: usize) -> String {
    if response_id.is_empty() {
        format!("call_{n}")
    } else {
        format!("call_{response_id}_{n}")
    }
}

/// Between a tool call's id and the Gemini `thoughtSignature` of its part.
/// Gemini's thinking models sign the function calls they make and refuse
/// a later turn that sends such a call back without its signature; other
/// formats have no field for it, so it travels in the call's id, which
/// every client sends back unchanged (the assistant message's tool call,
/// the tool result's `tool_call_id`), and is split off again when the
/// call is rendered for Gemini.
pub(crate) const SIGNATURE_MARK: &str = "~ts~";

/// `id` carrying `signature` (see [`SIGNATURE_MARK`]).
pub(crate) fn signed_id(id: String, signature: Option<&str>) -> String {
    match signature {
        Some(sig) if !sig.is_empty() => format!("{id}{SIGNATURE_MARK}{sig}"),
        _ => id,
    }
}

/// A tool call id split into Gemini's call id and thought signature.
pub(crate) fn split_signed_id(id: &str) -> (&str, Option<&str>) {
    match id.split_once(SIGNATURE_MARK) {
        Some((id, sig)) => (id, Some(sig)),
        None => (id, None),
    }
}

/// One part of a candidate's content.
pub(crate) enum Part {
    /// Visible text, an image, or a part kept verbatim.
    Content(ContentPart),
    /// A `functionCall`: (optional id, name, args as JSON text, the
    /// part's `thoughtSignature`).
    Call(Option<String>, String, String, Option<String>),
}

/// Reads one part. Thought summaries (`"thought": true`), `executableCode`
/// and other unmodelled parts are kept as Gemini [`ContentPart::Other`]
/// (so other formats drop them rather than show them as answer text).
pub(crate) fn parse_part(v: &Value, path: &str) -> Result<Part, FormatError> {
    let m = json::object(v, path)?;
    let thought = json::opt_bool(m, "thought", path)?.unwrap_or(false);
    if let (Some(text), false) = (json::opt_str(m, "text", path)?, thought) {
        return Ok(Part::Content(ContentPart::Text(text.to_owned())));
    }
    if let Some(f) = json::opt_object(m, "functionCall", path)? {
        let f_path = key_path(path, "functionCall");
        let args = json::get(f, "args").map_or_else(|| "{}".to_owned(), Value::to_string);
        let signature = json::opt_string(m, "thoughtSignature", path)?;
        return Ok(Part::Call(
            json::opt_string(f, "id", &f_path)?,
            json::req_str(f, "name", &f_path)?.to_owned(),
            args,
            signature,
        ));
    }
    if let Some(d) = json::opt_object(m, "inlineData", path)? {
        let d_path = key_path(path, "inlineData");
        return Ok(Part::Content(ContentPart::Image {
            source: ImageSource::Base64 {
                media_type: json::req_str(d, "mimeType", &d_path)?.to_owned(),
                data: json::req_str(d, "data", &d_path)?.to_owned(),
            },
            detail: None,
        }));
    }
    Ok(Part::Content(ContentPart::Other { format: WireFormat::Gemini, value: v.clone() }))
}

/// Parses a Gemini `GenerateContentResponse` body.
///
/// `responseId` becomes the id and `modelVersion` the model; each
/// candidate becomes a choice (its `index`, else its position), its text
/// and images the message content and its `functionCall` parts tool calls
/// (the call's `id` when Gemini sends one, else
/// `call_{responseId}_{n}`, `n` counting calls across candidates; `args` serialized as a JSON string). A prompt
/// blocked by `promptFeedback.blockReason` (no candidates) gives one empty
/// choice finished with [`FinishReason::ContentFilter`]. Safety ratings,
/// citations, grounding and logprobs are dropped.
pub fn parse_response(body: &[u8]) -> Result<ChatResponse, FormatError> {
    let v = json::parse(body)?;
    let m = json::object(&v, ROOT)?;
    if !m.contains_key("candidates") && !m.contains_key("promptFeedback") && !m.contains_key("usageMetadata") {
        return Err(FormatError::Missing { path: "candidates".into() });
    }
    let id = json::opt_string(m, "responseId", ROOT)?.unwrap_or_default();
    let mut choices = Vec::new();
    let mut calls = 0usize;
    for (i, c) in json::opt_array(m, "candidates", ROOT)?.into_iter().flatten().enumerate() {
        choices.push(parse_candidate(c, i, &index_path("candidates", i), &id, &mut calls)?);
    }
    if choices.is_empty() && blocked(m)? {
        choices.push(Choice {
            index: 0,
            message: Message::new(Role::Assistant, Vec::new()),
            finish_reason: Some(FinishReason::ContentFilter),
            stop_sequence: None,
        });
    }
    Ok(ChatResponse {
        id,
        model: json::opt_string(m, "modelVersion", ROOT)?.unwrap_or_default(),
        created: None,
        choices,
        usage: json::opt_object(m, "usageMetadata", ROOT)?.map(|u| usage_from_gemini(u, "usageMetadata")).transpose()?,
    })
}

/// Whether `promptFeedback.blockReason` is set.
pub(crate) fn blocked(m: &Obj) -> Result<bool, FormatError> {
    let Some(f) = json::opt_object(m, "promptFeedback", ROOT)? else { return Ok(false) };
    Ok(json::opt_str(f, "blockReason", "promptFeedback")?.is_some())
}

fn parse_candidate(v: &Value, pos: usize, path: &str, id: &str, calls: &mut usize) -> Result<Choice, FormatError> {
    let c = json::object(v, path)?;
    let index = json::opt_u32(c, "index", path)?.unwrap_or(u32::try_from(pos).unwrap_or(u32::MAX));
    let mut message = Message::new(Role::Assistant, Vec::new());
    if let Some(content) = json::opt_object(c, "content", path)? {
        let c_path = key_path(path, "content");
        let parts_path = key_path(&c_path, "parts");
        for (i, p) in json::opt_array(content, "parts", &c_path)?.into_iter().flatten().enumerate() {
            match parse_part(p, &index_path(&parts_path, i))? {
                Part::Content(part) => message.content.push(part),
                Part::Call(call_id_opt, name, arguments, signature) => {
                    let call = signed_id(call_id_opt.unwrap_or_else(|| call_id(id, *calls)), signature.as_deref());
                    *calls += 1;
                    message.tool_calls.push(ToolCall { id: call, name, arguments });
                }
            }
        }
    }
    let called = !message.tool_calls.is_empty();
    let finish_reason = json::opt_str(c, "finishReason", path)?.map(|r| finish_reason_from_gemini(r, called));
    Ok(Choice { index, message, finish_reason, stop_sequence: None })
}
