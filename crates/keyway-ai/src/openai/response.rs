//! OpenAI `chat.completion` bodies <-> [`ChatResponse`], and the usage mapping.

use serde_json::{json, Map, Value};

use super::content;
use crate::canonical::{ChatResponse, Choice, ContentPart, FinishReason, Message, Role, ToolCall, Usage};
use crate::error::FormatError;
use crate::json::{self, index_path, key_path, Obj, ROOT};

/// Reads an OpenAI `usage` object. `prompt_tokens` already includes
/// `prompt_tokens_details.cached_tokens`, and `completion_tokens` already
/// includes `completion_tokens_details.reasoning_tokens`, so they map
/// one to one (see [`Usage`]).
pub fn usage_from_openai(m: &Map<String, Value>, path: &str) -> Result<Usage, FormatError> {
    let mut u = Usage {
        input_tokens: json::opt_u64(m, "prompt_tokens", path)?.unwrap_or(0),
        output_tokens: json::opt_u64(m, "completion_tokens", path)?.unwrap_or(0),
        ..Usage::default()
    };
    if let Some(d) = json::opt_object(m, "prompt_tokens_details", path)? {
        u.cached_input_tokens = json::opt_u64(d, "cached_tokens", &key_path(path, "prompt_tokens_details"))?.unwrap_or(0);
    }
    if let Some(d) = json::opt_object(m, "completion_tokens_details", path)? {
        u.reasoning_tokens = json::opt_u64(d, "reasoning_tokens", &key_path(path, "completion_tokens_details"))?.unwrap_or(0);
    }
    Ok(u)
}

/// An OpenAI `usage` object read by serde straight from the body, no
/// `Value` built: what the metering of a relayed answer reads. It takes
/// exactly what [`usage_from_openai`] takes (each member absent, `null`
/// or a non-negative integer) and gives the same [`Usage`]; on anything
/// else the caller reads the body again with [`usage_from_openai`] for
/// an error that names the member.
#[derive(serde::Deserialize)]
pub(crate) struct UsageWire {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<CachedWire>,
    #[serde(default)]
    completion_tokens_details: Option<ReasoningWire>,
}

#[derive(serde::Deserialize)]
struct CachedWire {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(serde::Deserialize)]
struct ReasoningWire {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

impl From<UsageWire> for Usage {
    fn from(w: UsageWire) -> Self {
        Usage {
            input_tokens: w.prompt_tokens.unwrap_or(0),
            output_tokens: w.completion_tokens.unwrap_or(0),
            cached_input_tokens: w.prompt_tokens_details.and_then(|d| d.cached_tokens).unwrap_or(0),
            reasoning_tokens: w.completion_tokens_details.and_then(|d| d.reasoning_tokens).unwrap_or(0),
            ..Usage::default()
        }
    }
}

/// Renders [`Usage`] as an OpenAI `usage` object. Cache writes have no
/// OpenAI field; they stay counted in `prompt_tokens`.
pub fn usage_to_openai(u: &Usage) -> Value {
    json!({
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.total_tokens(),
        "prompt_tokens_details": {"cached_tokens": u.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
    })
}

/// Parses an OpenAI `chat.completion` body. A `refusal` with no content
/// becomes the message text.
pub fn parse_response(body: &[u8]) -> Result<ChatResponse, FormatError> {
    let v = json::parse(body)?;
    let m = json::object(&v, ROOT)?;
    let choices_v = json::array(json::req(m, "choices", ROOT)?, "choices")?;
    let mut choices = Vec::with_capacity(choices_v.len());
    for (i, c) in choices_v.iter().enumerate() {
        choices.push(parse_choice(c, i, &index_path("choices", i))?);
    }
    Ok(ChatResponse {
        id: json::opt_string(m, "id", ROOT)?.unwrap_or_default(),
        model: json::opt_string(m, "model", ROOT)?.unwrap_or_default(),
        created: json::opt_u64(m, "created", ROOT)?,
        choices,
        usage: json::opt_object(m, "usage", ROOT)?.map(|u| usage_from_openai(u, "usage")).transpose()?,
    })
}

fn parse_choice(v: &Value, pos: usize, path: &str) -> Result<Choice, FormatError> {
    let m = json::object(v, path)?;
    let index = json::opt_u32(m, "index", path)?.unwrap_or(u32::try_from(pos).unwrap_or(u32::MAX));
    let msg_path = key_path(path, "message");
    let mm: &Obj = json::object(json::req(m, "message", path)?, &msg_path)?;
    let mut message = Message::new(Role::Assistant, content::parse(mm.get("content"), &key_path(&msg_path, "content"))?);
    if message.content.is_empty() {
        if let Some(r) = json::opt_str(mm, "refusal", &msg_path)? {
            message.content.push(ContentPart::Text(r.to_owned()));
        }
    }
    if let Some(calls) = json::opt_array(mm, "tool_calls", &msg_path)? {
        let calls_path = key_path(&msg_path, "tool_calls");
        for (i, c) in calls.iter().enumerate() {
            let c_path = index_path(&calls_path, i);
            let cm = json::object(c, &c_path)?;
            let f_path = key_path(&c_path, "function");
            let f = json::object(json::req(cm, "function", &c_path)?, &f_path)?;
            message.tool_calls.push(ToolCall {
                id: json::req_str(cm, "id", &c_path)?.to_owned(),
                name: json::req_str(f, "name", &f_path)?.to_owned(),
                arguments: json::opt_string(f, "arguments", &f_path)?.unwrap_or_default(),
            });
        }
    }
    Ok(Choice {
        index,
        message,
        finish_reason: json::opt_str(m, "finish_reason", path)?.map(FinishReason::from_openai),
        stop_sequence: None,
    })
}

/// Renders [`ChatResponse`] as an OpenAI `chat.completion` body. Text
/// parts are joined into one `content` string; other parts are dropped.
pub fn render_response(resp: &ChatResponse) -> Vec<u8> {
    let choices: Vec<Value> = resp
        .choices
        .iter()
        .map(|c| {
            let mut msg = Map::new();
            msg.insert("role".into(), json!("assistant"));
            let text = c.message.joined_text();
            let content = if text.is_empty() && !c.message.tool_calls.is_empty() { Value::Null } else { json!(text) };
            msg.insert("content".into(), content);
            msg.insert("refusal".into(), Value::Null);
            if !c.message.tool_calls.is_empty() {
                let calls = c
                    .message
                    .tool_calls
                    .iter()
                    .map(|t| json!({"id": t.id, "type": "function", "function": {"name": t.name, "arguments": t.arguments}}))
                    .collect();
                msg.insert("tool_calls".into(), Value::Array(calls));
            }
            json!({
                "index": c.index,
                "message": msg,
                "logprobs": null,
                "finish_reason": c.finish_reason.as_ref().map(FinishReason::to_openai),
            })
        })
        .collect();
    let mut m = Map::new();
    m.insert("id".into(), json!(resp.id));
    m.insert("object".into(), json!("chat.completion"));
    m.insert("created".into(), json!(resp.created.unwrap_or(0)));
    m.insert("model".into(), json!(resp.model));
    m.insert("choices".into(), Value::Array(choices));
    if let Some(u) = &resp.usage {
        m.insert("usage".into(), usage_to_openai(u));
    }
    json::to_bytes(&Value::Object(m))
}
