//! Anthropic `"type": "message"` bodies <-> [`ChatResponse`], and the usage mapping.

use serde_json::{json, Map, Value};

use super::content::{self, Block};
use crate::canonical::{ChatResponse, Choice, FinishReason, Message, Role, Usage};
use crate::error::FormatError;
use crate::json::{self, ROOT};

/// Reads an Anthropic `usage` object. Anthropic's `input_tokens` EXCLUDES
/// `cache_read_input_tokens` and `cache_creation_input_tokens`, so the
/// canonical input is the sum of all three (see [`Usage`]).
pub fn usage_from_anthropic(m: &Map<String, Value>, path: &str) -> Result<Usage, FormatError> {
    let uncached = json::opt_u64(m, "input_tokens", path)?.unwrap_or(0);
    let read = json::opt_u64(m, "cache_read_input_tokens", path)?.unwrap_or(0);
    let write = json::opt_u64(m, "cache_creation_input_tokens", path)?.unwrap_or(0);
    Ok(Usage {
        input_tokens: uncached.saturating_add(read).saturating_add(write),
        output_tokens: json::opt_u64(m, "output_tokens", path)?.unwrap_or(0),
        cached_input_tokens: read,
        cache_write_tokens: write,
        reasoning_tokens: 0,
    })
}

/// An Anthropic `usage` object read by serde straight from the body, no
/// `Value` built; it takes exactly what [`usage_from_anthropic`] takes
/// and gives the same [`Usage`] (on anything else the caller reads the
/// body again with [`usage_from_anthropic`] for an error naming the member).
#[derive(serde::Deserialize)]
pub(crate) struct UsageWire {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
}

impl From<UsageWire> for Usage {
    fn from(w: UsageWire) -> Self {
        let (read, write) = (w.cache_read_input_tokens.unwrap_or(0), w.cache_creation_input_tokens.unwrap_or(0));
        Usage {
            input_tokens: w.input_tokens.unwrap_or(0).saturating_add(read).saturating_add(write),
            output_tokens: w.output_tokens.unwrap_or(0),
            cached_input_tokens: read,
            cache_write_tokens: write,
            reasoning_tokens: 0,
        }
    }
}

/// Renders [`Usage`] as an Anthropic `usage` object (`input_tokens` being
/// the uncached remainder). Reasoning tokens stay inside `output_tokens`.
pub fn usage_to_anthropic(u: &Usage) -> Value {
    json!({
        "input_tokens": u.uncached_input_tokens(),
        "cache_creation_input_tokens": u.cache_write_tokens,
        "cache_read_input_tokens": u.cached_input_tokens,
        "output_tokens": u.output_tokens,
    })
}

/// Parses an Anthropic message body into a one-choice [`ChatResponse`].
pub fn parse_response(body: &[u8]) -> Result<ChatResponse, FormatError> {
    let v = json::parse(body)?;
    let m = json::object(&v, ROOT)?;
    if let Some(t) = json::opt_str(m, "type", ROOT)? {
        if t != "message" {
            return Err(FormatError::invalid("type", format!("expected `message`, got `{t}`")));
        }
    }
    let mut message = Message::new(Role::Assistant, Vec::new());
    if let Some(c) = json::get(m, "content") {
        for (i, b) in content::parse_blocks(c, "content")?.into_iter().enumerate() {
            match b {
                Block::Part(p) => message.content.push(p),
                Block::ToolUse(call) => message.tool_calls.push(call),
                Block::ToolResult { .. } => {
                    return Err(FormatError::invalid(format!("content[{i}]"), "tool_result in a response"))
                }
            }
        }
    }
    let choice = Choice {
        index: 0,
        message,
        finish_reason: json::opt_str(m, "stop_reason", ROOT)?.map(FinishReason::from_anthropic),
        stop_sequence: json::opt_string(m, "stop_sequence", ROOT)?,
    };
    Ok(ChatResponse {
        id: json::opt_string(m, "id", ROOT)?.unwrap_or_default(),
        model: json::opt_string(m, "model", ROOT)?.unwrap_or_default(),
        created: None,
        choices: vec![choice],
        usage: json::opt_object(m, "usage", ROOT)?.map(|u| usage_from_anthropic(u, "usage")).transpose()?,
    })
}

/// Renders [`ChatResponse`] as an Anthropic message body. Only the first
/// choice is rendered (Anthropic has one); text, images and tool calls
/// become blocks, tool arguments are parsed back into an `input` object.
pub fn render_response(resp: &ChatResponse) -> Vec<u8> {
    let choice = resp.choices.first();
    let mut blocks = Vec::new();
    if let Some(c) = choice {
        blocks = content::render_parts(&c.message.content);
        blocks.extend(c.message.tool_calls.iter().map(content::render_tool_use));
    }
    let stop_sequence = choice.and_then(|c| c.stop_sequence.clone());
    let stop_reason = choice.and_then(|c| c.finish_reason.as_ref()).map(|r| r.to_anthropic(stop_sequence.is_some()).to_owned());
    let v = json!({
        "id": resp.id,
        "type": "message",
        "role": "assistant",
        "model": resp.model,
        "content": blocks,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage_to_anthropic(&resp.usage.unwrap_or_default()),
    });
    json::to_bytes(&v)
}
