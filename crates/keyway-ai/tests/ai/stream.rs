//! Streaming: decoders, encoders, and full translations both ways.

use keyway_ai::{anthropic, openai, sse, FinishReason, StreamEvent, Usage};
use serde_json::{json, Value};

pub const OPENAI_STREAM: &str = concat!(
    "data: {\"id\":\"chatcmpl-9x\",\"object\":\"chat.completion.chunk\",\"created\":1728933352,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"chatcmpl-9x\",\"object\":\"chat.completion.chunk\",\"created\":1728933352,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Checking\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"chatcmpl-9x\",\"object\":\"chat.completion.chunk\",\"created\":1728933352,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_DdmO9pD3xa9XTPNJ32zg2hcA\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"chatcmpl-9x\",\"object\":\"chat.completion.chunk\",\"created\":1728933352,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"ci\"}}]},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"chatcmpl-9x\",\"object\":\"chat.completion.chunk\",\"created\":1728933352,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"ty\\\": \\\"Pa\"}}]},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"chatcmpl-9x\",\"object\":\"chat.completion.chunk\",\"created\":1728933352,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"ris\\\"}\"}}]},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"chatcmpl-9x\",\"object\":\"chat.completion.chunk\",\"created\":1728933352,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],\"usage\":null}\n\n",
    "data: {\"id\":\"chatcmpl-9x\",\"object\":\"chat.completion.chunk\",\"created\":1728933352,\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":20,\"total_tokens\":120,\"prompt_tokens_details\":{\"cached_tokens\":60},\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n\n",
    "data: [DONE]\n\n",
);

pub const ANTHROPIC_STREAM: &str = concat!(
    "event: message_start\n",
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_014p7gG3wDgGV9EUtLvnow3U\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":40,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":60,\"output_tokens\":1}}}\n\n",
    "event: content_block_start\n",
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    "event: ping\n",
    "data: {\"type\": \"ping\"}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Checking\"}}\n\n",
    "event: content_block_stop\n",
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    "event: content_block_start\n",
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01T1x1fJ34qAmk2tNTrN7Up6\",\"name\":\"get_weather\",\"input\":{}}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"ci\"}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"ty\\\": \\\"Pa\"}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"ris\\\"}\"}}\n\n",
    "event: content_block_stop\n",
    "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
    "event: message_delta\n",
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":20}}\n\n",
    "event: message_stop\n",
    "data: {\"type\":\"message_stop\"}\n\n",
);

/// The canonical events both fixtures describe (ids and models aside).
fn expected(id: &str, model: &str) -> Vec<StreamEvent> {
    vec![
        StreamEvent::Start { id: id.into(), model: model.into() },
        StreamEvent::TextDelta { index: 0, text: "Checking".into() },
        StreamEvent::ToolCallStart { index: 0, tool_index: 0, id: TOOL_ID.into(), name: "get_weather".into() },
        StreamEvent::ToolCallArgsDelta { index: 0, tool_index: 0, json: "{\"ci".into() },
        StreamEvent::ToolCallArgsDelta { index: 0, tool_index: 0, json: "ty\": \"Pa".into() },
        StreamEvent::ToolCallArgsDelta { index: 0, tool_index: 0, json: "ris\"}".into() },
        StreamEvent::Finish { index: 0, reason: FinishReason::ToolCalls },
        StreamEvent::Usage(Usage { input_tokens: 100, output_tokens: 20, cached_input_tokens: 60, ..Usage::default() }),
        StreamEvent::Done,
    ]
}

const TOOL_ID: &str = "toolu_01T1x1fJ34qAmk2tNTrN7Up6";

fn openai_events(bytes: &[u8]) -> Vec<StreamEvent> {
    let mut d = openai::StreamDecoder::new();
    let mut evs = d.feed(bytes).unwrap();
    evs.extend(d.finish().unwrap());
    evs
}

fn anthropic_events(bytes: &[u8]) -> Vec<StreamEvent> {
    let mut d = anthropic::StreamDecoder::new();
    let mut evs = d.feed(bytes).unwrap();
    evs.extend(d.finish().unwrap());
    evs
}

fn with_tool_id(mut evs: Vec<StreamEvent>, id: &str) -> Vec<StreamEvent> {
    for e in &mut evs {
        if let StreamEvent::ToolCallStart { id: i, .. } = e {
            *i = id.into();
        }
    }
    evs
}

fn sse_data(bytes: &[u8]) -> Vec<(Option<String>, Value)> {
    let mut d = sse::SseDecoder::new();
    d.feed(bytes)
        .unwrap()
        .into_iter()
        .map(|e| (e.event, if e.data == "[DONE]" { json!("[DONE]") } else { serde_json::from_str(&e.data).unwrap() }))
        .collect()
}

#[test]
fn openai_decoder() {
    let evs = openai_events(OPENAI_STREAM.as_bytes());
    assert_eq!(evs, with_tool_id(expected("chatcmpl-9x", "gpt-4o-mini"), "call_DdmO9pD3xa9XTPNJ32zg2hcA"));
}

#[test]
fn anthropic_decoder() {
    let evs = anthropic_events(ANTHROPIC_STREAM.as_bytes());
    assert_eq!(evs, expected("msg_014p7gG3wDgGV9EUtLvnow3U", "claude-sonnet-4-5-20250929"));
}

#[test]
fn decoders_fed_one_byte_at_a_time_agree() {
    let mut d = openai::StreamDecoder::new();
    let mut evs = Vec::new();
    for b in OPENAI_STREAM.as_bytes() {
        evs.extend(d.feed(std::slice::from_ref(b)).unwrap());
    }
    assert_eq!(evs, openai_events(OPENAI_STREAM.as_bytes()));
    let crlf = ANTHROPIC_STREAM.replace('\n', "\r\n");
    let mut d = anthropic::StreamDecoder::new();
    let mut evs = Vec::new();
    for b in crlf.as_bytes() {
        evs.extend(d.feed(std::slice::from_ref(b)).unwrap());
    }
    assert_eq!(evs, anthropic_events(ANTHROPIC_STREAM.as_bytes()));
}

#[test]
fn openai_usage_on_a_non_empty_choices_chunk() {
    let s = concat!(
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}\n\n",
        "data: [DONE]\n\n",
    );
    assert_eq!(
        openai_events(s.as_bytes()),
        vec![
            StreamEvent::Start { id: "c1".into(), model: "m".into() },
            StreamEvent::TextDelta { index: 0, text: "Hi".into() },
            StreamEvent::Finish { index: 0, reason: FinishReason::Stop },
            StreamEvent::Usage(Usage { input_tokens: 5, output_tokens: 1, ..Usage::default() }),
            StreamEvent::Done,
        ]
    );
}

#[test]
fn openai_encoder_exact_chunk_shape() {
    let evs = openai_events(OPENAI_STREAM.as_bytes());
    let mut enc = openai::StreamEncoder::new(1728933352, true);
    let bytes = enc.encode_all(&evs);
    let chunks = sse_data(&bytes);
    assert!(chunks.iter().all(|(e, _)| e.is_none()));
    let (_, first) = &chunks[0];
    assert_eq!(first["object"], json!("chat.completion.chunk"));
    assert_eq!(first["id"], json!("chatcmpl-9x"));
    assert_eq!(first["created"], json!(1728933352));
    assert_eq!(first["choices"][0]["delta"]["role"], json!("assistant"));
    assert_eq!(first["usage"], json!(null));
    assert_eq!(chunks[1].1["choices"][0]["delta"], json!({"content": "Checking"}));
    assert_eq!(
        chunks[2].1["choices"][0]["delta"]["tool_calls"][0],
        json!({"index": 0, "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA", "type": "function", "function": {"name": "get_weather", "arguments": ""}})
    );
    assert_eq!(chunks[3].1["choices"][0]["delta"]["tool_calls"][0], json!({"index": 0, "function": {"arguments": "{\"ci"}}));
    assert_eq!(chunks[6].1["choices"][0]["finish_reason"], json!("tool_calls"));
    assert_eq!(chunks[7].1["choices"], json!([]));
    assert_eq!(chunks[7].1["usage"]["prompt_tokens"], json!(100));
    assert_eq!(chunks[7].1["usage"]["prompt_tokens_details"]["cached_tokens"], json!(60));
    assert_eq!(chunks[8].1, json!("[DONE]"));
    assert_eq!(chunks.len(), 9);
    // Re-decoding gives the same events.
    assert_eq!(openai_events(&bytes), evs);
}

#[test]
fn openai_encoder_without_include_usage_drops_usage() {
    let evs = openai_events(OPENAI_STREAM.as_bytes());
    let bytes = openai::StreamEncoder::new(0, false).encode_all(&evs);
    let chunks = sse_data(&bytes);
    assert_eq!(chunks.len(), 8);
    assert!(chunks.iter().all(|(_, c)| c.get("usage").is_none()));
}

#[test]
fn anthropic_stream_to_openai_stream() {
    let canonical = anthropic_events(ANTHROPIC_STREAM.as_bytes());
    let bytes = openai::StreamEncoder::new(0, true).encode_all(&canonical);
    let back = openai_events(&bytes);
    assert_eq!(back, canonical);
    // The arguments reassemble into the tool's JSON input.
    let args: String = back
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCallArgsDelta { json, .. } => Some(json.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(serde_json::from_str::<Value>(&args).unwrap(), json!({"city": "Paris"}));
}

#[test]
fn openai_stream_to_anthropic_stream() {
    let canonical = openai_events(OPENAI_STREAM.as_bytes());
    let bytes = anthropic::StreamEncoder::new().encode_all(&canonical);
    let frames = sse_data(&bytes);
    let names: Vec<&str> = frames.iter().map(|(e, _)| e.as_deref().unwrap()).collect();
    assert_eq!(
        names,
        vec![
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    // Event name and data `type` agree.
    assert!(frames.iter().all(|(e, d)| d["type"] == json!(e.as_deref().unwrap())));
    assert_eq!(frames[0].1["message"]["id"], json!("chatcmpl-9x"));
    assert_eq!(frames[1].1["content_block"], json!({"type": "text", "text": ""}));
    assert_eq!(frames[4].1["index"], json!(1));
    assert_eq!(frames[4].1["content_block"]["type"], json!("tool_use"));
    assert_eq!(frames[5].1["delta"], json!({"type": "input_json_delta", "partial_json": "{\"ci"}));
    assert_eq!(frames[9].1["delta"]["stop_reason"], json!("tool_use"));
    assert_eq!(
        frames[9].1["usage"],
        json!({"input_tokens": 40, "cache_read_input_tokens": 60, "cache_creation_input_tokens": 0, "output_tokens": 20})
    );
    assert_eq!(anthropic_events(&bytes), canonical);
}

#[test]
fn anthropic_round_trip_stream() {
    let canonical = anthropic_events(ANTHROPIC_STREAM.as_bytes());
    let bytes = anthropic::StreamEncoder::new().encode_all(&canonical);
    assert_eq!(anthropic_events(&bytes), canonical);
}

#[test]
fn anthropic_error_event_and_usage_override() {
    let s = concat!(
        "event: message_start\n",
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"c\",\"content\":[],\"usage\":{\"input_tokens\":10,\"cache_creation_input_tokens\":5,\"output_tokens\":1}}}\n\n",
        "event: message_delta\n",
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":7}}\n\n",
        "event: error\n",
        "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
    );
    let evs = anthropic_events(s.as_bytes());
    assert_eq!(evs[1], StreamEvent::Finish { index: 0, reason: FinishReason::Length });
    assert_eq!(
        evs[2],
        StreamEvent::Usage(Usage { input_tokens: 15, output_tokens: 7, cache_write_tokens: 5, ..Usage::default() })
    );
    let StreamEvent::Error(e) = &evs[3] else { panic!("{evs:?}") };
    assert_eq!(e.kind, keyway_ai::ErrorKind::Overloaded);
    let bytes = openai::StreamEncoder::new(0, false).encode(&evs[3]);
    let (_, v) = &sse_data(&bytes)[0];
    assert_eq!(v["error"]["message"], json!("Overloaded"));
    let back = openai_events(&bytes);
    let [StreamEvent::Error(b)] = back.as_slice() else { panic!("{back:?}") };
    assert_eq!((&b.kind, &b.message), (&e.kind, &e.message));
}

#[test]
fn parallel_openai_tool_calls_become_separate_anthropic_blocks() {
    let evs = vec![
        StreamEvent::Start { id: "c".into(), model: "m".into() },
        StreamEvent::ToolCallStart { index: 0, tool_index: 0, id: "call_a".into(), name: "a".into() },
        StreamEvent::ToolCallArgsDelta { index: 0, tool_index: 0, json: "{}".into() },
        StreamEvent::ToolCallStart { index: 0, tool_index: 1, id: "call_b".into(), name: "b".into() },
        StreamEvent::ToolCallArgsDelta { index: 0, tool_index: 1, json: "{\"x\":1}".into() },
        StreamEvent::Finish { index: 0, reason: FinishReason::ToolCalls },
        StreamEvent::Done,
    ];
    let bytes = anthropic::StreamEncoder::new().encode_all(&evs);
    let frames = sse_data(&bytes);
    let starts: Vec<&Value> =
        frames.iter().filter(|(e, _)| e.as_deref() == Some("content_block_start")).map(|(_, d)| d).collect();
    assert_eq!(starts[0]["index"], json!(0));
    assert_eq!(starts[1]["index"], json!(1));
    assert_eq!(starts[1]["content_block"]["id"], json!("call_b"));
    let back = anthropic_events(&bytes);
    assert_eq!(back[..5], evs[..5]);
}

#[test]
fn openai_encoder_sends_role_once_per_choice() {
    let evs = vec![
        StreamEvent::Start { id: "c".into(), model: "m".into() },
        StreamEvent::TextDelta { index: 0, text: "a".into() },
        StreamEvent::TextDelta { index: 1, text: "b".into() },
        StreamEvent::TextDelta { index: 1, text: "c".into() },
        StreamEvent::Finish { index: 0, reason: FinishReason::Stop },
        StreamEvent::Finish { index: 1, reason: FinishReason::Length },
        StreamEvent::Done,
    ];
    let bytes = openai::StreamEncoder::new(0, false).encode_all(&evs);
    let chunks = sse_data(&bytes);
    assert_eq!(chunks[1].1["choices"][0]["delta"], json!({"content": "a"}));
    assert_eq!(chunks[2].1["choices"][0]["delta"], json!({"role": "assistant", "content": "b"}));
    assert_eq!(chunks[2].1["choices"][0]["index"], json!(1));
    assert_eq!(chunks[3].1["choices"][0]["delta"], json!({"content": "c"}));
    assert_eq!(openai_events(&bytes), evs);
}

#[test]
fn azure_prompt_filter_chunk_does_not_start_the_stream() {
    let s = concat!(
        "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}],\"created\":1,\"id\":\"chatcmpl-A\",\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\"}\n\n",
        "data: [DONE]\n\n",
    );
    assert_eq!(
        openai_events(s.as_bytes()),
        vec![
            StreamEvent::Start { id: "chatcmpl-A".into(), model: "gpt-4o".into() },
            StreamEvent::TextDelta { index: 0, text: "Hi".into() },
            StreamEvent::Done,
        ]
    );
}
