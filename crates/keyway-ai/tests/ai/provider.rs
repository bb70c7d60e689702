//! The provider catalog: names, base URLs, credentials, URLs, presets.

use keyway_ai::provider::{self, CredentialScheme, Operation, ProviderKind, PRESETS};
use keyway_ai::WireFormat;

const NAMES: [(&str, ProviderKind); 7] = [
    ("openai", ProviderKind::OpenAi),
    ("azure_openai", ProviderKind::AzureOpenAi),
    ("anthropic", ProviderKind::Anthropic),
    ("gemini", ProviderKind::Gemini),
    ("mistral", ProviderKind::Mistral),
    ("ollama", ProviderKind::Ollama),
    ("openai_compatible", ProviderKind::OpenAiCompatible),
];

#[test]
fn names_parse_display_and_serde() {
    for (name, kind) in NAMES {
        assert_eq!(name.parse::<ProviderKind>().unwrap(), kind);
        assert_eq!(kind.to_string(), name);
        assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
        assert_eq!(serde_json::from_str::<ProviderKind>(&format!("\"{name}\"")).unwrap(), kind);
    }
    assert_eq!(ProviderKind::ALL.len(), NAMES.len());
    for bad in ["OpenAI", "open_ai", "azure", "google", "", "vllm"] {
        let err = bad.parse::<ProviderKind>().unwrap_err();
        assert!(err.to_string().contains("unknown provider kind"), "{err}");
        assert!(serde_json::from_str::<ProviderKind>(&format!("\"{bad}\"")).is_err());
    }
}

#[test]
fn base_urls_and_wire_formats() {
    let want = [
        (ProviderKind::OpenAi, Some("https://api.openai.com/v1"), WireFormat::OpenAi),
        (ProviderKind::AzureOpenAi, None, WireFormat::OpenAi),
        (ProviderKind::Anthropic, Some("https://api.anthropic.com"), WireFormat::Anthropic),
        (ProviderKind::Gemini, Some("https://generativelanguage.googleapis.com"), WireFormat::Gemini),
        (ProviderKind::Mistral, Some("https://api.mistral.ai/v1"), WireFormat::OpenAi),
        (ProviderKind::Ollama, Some("http://localhost:11434/v1"), WireFormat::OpenAi),
        (ProviderKind::OpenAiCompatible, None, WireFormat::OpenAi),
    ];
    for (kind, base, format) in want {
        assert_eq!(kind.default_base_url(), base, "{kind}");
        assert_eq!(kind.wire_format(), format, "{kind}");
    }
    let k = ProviderKind::OpenAiCompatible;
    assert_eq!(k.resolve_base_url(None, Some("groq")), Some("https://api.groq.com/openai/v1"));
    assert_eq!(k.resolve_base_url(Some("http://10.0.0.5:8000/v1"), Some("groq")), Some("http://10.0.0.5:8000/v1"));
    assert_eq!(k.resolve_base_url(None, Some("nope")), None);
    assert_eq!(k.resolve_base_url(None, None), None);
    assert_eq!(ProviderKind::AzureOpenAi.resolve_base_url(Some(""), None), None);
    assert_eq!(ProviderKind::OpenAi.resolve_base_url(None, Some("groq")), Some("https://api.openai.com/v1"));
}

#[test]
fn credentials() {
    let h = |kind: ProviderKind, key: Option<&str>| kind.auth_headers(key);
    let bearer = vec![("authorization", "Bearer sk-1".to_owned())];
    assert_eq!(h(ProviderKind::OpenAi, Some("sk-1")), bearer);
    assert_eq!(h(ProviderKind::Mistral, Some("sk-1")), bearer);
    assert_eq!(h(ProviderKind::OpenAiCompatible, Some("sk-1")), bearer);
    assert_eq!(h(ProviderKind::Ollama, Some("sk-1")), bearer);
    assert_eq!(h(ProviderKind::Ollama, None), vec![]);
    assert_eq!(h(ProviderKind::Ollama, Some("")), vec![]);
    assert_eq!(h(ProviderKind::AzureOpenAi, Some("az")), vec![("api-key", "az".to_owned())]);
    assert_eq!(
        h(ProviderKind::Anthropic, Some("sk-ant")),
        vec![("x-api-key", "sk-ant".to_owned()), ("anthropic-version", "2023-06-01".to_owned())]
    );
    assert_eq!(h(ProviderKind::Anthropic, None), vec![("anthropic-version", "2023-06-01".to_owned())]);
    assert_eq!(h(ProviderKind::Gemini, Some("AIza")), vec![("x-goog-api-key", "AIza".to_owned())]);
    assert_eq!(ProviderKind::OpenAi.credential_scheme(), CredentialScheme::Bearer);
    assert_eq!(ProviderKind::Ollama.credential_scheme(), CredentialScheme::OptionalBearer);
    assert_eq!(ProviderKind::Gemini.credential_scheme(), CredentialScheme::Header("x-goog-api-key"));
}

#[test]
fn openai_style_urls() {
    for kind in [ProviderKind::OpenAi, ProviderKind::Mistral, ProviderKind::Ollama, ProviderKind::OpenAiCompatible] {
        let base = kind.default_base_url().unwrap_or("https://api.groq.com/openai/v1");
        for (op, tail) in [
            (Operation::Chat, "/chat/completions"),
            (Operation::ChatStream, "/chat/completions"),
            (Operation::Embeddings, "/embeddings"),
            (Operation::Models, "/models"),
        ] {
            assert_eq!(kind.url(base, op, "m", None), Some(format!("{base}{tail}")), "{kind} {op:?}");
            // One trailing slash is tolerated; the model is not in the URL.
            assert_eq!(kind.url(&format!("{base}/"), op, "", None), Some(format!("{base}{tail}")));
        }
    }
    assert_eq!(
        ProviderKind::OpenAi.url("https://api.openai.com/v1", Operation::Chat, "gpt-4o", None).unwrap(),
        "https://api.openai.com/v1/chat/completions"
    );
}

#[test]
fn azure_urls() {
    let k = ProviderKind::AzureOpenAi;
    let base = "https://contoso.openai.azure.com/";
    assert_eq!(
        k.url(base, Operation::Chat, "gpt4o-prod", None).unwrap(),
        "https://contoso.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(
        k.url(base, Operation::ChatStream, "gpt4o-prod", Some("2025-01-01-preview")).unwrap(),
        "https://contoso.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2025-01-01-preview"
    );
    assert_eq!(
        k.url(base, Operation::Embeddings, "emb", None).unwrap(),
        "https://contoso.openai.azure.com/openai/deployments/emb/embeddings?api-version=2024-10-21"
    );
    assert_eq!(
        k.url(base, Operation::Models, "", None).unwrap(),
        "https://contoso.openai.azure.com/openai/models?api-version=2024-10-21"
    );
    assert_eq!(k.url(base, Operation::Chat, "", None), None);
    assert_eq!(
        k.url(base, Operation::Chat, "my dep/x", None).unwrap(),
        "https://contoso.openai.azure.com/openai/deployments/my%20dep%2Fx/chat/completions?api-version=2024-10-21"
    );
}

#[test]
fn anthropic_urls() {
    let k = ProviderKind::Anthropic;
    let base = k.default_base_url().unwrap();
    assert_eq!(k.url(base, Operation::Chat, "claude-sonnet-4", None).unwrap(), "https://api.anthropic.com/v1/messages");
    assert_eq!(k.url(base, Operation::ChatStream, "x", None).unwrap(), "https://api.anthropic.com/v1/messages");
    assert_eq!(k.url(base, Operation::Models, "", None).unwrap(), "https://api.anthropic.com/v1/models");
    assert_eq!(k.url(base, Operation::Embeddings, "x", None), None);
}

#[test]
fn gemini_urls() {
    let k = ProviderKind::Gemini;
    let base = k.default_base_url().unwrap();
    let g = "https://generativelanguage.googleapis.com/v1beta/models";
    assert_eq!(k.url(base, Operation::Chat, "gemini-2.5-flash", None).unwrap(), format!("{g}/gemini-2.5-flash:generateContent"));
    assert_eq!(
        k.url(base, Operation::ChatStream, "models/gemini-2.5-pro", None).unwrap(),
        format!("{g}/gemini-2.5-pro:streamGenerateContent?alt=sse")
    );
    assert_eq!(
        k.url(base, Operation::Embeddings, "gemini-embedding-001", None).unwrap(),
        format!("{g}/gemini-embedding-001:embedContent")
    );
    assert_eq!(k.url(base, Operation::Models, "", None).unwrap(), g);
    assert_eq!(k.url(base, Operation::Chat, "", None), None);
    assert_eq!(k.url(base, Operation::Chat, "models/", None), None);
}

#[test]
fn presets() {
    let want = [
        ("vllm", "http://localhost:8000/v1"),
        ("deepseek", "https://api.deepseek.com/v1"),
        ("groq", "https://api.groq.com/openai/v1"),
        ("openrouter", "https://openrouter.ai/api/v1"),
        ("together", "https://api.together.xyz/v1"),
        ("fireworks", "https://api.fireworks.ai/inference/v1"),
        ("lmstudio", "http://localhost:1234/v1"),
    ];
    assert_eq!(PRESETS.len(), want.len());
    for (name, base) in want {
        let p = provider::preset(name).unwrap();
        assert_eq!((p.name, p.base_url), (name, base));
        assert_eq!(
            ProviderKind::OpenAiCompatible.url(p.base_url, Operation::Chat, "", None).unwrap(),
            format!("{base}/chat/completions")
        );
    }
    assert!(provider::preset("Groq").is_none());
    assert!(provider::preset("openai").is_none());
}
