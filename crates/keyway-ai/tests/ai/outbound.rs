//! `build_chat` / `build_embeddings` without a server: URLs, refusals,
//! pass-through edits, and credentials kept out of `Debug`.

use keyway_ai::outbound::{build_chat, build_embeddings, retry_after, OutboundError, ProviderTarget, ResponseReader};
use keyway_ai::{openai, ErrorKind, FormatError, ProviderKind, WireFormat};

const SECRET: &str = "sk-live-SUPERSECRET-42";
const BODY: &[u8] = br#"{"model":"x","messages":[{"role":"user","content":"Hi"}]}"#;

fn chat(target: &ProviderTarget, credential: Option<&str>) -> Result<keyway_ai::outbound::OutboundRequest, OutboundError> {
    let req = openai::parse_request(BODY).unwrap();
    build_chat(target, &req, credential, WireFormat::OpenAi, Some(BODY))
}

#[test]
fn default_urls_from_the_catalog() {
    let cases = [
        (ProviderKind::OpenAi, "gpt-4o", "https://api.openai.com/v1/chat/completions"),
        (ProviderKind::Mistral, "mistral-small-latest", "https://api.mistral.ai/v1/chat/completions"),
        (ProviderKind::Ollama, "llama3.2", "http://localhost:11434/v1/chat/completions"),
        (ProviderKind::Anthropic, "claude-haiku-4-5", "https://api.anthropic.com/v1/messages"),
        (
            ProviderKind::Gemini,
            "gemini-2.5-pro",
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent",
        ),
    ];
    for (kind, model, url) in cases {
        let out = chat(&ProviderTarget::new(kind, model), Some(SECRET)).unwrap();
        assert_eq!((out.method, out.url.as_str(), out.stream), ("POST", url, false));
    }
    let t = ProviderTarget {
        preset: Some("deepseek".into()),
        ..ProviderTarget::new(ProviderKind::OpenAiCompatible, "deepseek-chat")
    };
    assert_eq!(chat(&t, Some(SECRET)).unwrap().url, "https://api.deepseek.com/v1/chat/completions");
    let t = ProviderTarget {
        base_url: Some("https://res.openai.azure.com/".into()),
        api_version: Some("2025-01-01-preview".into()),
        ..ProviderTarget::new(ProviderKind::AzureOpenAi, "my dep")
    };
    assert_eq!(
        chat(&t, Some(SECRET)).unwrap().url,
        "https://res.openai.azure.com/openai/deployments/my%20dep/chat/completions?api-version=2025-01-01-preview"
    );
}

#[test]
fn refusals_name_what_is_wrong() {
    let err = |t: &ProviderTarget, c| chat(t, c).unwrap_err().to_string();
    assert_eq!(
        err(&ProviderTarget::new(ProviderKind::AzureOpenAi, "d"), Some(SECRET)),
        "provider `azure_openai` needs a base_url: none is configured and it has no default"
    );
    assert_eq!(err(&ProviderTarget::new(ProviderKind::OpenAi, ""), Some(SECRET)), "provider `openai` target has an empty model");
    assert_eq!(
        err(&ProviderTarget::new(ProviderKind::Anthropic, "c"), None),
        "provider `anthropic` needs a credential and none is configured"
    );
    assert_eq!(
        err(&ProviderTarget::new(ProviderKind::Anthropic, "c"), Some("")),
        "provider `anthropic` needs a credential and none is configured"
    );
    let t = ProviderTarget { preset: Some("nope".into()), ..ProviderTarget::new(ProviderKind::OpenAiCompatible, "m") };
    assert_eq!(err(&t, Some(SECRET)), "unknown openai_compatible preset `nope`");
    let t = ProviderTarget { preset: Some("groq".into()), ..ProviderTarget::new(ProviderKind::OpenAi, "m") };
    assert_eq!(err(&t, Some(SECRET)), "preset `groq` only applies to openai_compatible, not `openai`");
    let t = ProviderTarget { base_url: Some("ftp://x".into()), ..ProviderTarget::new(ProviderKind::OpenAi, "m") };
    assert_eq!(err(&t, Some(SECRET)), "base_url `ftp://x` must start with http:// or https://");
    let msg = err(&ProviderTarget::new(ProviderKind::OpenAi, "m"), Some("sk-abc\r\nx-evil: 1"));
    assert_eq!(msg, "credential for provider `openai` has a character not allowed in an HTTP header at byte 6");
    // Ollama needs no key.
    let out = chat(&ProviderTarget::new(ProviderKind::Ollama, "llama3.2"), None).unwrap();
    assert_eq!(out.header("authorization"), None);
    // Embeddings: OpenAI-style kinds only, `input` required.
    let e = build_embeddings(&ProviderTarget::new(ProviderKind::Anthropic, "m"), br#"{"input":"a"}"#, Some(SECRET)).unwrap_err();
    assert_eq!(e.to_string(), "provider `anthropic` does not support embeddings");
    let e = build_embeddings(&ProviderTarget::new(ProviderKind::OpenAi, "m"), br#"{"model":"m"}"#, Some(SECRET)).unwrap_err();
    assert_eq!(e, OutboundError::Body(FormatError::Missing { path: "input".into() }));
    let req = openai::parse_request(BODY).unwrap();
    let e = build_chat(&ProviderTarget::new(ProviderKind::OpenAi, "m"), &req, Some(SECRET), WireFormat::OpenAi, Some(b"[1]"))
        .unwrap_err();
    assert_eq!(e.to_string(), "original request body: field `body` must be an object");
}

#[test]
fn credentials_never_in_debug() {
    for kind in ProviderKind::ALL {
        let t = ProviderTarget { base_url: Some("http://h/v1".into()), ..ProviderTarget::new(kind, "m") };
        let out = chat(&t, Some(SECRET)).unwrap();
        assert!(out.headers.iter().any(|(_, v)| v.contains(SECRET)), "{kind}: the key is sent");
        for dbg in [format!("{out:?}"), format!("{out:#?}"), format!("{:?}", Ok::<_, OutboundError>(out.clone()))] {
            assert!(!dbg.contains(SECRET) && !dbg.contains("SUPERSECRET"), "{kind}: {dbg}");
            assert!(dbg.contains("<redacted>"), "{kind}: {dbg}");
        }
        let emb = build_embeddings(&t, br#"{"input":"a"}"#, Some(SECRET));
        assert!(!format!("{emb:?}").contains(SECRET));
    }
    let bad = chat(&ProviderTarget::new(ProviderKind::OpenAi, "m"), Some("sk-SUPERSECRET\n")).unwrap_err();
    assert!(!format!("{bad:?}{bad}").contains("SUPERSECRET"));
}

#[test]
fn pass_through_adds_missing_model_and_keeps_gemini_bodies() {
    let body = br#"{ "messages" : [ {"role":"user","content":"Hi"} ] }"#;
    let req = openai::parse_request(br#"{"model":"a","messages":[{"role":"user","content":"Hi"}]}"#).unwrap();
    let out =
        build_chat(&ProviderTarget::new(ProviderKind::OpenAi, "gpt-4o"), &req, Some(SECRET), WireFormat::OpenAi, Some(body))
            .unwrap();
    assert_eq!(out.body, br#"{ "messages" : [ {"role":"user","content":"Hi"} ] ,"model":"gpt-4o"}"#);
    let gem = br#"{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}"#;
    let out = build_chat(
        &ProviderTarget::new(ProviderKind::Gemini, "gemini-2.5-pro"),
        &req,
        Some(SECRET),
        WireFormat::Gemini,
        Some(gem),
    )
    .unwrap();
    assert_eq!(out.body, gem);
}

#[test]
fn error_fallbacks_and_retry_after() {
    let e = ResponseReader::OpenAi.parse_error(401, br#"{"message":"Unauthorized","request_id":"r"}"#);
    assert_eq!((e.kind, e.message.as_str()), (ErrorKind::Authentication, r#"{"message":"Unauthorized","request_id":"r"}"#));
    let e = ResponseReader::OpenAi.parse_error(401, br#"{"error":{"code":"401","message":"Access denied"}}"#);
    assert_eq!((e.kind, e.code.as_deref()), (ErrorKind::Authentication, Some("401")));
    let e = ResponseReader::OpenAi.parse_error(429, br#"{"error":{"message":"quota","type":"insufficient_quota","code":null}}"#);
    assert_eq!((e.kind, e.code.as_deref()), (ErrorKind::RateLimit, Some("insufficient_quota")));
    let e = ResponseReader::Anthropic.parse_error(502, b"");
    assert_eq!((e.kind, e.message.as_str()), (ErrorKind::Server, "provider answered HTTP 502 with no error body"));
    assert_eq!(ResponseReader::Gemini.parse_error(418, b"teapot").kind, ErrorKind::Other("418".into()));
    assert_eq!(ResponseReader::OpenAi.parse_error(400, &vec![b'x'; 5000]).message.len(), 1000);
    assert_eq!(retry_after(" 20 "), Some(std::time::Duration::from_secs(20)));
    assert_eq!(retry_after("1.5"), Some(std::time::Duration::from_millis(1500)));
    assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    assert_eq!(retry_after("-1"), None);
}
