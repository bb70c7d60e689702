//! Anthropic parse/render round trips, usage, errors.

use keyway_ai::anthropic;
use keyway_ai::{ContentPart, ErrorKind, FinishReason, ImageSource, Role, ToolChoice, Usage};
use serde_json::json;

use crate::json;

pub const REQUEST: &str = r#"{
  "model": "claude-sonnet-4-5-20250929",
  "max_tokens": 1024,
  "system": [{"type": "text", "text": "You are a weather bot."}],
  "messages": [
    {"role": "user", "content": [
      {"type": "text", "text": "Weather in Paris?"},
      {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQSkZJRg=="}}
    ]},
    {"role": "assistant", "content": [
      {"type": "text", "text": "Let me check."},
      {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"city": "Paris", "unit": "celsius"}}
    ]},
    {"role": "user", "content": [
      {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9", "content": "18 degrees, sunny"},
      {"type": "text", "text": "And tomorrow?"}
    ]}
  ],
  "tools": [{"name": "get_weather", "description": "Current weather",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}, "required": ["city"]}}],
  "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
  "temperature": 0.5,
  "top_p": 0.95,
  "top_k": 40,
  "stop_sequences": ["\n\nHuman:"],
  "stream": true,
  "metadata": {"user_id": "user-42"},
  "thinking": {"type": "enabled", "budget_tokens": 2048}
}"#;

#[test]
fn parse_request_reads_every_field() {
    let r = anthropic::parse_request(REQUEST.as_bytes()).unwrap();
    assert_eq!(r.system, vec![ContentPart::Text("You are a weather bot.".into())]);
    let roles: Vec<Role> = r.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, vec![Role::User, Role::Assistant, Role::Tool, Role::User]);
    assert_eq!(
        r.messages[0].content[1],
        ContentPart::Image {
            source: ImageSource::Base64 { media_type: "image/jpeg".into(), data: "/9j/4AAQSkZJRg==".into() },
            detail: None
        }
    );
    let call = &r.messages[1].tool_calls[0];
    assert_eq!(serde_json::from_str::<serde_json::Value>(&call.arguments).unwrap(), json!({"city": "Paris", "unit": "celsius"}));
    assert_eq!(r.messages[2].tool_call_id.as_deref(), Some("toolu_01A09q90qw90lq917835lq9"));
    assert_eq!(r.messages[2].joined_text(), "18 degrees, sunny");
    assert_eq!(r.messages[3].joined_text(), "And tomorrow?");
    assert_eq!(r.tools[0].parameters["required"], json!(["city"]));
    assert_eq!(r.tool_choice, Some(ToolChoice::Required));
    assert_eq!(r.parallel_tool_calls, Some(false));
    assert_eq!(r.max_tokens, Some(1024));
    assert_eq!(r.stop, vec!["\n\nHuman:".to_owned()]);
    assert!(r.stream && r.include_usage);
    assert_eq!(r.user.as_deref(), Some("user-42"));
    assert_eq!(r.extra.keys().collect::<Vec<_>>(), vec!["thinking", "top_k"]);
}

#[test]
fn request_round_trip_keeps_everything_including_unknown_fields() {
    let r = anthropic::parse_request(REQUEST.as_bytes()).unwrap();
    let out = anthropic::render_request(&r);
    assert_eq!(anthropic::parse_request(&out).unwrap(), r);
    let v = json(&out);
    assert_eq!(v["thinking"], json!({"type": "enabled", "budget_tokens": 2048}));
    assert_eq!(v["top_k"], json!(40));
    assert_eq!(v["system"], json!("You are a weather bot."));
    // The tool result and the follow-up text are one user message again.
    assert_eq!(v["messages"].as_array().unwrap().len(), 3);
    assert_eq!(v["messages"][2]["content"][0]["type"], json!("tool_result"));
    assert_eq!(v["messages"][2]["content"][1], json!({"type": "text", "text": "And tomorrow?"}));
    assert_eq!(v["messages"][1]["content"][1]["input"], json!({"city": "Paris", "unit": "celsius"}));
    assert_eq!(v["tool_choice"], json!({"type": "any", "disable_parallel_tool_use": true}));
}

pub const RESPONSE: &str = r#"{
  "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
  "model": "claude-sonnet-4-5-20250929",
  "content": [
    {"type": "text", "text": "I'll check the weather."},
    {"type": "tool_use", "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "name": "get_weather", "input": {"city": "Paris"}}
  ],
  "stop_reason": "tool_use", "stop_sequence": null,
  "usage": {"input_tokens": 50, "cache_creation_input_tokens": 200, "cache_read_input_tokens": 1000, "output_tokens": 80,
            "service_tier": "standard"}
}"#;

#[test]
fn usage_mapping_anthropic_input_excludes_cache() {
    let r = anthropic::parse_response(RESPONSE.as_bytes()).unwrap();
    assert_eq!(
        r.usage,
        Some(Usage {
            input_tokens: 1250,
            output_tokens: 80,
            cached_input_tokens: 1000,
            cache_write_tokens: 200,
            reasoning_tokens: 0
        })
    );
    let v = json(&anthropic::render_response(&r));
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 50, "cache_creation_input_tokens": 200, "cache_read_input_tokens": 1000, "output_tokens": 80})
    );
}

#[test]
fn response_round_trip() {
    let r = anthropic::parse_response(RESPONSE.as_bytes()).unwrap();
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::ToolCalls));
    let out = anthropic::render_response(&r);
    assert_eq!(anthropic::parse_response(&out).unwrap(), r);
    let v = json(&out);
    assert_eq!(v["type"], json!("message"));
    assert_eq!(v["stop_reason"], json!("tool_use"));
    assert_eq!(v["content"][1]["input"], json!({"city": "Paris"}));
}

#[test]
fn stop_sequence_round_trip() {
    let body = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-3-5-haiku-latest",
        "content":[{"type":"text","text":"Hi"}],"stop_reason":"stop_sequence","stop_sequence":"\n\nHuman:",
        "usage":{"input_tokens":3,"output_tokens":1}}"#;
    let r = anthropic::parse_response(body).unwrap();
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Stop));
    let v = json(&anthropic::render_response(&r));
    assert_eq!(v["stop_reason"], json!("stop_sequence"));
    assert_eq!(v["stop_sequence"], json!("\n\nHuman:"));
}

#[test]
fn error_body_round_trip() {
    let body = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}"#;
    let e = anthropic::parse_error(body).unwrap();
    assert_eq!(e.kind, ErrorKind::Overloaded);
    assert_eq!(e.kind.http_status(), 529);
    assert_eq!(
        json(&anthropic::render_error(&e)),
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    );
}

#[test]
fn format_error_names_nested_field() {
    let body = br#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[
        {"type":"image","source":{"type":"base64","media_type":"image/png"}}]}]}"#;
    let err = anthropic::parse_request(body).unwrap_err();
    assert_eq!(err.path(), Some("messages[0].content[0].source.data"));
    let body = br#"{"model":"m","max_tokens":"many","messages":[]}"#;
    assert_eq!(anthropic::parse_request(body).unwrap_err().path(), Some("max_tokens"));
}

#[test]
fn unknown_block_kept_for_anthropic_only() {
    let body = br#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[
        {"type":"document","source":{"type":"text","media_type":"text/plain","data":"abc"}},
        {"type":"text","text":"summarise"}]}]}"#;
    let r = anthropic::parse_request(body).unwrap();
    let v = json(&anthropic::render_request(&r));
    assert_eq!(v["messages"][0]["content"][0]["type"], json!("document"));
    let o = json(&keyway_ai::openai::render_request(&r));
    assert_eq!(o["messages"][0]["content"], json!([{"type": "text", "text": "summarise"}]));
}

#[test]
fn cache_control_and_server_tools_survive_anthropic_round_trip_only() {
    let body = br#"{"model":"claude-sonnet-4-5","max_tokens":100,
      "system":[{"type":"text","text":"Long policy text","cache_control":{"type":"ephemeral"}}],
      "messages":[{"role":"user","content":"hi"}],
      "tools":[
        {"name":"get_weather","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}},
        {"type":"web_search_20250305","name":"web_search","max_uses":5}]}"#;
    let r = anthropic::parse_request(body).unwrap();
    assert_eq!(r.system[0].as_text(), Some("Long policy text"));
    let v = json(&anthropic::render_request(&r));
    assert_eq!(v["system"], json!([{"type": "text", "text": "Long policy text", "cache_control": {"type": "ephemeral"}}]));
    assert_eq!(v["tools"][0]["cache_control"], json!({"type": "ephemeral"}));
    assert_eq!(v["tools"][1], json!({"type": "web_search_20250305", "name": "web_search", "max_uses": 5}));
    // To OpenAI: the text survives, the Anthropic-only parts do not.
    let o = json(&keyway_ai::openai::render_request(&r));
    assert_eq!(o["messages"][0], json!({"role": "system", "content": "Long policy text"}));
    assert_eq!(o["tools"].as_array().unwrap().len(), 1);
    assert_eq!(o["tools"][0], json!({"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}));
}

#[test]
fn server_tool_input_json_delta_is_ignored_not_an_error() {
    let s = concat!(
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":\"web_search\",\"input\":{}}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"query\\\": \\\"x\\\"}\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n",
    );
    let mut d = anthropic::StreamDecoder::new();
    assert_eq!(d.feed(s.as_bytes()).unwrap(), vec![]);
}
