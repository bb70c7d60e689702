//! `POST /admin/v1/apps/{id}/keys:batch`: all or nothing, items validated
//! as single creates, keys usable at once.

mod common;

use common::{id, Harness};
use keyway_core::key_format;
use keyway_core::records::AuditQuery;
use serde_json::{json, Value};

fn batch_path(app: &str) -> String {
    format!("/admin/v1/apps/{app}/keys:batch")
}

/// What the gateway does with `key` on the world's API (through diagnose,
/// which runs the gateway's stages).
async fn gateway_code(h: &Harness, key: &str) -> Value {
    let d = h.ok("POST", "/admin/v1/diagnose", json!({"key": key, "method": "GET", "path": "/orders/v1/items"})).await;
    d["outcome"]["code"].clone()
}

#[tokio::test]
async fn a_batch_creates_every_key_as_single_creates_do() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let audit_before = h.audit_count().await;
    let items = json!([
        {"name": "ci", "scopes": ["orders:read"], "allowed_ips": ["10.0.0.0/8"], "rate_limit": {"requests": 5, "per_seconds": 1}},
        {},
        {"env": "test", "expires_at": "2099-01-01T00:00:00Z", "quota": {"requests": 10, "period": "day"}},
    ]);
    let r = h.call("POST", &batch_path(&w.app), Some(json!({"keys": items}))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let data = r.json["data"].as_array().unwrap().clone();
    assert_eq!(data.len(), 3);

    // Each item answers what a single create answers: same fields, key shown once.
    let (_, single_text) = h.new_key(&w.app, json!({"name": "one"})).await;
    let single = h.ok("GET", &format!("/admin/v1/keys/{}", key_id_of(&h, &single_text).await.unwrap()), Value::Null).await;
    let mut single_fields: Vec<&str> = single.as_object().unwrap().keys().map(String::as_str).collect();
    single_fields.push("key");
    single_fields.sort_unstable();
    for k in &data {
        let mut fields: Vec<&str> = k.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(fields, single_fields);
        let text = k["key"].as_str().unwrap();
        assert_eq!(k["prefix"], key_format::parse(text).unwrap().display_prefix());
        assert_eq!(k["app_id"], w.app.as_str());
        assert_eq!(k["status"], "active");
        assert!(!text.is_empty());
    }
    assert_eq!(data[0]["name"], "ci");
    assert_eq!(data[0]["scopes"], json!(["orders:read"]));
    assert_eq!(data[0]["allowed_ips"], json!(["10.0.0.0/8"]));
    assert_eq!(data[1]["env"], "live");
    assert_eq!(data[2]["env"], "test");
    assert_eq!(data[2]["quota"], json!({"requests": 10, "period": "day"}));
    let ids: Vec<String> = data.iter().map(id).collect();
    assert!(ids.iter().all(|i| i.starts_with("key_")) && ids[0] != ids[1] && ids[1] != ids[2]);

    // Stored, listed, and one audit entry each.
    let listed = h.ok("GET", &format!("/admin/v1/apps/{}/keys", w.app), Value::Null).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 4);
    let audit = h.state.store.audit(&AuditQuery { limit: 100, ..Default::default() }).await.unwrap();
    let created: Vec<&str> = audit.iter().filter(|e| e.action == "key.create").map(|e| e.resource_id.as_str()).collect();
    for i in &ids {
        assert!(created.contains(&i.as_str()), "audit entry for {i}");
    }
    assert_eq!(h.audit_count().await, audit_before + 4);

    // Usable at the gateway right away (a live key on a live gateway).
    let code = gateway_code(&h, data[1]["key"].as_str().unwrap()).await;
    assert!(!["key_unknown", "key_revoked", "key_expired"].contains(&code.as_str().unwrap_or("")), "{code}");
    let snap = h.state.snapshot.load();
    for k in &data {
        let digest = h.state.settings.hasher.digest(k["key"].as_str().unwrap());
        assert_eq!(snap.keys.get(&digest).map(|e| e.key.id.to_string()), Some(id(k)));
    }
}

async fn key_id_of(h: &Harness, text: &str) -> Option<String> {
    let digest = h.state.settings.hasher.digest(text);
    h.state.snapshot.load().keys.get(&digest).map(|e| e.key.id.to_string())
}

#[tokio::test]
async fn one_invalid_item_writes_nothing_and_is_named() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let before = h.fingerprint().await;
    let cases = [
        (json!([{}, {"scopes": ["has space"]}]), "keys[1].scopes[0]"),
        (json!([{"allowed_ips": ["10.0.0.0/33"]}]), "keys[0].allowed_ips[0]"),
        (json!([{}, {}, {"rate_limit": {"requests": 0, "per_seconds": 1}}]), "keys[2].rate_limit.requests"),
        (json!([{"name": ""}]), "keys[0].name"),
        (json!([{}, {"key": "kw_live_chosen_by_me"}]), "keys[1].key"),
        (json!([{"env": "prod"}]), "keys[0].env"),
    ];
    for (items, param) in cases {
        let r = h.call("POST", &batch_path(&w.app), Some(json!({"keys": items}))).await;
        let p = r.problem(400, "request_invalid");
        assert_eq!(p["param"], param, "{items}");
    }
    let r = h.call("POST", &batch_path(&w.app), Some(json!({"keys": [{}, {"scopes": ["bad scope"]}]}))).await;
    assert!(r.json["detail"].as_str().unwrap().contains("keys[1]"), "{}", r.text);
    assert_eq!(h.fingerprint().await, before, "nothing written");
}

#[tokio::test]
async fn a_batch_over_the_cap_or_empty_is_refused() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let before = h.fingerprint().await;
    let over: Vec<Value> = (0..1_001).map(|_| json!({})).collect();
    let r = h.call("POST", &batch_path(&w.app), Some(json!({"keys": over}))).await;
    assert_eq!(r.problem(400, "request_invalid")["param"], "keys");
    assert!(r.json["detail"].as_str().unwrap().contains("1000"), "{}", r.text);
    let r = h.call("POST", &batch_path(&w.app), Some(json!({"keys": []}))).await;
    assert_eq!(r.problem(400, "request_invalid")["param"], "keys");
    let r = h.call("POST", &batch_path(&w.app), Some(json!({}))).await;
    assert_eq!(r.problem(400, "request_invalid")["param"], "keys");
    assert_eq!(h.fingerprint().await, before);

    // The cap itself is accepted.
    let full: Vec<Value> = (0..1_000).map(|_| json!({})).collect();
    let r = h.call("POST", &batch_path(&w.app), Some(json!({"keys": full}))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["data"].as_array().unwrap().len(), 1_000);
    assert_eq!(h.state.snapshot.load().keys.len(), 1_000);
}

#[tokio::test]
async fn a_batch_for_a_missing_or_deleted_app_is_refused() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let r = h.call("POST", &batch_path("app_nope"), Some(json!({"keys": [{}]}))).await;
    r.problem(404, "resource_not_found");
    h.ok("DELETE", &format!("/admin/v1/apps/{}", w.app), Value::Null).await;
    let before = h.fingerprint().await;
    let r = h.call("POST", &batch_path(&w.app), Some(json!({"keys": [{}]}))).await;
    r.problem(409, "invalid_state");
    assert_eq!(h.fingerprint().await, before);
}
