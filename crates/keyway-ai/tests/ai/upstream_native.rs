//! `build_chat` output sent to mock Anthropic and Gemini; wrong keys and
//! scripted failures on every kind.

use keyway_ai::outbound::{build_chat, retry_after, ResponseReader};
use keyway_ai::{anthropic, openai, ErrorKind, FinishReason, ProviderKind, StreamEvent, Usage, WireFormat};
use serde_json::json;

use crate::support::client::send;
use crate::support::mock::{MockProvider, AZURE_DEPLOYMENT, KEY};

const ANTHROPIC_CALLER: &str = "{\"model\":\"claude-alias\", \"max_tokens\":300,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024},\"stream\":STREAM}";

#[tokio::test]
async fn anthropic_pass_through_plain_and_stream() {
    let mock = MockProvider::start(ProviderKind::Anthropic).await;
    let target = mock.target("claude-sonnet-4-5-20250929");
    for stream in [false, true] {
        let caller = ANTHROPIC_CALLER.replace("STREAM", &stream.to_string());
        let req = anthropic::parse_request(caller.as_bytes()).unwrap();
        let out = build_chat(&target, &req, Some(KEY), WireFormat::Anthropic, Some(caller.as_bytes())).unwrap();
        let answer = send(&out, ResponseReader::Anthropic).await;
        assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
        let rec = mock.last();
        assert_eq!(rec.path, "/v1/messages");
        assert_eq!(rec.header("x-api-key"), Some(KEY));
        assert_eq!(rec.header("anthropic-version"), Some("2023-06-01"));
        assert_eq!(rec.header("authorization"), None);
        assert_eq!(String::from_utf8(rec.body).unwrap(), caller.replace("claude-alias", &target.model));
        let usage = Usage { input_tokens: 19, cached_input_tokens: 7, output_tokens: 6, ..Usage::default() };
        if stream {
            let evs = &answer.events;
            assert_eq!(evs[0], StreamEvent::Start { id: "msg_01XFDUDYJgAACzvnptvVoYEL".into(), model: target.model.clone() });
            assert!(evs.contains(&StreamEvent::Finish { index: 0, reason: FinishReason::Stop }));
            assert_eq!(evs[evs.len() - 2], StreamEvent::Usage(usage));
            assert_eq!(evs.last(), Some(&StreamEvent::Done));
        } else {
            let resp = ResponseReader::Anthropic.parse_response(&answer.body).unwrap();
            assert_eq!(resp.usage, Some(usage));
            assert_eq!(resp.choices[0].message.joined_text(), "Hello from the mock.");
        }
    }
}

#[tokio::test]
async fn openai_caller_to_anthropic_is_rendered() {
    let mock = MockProvider::start(ProviderKind::Anthropic).await;
    let caller = br#"{"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"logit_bias":{"1":2}}"#;
    let req = openai::parse_request(caller).unwrap();
    let out = build_chat(&mock.target("claude-haiku-4-5"), &req, Some(KEY), WireFormat::OpenAi, Some(caller)).unwrap();
    assert_eq!(send(&out, ResponseReader::Anthropic).await.status, 200);
    let body = mock.last().json;
    assert_eq!(body["model"], json!("claude-haiku-4-5"));
    assert_eq!(body["system"], json!("Be brief."));
    assert_eq!(body["max_tokens"], json!(anthropic::DEFAULT_MAX_TOKENS));
    assert!(body.get("logit_bias").is_none(), "OpenAI-only fields stay out of Anthropic");
}

#[tokio::test]
async fn gemini_model_in_url_plain_and_stream() {
    let mock = MockProvider::start(ProviderKind::Gemini).await;
    let target = mock.target("gemini-2.5-flash");
    let caller = br#"{"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"max_tokens":99}"#;
    for stream in [false, true] {
        let mut req = openai::parse_request(caller).unwrap();
        req.stream = stream;
        let out = build_chat(&target, &req, Some(KEY), WireFormat::OpenAi, Some(caller)).unwrap();
        let answer = send(&out, ResponseReader::Gemini).await;
        assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
        let rec = mock.last();
        let method = if stream { "streamGenerateContent?alt=sse" } else { "generateContent" };
        assert_eq!(rec.path, format!("/v1beta/models/gemini-2.5-flash:{method}"));
        assert_eq!(rec.header("x-goog-api-key"), Some(KEY));
        assert_eq!(rec.json["systemInstruction"], json!({"parts": [{"text": "Be brief."}]}));
        assert_eq!(rec.json["generationConfig"]["maxOutputTokens"], json!(99));
        assert!(rec.json.get("model").is_none() && rec.json.get("stream").is_none());
        let usage = Usage { input_tokens: 11, output_tokens: 6, ..Usage::default() };
        if stream {
            let evs = &answer.events;
            assert_eq!(evs[0], StreamEvent::Start { id: "mAitaKe7NPmhz7IP0sKKmQs".into(), model: "gemini-2.5-flash".into() });
            assert_eq!(evs[evs.len() - 2], StreamEvent::Usage(usage), "{evs:?}");
            assert_eq!(evs.last(), Some(&StreamEvent::Done));
        } else {
            assert_eq!(ResponseReader::Gemini.parse_response(&answer.body).unwrap().usage, Some(usage));
        }
    }
}

#[tokio::test]
async fn wrong_key_reads_as_authentication() {
    let caller = br#"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"Hi"}]}"#;
    for kind in ProviderKind::ALL {
        if kind == ProviderKind::Ollama {
            continue; // Ollama checks no key
        }
        let mock = MockProvider::start(kind).await;
        let model = if kind == ProviderKind::AzureOpenAi { AZURE_DEPLOYMENT } else { "some-model" };
        let req = openai::parse_request(caller).unwrap();
        let out = build_chat(&mock.target(model), &req, Some("sk-wrong"), WireFormat::OpenAi, Some(caller)).unwrap();
        let answer = send(&out, ResponseReader::for_kind(kind)).await;
        let want_status = if kind == ProviderKind::Gemini { 400 } else { 401 };
        assert_eq!(answer.status, want_status, "{kind}");
        let err = ResponseReader::for_kind(kind).parse_error(answer.status, &answer.body);
        assert_eq!(err.kind, ErrorKind::Authentication, "{kind}: {err:?}");
        assert!(!err.message.is_empty(), "{kind}");
    }
}

#[tokio::test]
async fn scripted_failures_with_retry_after() {
    let caller = br#"{"model":"m","messages":[{"role":"user","content":"Hi"}]}"#;
    let req = openai::parse_request(caller).unwrap();
    let mock = MockProvider::start(ProviderKind::OpenAi).await;
    let out = build_chat(&mock.target("gpt-4o"), &req, Some(KEY), WireFormat::OpenAi, Some(caller)).unwrap();
    let rate = json!({"error": {"message": "Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Used 30000, Requested 500. Please try again in 1s.",
        "type": "tokens", "param": null, "code": "rate_limit_exceeded"}});
    mock.fail_next(429, rate, Some("1"));
    mock.fail_next(500, json!({"error": {"message": "The server had an error while processing your request.", "type": "server_error", "param": null, "code": null}}), None);
    let first = send(&out, ResponseReader::OpenAi).await;
    assert_eq!((first.status, first.retry_after.as_deref()), (429, Some("1")));
    assert_eq!(ResponseReader::OpenAi.parse_error(429, &first.body).kind, ErrorKind::RateLimit);
    assert_eq!(retry_after(first.retry_after.as_deref().unwrap()), Some(std::time::Duration::from_secs(1)));
    let second = send(&out, ResponseReader::OpenAi).await;
    assert_eq!(second.status, 500);
    assert_eq!(ResponseReader::OpenAi.parse_error(500, &second.body).kind, ErrorKind::Server);
    assert_eq!(send(&out, ResponseReader::OpenAi).await.status, 200, "failures are one-shot");
    assert_eq!(mock.requests().len(), 3);

    let mock = MockProvider::start(ProviderKind::Anthropic).await;
    let out = build_chat(&mock.target("claude-haiku-4-5"), &req, Some(KEY), WireFormat::OpenAi, None).unwrap();
    mock.fail_next(529, json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}), Some("30"));
    let answer = send(&out, ResponseReader::Anthropic).await;
    assert_eq!((answer.status, answer.retry_after.as_deref()), (529, Some("30")));
    assert_eq!(ResponseReader::Anthropic.parse_error(529, &answer.body).kind, ErrorKind::Overloaded);
}
