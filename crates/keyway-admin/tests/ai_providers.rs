//! AI providers: created with write-only credentials (sealed at rest,
//! never answered nor audited), validated field by field, patched,
//! and soft-deleted unless a live model uses them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use common::{id, sealer, Harness};
use keyway_core::ids::ProviderId;
use serde_json::{json, Value};

const KEY: &str = "sk-live-SECRETSECRET-0123wxyz";
const KEY2: &str = "sk-live-OTHERSECRET-4567abcd";

async fn tenant(h: &Harness, slug: &str) -> String {
    id(&h.ok("POST", "/admin/v1/tenants", json!({"slug": slug, "name": slug})).await)
}

fn openai(name: &str) -> Value {
    json!({"name": name, "kind": "openai", "credentials": [{"api_key": KEY}, {"api_key": KEY2}]})
}

#[tokio::test]
async fn create_answers_credentials_without_their_secrets_and_stores_them_sealed() {
    let h = Harness::new().await;
    let t = tenant(&h, "acme").await;
    let r = h.call("POST", &format!("/admin/v1/tenants/{t}/providers"), Some(openai("main"))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let p = &r.json;
    let pid = id(p);
    assert!(pid.starts_with("prv_"), "{pid}");
    assert_eq!((p["name"].clone(), p["kind"].clone(), p["status"].clone()), (json!("main"), json!("openai"), json!("active")));
    assert_eq!(p["base_url"], "https://api.openai.com/v1", "the kind's public default");
    assert_eq!(p["tenant_id"], t.as_str());
    assert!(p["deleted_at"].is_null() && p["created_at"].is_string());
    let creds = p["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 2);
    assert!(creds[0]["id"].as_str().unwrap().starts_with("prc_"));
    assert_eq!((creds[0]["last4"].clone(), creds[0]["healthy"].clone()), (json!("wxyz"), json!(true)));
    assert_eq!(creds[1]["last4"], "abcd");
    assert_eq!(creds[0].as_object().unwrap().len(), 3, "id, last4, healthy and nothing else: {}", creds[0]);

    let one = h.call("GET", &format!("/admin/v1/providers/{pid}"), None).await;
    let all = h.call("GET", &format!("/admin/v1/tenants/{t}/providers"), None).await;
    assert_eq!(one.json, *p);
    assert_eq!(all.json["data"], json!([p]));
    let audit = h.call("GET", &format!("/admin/v1/audit?resource_id={pid}"), None).await;
    assert_eq!(audit.json["data"][0]["action"], "provider.create");
    assert_eq!(audit.json["data"][0]["resource_type"], "provider");
    for text in [&r.text, &one.text, &all.text, &audit.text] {
        assert!(!text.contains("SECRET") && !text.contains("sealed"), "a secret is shown: {text}");
    }

    // Stored sealed, and the sealer opens it again (also in the snapshot).
    let stored = h.state.store.provider(&ProviderId::from(pid.as_str())).await.unwrap().unwrap();
    let c = &stored.credentials[0];
    assert_eq!(c.id.as_str(), creds[0]["id"]);
    assert!(!c.sealed.windows(6).any(|w| w == b"SECRET"), "sealed, not in the clear");
    assert_eq!(sealer().open(&c.sealed, c.id.as_str()).unwrap(), KEY.as_bytes());
    let snap = h.state.snapshot.load();
    let in_snapshot = &snap.providers[&stored.id].credentials[1];
    assert_eq!(sealer().open(&in_snapshot.sealed, in_snapshot.id.as_str()).unwrap(), KEY2.as_bytes());
}

#[tokio::test]
async fn kinds_presets_base_urls_and_api_versions() {
    let h = Harness::new().await;
    let t = tenant(&h, "acme").await;
    let path = format!("/admin/v1/tenants/{t}/providers");
    let creds = json!([{"api_key": KEY}]);
    let azure = h
        .ok(
            "POST",
            &path,
            json!({"name": "az", "kind": "azure_openai", "base_url": "https://acme.openai.azure.com/",
                   "api_version": "2024-10-21", "credentials": creds}),
        )
        .await;
    assert_eq!(azure["base_url"], "https://acme.openai.azure.com", "one trailing / dropped");
    assert_eq!(azure["api_version"], "2024-10-21");
    let groq =
        h.ok("POST", &path, json!({"name": "g", "kind": "openai_compatible", "preset": "groq", "credentials": creds})).await;
    assert_eq!((groq["base_url"].clone(), groq["preset"].clone()), (json!("https://api.groq.com/openai/v1"), json!("groq")));
    let local = h
        .ok("POST", &path, json!({"name": "l", "kind": "ollama", "base_url": "http://10.0.0.5:11434/v1", "credentials": creds}))
        .await;
    assert_eq!(local["base_url"], "http://10.0.0.5:11434/v1");
    let claude = h.ok("POST", &path, json!({"name": "c", "kind": "anthropic", "credentials": [{"api_key": "short"}]})).await;
    assert_eq!(
        (claude["base_url"].clone(), claude["credentials"][0]["last4"].clone()),
        (json!("https://api.anthropic.com"), json!(""))
    );
}

#[tokio::test]
async fn bad_providers_are_refused_with_the_field_named() {
    let h = Harness::new().await;
    let t = tenant(&h, "acme").await;
    let path = format!("/admin/v1/tenants/{t}/providers");
    let c = json!([{"api_key": KEY}]);
    let before = h.fingerprint().await;
    let too_many: Vec<Value> = (0..17).map(|_| json!({"api_key": KEY})).collect();
    let cases = [
        (json!({"name": "p", "kind": "openai"}), "credentials"),
        (json!({"name": "p", "kind": "openai", "credentials": []}), "credentials"),
        (json!({"name": "p", "kind": "openai", "credentials": too_many}), "credentials"),
        (json!({"name": "p", "kind": "openai", "credentials": [{"api_key": ""}]}), "credentials[0].api_key"),
        (json!({"name": "p", "kind": "openai", "credentials": [{"api_key": "a\nb"}]}), "credentials[0].api_key"),
        (json!({"name": "p", "kind": "openai", "credentials": [{"api_key": "x".repeat(4097)}]}), "credentials[0].api_key"),
        (json!({"name": "p", "kind": "openai", "credentials": [{"api_key": KEY, "org": "x"}]}), "credentials[0].org"),
        (json!({"name": "p", "kind": "azure_openai", "base_url": "https://a.openai.azure.com", "credentials": c}), "api_version"),
        (json!({"name": "p", "kind": "azure_openai", "api_version": "2024-10-21", "credentials": c}), "base_url"),
        (json!({"name": "p", "kind": "openai", "api_version": "2024-10-21", "credentials": c}), "api_version"),
        (json!({"name": "p", "kind": "openai_compatible", "credentials": c}), "base_url"),
        (json!({"name": "p", "kind": "openai_compatible", "preset": "nope", "credentials": c}), "preset"),
        (json!({"name": "p", "kind": "openai", "preset": "groq", "credentials": c}), "preset"),
        (json!({"name": "p", "kind": "openai", "base_url": "api.openai.com", "credentials": c}), "base_url"),
        (json!({"name": "p", "kind": "openai", "base_url": "https://u:p@api.openai.com", "credentials": c}), "base_url"),
        (json!({"name": "p", "kind": "openai", "base_url": "https://api.openai.com/v1?x=1", "credentials": c}), "base_url"),
        (json!({"name": "p", "kind": "openai", "base_url": "ftp://api.openai.com", "credentials": c}), "base_url"),
        (json!({"name": "p", "kind": "openai", "base_url": null, "credentials": c}), "base_url"),
        (json!({"name": "p", "kind": "cohere", "credentials": c}), "kind"),
        (json!({"name": "", "kind": "openai", "credentials": c}), "name"),
        (json!({"name": "p", "kind": "openai", "credentials": c, "secret": 1}), "secret"),
    ];
    for (body, param) in cases {
        let r = h.call("POST", &path, Some(body.clone())).await;
        assert_eq!(r.problem(400, "request_invalid")["param"], param, "{body}");
        assert!(!r.text.contains("SECRET"), "{}", r.text);
    }
    let r = h.call("POST", "/admin/v1/tenants/ten_nope/providers", Some(openai("p"))).await;
    r.problem(404, "resource_not_found");
    assert_eq!(h.fingerprint().await, before, "nothing written");
}

#[tokio::test]
async fn names_are_unique_per_tenant_among_live_providers() {
    let h = Harness::new().await;
    let (a, b) = (tenant(&h, "a").await, tenant(&h, "b").await);
    let first = id(&h.ok("POST", &format!("/admin/v1/tenants/{a}/providers"), openai("main")).await);
    let r = h.call("POST", &format!("/admin/v1/tenants/{a}/providers"), Some(openai("main"))).await;
    let p = r.problem(409, "already_exists");
    assert_eq!(p["param"], "name");
    assert!(p["detail"].as_str().unwrap().contains("\"main\""), "{p}");
    h.ok("POST", &format!("/admin/v1/tenants/{b}/providers"), openai("main")).await;
    let other = id(&h.ok("POST", &format!("/admin/v1/tenants/{a}/providers"), openai("other")).await);
    let r = h.call("PATCH", &format!("/admin/v1/providers/{other}"), Some(json!({"name": "main"}))).await;
    assert_eq!(r.problem(409, "already_exists")["param"], "name");
    let deleted = h.ok("DELETE", &format!("/admin/v1/providers/{first}"), Value::Null).await;
    assert_eq!(deleted["status"], "deleted");
    assert!(deleted["deleted_at"].is_string());
    h.ok("POST", &format!("/admin/v1/tenants/{a}/providers"), openai("main")).await;
    // A deleted provider still answers, and can be neither changed nor deleted again.
    let got = h.ok("GET", &format!("/admin/v1/providers/{first}"), Value::Null).await;
    assert_eq!(got["status"], "deleted");
    h.call("PATCH", &format!("/admin/v1/providers/{first}"), Some(json!({"name": "x"}))).await.problem(409, "invalid_state");
    h.call("DELETE", &format!("/admin/v1/providers/{first}"), None).await.problem(409, "invalid_state");
    h.call("GET", "/admin/v1/providers/prv_nope", None).await.problem(404, "resource_not_found");
}

#[tokio::test]
async fn patch_replaces_the_credential_pool_and_base_url() {
    let h = Harness::new().await;
    let t = tenant(&h, "acme").await;
    let p = h.ok("POST", &format!("/admin/v1/tenants/{t}/providers"), openai("main")).await;
    let pid = id(&p);
    let old: Vec<Value> = p["credentials"].as_array().unwrap().iter().map(|c| c["id"].clone()).collect();
    let new_key = "sk-live-REPLACEMENT-9999qrst";
    let r = h
        .call(
            "PATCH",
            &format!("/admin/v1/providers/{pid}"),
            Some(json!({"credentials": [{"api_key": new_key}], "base_url": "https://proxy.acme.test/v1/"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let creds = r.json["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0]["last4"], "qrst");
    assert!(!old.contains(&creds[0]["id"]), "a new id");
    assert!(!r.text.contains("wxyz") && !r.text.contains("abcd"), "the old pool is gone: {}", r.text);
    assert_eq!(r.json["base_url"], "https://proxy.acme.test/v1");
    let stored = h.state.store.provider(&ProviderId::from(pid.as_str())).await.unwrap().unwrap();
    assert_eq!(sealer().open(&stored.credentials[0].sealed, stored.credentials[0].id.as_str()).unwrap(), new_key.as_bytes());

    let back = h.ok("PATCH", &format!("/admin/v1/providers/{pid}"), json!({"base_url": null})).await;
    assert_eq!(back["base_url"], "https://api.openai.com/v1", "null: the default again");
    let audit = h.call("GET", &format!("/admin/v1/audit?resource_id={pid}"), None).await;
    assert_eq!(audit.json["data"][0]["action"], "provider.update");
    assert!(!audit.text.contains("REPLACEMENT") && !audit.text.contains("SECRET"), "{}", audit.text);

    let path = format!("/admin/v1/providers/{pid}");
    let cases = [
        (json!({}), Value::Null),
        (json!({"kind": "anthropic"}), json!("kind")),
        (json!({"preset": "groq"}), json!("preset")),
        (json!({"credentials": []}), json!("credentials")),
        (json!({"credentials": null}), json!("credentials")),
        (json!({"base_url": "https://x/v1#frag"}), json!("base_url")),
    ];
    for (body, param) in cases {
        let r = h.call("PATCH", &path, Some(body.clone())).await;
        assert_eq!(r.problem(400, "request_invalid").get("param").cloned().unwrap_or(Value::Null), param, "{body}");
    }
    // A change the stored kind does not take conflicts with its state.
    let r = h.call("PATCH", &path, Some(json!({"api_version": "2024-10-21"}))).await;
    assert!(r.problem(409, "invalid_state")["detail"].as_str().unwrap_or("").contains("azure_openai only"));
}

#[tokio::test]
async fn a_provider_in_use_by_a_model_is_not_deleted() {
    let h = Harness::new().await;
    let t = tenant(&h, "acme").await;
    let main = id(&h.ok("POST", &format!("/admin/v1/tenants/{t}/providers"), openai("main")).await);
    let spare = id(&h.ok("POST", &format!("/admin/v1/tenants/{t}/providers"), openai("spare")).await);
    let m = h
        .ok(
            "POST",
            &format!("/admin/v1/tenants/{t}/models"),
            json!({"name": "gpt-4o", "targets": [{"provider": "main", "model": "gpt-4o"}],
                   "fallbacks": [{"provider": spare, "model": "gpt-4o-mini"}]}),
        )
        .await;
    for p in [&main, &spare] {
        let r = h.call("DELETE", &format!("/admin/v1/providers/{p}"), None).await;
        let detail = r.problem(409, "invalid_state")["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains("gpt-4o"), "names the model: {detail}");
    }
    h.ok("DELETE", &format!("/admin/v1/models/{}", id(&m)), Value::Null).await;
    h.ok("DELETE", &format!("/admin/v1/providers/{main}"), Value::Null).await;
    h.ok("DELETE", &format!("/admin/v1/providers/{spare}"), Value::Null).await;
    let all = h.ok("GET", &format!("/admin/v1/tenants/{t}/providers"), Value::Null).await;
    assert!(all["data"].as_array().unwrap().iter().all(|p| p["status"] == "deleted"));
}
