//! The AI gateway end to end: an `ai` API in front of mock providers that
//! speak the providers' real wire formats, called in OpenAI's and
//! Anthropic's formats, whole and streamed, with the provider's own
//! credential kept from the caller, targets falling back, refused
//! credentials skipped, and usage and cost on the call-log row.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test harness code")]

mod common;
#[path = "../../keyway-ai/tests/support/mod.rs"]
mod support;

use common::*;
use keyway_ai::ProviderKind;
use serde_json::{json, Value};
use support::mock::{MockProvider, KEY};

/// A tenant with an app, a key and an `ai` API at `/ai`.
struct AiWorld {
    tenant: String,
    app: String,
    key: String,
}

async fn ai_world(node: &Node, slug: &str) -> AiWorld {
    let w = world(node, slug, "/unused").await;
    let api = node
        .ok(
            "POST",
            &format!("/admin/v1/tenants/{}/apis", w.tenant),
            json!({"name": "ai", "version": "v1", "base_path": "/ai", "kind": "ai",
                   "auth": ["api_key"], "requires_approval": false, "visibility": "tenant"}),
        )
        .await;
    assert_eq!(api["kind"], "ai", "{api}");
    let (_, key) = new_key(node, &w.app, json!({})).await;
    AiWorld { tenant: w.tenant, app: w.app, key }
}

async fn provider(node: &Node, tenant: &str, name: &str, mock: &MockProvider, kind: &str, keys: &[&str]) -> String {
    let credentials: Vec<Value> = keys.iter().map(|k| json!({"api_key": k})).collect();
    let p = node
        .ok(
            "POST",
            &format!("/admin/v1/tenants/{tenant}/providers"),
            json!({"name": name, "kind": kind, "base_url": mock.base_url(), "credentials": credentials}),
        )
        .await;
    p["id"].as_str().unwrap().to_owned()
}

async fn model(node: &Node, tenant: &str, body: Value) {
    node.ok("POST", &format!("/admin/v1/tenants/{tenant}/models"), body).await;
}

async fn post(node: &Node, path: &str, key: &str, body: Value) -> reqwest::Response {
    node.http
        .post(format!("{}{path}", node.gateway))
        .header("authorization", format!("Bearer {key}"))
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn request_id(resp: &reqwest::Response) -> String {
    resp.headers()["x-request-id"].to_str().unwrap().to_owned()
}

fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]})
}

#[tokio::test]
async fn an_openai_caller_reaches_an_openai_provider_with_the_providers_key_and_is_metered() {
    let node = Node::start().await;
    let w = ai_world(&node, "acme").await;
    let mock = MockProvider::start(ProviderKind::OpenAi).await;
    provider(&node, &w.tenant, "openai", &mock, "openai", &[KEY]).await;
    model(
        &node,
        &w.tenant,
        json!({"name": "fast", "targets": [{"provider": "openai", "model": "gpt-4o-mini"}],
               "price": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}}),
    )
    .await;

    let mut body = chat("fast");
    body["some_future_field"] = json!({"kept": true});
    let resp = post(&node, "/ai/v1/chat/completions", &w.key, body).await;
    let id = request_id(&resp);
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["object"], "chat.completion", "{answer}");
    assert_eq!(answer["usage"]["prompt_tokens"], 19);

    let sent = mock.last();
    assert_eq!(sent.json["model"], "gpt-4o-mini", "the provider's model name replaces the caller's");
    assert_eq!(sent.json["some_future_field"], json!({"kept": true}), "unknown fields pass through");
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {KEY}").as_str()), "the provider's own key");
    let all_headers = format!("{:?}", sent.headers);
    assert!(!all_headers.contains(&w.key), "the caller's Keyway key never reaches the provider");

    let row = log_row(&node, &id).await;
    assert_eq!(row["model"], "fast", "charged to the model the caller named");
    assert_eq!(row["provider"], "openai", "{row}");
    assert_eq!(row["tokens_estimated"], false, "the provider's own usage: {row}");
    assert_eq!(row["prompt_tokens"], 19);
    assert_eq!(row["completion_tokens"], 6);
    let cost = row["cost_usd"].as_f64().unwrap();
    assert!((cost - 31e-6).abs() < 1e-12, "19 x $1 + 6 x $2 per million: {cost}");
}

#[tokio::test]
async fn an_anthropic_caller_reaches_an_openai_provider_and_an_openai_caller_streams_from_anthropic() {
    let node = Node::start().await;
    let w = ai_world(&node, "acme").await;
    let openai = MockProvider::start(ProviderKind::OpenAi).await;
    let anthropic = MockProvider::start(ProviderKind::Anthropic).await;
    provider(&node, &w.tenant, "openai", &openai, "openai", &[KEY]).await;
    provider(&node, &w.tenant, "claude", &anthropic, "anthropic", &[KEY]).await;
    model(&node, &w.tenant, json!({"name": "gpt", "targets": [{"provider": "openai", "model": "gpt-4o"}]})).await;
    model(&node, &w.tenant, json!({"name": "sonnet", "targets": [{"provider": "claude", "model": "claude-sonnet-4-5"}]})).await;

    // Anthropic's format in, OpenAI's provider behind.
    let resp = post(
        &node,
        "/ai/v1/messages",
        &w.key,
        json!({"model": "gpt", "max_tokens": 100, "system": "Be brief.", "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["type"], "message", "{answer}");
    assert_eq!(answer["usage"]["input_tokens"], 19);
    assert_eq!(openai.last().json["messages"][0]["role"], "system");

    // OpenAI's format in, streamed, Anthropic's provider behind.
    let mut body = chat("sonnet");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let resp = post(&node, "/ai/v1/chat/completions", &w.key, body).await;
    let id = request_id(&resp);
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let text = resp.text().await.unwrap();
    let events: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
    assert_eq!(events.last(), Some(&"[DONE]"), "{text}");
    let chunks: Vec<Value> = events.iter().filter(|e| **e != "[DONE]").map(|e| serde_json::from_str(e).unwrap()).collect();
    assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk"), "{text}");
    let usage = chunks.iter().find_map(|c| c["usage"].as_object()).expect("a usage chunk, as asked");
    assert_eq!(usage["prompt_tokens"], 19, "Anthropic's 12 + 7 cache reads");
    let sent = anthropic.last();
    assert_eq!(sent.header("x-api-key"), Some(KEY));
    assert_eq!(sent.json["system"], "Be brief.");

    let row = log_row(&node, &id).await;
    assert_eq!(
        (row["model"].as_str(), row["prompt_tokens"].as_u64(), row["completion_tokens"].as_u64()),
        (Some("sonnet"), Some(19), Some(6))
    );
    assert_eq!(
        (row["cached_input_tokens"].as_u64(), row["cache_write_tokens"].as_u64(), row["reasoning_tokens"].as_u64()),
        (Some(7), Some(0), Some(0)),
        "the cache reads kept apart on the row: {row}"
    );
    assert!(row["cost_usd"].as_f64().unwrap() > 0.0, "claude-sonnet-4-5 is in the price table: {row}");
}

#[tokio::test]
async fn a_failing_target_falls_back_and_a_refused_credential_is_502_and_skipped_after() {
    let node = Node::start().await;
    let w = ai_world(&node, "acme").await;
    let primary = MockProvider::start(ProviderKind::OpenAi).await;
    let backup = MockProvider::start(ProviderKind::OpenAi).await;
    provider(&node, &w.tenant, "primary", &primary, "openai", &[KEY]).await;
    provider(&node, &w.tenant, "backup", &backup, "openai", &[KEY]).await;
    model(
        &node,
        &w.tenant,
        json!({"name": "fast", "targets": [{"provider": "primary", "model": "gpt-4o-mini"}],
               "fallbacks": [{"provider": "backup", "model": "gpt-4o-mini"}]}),
    )
    .await;
    primary.fail_next(503, json!({"error": {"message": "overloaded", "type": "server_error"}}), None);
    let resp = post(&node, "/ai/v1/chat/completions", &w.key, chat("fast")).await;
    let id = request_id(&resp);
    assert_eq!(resp.status(), 200, "the fallback answered");
    assert_eq!(backup.requests().len(), 1);
    let row = log_row(&node, &id).await;
    let steps = node.ok("POST", "/admin/v1/diagnose", json!({"request_id": id})).await;
    assert!(steps.to_string().contains("fallback backup"), "{steps}");
    assert_eq!((row["status"].as_u64(), row["provider"].as_str()), (Some(200), Some("backup")), "the one that answered: {row}");

    // Both targets rate-limited: the provider's 429 and Retry-After reach the caller.
    primary.fail_next(429, json!({"error": {"message": "slow down", "type": "rate_limit_error"}}), Some("7"));
    backup.fail_next(429, json!({"error": {"message": "slow down", "type": "rate_limit_error"}}), Some("9"));
    let resp = post(&node, "/ai/v1/chat/completions", &w.key, chat("fast")).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "9");
    let e: Value = resp.json().await.unwrap();
    assert_eq!(e["error"]["type"], "rate_limit_error", "{e}");

    // A provider that refuses Keyway's credential: 502, never the caller's own auth error.
    let strict = MockProvider::start(ProviderKind::OpenAi).await;
    let p = provider(&node, &w.tenant, "strict", &strict, "openai", &["sk-wrong-1234", KEY]).await;
    model(&node, &w.tenant, json!({"name": "strict", "targets": [{"provider": "strict", "model": "gpt-4o"}]})).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(post(&node, "/ai/v1/chat/completions", &w.key, chat("strict")).await.status().as_u16());
    }
    assert_eq!(statuses, [200; 4], "the pool moves past the refused credential");
    let wrong = strict.requests().iter().filter(|r| r.header("authorization") == Some("Bearer sk-wrong-1234")).count();
    assert_eq!(wrong, 1, "the refused credential is skipped once refused");

    let lone = MockProvider::start(ProviderKind::OpenAi).await;
    let lone_id = provider(&node, &w.tenant, "lone", &lone, "openai", &["sk-wrong-5678"]).await;
    model(&node, &w.tenant, json!({"name": "lone", "targets": [{"provider": "lone", "model": "gpt-4o"}]})).await;
    let resp = post(&node, "/ai/v1/chat/completions", &w.key, chat("lone")).await;
    assert_eq!(resp.status(), 502);
    assert_eq!(resp.headers()["x-keyway-error-code"], "upstream_credential_rejected");
    assert!(resp.headers().get("www-authenticate").is_none());
    let e: Value = resp.json().await.unwrap();
    assert_eq!(e["error"]["code"], "upstream_credential_rejected");
    assert!(!e.to_string().contains("5678"), "no part of the credential reaches the caller: {e}");
    let read = node.ok("GET", &format!("/admin/v1/providers/{lone_id}"), Value::Null).await;
    assert_eq!(read["credentials"][0]["healthy"], false, "the operator sees it refused: {read}");
    assert_eq!(read["credentials"][0]["last4"], "5678");
    let read = node.ok("GET", &format!("/admin/v1/providers/{p}"), Value::Null).await;
    let health: Vec<bool> = read["credentials"].as_array().unwrap().iter().map(|c| c["healthy"].as_bool().unwrap()).collect();
    assert_eq!(health, [false, true], "of two, the refused one: {read}");
}

#[tokio::test]
async fn refusals_use_the_envelope_of_the_operation_and_models_lists_the_tenants_models() {
    let node = Node::start().await;
    let w = ai_world(&node, "acme").await;
    let mock = MockProvider::start(ProviderKind::OpenAi).await;
    provider(&node, &w.tenant, "openai", &mock, "openai", &[KEY]).await;
    model(&node, &w.tenant, json!({"name": "fast", "targets": [{"provider": "openai", "model": "gpt-4o-mini"}]})).await;
    model(&node, &w.tenant, json!({"name": "embed", "targets": [{"provider": "openai", "model": "text-embedding-3-small"}]}))
        .await;

    let resp = post(&node, "/ai/v1/chat/completions", &w.key, chat("nope")).await;
    assert_eq!(resp.status(), 404);
    let e: Value = resp.json().await.unwrap();
    assert_eq!((e["error"]["code"].as_str(), e["error"]["param"].as_str()), (Some("model_unknown"), Some("model")), "{e}");

    let resp = post(&node, "/ai/v1/messages", "kw_live_not_a_real_key", json!({"model": "fast"})).await;
    assert_eq!(resp.status(), 401);
    let e: Value = resp.json().await.unwrap();
    assert_eq!(e["type"], "error", "Anthropic's envelope on /v1/messages: {e}");
    assert_eq!(e["error"]["type"], "authentication_error");

    let resp = post(&node, "/ai/v1/chat/completions", &w.key, json!({"model": "fast", "messages": "hello"})).await;
    assert_eq!(resp.status(), 400);
    let e: Value = resp.json().await.unwrap();
    assert_eq!(e["error"]["code"], "request_invalid", "{e}");
    assert_eq!(e["error"]["param"], "messages");

    let list: Value = node.get_bearer("/ai/v1/models", &w.key).await.json().await.unwrap();
    let names: Vec<&str> = list["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!((list["object"].as_str(), names), (Some("list"), vec!["embed", "fast"]));

    let resp = post(&node, "/ai/v1/embeddings", &w.key, json!({"model": "embed", "input": "hello"})).await;
    let id = request_id(&resp);
    assert_eq!(resp.status(), 200);
    assert_eq!(mock.last().json["model"], "text-embedding-3-small");
    let row = log_row(&node, &id).await;
    assert_eq!((row["model"].as_str(), row["prompt_tokens"].as_u64()), (Some("embed"), Some(5)));
    let _ = w.app;
}

#[tokio::test]
async fn allowed_models_budgets_and_token_limits_refuse_with_their_codes() {
    let node = Node::start().await;
    let w = ai_world(&node, "acme").await;
    let mock = MockProvider::start(ProviderKind::OpenAi).await;
    provider(&node, &w.tenant, "openai", &mock, "openai", &[KEY]).await;
    // 19 prompt + 6 completion tokens a call (the mock's usage): $25 a call at $1M per million.
    let price = json!({"input_per_mtok": 1_000_000.0, "output_per_mtok": 1_000_000.0});
    for name in ["fast", "other"] {
        model(
            &node,
            &w.tenant,
            json!({"name": name, "targets": [{"provider": "openai", "model": "gpt-4o-mini"}], "price": price}),
        )
        .await;
    }

    let (_, narrow) = new_key(&node, &w.app, json!({"allowed_models": ["fast"]})).await;
    let resp = post(&node, "/ai/v1/chat/completions", &narrow, chat("other")).await;
    assert_eq!(resp.status(), 403);
    let e: Value = resp.json().await.unwrap();
    assert_eq!(e["error"]["code"], "model_not_allowed", "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("fast"), "names what it may use: {e}");
    assert_eq!(post(&node, "/ai/v1/chat/completions", &narrow, chat("fast")).await.status(), 200);
    let listed: Value = node.get_bearer("/ai/v1/models", &narrow).await.json().await.unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "the list shows only what this key may use: {listed}");

    // A $45 daily budget: two $25 calls pass (each admitted on a $4
    // estimate), the third is refused with spent and budget.
    let (_, budgeted) = new_key(&node, &w.app, json!({"budget": {"usd": 45.0, "period": "day"}, "name": "budgeted"})).await;
    for _ in 0..2 {
        let mut body = chat("fast");
        body["max_tokens"] = json!(1);
        assert_eq!(post(&node, "/ai/v1/chat/completions", &budgeted, body).await.status(), 200);
    }
    let mut body = chat("fast");
    body["max_tokens"] = json!(1);
    let resp = post(&node, "/ai/v1/chat/completions", &budgeted, body).await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().get("retry-after").is_some());
    let e: Value = resp.json().await.unwrap();
    assert_eq!(e["error"]["code"], "budget_exceeded", "{e}");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.contains("$45.00") && message.contains("$50.000000"), "spent and budget: {message}");

    // 28 tokens a minute at the app: the first call (25 tokens) passes, the
    // next (25 used + a 4-token estimate) is held off.
    let (_, app2_key) = {
        let u = node
            .ok("POST", &format!("/admin/v1/tenants/{}/users", w.tenant), json!({"email": "dev@acme.test", "role": "developer"}))
            .await;
        let app2 = node
            .ok(
                "POST",
                &format!("/admin/v1/tenants/{}/apps", w.tenant),
                json!({"name": "tpm-app", "owner_user_id": u["id"], "tokens_per_minute": 28}),
            )
            .await;
        new_key(&node, app2["id"].as_str().unwrap(), json!({})).await
    };
    let mut small = chat("fast");
    small["max_tokens"] = json!(1);
    assert_eq!(post(&node, "/ai/v1/chat/completions", &app2_key, small.clone()).await.status(), 200);
    let resp = post(&node, "/ai/v1/chat/completions", &app2_key, small).await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().get("ratelimit-policy").is_some());
    let e: Value = resp.json().await.unwrap();
    assert_eq!(e["error"]["code"], "token_rate_limited", "{e}");

    // What was spent survives a restart (a graceful stop writes the counters).
    let mut node = node;
    node.restart().await;
    let mut body = chat("fast");
    body["max_tokens"] = json!(1);
    let resp = post(&node, "/ai/v1/chat/completions", &budgeted, body).await;
    assert_eq!(resp.status(), 429, "the budget still counts $50 after a restart");
}

#[tokio::test]
async fn a_prompt_api_checks_its_variables_and_answers_with_output_usage_and_request_id() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/unused").await;
    let mock = MockProvider::start(ProviderKind::Anthropic).await;
    provider(&node, &w.tenant, "claude", &mock, "anthropic", &[KEY]).await;
    model(&node, &w.tenant, json!({"name": "writer", "targets": [{"provider": "claude", "model": "claude-sonnet-4-5"}]})).await;
    node.ok(
        "POST",
        &format!("/admin/v1/tenants/{}/apis", w.tenant),
        json!({"name": "summarize", "version": "v1", "base_path": "/summarize", "kind": "prompt",
               "auth": ["api_key"], "requires_approval": false, "visibility": "tenant",
               "prompt": {"model": "writer", "system": "You summarize.", "template": "Summarize for {{audience}}: {{text}}",
                          "variables_schema": {"type": "object", "required": ["text", "audience"],
                                               "properties": {"text": {"type": "string"}, "audience": {"enum": ["kids", "experts"]}}}}}),
    )
    .await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;

    let resp = post(&node, "/summarize", &key, json!({"variables": {"text": "Rust is fast.", "audience": "kids"}})).await;
    let id = request_id(&resp);
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert!(v["output"].is_string() && v["model"] == "writer" && v["request_id"] == id.as_str(), "{v}");
    assert_eq!((v["usage"]["prompt_tokens"].as_u64(), v["usage"]["completion_tokens"].as_u64()), (Some(19), Some(6)));
    let sent = mock.last();
    assert_eq!(sent.json["system"], "You summarize.");
    assert_eq!(sent.json["messages"][0]["content"], "Summarize for kids: Rust is fast.", "{}", sent.json);
    let row = log_row(&node, &id).await;
    assert_eq!(row["model"], "writer");

    let resp = post(&node, "/summarize", &key, json!({"variables": {"text": "x", "audience": "adults"}})).await;
    let e = expect_refusal(resp, 400, "request_invalid").await;
    assert_eq!(e["param"], "variables.audience", "{e}");
}

#[tokio::test]
async fn a_stream_the_client_drops_midway_is_still_logged_and_charged() {
    let node = Node::start().await;
    let w = ai_world(&node, "acme").await;
    let mock = MockProvider::start(ProviderKind::OpenAi).await;
    provider(&node, &w.tenant, "openai", &mock, "openai", &[KEY]).await;
    model(&node, &w.tenant, json!({"name": "fast", "targets": [{"provider": "openai", "model": "gpt-4o-mini"}]})).await;
    let mut body = chat("fast");
    body["stream"] = json!(true);
    let mut resp = post(&node, "/ai/v1/chat/completions", &w.key, body).await;
    let id = request_id(&resp);
    let first = resp.chunk().await.unwrap();
    assert!(first.is_some(), "the stream began");
    drop(resp);
    let row = log_row(&node, &id).await;
    assert_eq!(row["model"], "fast", "the row is written when the stream is dropped: {row}");
    assert!(row["completion_tokens"].as_u64().is_some(), "{row}");
}

#[tokio::test]
async fn every_provider_kind_answers_both_formats_whole_and_streamed_with_usage_on_the_row() {
    use support::mock::AZURE_DEPLOYMENT;
    let node = Node::start().await;
    let w = ai_world(&node, "acme").await;
    let kinds = [
        (ProviderKind::OpenAi, "openai", "gpt-4o-mini"),
        (ProviderKind::AzureOpenAi, "azure_openai", AZURE_DEPLOYMENT),
        (ProviderKind::Anthropic, "anthropic", "claude-sonnet-4-5"),
        (ProviderKind::Gemini, "gemini", "gemini-2.0-flash"),
        (ProviderKind::Mistral, "mistral", "mistral-small-latest"),
        (ProviderKind::Ollama, "ollama", "llama3.2"),
        (ProviderKind::OpenAiCompatible, "openai_compatible", "deepseek-chat"),
    ];
    let mut mocks = Vec::new();
    for (kind, name, upstream_model) in kinds {
        let mock = MockProvider::start(kind).await;
        let mut body = json!({"name": name, "kind": name, "base_url": mock.base_url(), "credentials": [{"api_key": KEY}]});
        if kind == ProviderKind::AzureOpenAi {
            body["api_version"] = json!("2024-10-21");
        }
        node.ok("POST", &format!("/admin/v1/tenants/{}/providers", w.tenant), body).await;
        model(&node, &w.tenant, json!({"name": format!("m-{name}"), "targets": [{"provider": name, "model": upstream_model}]}))
            .await;
        mocks.push(mock);
    }
    for (_, name, _) in kinds {
        let model = format!("m-{name}");
        for stream in [false, true] {
            // OpenAI's format in.
            let mut body = chat(&model);
            body["stream"] = json!(stream);
            if stream {
                body["stream_options"] = json!({"include_usage": true});
            }
            let resp = post(&node, "/ai/v1/chat/completions", &w.key, body).await;
            let id = request_id(&resp);
            assert_eq!(resp.status(), 200, "{name} stream={stream}");
            let text = resp.text().await.unwrap();
            if stream {
                assert!(text.trim_end().ends_with("data: [DONE]"), "{name}: {text}");
            } else {
                let v: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(v["object"], "chat.completion", "{name}: {v}");
            }
            let row = log_row(&node, &id).await;
            assert!(row["prompt_tokens"].as_u64().unwrap_or(0) > 0, "{name} stream={stream}: provider usage on the row: {row}");
            assert!(row["completion_tokens"].as_u64().unwrap_or(0) > 0, "{name} stream={stream}: {row}");

            // Anthropic's format in.
            let resp = post(
                &node,
                "/ai/v1/messages",
                &w.key,
                json!({"model": model, "max_tokens": 50, "stream": stream, "messages": [{"role": "user", "content": "Hi"}]}),
            )
            .await;
            assert_eq!(resp.status(), 200, "{name} messages stream={stream}");
            let text = resp.text().await.unwrap();
            if stream {
                assert!(text.contains("event: message_stop"), "{name}: {text}");
            } else {
                let v: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(v["type"], "message", "{name}: {v}");
            }
        }
    }
    for m in &mocks {
        for r in m.requests() {
            assert!(!format!("{:?}", r.headers).contains(&w.key), "no caller key reaches any provider");
        }
    }
}

#[tokio::test]
async fn credentials_are_sealed_under_the_configured_master_key() {
    let master = "a-master-key-of-at-least-32-characters!!";
    let mut node = Node::start_with(|c| c.ai.master_key = Some(master.into())).await;
    let w = ai_world(&node, "acme").await;
    let mock = MockProvider::start(ProviderKind::OpenAi).await;
    provider(&node, &w.tenant, "openai", &mock, "openai", &[KEY]).await;
    model(&node, &w.tenant, json!({"name": "fast", "targets": [{"provider": "openai", "model": "gpt-4o-mini"}]})).await;
    assert_eq!(post(&node, "/ai/v1/chat/completions", &w.key, chat("fast")).await.status(), 200);

    // The same store under the server secret alone: the credential no
    // longer opens, and the operator's evidence says why.
    node.restart().await;
    let resp = post(&node, "/ai/v1/chat/completions", &w.key, chat("fast")).await;
    let id = request_id(&resp);
    assert_eq!(resp.status(), 502);
    let steps = node.ok("POST", "/admin/v1/diagnose", json!({"request_id": id})).await;
    assert!(steps.to_string().contains("does not open with this node's key"), "{steps}");

    // A master key too short to be one is refused at start.
    let mut c = config(temp_dir("short-master"));
    c.ai.master_key = Some("short".into());
    let Err(err) = keyway::app::start(c).await else { panic!("a short master key must be refused") };
    let err = err.to_string();
    assert!(err.contains("ai.master_key must be at least 32 characters"), "{err}");
}

/// A provider that misbehaves at the socket: `Silent` accepts and never
/// answers; `BreaksMidStream` answers 200 with one SSE chunk, then closes.
async fn raw_provider(breaks_mid_stream: bool) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let _ = tcp.read(&mut buf).await;
                if breaks_mid_stream {
                    let chunk = r#"data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}"#;
                    let body = format!("{chunk}\n\n");
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                    let _ = tcp.write_all(format!("{head}{:x}\r\n{body}\r\n", body.len()).as_bytes()).await;
                    let _ = tcp.flush().await;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    // Gone, mid-body: no last chunk.
                } else {
                    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                }
            });
        }
    });
    (format!("http://{addr}/v1"), hits)
}

#[tokio::test]
async fn a_silent_target_times_out_to_the_fallback_and_a_stream_that_began_is_never_retried() {
    let node = Node::start().await;
    let w = ai_world(&node, "acme").await;
    let backup = MockProvider::start(ProviderKind::OpenAi).await;
    provider(&node, &w.tenant, "backup", &backup, "openai", &[KEY]).await;
    for (name, breaks) in [("silent", false), ("breaks", true)] {
        let (url, _) = raw_provider(breaks).await;
        node.ok(
            "POST",
            &format!("/admin/v1/tenants/{}/providers", w.tenant),
            json!({"name": name, "kind": "openai", "base_url": url, "credentials": [{"api_key": "sk-raw-1234"}]}),
        )
        .await;
        model(
            &node,
            &w.tenant,
            json!({"name": name, "timeout_ms": 300, "targets": [{"provider": name, "model": "gpt-4o"}],
                   "fallbacks": [{"provider": "backup", "model": "gpt-4o-mini"}]}),
        )
        .await;
    }

    // No answer within the model's timeout: the fallback answers.
    let started = std::time::Instant::now();
    let resp = post(&node, "/ai/v1/chat/completions", &w.key, chat("silent")).await;
    assert_eq!(resp.status(), 200, "the fallback answered");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "within the timeout, not the silent provider's 30 s");
    assert_eq!(backup.requests().len(), 1);

    // A stream that began and broke: the caller has what arrived, and the
    // fallback is not asked (its first byte had reached the caller).
    let mut body = chat("breaks");
    body["stream"] = json!(true);
    let resp = post(&node, "/ai/v1/chat/completions", &w.key, body).await;
    let id = request_id(&resp);
    assert_eq!(resp.status(), 200);
    let mut got = Vec::new();
    let mut resp = resp;
    while let Ok(Some(chunk)) = resp.chunk().await {
        got.extend_from_slice(&chunk);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("Hel"), "what arrived reached the caller: {text}");
    assert!(!text.contains("[DONE]"), "the stream ended short, as the provider's did: {text}");
    assert_eq!(backup.requests().len(), 1, "no retry after the first streamed byte");
    let row = log_row(&node, &id).await;
    assert_eq!(row["provider"], "breaks", "{row}");
    assert_eq!(row["completion_tokens"], 1, "\"Hel\", counted by the tokenizer: {row}");
    assert_eq!(row["tokens_estimated"], true, "no usage came, so the row says the tokens are Keyway's count: {row}");
}

#[tokio::test]
async fn a_same_format_stream_passes_through_as_sent_and_the_usage_chunk_only_when_asked() {
    let node = Node::start().await;
    let w = ai_world(&node, "acme").await;
    let mock = MockProvider::start(ProviderKind::OpenAi).await;
    provider(&node, &w.tenant, "openai", &mock, "openai", &[KEY]).await;
    model(&node, &w.tenant, json!({"name": "fast", "targets": [{"provider": "openai", "model": "gpt-4o-mini"}]})).await;
    for asked in [false, true] {
        let mut body = chat("fast");
        body["stream"] = json!(true);
        if asked {
            body["stream_options"] = json!({"include_usage": true});
        }
        let resp = post(&node, "/ai/v1/chat/completions", &w.key, body).await;
        let id = request_id(&resp);
        let text = resp.text().await.unwrap();
        assert!(mock.last().json.pointer("/stream_options/include_usage") == Some(&json!(true)), "Keyway always asks for usage");
        let usage_chunks = text.lines().filter(|l| l.contains(r#""choices":[]"#)).count();
        assert_eq!(usage_chunks, usize::from(asked), "the usage chunk only when the caller asked: {text}");
        assert!(text.contains(r#""system_fingerprint":"fp_44709d6fcb""#), "the provider's own chunks, as sent: {text}");
        assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
        let row = log_row(&node, &id).await;
        assert_eq!((row["prompt_tokens"].as_u64(), row["tokens_estimated"].as_bool()), (Some(19), Some(false)), "{row}");
    }
}

#[tokio::test]
async fn json_mode_toward_anthropic_is_a_forced_tool_answered_as_text_and_n_above_one_is_refused() {
    let node = Node::start().await;
    let w = ai_world(&node, "acme").await;
    let anthropic = MockProvider::start(ProviderKind::Anthropic).await;
    provider(&node, &w.tenant, "claude", &anthropic, "anthropic", &[KEY]).await;
    model(&node, &w.tenant, json!({"name": "sonnet", "targets": [{"provider": "claude", "model": "claude-sonnet-4-5"}]})).await;
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
    let mut body = chat("sonnet");
    body["response_format"] = json!({"type": "json_schema", "json_schema": {"name": "place", "schema": schema}});

    let resp = post(&node, "/ai/v1/chat/completions", &w.key, body.clone()).await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    let message = &answer["choices"][0]["message"];
    assert_eq!(message["content"], r#"{"city":"Paris"}"#, "the forced tool's input is the answer: {answer}");
    assert!(message.get("tool_calls").is_none_or(Value::is_null), "the tool never shows: {answer}");
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    let sent = anthropic.last();
    assert_eq!(sent.json["tool_choice"], json!({"type": "tool", "name": "keyway_json_answer"}));
    assert_eq!(sent.json["tools"][0]["input_schema"], schema);

    // Streamed, the input arrives as content deltas.
    body["stream"] = json!(true);
    let resp = post(&node, "/ai/v1/chat/completions", &w.key, body).await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let chunks: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let content: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(content, r#"{"city": "Paris"}"#, "{text}");
    assert!(chunks.iter().all(|c| c["choices"][0]["delta"].get("tool_calls").is_none()), "{text}");
    assert!(chunks.iter().any(|c| c["choices"][0]["finish_reason"] == "stop"), "{text}");

    // Several choices cannot come from Anthropic: refused, naming `n`, before any provider is asked.
    let asked = anthropic.requests().len();
    let mut several = chat("sonnet");
    several["n"] = json!(3);
    let resp = post(&node, "/ai/v1/chat/completions", &w.key, several).await;
    assert_eq!(resp.status(), 400);
    let refusal: Value = resp.json().await.unwrap();
    assert_eq!(
        (refusal["error"]["code"].as_str(), refusal["error"]["param"].as_str()),
        (Some("request_invalid"), Some("n")),
        "{refusal}"
    );
    assert_eq!(anthropic.requests().len(), asked);
}
