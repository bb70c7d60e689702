//! What the mock providers answer: bodies and SSE streams in each
//! provider's real shape (field names, event names, usage placement).

use keyway_ai::ProviderKind;
use serde_json::{json, Value};

/// The non-streamed OpenAI-format chat answer for `model`.
pub fn openai_chat(model: &str) -> Value {
    json!({
        "id": "chatcmpl-AbC123", "object": "chat.completion", "created": 1_733_000_000, "model": model,
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the mock.", "refusal": null},
            "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 19, "completion_tokens": 6, "total_tokens": 25,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0}}
    })
}

/// The OpenAI-format stream frames (`data:` payloads, `[DONE]` last).
///
/// Usage placement follows each server: OpenAI, Azure, Ollama and other
/// compatible servers send a final `choices: []` usage chunk only when
/// `stream_options.include_usage` was asked; Mistral always puts usage on
/// its last content chunk. Azure starts with an `id: ""` chunk carrying
/// only `prompt_filter_results`.
pub fn openai_stream(kind: ProviderKind, model: &str, include_usage: bool) -> Vec<String> {
    let chunk = |choices: Value, usage: Option<Value>| {
        let mut c = json!({"id": "chatcmpl-AbC123", "object": "chat.completion.chunk", "created": 1_733_000_000,
            "model": model, "system_fingerprint": "fp_44709d6fcb", "choices": choices});
        if include_usage && kind != ProviderKind::Mistral {
            c["usage"] = usage.unwrap_or(Value::Null);
        } else if let Some(u) = usage {
            c["usage"] = u;
        }
        c.to_string()
    };
    let usage = json!({"prompt_tokens": 19, "completion_tokens": 6, "total_tokens": 25});
    let mut out = Vec::new();
    if kind == ProviderKind::AzureOpenAi {
        out.push(
            json!({"choices": [], "created": 0, "id": "", "model": "", "object": "",
                "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {"hate": {"filtered": false, "severity": "safe"}}}]})
            .to_string(),
        );
    }
    out.push(chunk(
        json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": null, "finish_reason": null}]),
        None,
    ));
    for piece in ["Hello", " from", " the mock."] {
        out.push(chunk(json!([{"index": 0, "delta": {"content": piece}, "logprobs": null, "finish_reason": null}]), None));
    }
    let last = json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"}]);
    if kind == ProviderKind::Mistral {
        out.push(chunk(last, Some(usage)));
    } else {
        out.push(chunk(last, None));
        if include_usage {
            out.push(chunk(json!([]), Some(usage)));
        }
    }
    out.push("[DONE]".to_owned());
    out
}

/// The OpenAI-format embeddings answer.
pub fn openai_embeddings(model: &str) -> Value {
    json!({"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.0023064255, -0.009327292, 0.015797347]}],
        "model": model, "usage": {"prompt_tokens": 5, "total_tokens": 5}})
}

/// The non-streamed Anthropic Messages answer.
pub fn anthropic_chat(model: &str) -> Value {
    json!({"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": "Hello from the mock."}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 7, "output_tokens": 6}})
}

/// Anthropic's answer when `tool_choice` forces `tool`: one `tool_use`
/// block calling it with `{"city": "Paris"}`.
pub fn anthropic_forced_tool(model: &str, tool: &str) -> Value {
    json!({"id": "msg_01ToolForced", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": tool, "input": {"city": "Paris"}}],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 40, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 9}})
}

/// The same, streamed: the input arrives as `input_json_delta` pieces.
pub fn anthropic_forced_tool_stream(model: &str, tool: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_01ToolForced", "type": "message", "role": "assistant",
            "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 40, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1}}})
            .to_string(),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": tool, "input": {}}})
            .to_string(),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": "}})
                .to_string(),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}})
                .to_string(),
        ),
        ("content_block_stop", json!({"type": "content_block_stop", "index": 0}).to_string()),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 9}})
                .to_string(),
        ),
        ("message_stop", json!({"type": "message_stop"}).to_string()),
    ]
}

/// The Anthropic stream: `(event name, data)` pairs.
pub fn anthropic_stream(model: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message",
            "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 7, "output_tokens": 1}}})
            .to_string(),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}).to_string(),
        ),
        ("ping", json!({"type": "ping"}).to_string()),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}).to_string(),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " from the mock."}})
                .to_string(),
        ),
        ("content_block_stop", json!({"type": "content_block_stop", "index": 0}).to_string()),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
            "usage": {"output_tokens": 6}})
            .to_string(),
        ),
        ("message_stop", json!({"type": "message_stop"}).to_string()),
    ]
}

/// The non-streamed Gemini `GenerateContentResponse`.
pub fn gemini_chat(model: &str) -> Value {
    json!({"candidates": [{"content": {"parts": [{"text": "Hello from the mock."}], "role": "model"},
            "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 11, "candidatesTokenCount": 6, "totalTokenCount": 17,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 11}]},
        "modelVersion": model, "responseId": "mAitaKe7NPmhz7IP0sKKmQs"})
}

/// The Gemini `alt=sse` chunks (usage repeated, the last final).
pub fn gemini_stream(model: &str) -> Vec<String> {
    let chunk = |text: &str, finish: Option<&str>, out_tokens: u64| {
        let mut cand = json!({"content": {"parts": [{"text": text}], "role": "model"}, "index": 0});
        if let Some(f) = finish {
            cand["finishReason"] = json!(f);
        }
        json!({"candidates": [cand],
            "usageMetadata": {"promptTokenCount": 11, "candidatesTokenCount": out_tokens, "totalTokenCount": 11 + out_tokens},
            "modelVersion": model, "responseId": "mAitaKe7NPmhz7IP0sKKmQs"})
        .to_string()
    };
    vec![chunk("Hello", None, 1), chunk(" from the mock.", Some("STOP"), 6)]
}

/// The provider's real answer to a bad key: `(status, body)`.
pub fn bad_key(kind: ProviderKind) -> (u16, Value) {
    match kind {
        ProviderKind::OpenAi => (
            401,
            json!({"error": {"message": "Incorrect API key provided: sk-wrong. You can find your API key at https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}),
        ),
        ProviderKind::AzureOpenAi => (
            401,
            json!({"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}),
        ),
        ProviderKind::Anthropic => {
            (401, json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}))
        }
        // Gemini answers a bad key with 400, not 401.
        ProviderKind::Gemini => (
            400,
            json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT", "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
            "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}]}}),
        ),
        ProviderKind::Mistral => (401, json!({"message": "Unauthorized", "request_id": "3c1e3b0e0c8f4f6a9d2b7a1e5f0c9d8b"})),
        ProviderKind::Ollama | ProviderKind::OpenAiCompatible => (
            401,
            json!({"error": {"message": "Invalid API Key",
            "type": "invalid_request_error", "code": "invalid_api_key"}}),
        ),
    }
}

/// The provider's answer to an unknown path: `(status, body)`.
pub fn not_found(kind: ProviderKind, path: &str) -> (u16, Value) {
    match kind {
        ProviderKind::Anthropic => {
            (404, json!({"type": "error", "error": {"type": "not_found_error", "message": format!("Not Found: {path}")}}))
        }
        ProviderKind::Gemini => {
            (404, json!({"error": {"code": 404, "message": format!("Not found: {path}"), "status": "NOT_FOUND"}}))
        }
        ProviderKind::AzureOpenAi => (404, json!({"error": {"code": "404", "message": "Resource not found"}})),
        _ => (
            404,
            json!({"error": {"message": format!("Invalid URL (POST {path})"), "type": "invalid_request_error", "param": null, "code": null}}),
        ),
    }
}
