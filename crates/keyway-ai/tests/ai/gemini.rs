//! Gemini: request rendering from OpenAI, responses, usage, errors, garbage (streams: `gemini_stream`).

use keyway_ai::{gemini, openai, ErrorKind, FinishReason, FormatError, Usage};
use serde_json::json;

use crate::json;

/// A `gemini-2.5-flash` answer with thinking, a cache hit and a function call.
pub const RESPONSE: &str = r#"{
  "candidates": [{
    "content": {"role": "model", "parts": [
      {"text": "**Checking the forecast**", "thought": true},
      {"text": "Let me check the weather."},
      {"functionCall": {"name": "get_weather", "args": {"city": "Paris", "unit": "c"}}, "thoughtSignature": "CiQB0e2Kb=="}
    ]},
    "finishReason": "STOP",
    "index": 0,
    "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}]
  }],
  "usageMetadata": {
    "promptTokenCount": 1200, "candidatesTokenCount": 40, "totalTokenCount": 1490,
    "cachedContentTokenCount": 1024, "thoughtsTokenCount": 250,
    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 1200}],
    "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 1024}]
  },
  "modelVersion": "gemini-2.5-flash",
  "responseId": "mXyRaPz0BaKH1dkPq9iV4Ak"
}"#;

/// An `alt=sse` stream: text in two chunks, then a (signed) function call, then the finish.
pub const STREAM: &str = concat!(
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Let me\"}],\"role\": \"model\"},\"index\": 0}],",
    "\"usageMetadata\": {\"promptTokenCount\": 95,\"totalTokenCount\": 95},\"modelVersion\": \"gemini-2.5-pro\",",
    "\"responseId\": \"r-123\"}\r\n\r\n",
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" check.\"}],\"role\": \"model\"},\"index\": 0}],",
    "\"usageMetadata\": {\"promptTokenCount\": 95,\"candidatesTokenCount\": 4,\"totalTokenCount\": 99},",
    "\"modelVersion\": \"gemini-2.5-pro\",\"responseId\": \"r-123\"}\r\n\r\n",
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"get_weather\",\"args\": {\"city\": \"Paris\"}},",
    "\"thoughtSignature\": \"EqQB\"}],",
    "\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 95,",
    "\"candidatesTokenCount\": 19,\"totalTokenCount\": 301,\"thoughtsTokenCount\": 187},",
    "\"modelVersion\": \"gemini-2.5-pro\",\"responseId\": \"r-123\"}\r\n\r\n",
);

pub const ERROR: &str = r#"{
  "error": {
    "code": 400,
    "message": "* GenerateContentRequest.contents: contents is not specified\n",
    "status": "INVALID_ARGUMENT"
  }
}"#;

#[test]
fn openai_request_to_gemini() {
    let r = openai::parse_request(crate::openai::REQUEST.as_bytes()).unwrap();
    let v = json(&gemini::render_request(&r));
    assert_eq!(v["systemInstruction"], json!({"parts": [{"text": "You are a weather bot."}]}));
    assert_eq!(
        v["contents"],
        json!([
            {"role": "user", "parts": [
                {"text": "Weather in Paris? Also, what's in this picture?"},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]},
            {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp_c": 18}}}]}
        ])
    );
    assert_eq!(
        v["tools"],
        json!([{"functionDeclarations": [{"name": "get_weather", "description": "Current weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]}])
    );
    assert_eq!(v["toolConfig"], json!({"functionCallingConfig": {"mode": "AUTO"}}));
    assert_eq!(
        v["generationConfig"],
        json!({"temperature": 0.2, "topP": 0.9, "maxOutputTokens": 512, "stopSequences": ["END"], "seed": 7,
            "candidateCount": 1, "responseMimeType": "application/json", "responseSchema": {"type": "object"}})
    );
    // The model lives in the URL; OpenAI-only fields do not leak.
    for k in ["model", "messages", "stream", "stream_options", "user", "frequency_penalty", "logit_bias", "reasoning_effort"] {
        assert!(v.get(k).is_none(), "{k} leaked into the Gemini body");
    }
}

#[test]
fn gemini_request_details() {
    let body = br#"{"model":"gemini-2.5-flash","messages":[
        {"role":"user","content":[{"type":"text","text":"Compare"},
          {"type":"image_url","image_url":{"url":"https://example.com/a/cat.JPG?x=1"}},
          {"type":"image_url","image_url":{"url":"gs://bucket/blob"}}]},
        {"role":"assistant","content":"","tool_calls":[
          {"id":"call_1","type":"function","function":{"name":"w","arguments":"{\"city\":\"Paris\"}"}},
          {"id":"call_2","type":"function","function":{"name":"t","arguments":"not json"}}]},
        {"role":"tool","tool_call_id":"call_1","content":"18C"},
        {"role":"tool","tool_call_id":"call_2","content":"[1,2]"},
        {"role":"user","content":"Thanks"}],
      "tools":[{"type":"function","function":{"name":"w","parameters":{"type":"object","additionalProperties":false,
          "properties":{"city":{"type":["string","null"],"description":"City"},"unit":{"const":"c"}},"required":["city"]},
          "strict":true}},
        {"type":"function","function":{"name":"t","parameters":{"type":"object","properties":{}}}}],
      "tool_choice":{"type":"function","function":{"name":"w"}},
      "response_format":{"type":"json_object"}}"#;
    let r = openai::parse_request(body).unwrap();
    let v = json(&gemini::render_request(&r));
    let contents = v["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 3, "{contents:?}");
    assert_eq!(
        contents[0]["parts"][1],
        json!({"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/a/cat.JPG?x=1"}})
    );
    assert_eq!(contents[0]["parts"][2], json!({"fileData": {"fileUri": "gs://bucket/blob"}}));
    // Empty assistant text is not sent; non-object arguments become {}.
    assert_eq!(
        contents[1]["parts"],
        json!([{"functionCall": {"name": "w", "args": {"city": "Paris"}}}, {"functionCall": {"name": "t", "args": {}}}])
    );
    // Both results and the next user text merge into one user content.
    assert_eq!(
        contents[2]["parts"],
        json!([
            {"functionResponse": {"name": "w", "response": {"content": "18C"}}},
            {"functionResponse": {"name": "t", "response": {"content": "[1,2]"}}},
            {"text": "Thanks"}
        ])
    );
    let decls = &v["tools"][0]["functionDeclarations"];
    assert_eq!(
        decls[0]["parameters"],
        json!({"type": "object", "required": ["city"], "properties": {
            "city": {"type": "string", "nullable": true, "description": "City"}, "unit": {"type": "string", "enum": ["c"]}}})
    );
    // A function without arguments sends no `parameters`.
    assert_eq!(decls[1], json!({"name": "t"}));
    assert_eq!(v["toolConfig"], json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["w"]}}));
    assert_eq!(v["generationConfig"], json!({"responseMimeType": "application/json"}));
}

#[test]
fn required_and_none_tool_choice() {
    for (choice, mode) in [("required", "ANY"), ("none", "NONE")] {
        let body = format!(r#"{{"model":"m","messages":[{{"role":"user","content":"hi"}}],"tool_choice":"{choice}"}}"#);
        let v = json(&gemini::render_request(&openai::parse_request(body.as_bytes()).unwrap()));
        assert_eq!(v["toolConfig"]["functionCallingConfig"], json!({"mode": mode}));
        assert!(v.get("generationConfig").is_none());
    }
}

#[test]
fn error_tool_result_is_sent_as_error() {
    let body = br#"{"model":"claude","max_tokens":10,"messages":[
        {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"w","input":{}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"boom","is_error":true}]}]}"#;
    let r = keyway_ai::anthropic::parse_request(body).unwrap();
    let v = json(&gemini::render_request(&r));
    assert_eq!(v["contents"][1]["parts"][0], json!({"functionResponse": {"name": "w", "response": {"error": "boom"}}}));
}

#[test]
fn parse_response_and_usage() {
    let resp = gemini::parse_response(RESPONSE.as_bytes()).unwrap();
    assert_eq!(resp.id, "mXyRaPz0BaKH1dkPq9iV4Ak");
    assert_eq!(resp.model, "gemini-2.5-flash");
    let c = &resp.choices[0];
    assert_eq!(c.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(c.message.joined_text(), "Let me check the weather.");
    assert_eq!(c.message.tool_calls.len(), 1);
    // The call's thought signature travels in its id, for the next turn.
    assert_eq!(c.message.tool_calls[0].id, "call_mXyRaPz0BaKH1dkPq9iV4Ak_0~ts~CiQB0e2Kb==");
    assert_eq!(c.message.tool_calls[0].arguments, r#"{"city":"Paris","unit":"c"}"#);
    // 1200 prompt (cache included), 40 candidates + 250 thoughts out.
    assert_eq!(
        resp.usage,
        Some(Usage {
            input_tokens: 1200,
            output_tokens: 290,
            cached_input_tokens: 1024,
            cache_write_tokens: 0,
            reasoning_tokens: 250
        })
    );
    // Translated to OpenAI: the thought part is not answer text.
    let v = json(&openai::render_response(&resp));
    assert_eq!(v["choices"][0]["message"]["content"], json!("Let me check the weather."));
    assert_eq!(v["choices"][0]["finish_reason"], json!("tool_calls"));
    assert_eq!(v["choices"][0]["message"]["tool_calls"][0]["function"]["name"], json!("get_weather"));
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 1200, "completion_tokens": 290, "total_tokens": 1490,
            "prompt_tokens_details": {"cached_tokens": 1024}, "completion_tokens_details": {"reasoning_tokens": 250}})
    );
}

#[test]
fn a_signed_call_goes_back_to_gemini_with_its_thought_signature() {
    // Turn 1: Gemini calls a function and signs the call.
    let first = gemini::parse_response(RESPONSE.as_bytes()).unwrap();
    let answer = json(&openai::render_response(&first));
    let call = answer["choices"][0]["message"]["tool_calls"][0].clone();
    // Turn 2: the OpenAI client sends the call and its result back, as SDKs do.
    let next = json!({"model": "g", "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": null, "tool_calls": [call.clone()]},
        {"role": "tool", "tool_call_id": call["id"], "content": "{\"temp\": 21}"}
    ]});
    let req = openai::parse_request(&serde_json::to_vec(&next).unwrap()).unwrap();
    let v = json(&gemini::render_request(&req));
    assert_eq!(
        v["contents"][1]["parts"][0],
        json!({"functionCall": {"name": "get_weather", "args": {"city": "Paris", "unit": "c"}}, "thoughtSignature": "CiQB0e2Kb=="})
    );
    assert_eq!(v["contents"][2]["parts"][0]["functionResponse"]["name"], "get_weather", "{v}");
    // Toward Anthropic (a fallback in the same conversation), whose ids are
    // [a-zA-Z0-9_-]+, the signature stays behind on the call and its result alike.
    let a: serde_json::Value = serde_json::from_slice(&keyway_ai::anthropic::render_request(&req)).unwrap();
    assert_eq!(a["messages"][1]["content"][0]["id"], "call_mXyRaPz0BaKH1dkPq9iV4Ak_0", "{a}");
    assert_eq!(a["messages"][2]["content"][0]["tool_use_id"], "call_mXyRaPz0BaKH1dkPq9iV4Ak_0", "{a}");
    // A call Gemini did not sign goes back without one.
    let unsigned = json!({"model": "g", "messages": [
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}
    ]});
    let v = json(&gemini::render_request(&openai::parse_request(&serde_json::to_vec(&unsigned).unwrap()).unwrap()));
    assert_eq!(v["contents"][0]["parts"][0], json!({"functionCall": {"name": "f", "args": {}}}));
}

#[test]
fn finish_reasons_and_blocked_prompts() {
    for (g, want) in [
        ("STOP", FinishReason::Stop),
        ("MAX_TOKENS", FinishReason::Length),
        ("SAFETY", FinishReason::ContentFilter),
        ("RECITATION", FinishReason::ContentFilter),
        ("PROHIBITED_CONTENT", FinishReason::ContentFilter),
        ("MALFORMED_FUNCTION_CALL", FinishReason::Other("MALFORMED_FUNCTION_CALL".into())),
    ] {
        let body = format!(r#"{{"candidates":[{{"content":{{"parts":[{{"text":"x"}}]}},"finishReason":"{g}"}}]}}"#);
        assert_eq!(gemini::parse_response(body.as_bytes()).unwrap().choices[0].finish_reason, Some(want));
    }
    let blocked = br#"{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":8,"totalTokenCount":8}}"#;
    let resp = gemini::parse_response(blocked).unwrap();
    assert_eq!(resp.choices.len(), 1);
    assert_eq!(resp.choices[0].finish_reason, Some(FinishReason::ContentFilter));
    assert_eq!(resp.usage.unwrap().input_tokens, 8);
    // Two candidates keep their indices; a call id Gemini sends is kept.
    let two = br#"{"candidates":[{"index":0,"content":{"parts":[{"text":"a"}]},"finishReason":"STOP"},
        {"index":1,"content":{"parts":[{"functionCall":{"id":"fc-9","name":"f"}}]},"finishReason":"STOP"}]}"#;
    let resp = gemini::parse_response(two).unwrap();
    assert_eq!(resp.choices[1].index, 1);
    assert_eq!(resp.choices[1].message.tool_calls[0].id, "fc-9");
    assert_eq!(resp.choices[1].message.tool_calls[0].arguments, "{}");
}

#[test]
fn errors() {
    let e = gemini::parse_error(ERROR.as_bytes()).unwrap();
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    assert_eq!(e.code.as_deref(), Some("INVALID_ARGUMENT"));
    assert!(e.message.contains("contents is not specified"));
    let cases: &[(&str, ErrorKind)] = &[
        (r#"{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}"#, ErrorKind::RateLimit),
        (r#"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#, ErrorKind::Overloaded),
        (r#"{"error":{"code":404,"message":"models/x is not found","status":"NOT_FOUND"}}"#, ErrorKind::NotFound),
        (r#"{"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}}"#, ErrorKind::Permission),
        (r#"{"error":{"code":500,"message":"oops","status":"INTERNAL"}}"#, ErrorKind::Server),
        (r#"{"error":{"code":401,"message":"no"}}"#, ErrorKind::Authentication),
        (
            r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",
              "details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#,
            ErrorKind::Authentication,
        ),
        (r#"[{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}]"#, ErrorKind::InvalidRequest),
    ];
    for (body, kind) in cases {
        assert_eq!(&gemini::parse_error(body.as_bytes()).unwrap().kind, kind, "{body}");
    }
    // Rendered Gemini errors read back; a Gemini error renders as OpenAI.
    let back = gemini::parse_error(&gemini::render_error(&e)).unwrap();
    assert_eq!((back.kind, back.message), (e.kind.clone(), e.message.clone()));
    let v = json(&openai::render_error(&e));
    assert_eq!(v["error"]["type"], json!("invalid_request_error"));
}

#[test]
fn garbage_is_an_error_with_a_path() {
    for body in [RESPONSE, ERROR] {
        let bytes = body.trim_end().as_bytes();
        for cut in 0..bytes.len() {
            assert!(gemini::parse_response(&bytes[..cut]).is_err(), "cut at {cut}");
            assert!(gemini::parse_error(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }
    for g in [&b""[..], b"\xff\xfe", b"null", b"[]", b"42", b"{}", b"{\"candidates\":{}}"] {
        assert!(gemini::parse_response(g).is_err());
        assert!(gemini::parse_error(g).is_err());
    }
    let cases: &[(&[u8], &str)] = &[
        (
            br#"{"candidates":[{"content":{"parts":[{"functionCall":{"args":{}}}]}}]}"#,
            "candidates[0].content.parts[0].functionCall.name",
        ),
        (br#"{"candidates":[{"content":{"parts":[{"text":7}]}}]}"#, "candidates[0].content.parts[0].text"),
        (br#"{"candidates":[{"finishReason":1}]}"#, "candidates[0].finishReason"),
        (br#"{"candidates":[],"usageMetadata":{"promptTokenCount":-1}}"#, "usageMetadata.promptTokenCount"),
        (
            br#"{"candidates":[{"content":{"parts":[{"inlineData":{"data":"x"}}]}}]}"#,
            "candidates[0].content.parts[0].inlineData.mimeType",
        ),
    ];
    for (body, path) in cases {
        let err = gemini::parse_response(body).unwrap_err();
        assert_eq!(err.path(), Some(*path), "{err}");
    }
    assert_eq!(gemini::parse_error(br#"{"error":"x"}"#).unwrap_err().path(), Some("error"));
    let mut d = gemini::StreamDecoder::new();
    assert!(matches!(d.feed(b"data: {not json\n\n"), Err(FormatError::Json { .. })));
    let mut d = gemini::StreamDecoder::new();
    assert_eq!(d.feed(b"data: {\"candidates\":[{\"index\":\"0\"}]}\n\n").unwrap_err().path(), Some("candidates[0].index"));
}

#[test]
fn json_schemas_are_rewritten_to_gemini_subset() {
    // A strict OpenAI structured-output schema, Pydantic style.
    let body = br##"{"model":"gemini-2.5-pro","messages":[{"role":"user","content":"Extract"}],
      "response_format":{"type":"json_schema","json_schema":{"name":"person","strict":true,"schema":{
        "$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","additionalProperties":false,
        "title":"Person","required":["name","site","born","tags"],
        "properties":{
          "name":{"type":"string","minLength":1},
          "site":{"anyOf":[{"type":"string","format":"uri"},{"type":"null"}],"description":"Home page"},
          "born":{"type":"string","format":"date-time"},
          "kind":{"oneOf":[{"type":"string","enum":["a","b"]},{"type":"integer","format":"int64","minimum":0,"enum":[1,2]}]},
          "level":{"enum":[1,"two"]},
          "tags":{"type":"array","items":{"type":"string","examples":["x"]},"maxItems":5}}}}}}"##;
    let v = json(&gemini::render_request(&openai::parse_request(body).unwrap()));
    assert_eq!(v["generationConfig"]["responseMimeType"], json!("application/json"));
    assert_eq!(
        v["generationConfig"]["responseSchema"],
        json!({"type": "object", "title": "Person", "required": ["name", "site", "born", "tags"], "properties": {
            "name": {"type": "string", "minLength": 1},
            "site": {"type": "string", "nullable": true, "description": "Home page"},
            "born": {"type": "string", "format": "date-time"},
            "kind": {"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "integer", "format": "int64", "minimum": 0}]},
            "level": {"type": "string", "enum": ["1", "two"]},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5}}})
    );
}

#[test]
fn gateway_extra_passes_and_no_arg_tools() {
    let mut r = openai::parse_request(
        br#"{"model":"g","messages":[{"role":"user","content":"hi"}],
        "tools":[{"type":"function","function":{"name":"now"}}],"frequency_penalty":1}"#,
    )
    .unwrap();
    let v = json(&gemini::render_request(&r));
    assert!(v.get("frequency_penalty").is_none());
    assert_eq!(v["tools"], json!([{"functionDeclarations": [{"name": "now"}]}]));
    // Extra set by the gateway itself (no format) is written.
    r.extra_format = None;
    r.extra =
        serde_json::from_value(json!({"safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]}))
            .unwrap();
    let v = json(&gemini::render_request(&r));
    assert_eq!(v["safetySettings"][0]["threshold"], json!("BLOCK_NONE"));
}
