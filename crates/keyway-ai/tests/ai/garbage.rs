//! Bad input gives FormatError, never a panic.

use keyway_ai::{anthropic, openai, FormatError};

fn bodies() -> Vec<&'static str> {
    vec![crate::openai::REQUEST, crate::openai::RESPONSE, crate::anthropic::REQUEST, crate::anthropic::RESPONSE]
}

#[test]
fn every_truncation_of_every_fixture_is_an_error() {
    for body in bodies() {
        let bytes = body.trim_end().as_bytes();
        for cut in 0..bytes.len() {
            let b = &bytes[..cut];
            assert!(openai::parse_request(b).is_err(), "openai request cut at {cut}");
            assert!(openai::parse_response(b).is_err());
            assert!(anthropic::parse_request(b).is_err());
            assert!(anthropic::parse_response(b).is_err());
            assert!(openai::parse_error(b).is_err());
            assert!(anthropic::parse_error(b).is_err());
        }
    }
}

#[test]
fn garbage_and_wrong_shapes_are_errors_with_paths() {
    let garbage: &[&[u8]] = &[b"", b"\xff\xfe\x00", b"null", b"[]", b"42", b"\"str\"", b"{}", b"{\"model\":1}"];
    for g in garbage {
        assert!(openai::parse_request(g).is_err());
        assert!(anthropic::parse_request(g).is_err());
        assert!(openai::parse_response(g).is_err());
    }
    let cases: &[(&[u8], &str)] = &[
        (br#"{"model":"m"}"#, "messages"),
        (br#"{"model":"m","messages":{}}"#, "messages"),
        (br#"{"model":"m","messages":[{"role":"robot","content":"x"}]}"#, "messages[0].role"),
        (br#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#, "messages[0].tool_call_id"),
        (br#"{"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]}"#, "messages[0].content[0].text"),
        (br#"{"model":"m","messages":[],"temperature":"hot"}"#, "temperature"),
        (br#"{"model":"m","messages":[],"tools":[{"type":"function","function":{}}]}"#, "tools[0].function.name"),
        (br#"{"model":"m","messages":[],"stop":[1]}"#, "stop[0]"),
        (
            br#"{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":1}}]}]}"#,
            "messages[0].tool_calls[0].function.name",
        ),
    ];
    for (body, path) in cases {
        let err = openai::parse_request(body).unwrap_err();
        assert_eq!(err.path(), Some(*path), "{err}");
        assert!(err.to_string().contains(path));
    }
    let err = anthropic::parse_request(br#"{"model":"m","messages":[{"role":"user","content":[{"type":"tool_result"}]}]}"#)
        .unwrap_err();
    assert_eq!(err.path(), Some("messages[0].content[0].tool_use_id"));
    assert!(matches!(openai::parse_request(b"{\"model\":"), Err(FormatError::Json { .. })));
}

#[test]
fn stream_decoders_reject_garbage_without_panicking() {
    let mut d = openai::StreamDecoder::new();
    assert!(d.feed(b"data: {not json\n\n").is_err());
    let mut d = openai::StreamDecoder::new();
    assert!(
        d.feed(b"data: {\"choices\":[{\"delta\":{\"content\":5}}]}\n\n").unwrap_err().path() == Some("choices[0].delta.content")
    );
    let mut d = anthropic::StreamDecoder::new();
    assert_eq!(
        d.feed(b"event: content_block_delta\ndata: {\"index\":0,\"delta\":{\"type\":\"text_delta\"}}\n\n").unwrap_err().path(),
        Some("delta.text")
    );
    let mut d = anthropic::StreamDecoder::new();
    assert!(d.feed(b"event: message_start\ndata: []\n\n").is_err());
    // Every truncation of a real stream decodes or errors; none panics.
    for s in [crate::stream::OPENAI_STREAM, crate::stream::ANTHROPIC_STREAM] {
        for cut in 0..s.len() {
            let _ = openai::StreamDecoder::new().feed(&s.as_bytes()[..cut]);
            let mut a = anthropic::StreamDecoder::new();
            let _ = a.feed(&s.as_bytes()[..cut]);
            let _ = a.finish();
        }
    }
}

#[test]
fn oversized_event_is_an_error() {
    let mut d = openai::StreamDecoder::with_sse(keyway_ai::sse::SseDecoder::with_max_event_size(64));
    let big = format!("data: {}\n\n", "x".repeat(100));
    assert!(matches!(d.feed(big.as_bytes()), Err(FormatError::EventTooLarge { max: 64 })));
}
