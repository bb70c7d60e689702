//! Anthropic content blocks: `text`, `image`, `tool_use`, `tool_result`,
//! and anything else kept verbatim.

use serde_json::{json, Map, Value};

use crate::canonical::{ContentPart, ImageSource, ToolCall, WireFormat};
use crate::error::FormatError;
use crate::json::{self, index_path, key_path};

/// One parsed block.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    /// Text, image, or an unknown block.
    Part(ContentPart),
    /// `tool_use` (assistant).
    ToolUse(ToolCall),
    /// `tool_result` (user).
    ToolResult { tool_use_id: String, content: Vec<ContentPart>, is_error: bool },
}

/// Reads `content`: a string or an array of blocks.
pub(crate) fn parse_blocks(v: &Value, path: &str) -> Result<Vec<Block>, FormatError> {
    match v {
        Value::String(s) => Ok(vec![Block::Part(ContentPart::Text(s.clone()))]),
        Value::Array(items) => items.iter().enumerate().map(|(i, b)| parse_block(b, &index_path(path, i))).collect(),
        _ => Err(json::wrong(path, "a string or an array of content blocks")),
    }
}

fn parse_block(v: &Value, path: &str) -> Result<Block, FormatError> {
    let m = json::object(v, path)?;
    match json::req_str(m, "type", path)? {
        "text" => {
            let text = json::req_str(m, "text", path)?;
            // Extra fields (`cache_control`, `citations`) are kept by keeping the block.
            Ok(Block::Part(if m.len() > 2 { other(v) } else { ContentPart::Text(text.to_owned()) }))
        }
        "image" => {
            let s_path = key_path(path, "source");
            let s = json::object(json::req(m, "source", path)?, &s_path)?;
            let source = match json::req_str(s, "type", &s_path)? {
                "base64" => ImageSource::Base64 {
                    media_type: json::req_str(s, "media_type", &s_path)?.to_owned(),
                    data: json::req_str(s, "data", &s_path)?.to_owned(),
                },
                "url" => ImageSource::Url(json::req_str(s, "url", &s_path)?.to_owned()),
                _ => return Ok(Block::Part(other(v))),
            };
            Ok(Block::Part(ContentPart::Image { source, detail: None }))
        }
        "tool_use" => Ok(Block::ToolUse(ToolCall {
            id: json::req_str(m, "id", path)?.to_owned(),
            name: json::req_str(m, "name", path)?.to_owned(),
            arguments: json::get(m, "input").map_or_else(|| "{}".to_owned(), Value::to_string),
        })),
        "tool_result" => {
            let c_path = key_path(path, "content");
            let mut content = Vec::new();
            if let Some(c) = json::get(m, "content") {
                for (i, b) in parse_blocks(c, &c_path)?.into_iter().enumerate() {
                    match b {
                        Block::Part(p) => content.push(p),
                        _ => {
                            return Err(FormatError::invalid(index_path(&c_path, i), "tool_result may hold text and images only"))
                        }
                    }
                }
            }
            Ok(Block::ToolResult {
                tool_use_id: json::req_str(m, "tool_use_id", path)?.to_owned(),
                content,
                is_error: json::opt_bool(m, "is_error", path)?.unwrap_or(false),
            })
        }
        _ => Ok(Block::Part(other(v))),
    }
}

fn other(v: &Value) -> ContentPart {
    ContentPart::Other { format: WireFormat::Anthropic, value: v.clone() }
}

/// Renders a part as a block; empty text (Anthropic refuses it) and
/// unknown parts from another format give `None`.
pub(crate) fn render_part(p: &ContentPart) -> Option<Value> {
    match p {
        ContentPart::Text(t) if t.is_empty() => None,
        ContentPart::Text(t) => Some(json!({"type": "text", "text": t})),
        ContentPart::Image { source: ImageSource::Url(url), .. } => {
            Some(json!({"type": "image", "source": {"type": "url", "url": url}}))
        }
        ContentPart::Image { source: ImageSource::Base64 { media_type, data }, .. } => {
            Some(json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}))
        }
        ContentPart::Other { format: WireFormat::Anthropic, value } => Some(value.clone()),
        ContentPart::Other { .. } => p.as_text().map(|t| json!({"type": "text", "text": t})),
    }
}

/// Renders parts as blocks.
pub(crate) fn render_parts(parts: &[ContentPart]) -> Vec<Value> {
    parts.iter().filter_map(render_part).collect()
}

/// A `tool_use` block. `input` must be an object: arguments that are empty,
/// not JSON, or not an object are sent as `{}`.
pub(crate) fn render_tool_use(c: &ToolCall) -> Value {
    let input = match serde_json::from_str::<Value>(&c.arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ => Value::Object(Map::new()),
    };
    json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input})
}

/// Blocks as `content`: a string when they are one text block.
pub(crate) fn compact(blocks: Vec<Value>) -> Value {
    if let [b] = blocks.as_slice() {
        if b.get("type").and_then(Value::as_str) == Some("text") && b.as_object().is_some_and(|o| o.len() == 2) {
            if let Some(t) = b.get("text") {
                return t.clone();
            }
        }
    }
    Value::Array(blocks)
}
