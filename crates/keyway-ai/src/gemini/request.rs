//! [`ChatRequest`] -> Gemini `generateContent` request bodies.

use serde_json::{json, Map, Value};

use super::response::split_signed_id;
use super::schema;
use crate::canonical::{ChatRequest, ContentPart, ImageSource, Message, ResponseFormat, Role, Tool, ToolChoice, WireFormat};
use crate::json::{self, put_opt};

/// Renders [`ChatRequest`] as a body for `generateContent` and
/// `streamGenerateContent?alt=sse` (the same body serves both: the model
/// and streaming are chosen by the URL, see
/// [`ProviderKind::url`](crate::provider::ProviderKind::url)).
///
/// - [`ChatRequest::system`] becomes `systemInstruction` (text only).
/// - Messages become `contents`: user -> `user`, assistant -> `model`,
///   tool results -> `user` `functionResponse` parts; consecutive contents
///   of the same role are merged (parallel calls' results go together, as
///   Gemini expects). A non-leading system message becomes user text.
/// - Images: inline bytes -> `inlineData`; URLs -> `fileData` with a
///   `mimeType` guessed from the extension (omitted when unknown).
/// - Tool calls -> `functionCall {name, args}` (arguments that are not a
///   JSON object are sent as `{}`), with the `thoughtSignature` Gemini gave
///   the call, carried in its id (see `response::SIGNATURE_MARK`); a tool result -> `functionResponse
///   {name, response}`, the name found from the matching earlier call
///   (else the message's `name`, else the call id), `response` the result
///   text parsed as a JSON object, else `{"content": text}` (`{"error":
///   text}` when [`Message::is_error`]).
/// - Tools -> one `functionDeclarations` tool, schemas rewritten to
///   Gemini's OpenAPI subset (`type: [T, "null"]` -> `nullable`, `const`
///   -> `enum`, `oneOf` -> `anyOf`; `additionalProperties`, `$schema`,
///   `$ref`/`$defs` (not inlined) and other keywords dropped); a function
///   with no properties is sent without `parameters`; `tool_choice` ->
///   `toolConfig.functionCallingConfig` (`AUTO`, `NONE`, `ANY`, or `ANY`
///   with `allowedFunctionNames`).
/// - `generationConfig`: `temperature`, `topP`, `maxOutputTokens`,
///   `stopSequences`, `seed`, `candidateCount` (from `n`), and for JSON
///   mode `responseMimeType: application/json` plus `responseSchema`.
///
/// Dropped: `parallel_tool_calls`, `user`, `stream`/`include_usage`
/// (Gemini always reports usage), tool-call ids (Gemini matches results by
/// name), image `detail`, tools' `strict`, non-function tools and unknown
/// parts from another format, and `extra` unless it came from Gemini or
/// from the gateway itself (`extra_format` `None`).
pub fn render_request(req: &ChatRequest) -> Vec<u8> {
    let mut m = Map::new();
    if matches!(req.extra_format, None | Some(WireFormat::Gemini)) {
        m.extend(req.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    m.insert("contents".into(), Value::Array(render_contents(&req.messages)));
    let system: Vec<Value> = req.system.iter().filter_map(ContentPart::as_text).map(|t| json!({"text": t})).collect();
    if !system.is_empty() {
        m.insert("systemInstruction".into(), json!({"parts": system}));
    }
    let decls: Vec<Value> = req.tools.iter().filter_map(render_tool).collect();
    if !decls.is_empty() {
        m.insert("tools".into(), json!([{"functionDeclarations": decls}]));
    }
    if let Some(choice) = &req.tool_choice {
        let config = match choice {
            ToolChoice::Auto => json!({"mode": "AUTO"}),
            ToolChoice::None => json!({"mode": "NONE"}),
            ToolChoice::Required => json!({"mode": "ANY"}),
            ToolChoice::Tool(name) => json!({"mode": "ANY", "allowedFunctionNames": [name]}),
        };
        m.insert("toolConfig".into(), json!({"functionCallingConfig": config}));
    }
    let config = render_generation_config(req);
    if !config.is_empty() {
        m.insert("generationConfig".into(), Value::Object(config));
    }
    json::to_bytes(&Value::Object(m))
}

fn render_generation_config(req: &ChatRequest) -> Map<String, Value> {
    let mut c = Map::new();
    put_opt(&mut c, "temperature", req.temperature);
    put_opt(&mut c, "topP", req.top_p);
    put_opt(&mut c, "maxOutputTokens", req.max_tokens);
    if !req.stop.is_empty() {
        c.insert("stopSequences".into(), json!(req.stop));
    }
    put_opt(&mut c, "seed", req.seed);
    put_opt(&mut c, "candidateCount", req.n);
    match &req.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => {
            c.insert("responseMimeType".into(), json!("application/json"));
        }
        Some(ResponseFormat::JsonSchema { schema: s, .. }) => {
            c.insert("responseMimeType".into(), json!("application/json"));
            c.insert("responseSchema".into(), schema::to_gemini(s));
        }
    }
    c
}

fn render_tool(t: &Tool) -> Option<Value> {
    if t.parameters.is_null() {
        return None;
    }
    let mut d = Map::new();
    d.insert("name".into(), json!(t.name));
    put_opt(&mut d, "description", t.description.clone());
    // Gemini refuses an object schema with no properties as `parameters`.
    let empty = t.parameters.get("properties").and_then(Value::as_object).is_none_or(Map::is_empty)
        && t.parameters.get("type").and_then(Value::as_str).is_none_or(|ty| ty == "object");
    if !empty {
        d.insert("parameters".into(), schema::to_gemini(&t.parameters));
    }
    Some(Value::Object(d))
}

fn render_contents(messages: &[Message]) -> Vec<Value> {
    let mut out: Vec<(&str, Vec<Value>)> = Vec::new();
    for (i, msg) in messages.iter().enumerate() {
        let (role, parts) = match msg.role {
            Role::User | Role::System => ("user", render_parts(&msg.content)),
            Role::Assistant => {
                let mut parts = render_parts(&msg.content);
                parts.extend(msg.tool_calls.iter().map(|c| {
                    let args = match serde_json::from_str::<Value>(&c.arguments) {
                        Ok(v @ Value::Object(_)) => v,
                        _ => Value::Object(Map::new()),
                    };
                    match split_signed_id(&c.id).1 {
                        Some(sig) => json!({"functionCall": {"name": c.name, "args": args}, "thoughtSignature": sig}),
                        None => json!({"functionCall": {"name": c.name, "args": args}}),
                    }
                }));
                ("model", parts)
            }
            Role::Tool => ("user", vec![render_function_response(msg, &messages[..i])]),
        };
        if parts.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some((r, prev)) if *r == role => prev.extend(parts),
            _ => out.push((role, parts)),
        }
    }
    out.into_iter().map(|(role, parts)| json!({"role": role, "parts": parts})).collect()
}

fn render_function_response(msg: &Message, earlier: &[Message]) -> Value {
    let id = msg.tool_call_id.as_deref().unwrap_or("");
    let name = earlier
        .iter()
        .rev()
        .flat_map(|m| m.tool_calls.iter())
        .find(|c| c.id == id)
        .map(|c| c.name.clone())
        .or_else(|| msg.name.clone())
        .unwrap_or_else(|| id.to_owned());
    let text = msg.joined_text();
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(v @ Value::Object(_)) if !msg.is_error => v,
        _ if msg.is_error => json!({"error": text}),
        _ => json!({"content": text}),
    };
    json!({"functionResponse": {"name": name, "response": response}})
}

fn render_parts(parts: &[ContentPart]) -> Vec<Value> {
    parts.iter().filter_map(render_part).collect()
}

fn render_part(p: &ContentPart) -> Option<Value> {
    match p {
        ContentPart::Text(t) if t.is_empty() => None,
        ContentPart::Text(t) => Some(json!({"text": t})),
        ContentPart::Image { source: ImageSource::Base64 { media_type, data }, .. } => {
            Some(json!({"inlineData": {"mimeType": media_type, "data": data}}))
        }
        ContentPart::Image { source: ImageSource::Url(url), .. } => {
            let mut f = Map::new();
            put_opt(&mut f, "mimeType", mime_from_url(url));
            f.insert("fileUri".into(), json!(url));
            Some(json!({"fileData": f}))
        }
        ContentPart::Other { format: WireFormat::Gemini, value } => Some(value.clone()),
        ContentPart::Other { .. } => p.as_text().map(|t| json!({"text": t})),
    }
}

/// The image MIME type an URL's extension names, if any.
fn mime_from_url(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "heic" => "image/heic",
        "heif" => "image/heif",
        _ => return None,
    })
}
