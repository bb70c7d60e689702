//! `keyway serve --demo`: a fresh embedded store, a built-in echo
//! upstream, two tenants with apps and keys in various states, and
//! ready-to-paste curl and diagnose lines showing one accepted call and
//! the refusals Keyway names; and an AI API at `/ai` over a built-in
//! OpenAI-compatible demo model ([`crate::demo_model`]), called in
//! OpenAI's and Anthropic's formats.

use crate::admin_client::AdminClient;
use crate::app::{self, Running};
use crate::config::Config;
use anyhow::Context;
use keyway_core::key_format::{self, KeyEnv};
use serde_json::{json, Value};
use std::fmt::Write;
use std::net::SocketAddr;

/// What the demo seeded, for printing and tests.
#[derive(Debug, Clone)]
pub struct DemoWorld {
    /// Gateway base URL.
    pub gateway: String,
    /// Admin API base URL.
    pub admin: String,
    /// The admin token.
    pub admin_token: String,
    /// Path served by the demo API.
    pub path: String,
    /// A key that works.
    pub good_key: String,
    /// A revoked key.
    pub revoked_key: String,
    /// A key whose app's owner is suspended.
    pub suspended_owner_key: String,
    /// A key of another tenant.
    pub other_tenant_key: String,
    /// A well-formed key that matches nothing.
    pub unknown_key: String,
    /// The good key with a typo.
    pub typo_key: String,
    /// The id of a call the demo made itself with the suspended owner's
    /// key, refused, so there is a real id to diagnose.
    pub refused_request_id: String,
    /// Base path of the demo's AI API.
    pub ai_base_path: String,
    /// The demo's chat model, as callers name it.
    pub ai_model: String,
    /// A key whose AI budget is used up (`budget_exceeded`).
    pub ai_budget_key: String,
    /// A key that may use only the embedding model (`model_not_allowed`).
    pub ai_embed_only_key: String,
}

/// The demo AI API's base path.
const AI_BASE_PATH: &str = "/ai";
/// The demo's chat model.
const AI_MODEL: &str = "demo-chat";

/// Starts the demo node and seeds it.
pub async fn start(mut config: Config) -> anyhow::Result<(Running, DemoWorld)> {
    let token =
        config.admin.token.clone().unwrap_or_else(|| format!("kwadm_demo_{}", &key_format::generate(KeyEnv::Test)[8..38]));
    config.admin.token = Some(token.clone());
    config.environment = KeyEnv::Live;
    let echo = crate::echo::start(SocketAddr::from(([127, 0, 0, 1], 0))).await.context("starting the echo upstream")?;
    let model_key = format!("sk-demo-{}", &key_format::generate(KeyEnv::Test)[8..38]);
    let model = crate::demo_model::start(SocketAddr::from(([127, 0, 0, 1], 0)), model_key.clone())
        .await
        .context("starting the demo model")?;
    let running = app::start(config).await?;
    let admin = format!("http://{}", running.admin_addr);
    let gateway = format!("http://{}", display_addr(running.gateway_addr));
    let c = AdminClient::new(&admin, &token);
    let mut world = seed(&c, &gateway, &admin, &token, echo).await.context("seeding the demo")?;
    let (budget_key, embed_only_key) = seed_ai(&c, model, &model_key).await.context("seeding the demo AI API")?;
    world.ai_budget_key = budget_key;
    world.ai_embed_only_key = embed_only_key;
    world.refused_request_id = refused_call(&world).await.context("making the demo's refused call")?;
    Ok((running, world))
}

/// Calls the demo API with the suspended owner's key; returns the
/// refusal's request id.
async fn refused_call(w: &DemoWorld) -> anyhow::Result<String> {
    use http_body_util::{BodyExt, Empty};
    let client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let req = http::Request::get(format!("{}{}", w.gateway, w.path))
        .header("authorization", format!("Bearer {}", w.suspended_owner_key))
        .body(Empty::new())?;
    let resp = client.request(req).await?;
    let id = resp.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let _ = resp.into_body().collect().await;
    id.context("the gateway answered without x-request-id")
}

fn display_addr(a: SocketAddr) -> SocketAddr {
    if a.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], a.port()))
    } else {
        a
    }
}

async fn seed(c: &AdminClient, gateway: &str, admin: &str, token: &str, echo: SocketAddr) -> anyhow::Result<DemoWorld> {
    let acme = c.ok("POST", "/admin/v1/tenants", Some(&json!({"slug": "acme", "name": "Acme Corp"}))).await?;
    let globex = c.ok("POST", "/admin/v1/tenants", Some(&json!({"slug": "globex", "name": "Globex"}))).await?;
    let acme_id = id(&acme)?;
    let globex_id = id(&globex)?;
    let alice = c
        .ok("POST", &format!("/admin/v1/tenants/{acme_id}/users"), Some(&json!({"email": "alice@acme.test", "role": "owner"})))
        .await?;
    let bob = c
        .ok("POST", &format!("/admin/v1/tenants/{acme_id}/users"), Some(&json!({"email": "ops@acme.test", "role": "developer"})))
        .await?;
    let gina = c
        .ok("POST", &format!("/admin/v1/tenants/{globex_id}/users"), Some(&json!({"email": "gina@globex.test", "role": "owner"})))
        .await?;
    let storefront = c
        .ok(
            "POST",
            &format!("/admin/v1/tenants/{acme_id}/apps"),
            Some(&json!({"name": "storefront", "owner_user_id": id(&alice)?})),
        )
        .await?;
    let billing = c
        .ok(
            "POST",
            &format!("/admin/v1/tenants/{acme_id}/apps"),
            Some(&json!({"name": "billing-sync", "owner_user_id": id(&bob)?})),
        )
        .await?;
    let partner = c
        .ok(
            "POST",
            &format!("/admin/v1/tenants/{globex_id}/apps"),
            Some(&json!({"name": "partner-portal", "owner_user_id": id(&gina)?})),
        )
        .await?;
    let echo_api = c
        .ok(
            "POST",
            &format!("/admin/v1/tenants/{acme_id}/apis"),
            Some(&json!({
                "name": "echo", "version": "v1", "base_path": "/echo/v1",
                "upstream": {"targets": [{"url": format!("http://{echo}")}]},
                "auth": ["api_key"], "requires_approval": false, "visibility": "private"
            })),
        )
        .await?;
    let api_id = id(&echo_api)?;
    for app in [&storefront, &billing] {
        c.ok("POST", &format!("/admin/v1/apis/{api_id}/subscriptions"), Some(&json!({"app_id": id(app)?}))).await?;
    }
    let new_key = |app: &Value| format!("/admin/v1/apps/{}/keys", app["id"].as_str().unwrap_or(""));
    let good = c.ok("POST", &new_key(&storefront), Some(&json!({"name": "storefront prod"}))).await?;
    let revoked = c.ok("POST", &new_key(&storefront), Some(&json!({"name": "old ci key"}))).await?;
    c.ok("POST", &format!("/admin/v1/keys/{}/revoke", id(&revoked)?), Some(&json!({"reason": "leaked in a CI log"}))).await?;
    let billing_key = c.ok("POST", &new_key(&billing), Some(&json!({}))).await?;
    c.ok("PATCH", &format!("/admin/v1/users/{}", id(&bob)?), Some(&json!({"status": "suspended", "reason": "offboarding"})))
        .await?;
    let partner_key = c.ok("POST", &new_key(&partner), Some(&json!({}))).await?;

    let good_key = secret(&good)?;
    let mut typo = good_key.clone().into_bytes();
    if let Some(b) = typo.get_mut(20) {
        *b = if *b == b'x' { b'y' } else { b'x' };
    }
    Ok(DemoWorld {
        gateway: gateway.to_owned(),
        admin: admin.to_owned(),
        admin_token: token.to_owned(),
        path: "/echo/v1/hello".to_owned(),
        typo_key: String::from_utf8(typo).unwrap_or_default(),
        refused_request_id: String::new(),
        good_key,
        revoked_key: secret(&revoked)?,
        suspended_owner_key: secret(&billing_key)?,
        other_tenant_key: secret(&partner_key)?,
        unknown_key: key_format::generate(KeyEnv::Live),
        ai_base_path: AI_BASE_PATH.to_owned(),
        ai_model: AI_MODEL.to_owned(),
        ai_budget_key: String::new(),
        ai_embed_only_key: String::new(),
    })
}

/// Tenant acme's AI side: the demo model as an `openai_compatible`
/// provider (its key kept by Keyway, never shown to callers), the models
/// `demo-chat` and `demo-embed`, and an `ai` API at [`AI_BASE_PATH`]
/// open to every app of the tenant; and two keys of app storefront that
/// show the AI refusals: one with a budget smaller than any call, one
/// allowed only the embedding model. Returns those two keys.
async fn seed_ai(c: &AdminClient, model: SocketAddr, model_key: &str) -> anyhow::Result<(String, String)> {
    let tenants = c.ok("GET", "/admin/v1/tenants", None).await?;
    let acme = tenants["data"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["slug"] == "acme"))
        .and_then(|t| t["id"].as_str())
        .context("tenant acme")?
        .to_owned();
    c.ok(
        "POST",
        &format!("/admin/v1/tenants/{acme}/providers"),
        Some(&json!({"name": "demo", "kind": "openai_compatible", "base_url": format!("http://{model}/v1"),
                     "credentials": [{"api_key": model_key}]})),
    )
    .await?;
    for (name, upstream_model) in [(AI_MODEL, "keyway-demo-1"), ("demo-embed", "keyway-demo-embed-1")] {
        c.ok(
            "POST",
            &format!("/admin/v1/tenants/{acme}/models"),
            Some(&json!({"name": name, "targets": [{"provider": "demo", "model": upstream_model}],
                         "price": {"input_per_mtok": 0.5, "output_per_mtok": 1.5}})),
        )
        .await?;
    }
    c.ok(
        "POST",
        &format!("/admin/v1/tenants/{acme}/apis"),
        Some(&json!({"name": "ai", "version": "v1", "base_path": AI_BASE_PATH, "kind": "ai",
                     "auth": ["api_key"], "requires_approval": false, "visibility": "tenant"})),
    )
    .await?;
    let apps = c.ok("GET", &format!("/admin/v1/tenants/{acme}/apps"), None).await?;
    let storefront = apps["data"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == "storefront"))
        .and_then(|a| a["id"].as_str())
        .context("app storefront")?
        .to_owned();
    let keys = format!("/admin/v1/apps/{storefront}/keys");
    let budget =
        c.ok("POST", &keys, Some(&json!({"name": "tiny AI budget", "budget": {"usd": 0.000001, "period": "day"}}))).await?;
    let embed_only = c.ok("POST", &keys, Some(&json!({"name": "embeddings only", "allowed_models": ["demo-embed"]}))).await?;
    Ok((secret(&budget)?, secret(&embed_only)?))
}

fn id(v: &Value) -> anyhow::Result<String> {
    v["id"].as_str().map(str::to_owned).context("admin API answered without an id")
}

fn secret(v: &Value) -> anyhow::Result<String> {
    v["key"].as_str().map(str::to_owned).context("admin API answered without a key")
}

/// The text the demo prints: curl lines and their diagnose lines.
pub fn instructions(w: &DemoWorld) -> String {
    let mut s = String::new();
    let url = format!("{}{}", w.gateway, w.path);
    let _ = writeln!(s, "\nKeyway demo is running (embedded store, built-in echo upstream).");
    let _ = writeln!(s, "  gateway    {}", w.gateway);
    let _ = writeln!(s, "  admin API  {}", w.admin);
    let _ = writeln!(s, "\nIn another terminal, set the admin token for `keyway diagnose`:");
    let _ = writeln!(s, "  export KEYWAY_ADMIN_TOKEN={} KEYWAY_ADMIN_URL={}", w.admin_token, w.admin);
    if let Ok(exe) = std::env::current_exe() {
        let _ = writeln!(s, "  alias keyway={}", exe.display());
    }
    let cases: [(&str, &str, &str); 6] = [
        ("accepted: the echo upstream answers and shows who called (the key itself is stripped)", &w.good_key, "200"),
        ("key_unknown: a well-formed key that matches nothing", &w.unknown_key, "401"),
        ("credential_malformed: one character mistyped, caught by the checksum", &w.typo_key, "401"),
        ("key_revoked: the caller proved it holds a real key, so it learns when and why", &w.revoked_key, "401"),
        ("key_owner_suspended: the app's owner was suspended (\"offboarding\")", &w.suspended_owner_key, "403"),
        ("tenant_mismatch: a key of tenant globex on a private API of tenant acme", &w.other_tenant_key, "403"),
    ];
    for (i, (what, key, _)) in cases.iter().enumerate() {
        let _ = writeln!(s, "\n# {}. {what}", i + 1);
        let _ = writeln!(s, "curl -si {url} -H 'Authorization: Bearer {key}'");
        if i > 0 {
            let _ = writeln!(s, "keyway diagnose --key {key} --method GET --path {}", w.path);
        }
    }
    let _ = writeln!(s, "\n# Any refused request can be replayed by its id (the x-request-id header of the answer);");
    let _ = writeln!(s, "# this one the demo made itself, with the suspended owner's key:");
    let _ = writeln!(s, "keyway diagnose {}", w.refused_request_id);
    let ai = format!("{}{}", w.gateway, w.ai_base_path);
    let key = &w.good_key;
    let model = &w.ai_model;
    let _ =
        writeln!(s, "\n# AI gateway: one OpenAI- and Anthropic-compatible API at {ai} (the demo model needs no provider key);");
    let _ = writeln!(s, "# tokens and cost land on the call-log row (GET {}/admin/v1/logs).", w.admin);
    let _ = writeln!(
        s,
        "curl -s {ai}/v1/chat/completions -H 'Authorization: Bearer {key}' -H 'content-type: application/json' \\\n  -d '{{\"model\": \"{model}\", \"messages\": [{{\"role\": \"user\", \"content\": \"Hi\"}}]}}'"
    );
    let _ = writeln!(
        s,
        "curl -sN {ai}/v1/chat/completions -H 'Authorization: Bearer {key}' -H 'content-type: application/json' \\\n  -d '{{\"model\": \"{model}\", \"stream\": true, \"messages\": [{{\"role\": \"user\", \"content\": \"Hi\"}}]}}'"
    );
    let _ = writeln!(
        s,
        "curl -s {ai}/v1/messages -H 'x-api-key: {key}' -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' \\\n  -d '{{\"model\": \"{model}\", \"max_tokens\": 100, \"messages\": [{{\"role\": \"user\", \"content\": \"Hi\"}}]}}'"
    );
    let _ = writeln!(
        s,
        "# Python: OpenAI(base_url=\"{ai}/v1\", api_key=\"{key}\") or Anthropic(base_url=\"{ai}\", api_key=\"{key}\")"
    );
    let chat_line = |key: &str| {
        format!(
            "curl -s {ai}/v1/chat/completions -H 'Authorization: Bearer {key}' -H 'content-type: application/json' \\\n  -d '{{\"model\": \"{model}\", \"messages\": [{{\"role\": \"user\", \"content\": \"Hi\"}}]}}'"
        )
    };
    let _ = writeln!(s, "# budget_exceeded: a key whose daily AI budget ($0.000001) is smaller than any call");
    let _ = writeln!(s, "{}", chat_line(&w.ai_budget_key));
    let _ = writeln!(s, "# model_not_allowed: a key allowed only demo-embed");
    let _ = writeln!(s, "{}", chat_line(&w.ai_embed_only_key));
    let _ = writeln!(s, "\nPress Ctrl-C to stop.");
    s
}
