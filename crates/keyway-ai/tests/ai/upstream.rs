//! `build_chat` output sent to mock OpenAI-style providers (OpenAI, Azure,
//! Mistral, Ollama, an `openai_compatible` preset), answers read back
//! with `ResponseReader`.

use keyway_ai::outbound::{build_chat, build_embeddings, ProviderTarget, ResponseReader};
use keyway_ai::{anthropic, openai, ProviderKind, StreamEvent, Usage, WireFormat};
use serde_json::json;

use crate::support::client::send;
use crate::support::mock::{MockProvider, AZURE_DEPLOYMENT, KEY};

/// The OpenAI-style kinds, each with its mock and the target's model.
async fn openai_style() -> Vec<(MockProvider, ProviderTarget)> {
    let mut out = Vec::new();
    for (kind, model) in [
        (ProviderKind::OpenAi, "gpt-4o-mini"),
        (ProviderKind::AzureOpenAi, AZURE_DEPLOYMENT),
        (ProviderKind::Mistral, "mistral-large-latest"),
        (ProviderKind::Ollama, "llama3.2"),
        (ProviderKind::OpenAiCompatible, "llama-3.3-70b-versatile"),
    ] {
        let mock = MockProvider::start(kind).await;
        let mut target = mock.target(model);
        if kind == ProviderKind::OpenAiCompatible {
            target.preset = Some("groq".into()); // known preset; the configured base_url wins
        }
        out.push((mock, target));
    }
    out
}

fn expected_path(t: &ProviderTarget, op: &str) -> String {
    match t.kind {
        ProviderKind::AzureOpenAi => format!("/openai/deployments/{AZURE_DEPLOYMENT}/{op}?api-version=2024-10-21"),
        _ => format!("/v1/{op}"),
    }
}

const CALLER: &str = "{\"model\":\"caller-alias\",  \"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\n \"x_vendor\":{\"b\":1.50,\"a\":[true,null,\"\\u00e9\"]}, \"temperature\":0.70,\"stream\":false}";

#[tokio::test]
async fn pass_through_keeps_caller_bytes_except_model() {
    for (mock, target) in openai_style().await {
        let req = openai::parse_request(CALLER.as_bytes()).unwrap();
        let out = build_chat(&target, &req, Some(KEY), WireFormat::OpenAi, Some(CALLER.as_bytes())).unwrap();
        let answer = send(&out, ResponseReader::for_kind(target.kind)).await;
        assert_eq!(answer.status, 200, "{}: {}", target.kind, String::from_utf8_lossy(&answer.body));
        let rec = mock.last();
        assert_eq!(rec.path, expected_path(&target, "chat/completions"), "{}", target.kind);
        let want = CALLER.replace("\"caller-alias\"", &format!("\"{}\"", target.model));
        assert_eq!(String::from_utf8(rec.body.clone()).unwrap(), want, "{}", target.kind);
        assert_eq!(rec.header("content-type"), Some("application/json"));
        assert_eq!(rec.header("accept"), Some("application/json"));
        match target.kind {
            ProviderKind::AzureOpenAi => {
                assert_eq!(rec.header("api-key"), Some(KEY));
                assert_eq!(rec.header("authorization"), None);
            }
            _ => assert_eq!(rec.header("authorization"), Some(format!("Bearer {KEY}").as_str()), "{}", target.kind),
        }
        let resp = ResponseReader::for_kind(target.kind).parse_response(&answer.body).unwrap();
        assert_eq!(resp.choices[0].message.joined_text(), "Hello from the mock.");
        assert_eq!(resp.usage.unwrap().total_tokens(), 25);
    }
}

#[tokio::test]
async fn streams_always_meter_usage() {
    let caller = r#"{"model":"caller-alias","stream":true,"messages":[{"role":"user","content":"Hi"}],"x_vendor":1}"#;
    let want_usage = Usage { input_tokens: 19, output_tokens: 6, ..Usage::default() };
    for (mock, target) in openai_style().await {
        let req = openai::parse_request(caller.as_bytes()).unwrap();
        assert!(!req.include_usage, "the caller did not ask for usage");
        let out = build_chat(&target, &req, Some(KEY), WireFormat::OpenAi, Some(caller.as_bytes())).unwrap();
        assert_eq!(out.header("accept"), Some("text/event-stream"));
        let answer = send(&out, ResponseReader::for_kind(target.kind)).await;
        assert_eq!(answer.status, 200, "{}: {}", target.kind, String::from_utf8_lossy(&answer.body));
        assert_eq!(answer.content_type.as_deref(), Some("text/event-stream"));
        let rec = mock.last();
        if target.kind == ProviderKind::Mistral {
            // Mistral refuses stream_options and meters every stream anyway.
            assert_eq!(String::from_utf8(rec.body).unwrap(), caller.replace("caller-alias", &target.model));
        } else {
            let want = caller
                .replace("caller-alias", &target.model)
                .replace(r#""x_vendor":1}"#, r#""x_vendor":1,"stream_options":{"include_usage":true}}"#);
            assert_eq!(String::from_utf8(rec.body).unwrap(), want, "{}", target.kind);
        }
        let evs = &answer.events;
        assert!(matches!(&evs[0], StreamEvent::Start { id, .. } if id == "chatcmpl-AbC123"), "{}: {evs:?}", target.kind);
        let text: String = evs
            .iter()
            .filter_map(|e| if let StreamEvent::TextDelta { text, .. } = e { Some(text.as_str()) } else { None })
            .collect();
        assert_eq!(text, "Hello from the mock.");
        assert_eq!(evs[evs.len() - 2], StreamEvent::Usage(want_usage), "{}", target.kind);
        assert_eq!(evs.last(), Some(&StreamEvent::Done));
    }
}

#[tokio::test]
async fn caller_stream_options_kept_and_usage_forced() {
    let caller = r#"{"model":"m","stream":true,"stream_options":{"include_usage":false,"x":2},"messages":[{"role":"user","content":"Hi"}]}"#;
    let mock = MockProvider::start(ProviderKind::OpenAi).await;
    let req = openai::parse_request(caller.as_bytes()).unwrap();
    let out = build_chat(&mock.target("gpt-4o"), &req, Some(KEY), WireFormat::OpenAi, Some(caller.as_bytes())).unwrap();
    let answer = send(&out, ResponseReader::OpenAi).await;
    assert!(answer.events.iter().any(|e| matches!(e, StreamEvent::Usage(_))));
    assert_eq!(mock.last().body, caller.replace(r#""m""#, r#""gpt-4o""#).replace("false", "true").into_bytes());
}

#[tokio::test]
async fn anthropic_caller_is_translated() {
    let caller = br#"{"model":"claude-alias","max_tokens":256,"system":"Be brief.","messages":[{"role":"user","content":"Hi"}],"stream":true}"#;
    let req = anthropic::parse_request(caller).unwrap();
    for (mock, target) in openai_style().await {
        let out = build_chat(&target, &req, Some(KEY), WireFormat::Anthropic, Some(caller)).unwrap();
        let answer = send(&out, ResponseReader::for_kind(target.kind)).await;
        assert_eq!(answer.status, 200, "{}: {}", target.kind, String::from_utf8_lossy(&answer.body));
        let body = mock.last().json;
        assert_eq!(body["model"], json!(target.model));
        assert_eq!(body["messages"][0], json!({"role": "system", "content": "Be brief."}));
        assert_eq!(body["max_tokens"], json!(256));
        let want_options =
            if target.kind == ProviderKind::Mistral { serde_json::Value::Null } else { json!({"include_usage": true}) };
        assert_eq!(body["stream_options"], want_options, "{}", target.kind);
        assert!(answer.events.iter().any(|e| matches!(e, StreamEvent::Usage(u) if u.total_tokens() == 25)), "{}", target.kind);
    }
}

#[tokio::test]
async fn embeddings_pass_through() {
    let caller = br#"{"input":"The food was delicious","model":"alias","encoding_format":"float"}"#;
    for (mock, target) in openai_style().await {
        let out = build_embeddings(&target, caller, Some(KEY)).unwrap();
        let answer = send(&out, ResponseReader::OpenAi).await;
        assert_eq!(answer.status, 200, "{}", target.kind);
        let rec = mock.last();
        assert_eq!(rec.path, expected_path(&target, "embeddings"));
        let want = format!(r#"{{"input":"The food was delicious","model":"{}","encoding_format":"float"}}"#, target.model);
        assert_eq!(String::from_utf8(rec.body).unwrap(), want);
        assert_eq!(crate::json(&answer.body)["data"][0]["embedding"].as_array().unwrap().len(), 3);
    }
}
