//! The AI side of the admin data: `ai` and `prompt` APIs (no upstream; a
//! prompt API's prompt), and the AI limits of keys, apps and tenants
//! (`allowed_models`, `budget`, `tokens_per_minute`): what is refused,
//! what reads back, and what survives reopening the store.
#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

mod common;

use common::{api_body, id, Harness};
use keyway_core::ids::KeyId;
use keyway_core::model::{ApiKind, BudgetPeriod, PromptFormat};
use keyway_pipeline::Snapshot;
use keyway_store::sqlite::SqliteStore;
use keyway_store::Store;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

fn ai_api(base_path: &str) -> Value {
    json!({"kind": "ai", "name": "llm", "version": "v1", "base_path": base_path, "auth": ["api_key"], "visibility": "private"})
}

fn prompt_api(base_path: &str) -> Value {
    json!({
        "kind": "prompt", "name": "summary", "version": "v1", "base_path": base_path, "auth": ["api_key"],
        "visibility": "tenant",
        "prompt": {"model": "gpt-4o", "system": "Be brief.", "template": "Summarise: {{text}}",
                   "variables_schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
                   "response_format": "json"}
    })
}

/// `body` with `field` set to `value` (`null` removes it).
fn with(mut body: Value, field: &str, value: Value) -> Value {
    let o = body.as_object_mut().unwrap();
    if value.is_null() {
        o.remove(field);
    } else {
        o.insert(field.to_owned(), value);
    }
    body
}

#[tokio::test]
async fn ai_and_prompt_apis_are_created_without_upstream() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let apis = format!("/admin/v1/tenants/{}/apis", w.tenant);

    let rest = h.ok("GET", &format!("/admin/v1/apis/{}", w.api), Value::Null).await;
    assert_eq!((rest["kind"].clone(), rest["prompt"].clone()), (json!("rest"), Value::Null));

    let ai = h.ok("POST", &apis, ai_api("/llm")).await;
    assert_eq!(ai["kind"], "ai");
    assert_eq!(ai["protocol"], "openai", "an ai API answers refusals in OpenAI's envelope by default");
    assert_eq!(ai["upstream"]["targets"], json!([]));
    assert_eq!(ai["prompt"], Value::Null);
    let anthropic = h.ok("POST", &apis, with(ai_api("/claude"), "protocol", json!("anthropic"))).await;
    assert_eq!(anthropic["protocol"], "anthropic");

    let p = h.ok("POST", &apis, prompt_api("/summary")).await;
    assert_eq!(p["kind"], "prompt");
    assert_eq!(p["protocol"], "rest");
    assert_eq!(p["prompt"]["model"], "gpt-4o");
    assert_eq!(p["prompt"]["response_format"], "json");
    assert_eq!(p["prompt"]["variables_schema"]["required"], json!(["text"]));
    // Defaults: no system, text answers.
    let mut minimal = prompt_api("/minimal");
    minimal["prompt"] = json!({"model": "m", "template": "t", "variables_schema": {}});
    let m = h.ok("POST", &apis, minimal).await;
    assert_eq!((m["prompt"]["system"].clone(), m["prompt"]["response_format"].clone()), (Value::Null, json!("text")));

    // In the gateway's snapshot, with their kind and prompt.
    let snap = h.state.snapshot.load();
    let entry = &snap.routes["/summary"][0].api;
    assert_eq!(entry.kind, ApiKind::Prompt);
    assert_eq!(entry.prompt.as_ref().map(|p| p.response_format), Some(PromptFormat::Json));
    assert_eq!(snap.routes["/llm"][0].api.kind, ApiKind::Ai);
    assert!(snap.routes["/llm"][0].next_target().is_none());

    // PATCH replaces a prompt API's prompt; a GET reads it back.
    let path = format!("/admin/v1/apis/{}", id(&p));
    let new_prompt = json!({"model": "gpt-4o-mini", "template": "Shorter: {{text}}", "variables_schema": {"type": "object"}});
    let patched = h.ok("PATCH", &path, json!({"prompt": new_prompt})).await;
    assert_eq!(patched["prompt"]["model"], "gpt-4o-mini");
    assert_eq!(patched["prompt"]["response_format"], "text", "replaced whole");
    assert_eq!(h.ok("GET", &path, Value::Null).await, patched);
    let audit = h.ok("GET", "/admin/v1/audit?resource_type=api", Value::Null).await;
    let actions: Vec<&str> = audit["data"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "api.create").count(), 5);
    assert!(actions.contains(&"api.update"));
}

#[tokio::test]
async fn bad_kinds_upstreams_and_prompts_are_refused_naming_the_field() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let apis = format!("/admin/v1/tenants/{}/apis", w.tenant);
    let upstream = json!({"targets": [{"url": "http://127.0.0.1:9"}]});
    let mut bad_schemas = Vec::new();
    for schema in [json!([]), json!("object"), json!(true), json!(1), Value::Null] {
        let mut b = prompt_api("/p");
        b["prompt"]["variables_schema"] = schema;
        bad_schemas.push((b, "prompt.variables_schema"));
    }
    let mut cases = vec![
        (with(ai_api("/a"), "upstream", upstream.clone()), "upstream"),
        (with(prompt_api("/p"), "upstream", upstream.clone()), "upstream"),
        (with(prompt_api("/p"), "prompt", Value::Null), "prompt"),
        (with(ai_api("/a"), "prompt", prompt_api("/p")["prompt"].clone()), "prompt"),
        (with(api_body("/r"), "prompt", prompt_api("/p")["prompt"].clone()), "prompt"),
        (with(api_body("/r"), "upstream", Value::Null), "upstream"),
        (with(api_body("/r"), "kind", json!("grpc")), "kind"),
        (with(ai_api("/a"), "kind", Value::Null), "upstream"),
    ];
    for (field, value) in [
        ("model", json!("")),
        ("model", json!("two words")),
        ("template", json!("")),
        ("response_format", json!("xml")),
        ("extra", json!(1)),
    ] {
        let mut b = prompt_api("/p");
        b["prompt"][field] = value;
        cases.push((b, if field == "extra" { "prompt.extra" } else { "" }));
    }
    cases.extend(bad_schemas);
    let before = h.fingerprint().await;
    for (body, param) in cases {
        let r = h.call("POST", &apis, Some(body.clone())).await;
        let p = r.problem(400, "request_invalid");
        let got = p["param"].as_str().unwrap_or_default();
        if param.is_empty() {
            assert!(got.starts_with("prompt."), "{body}: {got}");
        } else {
            assert_eq!(got, param, "{body}: {}", r.text);
        }
    }
    assert_eq!(h.fingerprint().await, before, "nothing written");

    // PATCH: no upstream on an ai API, no prompt on a rest one: the stored
    // kind does not take them (409, as a provider PATCH its kind refuses).
    let ai = id(&h.ok("POST", &apis, ai_api("/llm")).await);
    let before = h.fingerprint().await;
    let r = h.call("PATCH", &format!("/admin/v1/apis/{ai}"), Some(json!({"upstream": upstream}))).await;
    assert!(r.problem(409, "invalid_state")["detail"].as_str().unwrap().contains("no upstream"));
    let r = h.call("PATCH", &format!("/admin/v1/apis/{}", w.api), Some(json!({"prompt": prompt_api("/p")["prompt"]}))).await;
    assert!(r.problem(409, "invalid_state")["detail"].as_str().unwrap().contains("kind prompt"));
    // A bad prompt is 400 whatever the kind.
    let r = h
        .call(
            "PATCH",
            &format!("/admin/v1/apis/{ai}"),
            Some(json!({"prompt": {"model": "m", "template": "", "variables_schema": {}}})),
        )
        .await;
    assert_eq!(r.problem(400, "request_invalid")["param"], "prompt.template");
    assert_eq!(h.fingerprint().await, before, "nothing written");
    let r = h.call("PATCH", &format!("/admin/v1/apis/{ai}"), Some(json!({"kind": "rest"}))).await;
    assert_eq!(r.problem(400, "request_invalid")["param"], "kind", "the kind is fixed at creation");
}

const LIMITS: &str =
    r#"{"allowed_models": ["gpt-4o", "claude-sonnet"], "budget": {"usd": 25.5, "period": "month"}, "tokens_per_minute": 40000}"#;

fn limits() -> Value {
    serde_json::from_str(LIMITS).unwrap()
}

fn merged(base: Value, extra: &Value) -> Value {
    let mut b = base;
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

/// The three AI fields of a read.
fn ai_of(v: &Value) -> Value {
    json!({"allowed_models": v["allowed_models"], "budget": v["budget"], "tokens_per_minute": v["tokens_per_minute"]})
}

#[tokio::test]
async fn ai_limits_are_checked_on_every_body_that_takes_them() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let targets = [
        ("POST", "/admin/v1/tenants".to_owned(), json!({"slug": "other", "name": "Other"})),
        ("PATCH", format!("/admin/v1/tenants/{}", w.tenant), json!({})),
        ("POST", format!("/admin/v1/tenants/{}/apps", w.tenant), json!({"name": "bot", "owner_user_id": w.user})),
        ("PATCH", format!("/admin/v1/apps/{}", w.app), json!({})),
        ("POST", format!("/admin/v1/apps/{}/keys", w.app), json!({})),
    ];
    let bad = [
        (json!({"allowed_models": [""]}), "allowed_models[0]"),
        (json!({"allowed_models": ["ok", "with space"]}), "allowed_models[1]"),
        (json!({"allowed_models": ["x".repeat(257)]}), "allowed_models[0]"),
        (json!({"allowed_models": vec!["m"; 257]}), "allowed_models"),
        (json!({"allowed_models": null}), "allowed_models"),
        (json!({"allowed_models": "gpt-4o"}), "allowed_models"),
        (json!({"budget": {"usd": 0, "period": "day"}}), "budget.usd"),
        (json!({"budget": {"usd": -3, "period": "day"}}), "budget.usd"),
        (json!({"budget": {"usd": 1.0e10, "period": "day"}}), "budget.usd"),
        (json!({"budget": {"usd": 5, "period": "week"}}), "budget.period"),
        (json!({"budget": {"usd": 5}}), "budget.period"),
        (json!({"budget": {"usd": 5, "period": "day", "currency": "eur"}}), "budget.currency"),
        (json!({"tokens_per_minute": 0}), "tokens_per_minute"),
        (json!({"tokens_per_minute": 1.5}), "tokens_per_minute"),
        (json!({"tokens_per_minute": 1_000_000_000_001u64}), "tokens_per_minute"),
        (json!({"tokens_per_minute": "100"}), "tokens_per_minute"),
    ];
    let before = h.fingerprint().await;
    for (method, path, base) in &targets {
        for (extra, param) in &bad {
            let body = merged(base.clone(), extra);
            let r = h.call(method, path, Some(body.clone())).await;
            assert_eq!(r.problem(400, "request_invalid")["param"], *param, "{method} {path} {body}: {}", r.text);
        }
    }
    // The batch create names the item.
    let r = h
        .call("POST", &format!("/admin/v1/apps/{}/keys:batch", w.app), Some(json!({"keys": [{}, {"tokens_per_minute": 0}]})))
        .await;
    assert_eq!(r.problem(400, "request_invalid")["param"], "keys[1].tokens_per_minute");
    assert_eq!(h.fingerprint().await, before, "nothing written");
}

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn ai_limits_read_back_and_survive_reopening_the_store() {
    let dir = TempDir(std::env::temp_dir().join(format!("keyway-ai-fields-test-{}", KeyId::generate())));
    let file = dir.0.join("keyway.db");
    let (tenant, app, key, batch_key, rotated, text, ai_api_id, prompt_api_id) = {
        let h = Harness::with_store(Arc::new(SqliteStore::open(&file).unwrap())).await;
        let t = h.ok("POST", "/admin/v1/tenants", merged(json!({"slug": "acme", "name": "Acme"}), &limits())).await;
        assert_eq!(ai_of(&t), limits());
        let tenant = id(&t);
        let user =
            id(&h.ok("POST", &format!("/admin/v1/tenants/{tenant}/users"), json!({"email": "o@a.test", "role": "owner"})).await);
        let a = h
            .ok(
                "POST",
                &format!("/admin/v1/tenants/{tenant}/apps"),
                merged(json!({"name": "bot", "owner_user_id": user}), &limits()),
            )
            .await;
        assert_eq!(ai_of(&a), limits());
        let app = id(&a);
        let k = h.ok("POST", &format!("/admin/v1/apps/{app}/keys"), limits()).await;
        assert_eq!(ai_of(&k), limits(), "the create answer shows them");
        let key = id(&k);
        assert_eq!(ai_of(&h.ok("GET", &format!("/admin/v1/keys/{key}"), Value::Null).await), limits());
        let b = h
            .ok("POST", &format!("/admin/v1/apps/{app}/keys:batch"), json!({"keys": [{"allowed_models": ["gpt-4o"]}, {}]}))
            .await;
        assert_eq!(b["data"][0]["allowed_models"], json!(["gpt-4o"]));
        assert!(b["data"][1].get("allowed_models").is_none(), "unset AI fields are left out");
        let batch_key = id(&b["data"][0]);
        // Rotation keeps the limits.
        let r = h.ok("POST", &format!("/admin/v1/keys/{key}/rotate"), json!({"grace_seconds": 60})).await;
        assert_eq!(ai_of(&r), limits());
        let text = r["key"].as_str().unwrap().to_owned();

        // PATCH: a given field replaces, null clears, the rest stays.
        let p = h.ok("PATCH", &format!("/admin/v1/apps/{app}"), json!({"budget": null, "allowed_models": ["o1"]})).await;
        assert_eq!(ai_of(&p), json!({"allowed_models": ["o1"], "budget": null, "tokens_per_minute": 40000}));
        assert!(p.get("budget").is_none());
        let p = h
            .ok(
                "PATCH",
                &format!("/admin/v1/tenants/{tenant}"),
                json!({"tokens_per_minute": null, "budget": {"usd": 1, "period": "day"}}),
            )
            .await;
        assert_eq!(
            ai_of(&p),
            json!({"allowed_models": ["gpt-4o", "claude-sonnet"], "budget": {"usd": 1.0, "period": "day"}, "tokens_per_minute": null})
        );
        // The same values again change nothing and write no audit entry.
        let audits = h.audit_count().await;
        h.ok("PATCH", &format!("/admin/v1/apps/{app}"), json!({"allowed_models": ["o1"]})).await;
        assert_eq!(h.audit_count().await, audits);
        let audit = h.ok("GET", &format!("/admin/v1/audit?resource_id={app}"), Value::Null).await;
        assert_eq!(audit["data"].as_array().unwrap().len(), 2, "app.create and one app.update: {audit}");

        let apis = format!("/admin/v1/tenants/{tenant}/apis");
        let ai_api_id = id(&h.ok("POST", &apis, ai_api("/llm")).await);
        let prompt_api_id = id(&h.ok("POST", &apis, prompt_api("/summary")).await);
        (tenant, app, key, batch_key, id(&r), text, ai_api_id, prompt_api_id)
    };

    // A new admin API over the same file reads everything back.
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&file).unwrap());
    let h = Harness::with_store(store.clone()).await;
    let t = h.ok("GET", &format!("/admin/v1/tenants/{tenant}"), Value::Null).await;
    assert_eq!(
        ai_of(&t),
        json!({"allowed_models": ["gpt-4o", "claude-sonnet"], "budget": {"usd": 1.0, "period": "day"}, "tokens_per_minute": null})
    );
    let a = h.ok("GET", &format!("/admin/v1/apps/{app}"), Value::Null).await;
    assert_eq!(ai_of(&a), json!({"allowed_models": ["o1"], "budget": null, "tokens_per_minute": 40000}));
    assert_eq!(ai_of(&h.ok("GET", &format!("/admin/v1/keys/{key}"), Value::Null).await), limits());
    assert_eq!(ai_of(&h.ok("GET", &format!("/admin/v1/keys/{rotated}"), Value::Null).await), limits());
    assert_eq!(h.ok("GET", &format!("/admin/v1/keys/{batch_key}"), Value::Null).await["allowed_models"], json!(["gpt-4o"]));
    let ai = h.ok("GET", &format!("/admin/v1/apis/{ai_api_id}"), Value::Null).await;
    assert_eq!((ai["kind"].clone(), ai["protocol"].clone()), (json!("ai"), json!("openai")));
    let p = h.ok("GET", &format!("/admin/v1/apis/{prompt_api_id}"), Value::Null).await;
    assert_eq!(p["prompt"], prompt_api("/x")["prompt"].clone());

    // The gateway's start-up snapshot holds the key with its limits.
    let dump = store.load_all().await.unwrap();
    let snap = Snapshot::build(dump.tenants, dump.users, dump.apps, dump.keys, dump.apis, dump.subscriptions);
    let digest = h.state.settings.hasher.digest(&text);
    let entry = snap.keys.get(&digest).expect("the rotated-to key is in the snapshot");
    assert_eq!(entry.key.id.as_str(), rotated);
    let ai = entry.key.ai_limits();
    assert_eq!(ai.allowed_models, vec!["gpt-4o".to_owned(), "claude-sonnet".to_owned()]);
    assert_eq!(ai.budget.map(|b| (b.usd, b.period)), Some((25.5, BudgetPeriod::Month)));
    assert_eq!(ai.tokens_per_minute, Some(40_000));
    assert!(ai.allows_model("gpt-4o") && !ai.allows_model("o1"));
    let app_entry = snap.apps.get(&keyway_core::ids::AppId::from(app.as_str())).unwrap();
    assert_eq!(app_entry.ai.allowed_models, vec!["o1".to_owned()]);
    assert_eq!(snap.routes["/summary"][0].api.kind, ApiKind::Prompt);
}
