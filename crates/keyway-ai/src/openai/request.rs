//! OpenAI request bodies <-> [`ChatRequest`].
//!
//! Leading `system`/`developer` messages become [`ChatRequest::system`]
//! (`developer` is read as system and rendered back as `system`); later
//! ones stay in place as [`Role::System`] messages. `stream_options` other
//! than `include_usage` are not modelled and are lost; the legacy
//! `functions`/`function_call` fields stay in `extra`; non-`function` tools
//! are kept whole for OpenAI only (see [`Tool::extra`]).

use serde_json::{json, Map, Value};

use super::content;
use crate::canonical::{ChatRequest, Message, ResponseFormat, Role, Tool, ToolCall, ToolChoice, WireFormat};
use crate::error::FormatError;
use crate::json::{self, index_path, key_path, put_opt, Obj, ROOT};

/// Top-level fields this module reads; everything else goes to `extra`.
const KNOWN: &[&str] = &[
    "model",
    "messages",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "n",
    "stream",
    "stream_options",
    "user",
];

/// Parses an OpenAI Chat Completions request body.
///
/// The common shapes are read by serde straight from the bytes
/// ([`super::request_typed`]); any other body, and every body with an
/// error, by the reference parser below, whose errors name the member.
pub fn parse_request(body: &[u8]) -> Result<ChatRequest, FormatError> {
    match super::request_typed::read(body) {
        Some(req) => Ok(req),
        None => parse_request_value(body),
    }
}

/// The reference parser: the body as a `serde_json::Value`, then each
/// member read from it with its path.
pub(crate) fn parse_request_value(body: &[u8]) -> Result<ChatRequest, FormatError> {
    let v = json::parse(body)?;
    let m = json::object(&v, ROOT)?;
    let mut req = ChatRequest {
        model: json::req_str(m, "model", ROOT)?.to_owned(),
        extra_format: Some(WireFormat::OpenAi),
        ..ChatRequest::default()
    };
    let messages = json::array(json::req(m, "messages", ROOT)?, "messages")?;
    let mut leading = true;
    for (i, mv) in messages.iter().enumerate() {
        let msg = parse_message(mv, &index_path("messages", i))?;
        if leading && msg.role == Role::System {
            req.system.extend(msg.content);
            continue;
        }
        leading = false;
        req.messages.push(msg);
    }
    if let Some(tools) = json::opt_array(m, "tools", ROOT)? {
        for (i, t) in tools.iter().enumerate() {
            req.tools.push(parse_tool(t, &index_path("tools", i))?);
        }
    }
    req.tool_choice = json::get(m, "tool_choice").map(|v| parse_tool_choice(v, "tool_choice")).transpose()?.flatten();
    req.parallel_tool_calls = json::opt_bool(m, "parallel_tool_calls", ROOT)?;
    req.response_format =
        json::opt_object(m, "response_format", ROOT)?.map(|f| parse_response_format(f, "response_format")).transpose()?.flatten();
    if let Some(n) = json::opt_u64(m, "max_completion_tokens", ROOT)? {
        req.max_tokens = Some(n);
        req.openai_max_completion_tokens = true;
    } else {
        req.max_tokens = json::opt_u64(m, "max_tokens", ROOT)?;
    }
    req.temperature = json::opt_f64(m, "temperature", ROOT)?;
    req.top_p = json::opt_f64(m, "top_p", ROOT)?;
    req.stop = json::get(m, "stop").map(|v| json::string_or_strings(v, "stop")).transpose()?.unwrap_or_default();
    req.seed = json::opt_i64(m, "seed", ROOT)?;
    req.n = json::opt_u32(m, "n", ROOT)?;
    req.stream = json::opt_bool(m, "stream", ROOT)?.unwrap_or(false);
    if let Some(so) = json::opt_object(m, "stream_options", ROOT)? {
        req.include_usage = json::opt_bool(so, "include_usage", "stream_options")?.unwrap_or(false);
    }
    req.user = json::opt_string(m, "user", ROOT)?;
    req.extra = m.iter().filter(|(k, _)| !KNOWN.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    // Values of a newer shape than this crate models pass through as they came.
    for (key, unmodelled) in [("tool_choice", req.tool_choice.is_none()), ("response_format", req.response_format.is_none())] {
        if let (true, Some(v)) = (unmodelled, json::get(m, key)) {
            req.extra.insert(key.to_owned(), v.clone());
        }
    }
    Ok(req)
}

fn parse_message(v: &Value, path: &str) -> Result<Message, FormatError> {
    let m = json::object(v, path)?;
    let role = match json::req_str(m, "role", path)? {
        "system" | "developer" => Role::System,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" => Role::Tool,
        other => return Err(FormatError::invalid(key_path(path, "role"), format!("unknown role `{other}`"))),
    };
    let mut msg = Message::new(role, content::parse(m.get("content"), &key_path(path, "content"))?);
    msg.name = json::opt_string(m, "name", path)?;
    if role == Role::Assistant {
        if let Some(calls) = json::opt_array(m, "tool_calls", path)? {
            let calls_path = key_path(path, "tool_calls");
            for (i, c) in calls.iter().enumerate() {
                msg.tool_calls.push(parse_tool_call(c, &index_path(&calls_path, i))?);
            }
        }
    }
    if role == Role::Tool {
        msg.tool_call_id = Some(json::req_str(m, "tool_call_id", path)?.to_owned());
    }
    Ok(msg)
}

fn parse_tool_call(v: &Value, path: &str) -> Result<ToolCall, FormatError> {
    let m = json::object(v, path)?;
    let f_path = key_path(path, "function");
    let f = json::object(json::req(m, "function", path)?, &f_path)?;
    Ok(ToolCall {
        id: json::req_str(m, "id", path)?.to_owned(),
        name: json::req_str(f, "name", &f_path)?.to_owned(),
        arguments: json::opt_string(f, "arguments", &f_path)?.unwrap_or_default(),
    })
}

fn parse_tool(v: &Value, path: &str) -> Result<Tool, FormatError> {
    let m = json::object(v, path)?;
    if json::opt_str(m, "type", path)?.is_some_and(|t| t != "function") {
        let name = json::opt_string(m, "name", path)?.unwrap_or_default();
        return Ok(Tool { name, description: None, parameters: Value::Null, strict: None, extra: m.clone() });
    }
    let f_path = key_path(path, "function");
    let f = json::object(json::req(m, "function", path)?, &f_path)?;
    const KNOWN_FN: &[&str] = &["name", "description", "parameters", "strict"];
    Ok(Tool {
        name: json::req_str(f, "name", &f_path)?.to_owned(),
        description: json::opt_string(f, "description", &f_path)?,
        parameters: json::get(f, "parameters").cloned().unwrap_or_else(|| json!({"type": "object", "properties": {}})),
        strict: json::opt_bool(f, "strict", &f_path)?,
        extra: f.iter().filter(|(k, _)| !KNOWN_FN.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect(),
    })
}

/// `None` for a choice of a shape this crate does not model (e.g.
/// `allowed_tools`); the caller keeps it in `extra`.
fn parse_tool_choice(v: &Value, path: &str) -> Result<Option<ToolChoice>, FormatError> {
    match v {
        Value::String(s) => Ok(match s.as_str() {
            "auto" => Some(ToolChoice::Auto),
            "none" => Some(ToolChoice::None),
            "required" => Some(ToolChoice::Required),
            _ => None,
        }),
        Value::Object(m) => {
            if json::opt_str(m, "type", path)?.is_some_and(|t| t != "function") {
                return Ok(None);
            }
            let f_path = key_path(path, "function");
            let f = json::object(json::req(m, "function", path)?, &f_path)?;
            Ok(Some(ToolChoice::Tool(json::req_str(f, "name", &f_path)?.to_owned())))
        }
        _ => Err(json::wrong(path, "a string or an object")),
    }
}

/// `None` for a type this crate does not model; the caller keeps it in `extra`.
fn parse_response_format(m: &Obj, path: &str) -> Result<Option<ResponseFormat>, FormatError> {
    Ok(Some(match json::req_str(m, "type", path)? {
        "text" => ResponseFormat::Text,
        "json_object" => ResponseFormat::JsonObject,
        "json_schema" => {
            let s_path = key_path(path, "json_schema");
            let s = json::object(json::req(m, "json_schema", path)?, &s_path)?;
            ResponseFormat::JsonSchema {
                name: json::req_str(s, "name", &s_path)?.to_owned(),
                schema: json::get(s, "schema").cloned().unwrap_or_else(|| json!({})),
                strict: json::opt_bool(s, "strict", &s_path)?,
            }
        }
        _ => return Ok(None),
    }))
}

/// Renders [`ChatRequest`] as an OpenAI request body.
///
/// Dropped: [`Message::is_error`], images inside tool results (OpenAI tool
/// messages take text only), unknown parts and `extra` from another format.
/// [`ChatRequest::system`] becomes one leading `system` message.
pub fn render_request(req: &ChatRequest) -> Vec<u8> {
    let mut m = Map::new();
    let same_format = matches!(req.extra_format, None | Some(WireFormat::OpenAi));
    if same_format {
        m.extend(req.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    m.insert("model".into(), Value::String(req.model.clone()));
    let mut messages = Vec::with_capacity(req.messages.len() + 1);
    if !req.system.is_empty() {
        messages.push(json!({"role": "system", "content": content::render_text_only(&req.system)}));
    }
    messages.extend(req.messages.iter().map(render_message));
    m.insert("messages".into(), Value::Array(messages));
    let tools: Vec<Value> = req.tools.iter().filter_map(|t| render_tool(t, same_format)).collect();
    if !tools.is_empty() {
        m.insert("tools".into(), Value::Array(tools));
    }
    put_opt(&mut m, "tool_choice", req.tool_choice.as_ref().map(render_tool_choice));
    put_opt(&mut m, "parallel_tool_calls", req.parallel_tool_calls);
    put_opt(&mut m, "response_format", req.response_format.as_ref().map(render_response_format));
    let max_key = if req.openai_max_completion_tokens { "max_completion_tokens" } else { "max_tokens" };
    put_opt(&mut m, max_key, req.max_tokens);
    put_opt(&mut m, "temperature", req.temperature);
    put_opt(&mut m, "top_p", req.top_p);
    if !req.stop.is_empty() {
        m.insert("stop".into(), json!(req.stop));
    }
    put_opt(&mut m, "seed", req.seed);
    put_opt(&mut m, "n", req.n);
    if req.stream {
        m.insert("stream".into(), Value::Bool(true));
        if req.include_usage {
            m.insert("stream_options".into(), json!({"include_usage": true}));
        }
    }
    put_opt(&mut m, "user", req.user.clone());
    json::to_bytes(&Value::Object(m))
}

fn render_message(msg: &Message) -> Value {
    let mut m = Map::new();
    let role = match msg.role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    };
    m.insert("role".into(), Value::String(role.into()));
    let content = match msg.role {
        Role::System | Role::Tool => content::render_text_only(&msg.content),
        Role::Assistant if msg.content.is_empty() => Value::Null,
        Role::User | Role::Assistant => content::render(&msg.content),
    };
    m.insert("content".into(), content);
    if !msg.tool_calls.is_empty() {
        let calls = msg
            .tool_calls
            .iter()
            .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
            .collect();
        m.insert("tool_calls".into(), Value::Array(calls));
    }
    put_opt(&mut m, "tool_call_id", msg.tool_call_id.clone());
    put_opt(&mut m, "name", msg.name.clone());
    Value::Object(m)
}

fn render_tool(t: &Tool, same_format: bool) -> Option<Value> {
    if t.parameters.is_null() {
        return same_format.then(|| Value::Object(t.extra.clone()));
    }
    let mut f = Map::new();
    if same_format {
        f.extend(t.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    f.insert("name".into(), Value::String(t.name.clone()));
    put_opt(&mut f, "description", t.description.clone());
    f.insert("parameters".into(), t.parameters.clone());
    put_opt(&mut f, "strict", t.strict);
    Some(json!({"type": "function", "function": f}))
}

fn render_tool_choice(c: &ToolChoice) -> Value {
    match c {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Tool(name) => json!({"type": "function", "function": {"name": name}}),
    }
}

fn render_response_format(f: &ResponseFormat) -> Value {
    match f {
        ResponseFormat::Text => json!({"type": "text"}),
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema { name, schema, strict } => {
            let mut s = Map::new();
            s.insert("name".into(), Value::String(name.clone()));
            s.insert("schema".into(), schema.clone());
            put_opt(&mut s, "strict", *strict);
            json!({"type": "json_schema", "json_schema": s})
        }
    }
}
