//! Anthropic request bodies <-> [`ChatRequest`].
//!
//! A user message's `tool_result` blocks become [`Role::Tool`] messages
//! (in place), its other blocks a [`Role::User`] message; rendering merges
//! them back into one user message. Server tools (no `input_schema`) and
//! tools' `cache_control` are kept for Anthropic only (see [`Tool::extra`]);
//! a `text` block with extra fields (`cache_control`, `citations`) is kept
//! whole as [`ContentPart::Other`], its text still readable by the OpenAI
//! renderer. `cache_control` on image and `tool_result` blocks is lost.

use serde_json::{json, Map, Value};

use super::content::{self, Block};
use crate::canonical::{ChatRequest, ContentPart, Message, Role, Tool, ToolCall, ToolChoice, WireFormat};
use crate::error::FormatError;
use crate::gemini::split_signed_id;
use crate::json::{self, index_path, key_path, put_opt, ROOT};

/// `max_tokens` sent when the canonical request has none (Anthropic
/// requires it; OpenAI callers often omit it).
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

const KNOWN: &[&str] = &[
    "model",
    "messages",
    "system",
    "max_tokens",
    "tools",
    "tool_choice",
    "temperature",
    "top_p",
    "stop_sequences",
    "stream",
    "metadata",
];

/// Parses an Anthropic Messages request body. `max_tokens` is read when
/// present but not demanded (the provider enforces it).
pub fn parse_request(body: &[u8]) -> Result<ChatRequest, FormatError> {
    let v = json::parse(body)?;
    let m = json::object(&v, ROOT)?;
    let mut req = ChatRequest {
        model: json::req_str(m, "model", ROOT)?.to_owned(),
        extra_format: Some(WireFormat::Anthropic),
        ..ChatRequest::default()
    };
    if let Some(sys) = json::get(m, "system") {
        for (i, b) in content::parse_blocks(sys, "system")?.into_iter().enumerate() {
            match b {
                Block::Part(p) => req.system.push(p),
                _ => return Err(FormatError::invalid(index_path("system", i), "system may hold text blocks only")),
            }
        }
    }
    let messages = json::array(json::req(m, "messages", ROOT)?, "messages")?;
    for (i, mv) in messages.iter().enumerate() {
        parse_message(mv, &index_path("messages", i), &mut req.messages)?;
    }
    req.max_tokens = json::opt_u64(m, "max_tokens", ROOT)?;
    if let Some(tools) = json::opt_array(m, "tools", ROOT)? {
        for (i, t) in tools.iter().enumerate() {
            let path = index_path("tools", i);
            let tm = json::object(t, &path)?;
            let name = json::req_str(tm, "name", &path)?.to_owned();
            let Some(schema) = json::get(tm, "input_schema") else {
                // A server tool (`web_search_20250305`...): kept whole, for Anthropic only.
                req.tools.push(Tool { name, description: None, parameters: Value::Null, strict: None, extra: tm.clone() });
                continue;
            };
            const KNOWN_TOOL: &[&str] = &["name", "description", "input_schema"];
            req.tools.push(Tool {
                name,
                description: json::opt_string(tm, "description", &path)?,
                parameters: schema.clone(),
                strict: None,
                extra: tm
                    .iter()
                    .filter(|(k, _)| !KNOWN_TOOL.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            });
        }
    }
    let mut unmodelled_tool_choice = None;
    if let Some(tc) = json::opt_object(m, "tool_choice", ROOT)? {
        req.tool_choice = match json::req_str(tc, "type", "tool_choice")? {
            "auto" => Some(ToolChoice::Auto),
            "any" => Some(ToolChoice::Required),
            "none" => Some(ToolChoice::None),
            "tool" => Some(ToolChoice::Tool(json::req_str(tc, "name", "tool_choice")?.to_owned())),
            // A newer shape: passed through as it came.
            _ => {
                unmodelled_tool_choice = Some(Value::Object(tc.clone()));
                None
            }
        };
        req.parallel_tool_calls = json::opt_bool(tc, "disable_parallel_tool_use", "tool_choice")?.map(|d| !d);
    }
    req.temperature = json::opt_f64(m, "temperature", ROOT)?;
    req.top_p = json::opt_f64(m, "top_p", ROOT)?;
    if let Some(stops) = json::opt_array(m, "stop_sequences", ROOT)? {
        for (i, s) in stops.iter().enumerate() {
            req.stop.push(json::string(s, &index_path("stop_sequences", i))?.to_owned());
        }
    }
    req.stream = json::opt_bool(m, "stream", ROOT)?.unwrap_or(false);
    // Anthropic streams always report usage.
    req.include_usage = req.stream;
    if let Some(meta) = json::opt_object(m, "metadata", ROOT)? {
        req.user = json::opt_string(meta, "user_id", "metadata")?;
    }
    req.extra = m.iter().filter(|(k, _)| !KNOWN.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    if let Some(tc) = unmodelled_tool_choice {
        req.extra.insert("tool_choice".to_owned(), tc);
    }
    Ok(req)
}

fn parse_message(v: &Value, path: &str, out: &mut Vec<Message>) -> Result<(), FormatError> {
    let m = json::object(v, path)?;
    let role = match json::req_str(m, "role", path)? {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        other => return Err(FormatError::invalid(key_path(path, "role"), format!("unknown role `{other}`"))),
    };
    let c_path = key_path(path, "content");
    let blocks = content::parse_blocks(json::req(m, "content", path)?, &c_path)?;
    let mut msg = Message::new(role, Vec::new());
    for (i, b) in blocks.into_iter().enumerate() {
        match (b, role) {
            (Block::Part(p), _) => msg.content.push(p),
            (Block::ToolUse(call), Role::Assistant) => msg.tool_calls.push(call),
            (Block::ToolResult { tool_use_id, content, is_error }, Role::User) => {
                if !msg.content.is_empty() {
                    out.push(std::mem::replace(&mut msg, Message::new(role, Vec::new())));
                }
                out.push(Message { is_error, ..Message::tool_result(tool_use_id, content) });
            }
            (Block::ToolUse(_), _) => {
                return Err(FormatError::invalid(index_path(&c_path, i), "tool_use is only allowed in assistant messages"))
            }
            (Block::ToolResult { .. }, _) => {
                return Err(FormatError::invalid(index_path(&c_path, i), "tool_result is only allowed in user messages"))
            }
        }
    }
    // A user message made only of tool results leaves nothing behind.
    if !(role == Role::User && msg.content.is_empty() && out.last().is_some_and(|l| l.role == Role::Tool)) {
        out.push(msg);
    }
    Ok(())
}

/// Renders [`ChatRequest`] as an Anthropic request body.
///
/// [`ChatRequest::system`] and any later [`Role::System`] messages become
/// the top-level `system` (a string when it is one text). `max_tokens`
/// defaults to [`DEFAULT_MAX_TOKENS`]; `temperature` is clamped to
/// Anthropic's 0..=1. Dropped: `n`, `seed`, `response_format`, tool
/// `strict`, image `detail`, unknown parts and `extra` from another format.
pub fn render_request(req: &ChatRequest) -> Vec<u8> {
    let mut m = Map::new();
    let same_format = matches!(req.extra_format, None | Some(WireFormat::Anthropic));
    if same_format {
        m.extend(req.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    m.insert("model".into(), json!(req.model));
    let mut system: Vec<ContentPart> = req.system.clone();
    for msg in req.messages.iter().filter(|m| m.role == Role::System) {
        system.extend(msg.content.iter().cloned());
    }
    let system = content::render_parts(&system);
    if !system.is_empty() {
        m.insert("system".into(), content::compact(system));
    }
    m.insert("messages".into(), Value::Array(render_messages(&req.messages)));
    m.insert("max_tokens".into(), json!(req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS)));
    let tools: Vec<Value> = req
        .tools
        .iter()
        .filter_map(|t| {
            if t.parameters.is_null() {
                return same_format.then(|| Value::Object(t.extra.clone()));
            }
            let mut tm = Map::new();
            if same_format {
                tm.extend(t.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            tm.insert("name".into(), json!(t.name));
            put_opt(&mut tm, "description", t.description.clone());
            tm.insert("input_schema".into(), t.parameters.clone());
            Some(Value::Object(tm))
        })
        .collect();
    if !tools.is_empty() {
        m.insert("tools".into(), Value::Array(tools));
        let mut tc = match &req.tool_choice {
            None if req.parallel_tool_calls.is_none() => None,
            None | Some(ToolChoice::Auto) => Some(json!({"type": "auto"})),
            Some(ToolChoice::None) => Some(json!({"type": "none"})),
            Some(ToolChoice::Required) => Some(json!({"type": "any"})),
            Some(ToolChoice::Tool(name)) => Some(json!({"type": "tool", "name": name})),
        };
        if let (Some(Value::Object(o)), Some(p)) = (tc.as_mut(), req.parallel_tool_calls) {
            o.insert("disable_parallel_tool_use".into(), json!(!p));
        }
        put_opt(&mut m, "tool_choice", tc);
    }
    put_opt(&mut m, "temperature", req.temperature.map(|t| t.clamp(0.0, 1.0)));
    put_opt(&mut m, "top_p", req.top_p);
    if !req.stop.is_empty() {
        m.insert("stop_sequences".into(), json!(req.stop));
    }
    if req.stream {
        m.insert("stream".into(), json!(true));
    }
    if let Some(user) = &req.user {
        m.insert("metadata".into(), json!({"user_id": user}));
    }
    json::to_bytes(&Value::Object(m))
}

fn render_messages(messages: &[Message]) -> Vec<Value> {
    // (role, blocks, holds a tool_result)
    let mut out: Vec<(&str, Vec<Value>, bool)> = Vec::new();
    for msg in messages {
        match msg.role {
            Role::System => {}
            Role::Assistant => {
                let mut blocks = content::render_parts(&msg.content);
                // Anthropic's ids are `[a-zA-Z0-9_-]+`: a Gemini call's
                // thought signature (see `gemini::response::SIGNATURE_MARK`)
                // stays behind, the same way on the call and its result.
                blocks.extend(msg.tool_calls.iter().map(|c| {
                    let id = split_signed_id(&c.id).0;
                    if id.len() == c.id.len() {
                        content::render_tool_use(c)
                    } else {
                        content::render_tool_use(&ToolCall { id: id.to_owned(), ..c.clone() })
                    }
                }));
                out.push(("assistant", blocks, false));
            }
            Role::User => {
                let blocks = content::render_parts(&msg.content);
                match out.last_mut() {
                    Some(("user", prev, true)) => prev.extend(blocks),
                    _ => out.push(("user", blocks, false)),
                }
            }
            Role::Tool => {
                let mut block = Map::new();
                block.insert("type".into(), json!("tool_result"));
                block.insert("tool_use_id".into(), json!(split_signed_id(msg.tool_call_id.as_deref().unwrap_or_default()).0));
                let inner = content::render_parts(&msg.content);
                if !inner.is_empty() {
                    block.insert("content".into(), content::compact(inner));
                }
                if msg.is_error {
                    block.insert("is_error".into(), json!(true));
                }
                match out.last_mut() {
                    Some(("user", prev, has_result)) if *has_result => prev.push(Value::Object(block)),
                    _ => out.push(("user", vec![Value::Object(block)], true)),
                }
            }
        }
    }
    out.into_iter().map(|(role, blocks, _)| json!({"role": role, "content": content::compact(blocks)})).collect()
}
