//! Gemini `alt=sse` streams: decoding, translation to OpenAI chunks, cut streams.

use keyway_ai::sse::SseDecoder;
use keyway_ai::{gemini, openai, ErrorKind, FinishReason, StreamEvent, Usage};
use serde_json::json;

use crate::gemini::{ERROR, STREAM};
use crate::json;

fn decode_all(bytes: &[u8], step: usize) -> Vec<StreamEvent> {
    let mut d = gemini::StreamDecoder::new();
    let mut evs = Vec::new();
    for chunk in bytes.chunks(step) {
        evs.extend(d.feed(chunk).unwrap());
    }
    evs.extend(d.finish().unwrap());
    assert!(d.finish().unwrap().is_empty(), "finish twice");
    evs
}

#[test]
fn stream_decodes_to_canonical_events() {
    let evs = decode_all(STREAM.as_bytes(), STREAM.len());
    assert_eq!(
        evs,
        vec![
            StreamEvent::Start { id: "r-123".into(), model: "gemini-2.5-pro".into() },
            StreamEvent::TextDelta { index: 0, text: "Let me".into() },
            StreamEvent::TextDelta { index: 0, text: " check.".into() },
            StreamEvent::ToolCallStart { index: 0, tool_index: 0, id: "call_r-123_0~ts~EqQB".into(), name: "get_weather".into() },
            StreamEvent::ToolCallArgsDelta { index: 0, tool_index: 0, json: r#"{"city":"Paris"}"#.into() },
            StreamEvent::Finish { index: 0, reason: FinishReason::ToolCalls },
            StreamEvent::Usage(Usage { input_tokens: 95, output_tokens: 206, reasoning_tokens: 187, ..Usage::default() }),
            StreamEvent::Done,
        ]
    );
    // Split anywhere, same events.
    for step in [1, 3, 17] {
        assert_eq!(decode_all(STREAM.as_bytes(), step), evs, "step {step}");
    }
}

#[test]
fn stream_translates_to_openai_chunks() {
    let evs = decode_all(STREAM.as_bytes(), 64);
    let mut enc = openai::StreamEncoder::new(1_700_000_000, true);
    let out = enc.encode_all(&evs);
    let mut sse = SseDecoder::new();
    let frames = sse.feed(&out).unwrap();
    let datas: Vec<&str> = frames.iter().map(|f| f.data.as_str()).collect();
    assert_eq!(datas.last(), Some(&"[DONE]"));
    let chunks: Vec<serde_json::Value> = datas[..datas.len() - 1].iter().map(|d| json(d.as_bytes())).collect();
    assert!(chunks.iter().all(|c| c["id"] == json!("r-123") && c["model"] == json!("gemini-2.5-pro")));
    assert_eq!(chunks[1]["choices"][0]["delta"]["content"], json!("Let me"));
    assert_eq!(chunks[3]["choices"][0]["delta"]["tool_calls"][0]["id"], json!("call_r-123_0~ts~EqQB"));
    assert_eq!(chunks[4]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"], json!(r#"{"city":"Paris"}"#));
    assert_eq!(chunks[5]["choices"][0]["finish_reason"], json!("tool_calls"));
    assert_eq!(chunks[6]["usage"]["completion_tokens"], json!(206));
    assert_eq!(chunks[6]["usage"]["completion_tokens_details"]["reasoning_tokens"], json!(187));
}

#[test]
fn stream_without_finish_has_no_done_and_trailing_event_is_read() {
    // No finishReason, and the last event lacks its blank line.
    let cut =
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hel\"}]}}],\"usageMetadata\":{\"promptTokenCount\":3}}";
    let evs = decode_all(cut.as_bytes(), 5);
    assert_eq!(
        evs,
        vec![
            StreamEvent::Start { id: String::new(), model: String::new() },
            StreamEvent::TextDelta { index: 0, text: "Hel".into() },
            StreamEvent::Usage(Usage { input_tokens: 3, ..Usage::default() }),
        ]
    );
}

#[test]
fn stream_errors_and_blocks() {
    let mut d = gemini::StreamDecoder::new();
    let evs = d.feed(format!("data: {}\n\n", ERROR.replace('\n', " ")).as_bytes()).unwrap();
    let [StreamEvent::Error(e)] = evs.as_slice() else { panic!("{evs:?}") };
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    let mut d = gemini::StreamDecoder::new();
    let evs = d.feed(b"data: {\"promptFeedback\":{\"blockReason\":\"PROHIBITED_CONTENT\"},\"responseId\":\"b\"}\n\n").unwrap();
    assert_eq!(evs[1], StreamEvent::Finish { index: 0, reason: FinishReason::ContentFilter });
    assert_eq!(d.finish().unwrap(), vec![StreamEvent::Done]);
}
