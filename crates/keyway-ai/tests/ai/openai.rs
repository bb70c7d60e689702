//! OpenAI parse/render round trips, usage, errors.

use keyway_ai::openai;
use keyway_ai::{ContentPart, FinishReason, ImageSource, ResponseFormat, Role, ToolChoice, Usage};
use serde_json::json;

use crate::json;

pub const REQUEST: &str = r#"{
  "model": "gpt-4o-2024-08-06",
  "messages": [
    {"role": "system", "content": "You are a weather bot."},
    {"role": "user", "content": [
      {"type": "text", "text": "Weather in Paris? Also, what's in this picture?"},
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}
    ]},
    {"role": "assistant", "content": null, "tool_calls": [
      {"id": "call_abc123", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
    ]},
    {"role": "tool", "tool_call_id": "call_abc123", "content": "{\"temp_c\":18}"}
  ],
  "tools": [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": true}}],
  "tool_choice": "auto",
  "parallel_tool_calls": false,
  "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": true}},
  "max_completion_tokens": 512,
  "temperature": 0.2,
  "top_p": 0.9,
  "stop": "END",
  "seed": 7,
  "n": 1,
  "stream": true,
  "stream_options": {"include_usage": true},
  "user": "user-42",
  "frequency_penalty": 0.5,
  "logit_bias": {"50256": -100},
  "reasoning_effort": "low"
}"#;

#[test]
fn parse_request_reads_every_field() {
    let r = openai::parse_request(REQUEST.as_bytes()).unwrap();
    assert_eq!(r.model, "gpt-4o-2024-08-06");
    assert_eq!(r.system, vec![ContentPart::Text("You are a weather bot.".into())]);
    assert_eq!(r.messages.len(), 3);
    assert_eq!(r.messages[0].role, Role::User);
    assert_eq!(
        r.messages[0].content[1],
        ContentPart::Image {
            source: ImageSource::Base64 { media_type: "image/png".into(), data: "iVBORw0KGgo=".into() },
            detail: Some("low".into())
        }
    );
    assert_eq!(r.messages[1].role, Role::Assistant);
    assert!(r.messages[1].content.is_empty());
    assert_eq!(r.messages[1].tool_calls[0].arguments, r#"{"city":"Paris"}"#);
    assert_eq!(r.messages[2].role, Role::Tool);
    assert_eq!(r.messages[2].tool_call_id.as_deref(), Some("call_abc123"));
    assert_eq!(r.tools[0].parameters["required"], json!(["city"]));
    assert_eq!(r.tools[0].strict, Some(true));
    assert_eq!(r.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(r.parallel_tool_calls, Some(false));
    assert!(
        matches!(r.response_format, Some(ResponseFormat::JsonSchema { ref name, strict: Some(true), .. }) if name == "answer")
    );
    assert_eq!(r.max_tokens, Some(512));
    assert!(r.openai_max_completion_tokens);
    assert_eq!(r.temperature, Some(0.2));
    assert_eq!(r.top_p, Some(0.9));
    assert_eq!(r.stop, vec!["END".to_owned()]);
    assert_eq!(r.seed, Some(7));
    assert_eq!(r.n, Some(1));
    assert!(r.stream && r.include_usage);
    assert_eq!(r.user.as_deref(), Some("user-42"));
    assert_eq!(r.extra.len(), 3);
    assert_eq!(r.extra["logit_bias"], json!({"50256": -100}));
}

#[test]
fn request_round_trip_keeps_everything_including_unknown_fields() {
    let r = openai::parse_request(REQUEST.as_bytes()).unwrap();
    let out = openai::render_request(&r);
    let again = openai::parse_request(&out).unwrap();
    assert_eq!(again, r);
    let v = json(&out);
    assert_eq!(v["frequency_penalty"], json!(0.5));
    assert_eq!(v["reasoning_effort"], json!("low"));
    assert_eq!(v["max_completion_tokens"], json!(512));
    assert!(v.get("max_tokens").is_none());
    assert_eq!(v["messages"][0], json!({"role": "system", "content": "You are a weather bot."}));
    assert_eq!(v["messages"][1]["content"][1]["image_url"]["url"], json!("data:image/png;base64,iVBORw0KGgo="));
    assert_eq!(v["messages"][2]["content"], json!(null));
    assert_eq!(v["stream_options"], json!({"include_usage": true}));
}

#[test]
fn unknown_content_part_is_kept_for_openai() {
    let body = br#"{"model":"m","messages":[{"role":"user","content":[
        {"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}}]}]}"#;
    let r = openai::parse_request(body).unwrap();
    let v = json(&openai::render_request(&r));
    assert_eq!(v["messages"][0]["content"][0]["type"], json!("input_audio"));
}

pub const RESPONSE: &str = r#"{
  "id": "chatcmpl-123", "object": "chat.completion", "created": 1728933352, "model": "gpt-4o-2024-08-06",
  "system_fingerprint": "fp_abc",
  "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "refusal": null,
    "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
    "logprobs": null, "finish_reason": "tool_calls"}],
  "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500,
    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 128, "audio_tokens": 0}}
}"#;

#[test]
fn usage_mapping_openai_counts_are_inclusive() {
    let r = openai::parse_response(RESPONSE.as_bytes()).unwrap();
    assert_eq!(
        r.usage,
        Some(Usage {
            input_tokens: 1200,
            output_tokens: 300,
            cached_input_tokens: 1024,
            cache_write_tokens: 0,
            reasoning_tokens: 128
        })
    );
    let v = json(&openai::render_response(&r));
    assert_eq!(v["usage"]["prompt_tokens"], json!(1200));
    assert_eq!(v["usage"]["total_tokens"], json!(1500));
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], json!(1024));
    assert_eq!(v["usage"]["completion_tokens_details"]["reasoning_tokens"], json!(128));
}

#[test]
fn response_round_trip() {
    let r = openai::parse_response(RESPONSE.as_bytes()).unwrap();
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(r.choices[0].message.tool_calls[0].name, "get_weather");
    let out = openai::render_response(&r);
    assert_eq!(openai::parse_response(&out).unwrap(), r);
    let v = json(&out);
    assert_eq!(v["object"], json!("chat.completion"));
    assert_eq!(v["created"], json!(1728933352));
    assert_eq!(v["choices"][0]["message"]["content"], json!(null));
    assert_eq!(v["choices"][0]["message"]["tool_calls"][0]["type"], json!("function"));
}

#[test]
fn error_body_round_trip() {
    let body = br#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
    let e = openai::parse_error(body).unwrap();
    assert_eq!(e.kind, keyway_ai::ErrorKind::RateLimit);
    assert_eq!(e.code.as_deref(), Some("rate_limit_exceeded"));
    let v = json(&openai::render_error(&e));
    assert_eq!(v["error"]["message"], json!("Rate limit reached"));
    assert_eq!(v["error"]["code"], json!("rate_limit_exceeded"));
    assert_eq!(v["error"]["param"], json!(null));
}

#[test]
fn format_error_becomes_400_naming_the_field() {
    let body = br#"{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"user","content":"ok"},{"role":"user","content":42}]}"#;
    let err = openai::parse_request(body).unwrap_err();
    assert_eq!(err.path(), Some("messages[2].content"));
    assert!(err.to_string().contains("messages[2].content"), "{err}");
    let api = keyway_ai::ApiError::from(&err);
    assert_eq!(api.kind.http_status(), 400);
    assert_eq!(api.code.as_deref(), Some("request_invalid"));
    let v = json(&openai::render_error(&api));
    assert_eq!(v["error"]["param"], json!("messages[2].content"));
}

#[test]
fn unmodelled_tool_choice_and_response_format_pass_through() {
    let body = br#"{"model":"m","messages":[{"role":"user","content":"hi"}],
        "tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[]}},
        "response_format":{"type":"grammar","grammar":"root ::= x"}}"#;
    let r = openai::parse_request(body).unwrap();
    assert_eq!(r.tool_choice, None);
    assert_eq!(r.response_format, None);
    let v = json(&openai::render_request(&r));
    assert_eq!(v["tool_choice"]["type"], json!("allowed_tools"));
    assert_eq!(v["response_format"]["grammar"], json!("root ::= x"));
    // Not leaked into Anthropic.
    let a = json(&keyway_ai::anthropic::render_request(&r));
    assert!(a.get("tool_choice").is_none() && a.get("response_format").is_none());
}
