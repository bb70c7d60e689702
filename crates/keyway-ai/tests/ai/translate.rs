//! Cross-format translations of whole bodies.

use keyway_ai::{anthropic, openai};
use serde_json::json;

use crate::json;

#[test]
fn openai_request_to_anthropic() {
    let r = openai::parse_request(crate::openai::REQUEST.as_bytes()).unwrap();
    let v = json(&anthropic::render_request(&r));
    // System moved top-level.
    assert_eq!(v["system"], json!("You are a weather bot."));
    let msgs = v["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3);
    assert!(msgs.iter().all(|m| m["role"] != json!("system")));
    assert_eq!(
        msgs[0]["content"][1],
        json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}})
    );
    assert_eq!(
        msgs[1],
        json!({"role": "assistant", "content": [
        {"type": "tool_use", "id": "call_abc123", "name": "get_weather", "input": {"city": "Paris"}}]})
    );
    // Tool results become user tool_result blocks.
    assert_eq!(
        msgs[2],
        json!({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "call_abc123", "content": "{\"temp_c\":18}"}]})
    );
    // parameters -> input_schema.
    assert_eq!(
        v["tools"][0],
        json!({"name": "get_weather", "description": "Current weather",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}})
    );
    assert_eq!(v["tool_choice"], json!({"type": "auto", "disable_parallel_tool_use": true}));
    assert_eq!(v["max_tokens"], json!(512));
    assert_eq!(v["stop_sequences"], json!(["END"]));
    assert_eq!(v["metadata"], json!({"user_id": "user-42"}));
    assert_eq!(v["stream"], json!(true));
    // OpenAI-only fields do not leak.
    for k in ["frequency_penalty", "logit_bias", "reasoning_effort", "seed", "n", "response_format", "stream_options", "user"] {
        assert!(v.get(k).is_none(), "{k} leaked into the Anthropic body");
    }
}

#[test]
fn openai_request_without_max_tokens_gets_default_and_merged_tool_results() {
    let body = br#"{"model":"gpt-4o","temperature":1.7,"messages":[
        {"role":"developer","content":"Be terse."},
        {"role":"user","content":"Weather in Paris and Rome?"},
        {"role":"assistant","content":"","tool_calls":[
          {"id":"call_1","type":"function","function":{"name":"w","arguments":"{\"city\":\"Paris\"}"}},
          {"id":"call_2","type":"function","function":{"name":"w","arguments":"{\"city\":\"Rome\"}"}}]},
        {"role":"tool","tool_call_id":"call_1","content":"18C"},
        {"role":"tool","tool_call_id":"call_2","content":"25C"},
        {"role":"user","content":"Thanks"}]}"#;
    let r = openai::parse_request(body).unwrap();
    let v = json(&anthropic::render_request(&r));
    assert_eq!(v["max_tokens"], json!(anthropic::DEFAULT_MAX_TOKENS));
    assert_eq!(v["temperature"], json!(1.0));
    assert_eq!(v["system"], json!("Be terse."));
    let msgs = v["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    assert_eq!(msgs[1]["content"].as_array().unwrap().len(), 2);
    assert_eq!(msgs[2]["role"], json!("user"));
    let blocks = msgs[2]["content"].as_array().unwrap();
    assert_eq!(blocks.len(), 3);
    assert_eq!(blocks[0]["tool_use_id"], json!("call_1"));
    assert_eq!(blocks[1]["tool_use_id"], json!("call_2"));
    assert_eq!(blocks[2], json!({"type": "text", "text": "Thanks"}));
}

#[test]
fn anthropic_request_to_openai() {
    let r = anthropic::parse_request(crate::anthropic::REQUEST.as_bytes()).unwrap();
    let v = json(&openai::render_request(&r));
    let msgs = v["messages"].as_array().unwrap();
    assert_eq!(msgs[0], json!({"role": "system", "content": "You are a weather bot."}));
    assert_eq!(msgs[1]["content"][1]["image_url"]["url"], json!("data:image/jpeg;base64,/9j/4AAQSkZJRg=="));
    assert_eq!(msgs[2]["content"], json!("Let me check."));
    assert_eq!(msgs[2]["tool_calls"][0]["function"]["name"], json!("get_weather"));
    let args: serde_json::Value =
        serde_json::from_str(msgs[2]["tool_calls"][0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"city": "Paris", "unit": "celsius"}));
    assert_eq!(msgs[3], json!({"role": "tool", "tool_call_id": "toolu_01A09q90qw90lq917835lq9", "content": "18 degrees, sunny"}));
    assert_eq!(msgs[4], json!({"role": "user", "content": "And tomorrow?"}));
    assert_eq!(v["tools"][0]["function"]["parameters"]["required"], json!(["city"]));
    assert_eq!(v["tool_choice"], json!("required"));
    assert_eq!(v["parallel_tool_calls"], json!(false));
    assert_eq!(v["stop"], json!(["\n\nHuman:"]));
    assert_eq!(v["stream_options"], json!({"include_usage": true}));
    assert_eq!(v["user"], json!("user-42"));
    assert!(v.get("thinking").is_none() && v.get("top_k").is_none() && v.get("metadata").is_none());
}

#[test]
fn anthropic_response_to_openai() {
    let r = anthropic::parse_response(crate::anthropic::RESPONSE.as_bytes()).unwrap();
    let v = json(&openai::render_response(&r));
    assert_eq!(v["object"], json!("chat.completion"));
    assert_eq!(v["id"], json!("msg_01XFDUDYJgAACzvnptvVoYEL"));
    let c = &v["choices"][0];
    assert_eq!(c["finish_reason"], json!("tool_calls"));
    assert_eq!(c["message"]["content"], json!("I'll check the weather."));
    let call = &c["message"]["tool_calls"][0];
    assert_eq!(call["id"], json!("toolu_01T1x1fJ34qAmk2tNTrN7Up6"));
    assert_eq!(call["type"], json!("function"));
    // Arguments are a JSON *string*.
    let args = call["function"]["arguments"].as_str().unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(args).unwrap(), json!({"city": "Paris"}));
    assert_eq!(v["usage"]["prompt_tokens"], json!(1250));
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], json!(1000));
    assert_eq!(v["usage"]["completion_tokens"], json!(80));
    assert_eq!(v["usage"]["total_tokens"], json!(1330));
}

#[test]
fn stop_reasons_map_both_ways() {
    let cases = [
        ("end_turn", "stop"),
        ("max_tokens", "length"),
        ("stop_sequence", "stop"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "pause_turn"),
    ];
    for (anth, oai) in cases {
        let body = format!(
            r#"{{"id":"msg_1","type":"message","role":"assistant","model":"c","content":[{{"type":"text","text":"x"}}],"stop_reason":"{anth}","stop_sequence":null,"usage":{{"input_tokens":1,"output_tokens":1}}}}"#
        );
        let r = anthropic::parse_response(body.as_bytes()).unwrap();
        assert_eq!(json(&openai::render_response(&r))["choices"][0]["finish_reason"], json!(oai), "{anth}");
    }
    for (oai, anth) in [("stop", "end_turn"), ("length", "max_tokens"), ("tool_calls", "tool_use"), ("content_filter", "refusal")]
    {
        let body = format!(
            r#"{{"id":"c","object":"chat.completion","created":1,"model":"g","choices":[{{"index":0,"message":{{"role":"assistant","content":"x"}},"finish_reason":"{oai}"}}]}}"#
        );
        let r = openai::parse_response(body.as_bytes()).unwrap();
        assert_eq!(json(&anthropic::render_response(&r))["stop_reason"], json!(anth), "{oai}");
    }
}

#[test]
fn openai_response_to_anthropic_usage() {
    let r = openai::parse_response(crate::openai::RESPONSE.as_bytes()).unwrap();
    let v = json(&anthropic::render_response(&r));
    // 1200 prompt tokens of which 1024 cached: Anthropic input_tokens is the rest.
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 176, "cache_read_input_tokens": 1024, "cache_creation_input_tokens": 0, "output_tokens": 300})
    );
    assert_eq!(v["content"][0]["type"], json!("tool_use"));
    assert_eq!(v["content"][0]["input"], json!({"city": "Paris"}));
}

#[test]
fn errors_translate() {
    let e = anthropic::parse_error(br#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#).unwrap();
    let v = json(&openai::render_error(&e));
    assert_eq!(v["error"]["type"], json!("rate_limit_error"));
    assert_eq!(v["error"]["message"], json!("slow down"));
    let e = openai::parse_error(br#"{"error":{"message":"bad","type":"invalid_request_error","param":"messages","code":null}}"#)
        .unwrap();
    let v = json(&anthropic::render_error(&e));
    assert_eq!(v["error"]["type"], json!("invalid_request_error"));
    assert_eq!(v["error"]["message"], json!("bad: messages"));
}
