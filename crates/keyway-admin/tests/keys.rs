//! Keys: the secret is shown once; rotate and revoke; snapshot and audit.

mod common;

use chrono::Utc;
use common::{id, Harness};
use keyway_core::change::Record;
use keyway_core::ids::{KeyId, RequestId, TenantId};
use keyway_core::key_format::{self, KeyEnv};
use keyway_core::model::KeyState;
use keyway_core::records::CallLogRow;
use keyway_core::Trace;
use serde_json::{json, Value};

#[tokio::test]
async fn create_returns_the_key_once_and_never_again() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let r = h
        .call(
            "POST",
            &format!("/admin/v1/apps/{}/keys", w.app),
            Some(json!({
                "name": "ci", "scopes": ["orders:read", "orders:write"], "allowed_ips": ["10.0.0.0/8", "203.0.113.7"],
                "expires_at": "2099-01-01T00:00:00Z", "rate_limit": {"requests": 100, "per_seconds": 60}
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let k = r.json;
    let kid = id(&k);
    let text = k["key"].as_str().unwrap().to_owned();
    let parsed = key_format::parse(&text).unwrap();
    assert_eq!(parsed.env, KeyEnv::Live);
    assert_eq!(k["prefix"], parsed.display_prefix());
    assert_eq!(k["env"], "live");
    assert_eq!(k["status"], "active");
    assert_eq!(k["app_id"], w.app.as_str());
    assert_eq!(k["tenant_id"], w.tenant.as_str());
    assert_eq!(k["scopes"], json!(["orders:read", "orders:write"]));
    assert_eq!(k["allowed_ips"], json!(["10.0.0.0/8", "203.0.113.7/32"]));
    assert_eq!(k["rate_limit"], json!({"requests": 100, "per_seconds": 60}));
    assert_eq!(k["expires_at"], "2099-01-01T00:00:00Z");
    assert!(!r.text.contains("digest"));

    // Stored as a digest under the server secret; the snapshot finds it by digest.
    let digest = h.state.settings.hasher.digest(&text);
    let snap = h.state.snapshot.load();
    let entry = snap.keys.get(&digest).expect("the new key is in the snapshot");
    assert_eq!(entry.key.id.as_str(), kid);
    assert_eq!(h.state.store.key(&KeyId::from(kid.as_str())).await.unwrap().unwrap().digest, digest);

    // GET answers exactly the documented metadata, never the secret.
    let g = h.call("GET", &format!("/admin/v1/keys/{kid}"), None).await;
    assert_eq!(g.status, 200);
    let mut fields: Vec<&str> = g.json.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    let mut expected = vec![
        "id",
        "app_id",
        "prefix",
        "env",
        "status",
        "effective_status",
        "refusal_code",
        "scopes",
        "allowed_ips",
        "expires_at",
        "revoked_at",
        "rotated_to",
        "grace_until",
        "last_used_at",
        "created_at",
        "name",
        "revoked_reason",
        "rate_limit",
        "quota",
        "tenant_id",
    ];
    expected.sort_unstable();
    assert_eq!(fields, expected);
    let mut without_key = k.clone();
    without_key.as_object_mut().unwrap().remove("key");
    assert_eq!(g.json, without_key);

    // Simulate the gateway logging a call with this key.
    let row = CallLogRow {
        request_id: RequestId::generate(),
        time: Utc::now(),
        tenant_id: Some(TenantId::from(w.tenant.as_str())),
        api_id: None,
        app_id: None,
        key_id: Some(KeyId::from(kid.as_str())),
        key_prefix: Some(parsed.display_prefix().to_owned()),
        method: "GET".into(),
        path: "/orders/v1/items".into(),
        status: 200,
        code: None,
        client_ip: "10.1.2.3".into(),
        latency_ms: 1.5,
        upstream_latency_ms: Some(1.0),
        model: None,
        provider: None,
        tokens_estimated: false,
        token_details: None,
        prompt_tokens: None,
        completion_tokens: None,
        cost_usd: None,
        trace: Trace::default(),
    };
    h.state.store.insert_calls(&[row]).await.unwrap();

    // The key text appears in no later answer.
    let reads = [
        format!("/admin/v1/keys/{kid}"),
        format!("/admin/v1/apps/{}/keys", w.app),
        "/admin/v1/audit?limit=1000".to_owned(),
        format!("/admin/v1/logs?key_id={kid}"),
    ];
    for path in reads {
        let r = h.call("GET", &path, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert!(!r.text.contains(&text), "{path} leaks the key: {}", r.text);
        assert!(!r.text.contains(&text[8..]), "{path} leaks the key body");
    }
    let logs = h.ok("GET", &format!("/admin/v1/logs?key_id={kid}"), Value::Null).await;
    assert_eq!(logs["data"].as_array().unwrap().len(), 1);
    // Nor does the audit row hold the digest in any form.
    let audit = h.ok("GET", &format!("/admin/v1/audit?resource_id={kid}"), Value::Null).await;
    assert_eq!(audit["data"][0]["action"], "key.create");
    let raw = audit.to_string();
    assert!(!raw.contains("digest") && !raw.contains(&hex(&digest)), "{raw}");
}

#[tokio::test]
async fn env_defaults_to_the_gateway_environment() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let (_, live) = h.new_key(&w.app, json!({})).await;
    assert!(live.starts_with("kw_live_"));
    let (_, test) = h.new_key(&w.app, json!({"env": "test"})).await;
    assert!(test.starts_with("kw_test_"));
    let list = h.ok("GET", &format!("/admin/v1/apps/{}/keys", w.app), Value::Null).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    assert!(list["data"].as_array().unwrap().iter().all(|k| k.get("key").is_none()));
}

#[tokio::test]
async fn rotate_makes_a_new_key_and_gives_the_old_one_grace() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let (old_id, old_text) = h
        .new_key(
            &w.app,
            json!({"name": "ci", "scopes": ["a"], "allowed_ips": ["10.0.0.1"], "rate_limit": {"requests": 5, "per_seconds": 1}}),
        )
        .await;
    let audit_before = h.audit_count().await;

    let r = h.call("POST", &format!("/admin/v1/keys/{old_id}/rotate"), Some(json!({"grace_seconds": 3600}))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let new = r.json;
    let new_id = id(&new);
    let new_text = new["key"].as_str().unwrap().to_owned();
    assert_ne!(new_id, old_id);
    assert_ne!(new_text, old_text);
    assert_eq!(new["prefix"], key_format::parse(&new_text).unwrap().display_prefix());
    for field in ["app_id", "tenant_id", "scopes", "allowed_ips", "rate_limit", "name", "env", "expires_at"] {
        let old = h.ok("GET", &format!("/admin/v1/keys/{old_id}"), Value::Null).await;
        assert_eq!(new[field], old[field], "{field} is copied");
    }
    assert_eq!(new["status"], "active");

    let old = h.ok("GET", &format!("/admin/v1/keys/{old_id}"), Value::Null).await;
    assert_eq!(old["status"], "rotating");
    assert_eq!(old["rotated_to"], new_id.as_str());
    let grace = chrono::DateTime::parse_from_rfc3339(old["grace_until"].as_str().unwrap()).unwrap();
    let left = grace.signed_duration_since(Utc::now()).num_seconds();
    assert!((3590..=3600).contains(&left), "{left}");

    // Both changes reached the snapshot together.
    let snap = h.state.snapshot.load();
    let old_entry = snap.key_by_id(&KeyId::from(old_id.as_str())).unwrap();
    assert_eq!(old_entry.key.rotated_to().map(|k| k.as_str()), Some(new_id.as_str()));
    assert_eq!(old_entry.key.state_at(Utc::now()), KeyState::Rotating);
    assert!(snap.keys.contains_key(&h.state.settings.hasher.digest(&new_text)));

    // Two audit rows, one per key, neither holding any key text.
    assert_eq!(h.audit_count().await, audit_before + 2);
    let audit = h.ok("GET", "/admin/v1/audit?resource_type=key", Value::Null).await;
    let rows: Vec<(&str, &str)> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["resource_id"].as_str().unwrap()))
        .collect();
    assert!(rows.contains(&("key.rotate", old_id.as_str())), "{rows:?}");
    assert!(rows.contains(&("key.rotate", new_id.as_str())), "{rows:?}");
    let raw = audit.to_string();
    assert!(!raw.contains(&old_text) && !raw.contains(&new_text));

    // An already-rotated key cannot be rotated again.
    let before = h.fingerprint().await;
    let r = h.call("POST", &format!("/admin/v1/keys/{old_id}/rotate"), Some(json!({"grace_seconds": 0}))).await;
    r.problem(409, "invalid_state");
    assert_eq!(h.fingerprint().await, before);

    // The new key rotates with no grace: the old one is rotated at once.
    let newer = h.ok("POST", &format!("/admin/v1/keys/{new_id}/rotate"), json!({"grace_seconds": 0})).await;
    assert_eq!(h.ok("GET", &format!("/admin/v1/keys/{new_id}"), Value::Null).await["status"], "rotated");
    assert_eq!(newer["status"], "active");
}

#[tokio::test]
async fn revoke_records_who_why_and_when() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let (kid, text) = h.new_key(&w.app, json!({})).await;
    let r = h.call("POST", &format!("/admin/v1/keys/{kid}/revoke"), Some(json!({"reason": "leaked in a CI log"}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["status"], "revoked");
    assert_eq!(r.json["revoked_reason"], "leaked in a CI log");
    let stored = h.state.store.key(&KeyId::from(kid.as_str())).await.unwrap().unwrap();
    assert!(stored.revoked_by().unwrap().starts_with("adm_"), "revoked_by is the actor");
    assert!(r.json["revoked_at"].is_string());
    assert!(r.json.get("key").is_none());

    let snap = h.state.snapshot.load();
    let entry = snap.keys.get(&h.state.settings.hasher.digest(&text)).unwrap();
    assert_eq!(entry.key.state_at(Utc::now()), KeyState::Revoked);

    let audit = h.ok("GET", &format!("/admin/v1/audit?resource_id={kid}"), Value::Null).await;
    assert_eq!(audit["data"][0]["action"], "key.revoke");
    assert!(audit["data"][0]["before"]["revoked_at"].is_null());
    assert_eq!(audit["data"][0]["after"]["revoked_reason"], "leaked in a CI log");

    // Twice, or rotating a revoked key: invalid_state, nothing changes.
    let before = h.fingerprint().await;
    h.call("POST", &format!("/admin/v1/keys/{kid}/revoke"), Some(json!({"reason": "again"}))).await.problem(409, "invalid_state");
    h.call("POST", &format!("/admin/v1/keys/{kid}/rotate"), Some(json!({"grace_seconds": 0})))
        .await
        .problem(409, "invalid_state");
    assert_eq!(h.fingerprint().await, before);
}

#[tokio::test]
async fn key_input_is_validated() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let (kid, _) = h.new_key(&w.app, json!({})).await;
    let path = format!("/admin/v1/apps/{}/keys", w.app);
    let before = h.fingerprint().await;
    let cases = [
        (json!({"allowed_ips": ["10.0.0.0/8", "10.0.0.0/33"]}), "allowed_ips[1]"),
        (json!({"allowed_ips": ["not-an-ip"]}), "allowed_ips[0]"),
        (json!({"allowed_ips": "10.0.0.0/8"}), "allowed_ips"),
        (json!({"env": "prod"}), "env"),
        (json!({"scopes": ["has space"]}), "scopes[0]"),
        (json!({"scopes": [1]}), "scopes[0]"),
        (json!({"expires_at": "yesterday"}), "expires_at"),
        (json!({"expires_at": "2025-02-29T00:00:00Z"}), "expires_at"),
        (json!({"expires_at": "9999-01-01T00:00:00Z"}), "expires_at"),
        (json!({"env": null}), "env"),
        (json!({"scopes": null}), "scopes"),
        (json!({"rate_limit": [1, 1]}), "rate_limit"),
        (json!({"rate_limit": {"requests": 1.5, "per_seconds": 1}}), "rate_limit.requests"),
        (json!({"rate_limit": {"requests": 9_007_199_254_740_992_u64, "per_seconds": 1}}), "rate_limit.requests"),
        (json!({"quota": {"requests": 1, "period": {"day": null}}}), "quota.period"),
        (json!({"rate_limit": {"requests": 0, "per_seconds": 1}}), "rate_limit.requests"),
        (json!({"rate_limit": {"requests": 1}}), "rate_limit.per_seconds"),
        (json!({"rate_limit": {"requests": 1, "per_seconds": 1, "burst": 2}}), "rate_limit.burst"),
        (json!({"key": "kw_live_chosen_by_me"}), "key"),
        (json!({"name": ""}), "name"),
    ];
    for (body, param) in cases {
        let r = h.call("POST", &path, Some(body.clone())).await;
        assert_eq!(r.problem(400, "request_invalid")["param"], param, "{body}");
    }
    let rotate = format!("/admin/v1/keys/{kid}/rotate");
    for (body, param) in [
        (json!({"grace_seconds": 2_592_001}), "grace_seconds"),
        (json!({"grace_seconds": -1}), "grace_seconds"),
        (json!({"grace_seconds": 351.5}), "grace_seconds"),
        (json!({"grace_seconds": "351"}), "grace_seconds"),
        (json!({"grace_seconds": null}), "grace_seconds"),
        (json!({}), "grace_seconds"),
        (json!({"grace_seconds": 1, "extra": true}), "extra"),
    ] {
        let r = h.call("POST", &rotate, Some(body.clone())).await;
        assert_eq!(r.problem(400, "request_invalid")["param"], param, "{body}");
    }
    let revoke = format!("/admin/v1/keys/{kid}/revoke");
    for (body, param) in [(json!({}), "reason"), (json!({"reason": "  "}), "reason"), (json!({"reason": 5}), "reason")] {
        let r = h.call("POST", &revoke, Some(body.clone())).await;
        assert_eq!(r.problem(400, "request_invalid")["param"], param, "{body}");
    }
    assert_eq!(h.fingerprint().await, before);
}

#[tokio::test]
async fn expired_keys_read_as_expired_and_cannot_be_rotated() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let (kid, _) = h.new_key(&w.app, json!({"expires_at": "2099-01-01T00:00:00Z"})).await;
    assert_eq!(h.ok("GET", &format!("/admin/v1/keys/{kid}"), Value::Null).await["status"], "active");
    // Let time pass: move the stored expiry into the past.
    let stored = h.state.store.key(&KeyId::from(kid.as_str())).await.unwrap().unwrap();
    let mut expired = stored.clone();
    expired.rare_mut().expires_at = Some(Utc::now() - chrono::Duration::seconds(1));
    let actor = keyway_admin::Actor("adm_test".into());
    let write = keyway_admin::Write::update("key.test", Record::Key(stored), Record::Key(expired));
    h.state.commit(&actor, vec![write]).await.unwrap();

    assert_eq!(h.ok("GET", &format!("/admin/v1/keys/{kid}"), Value::Null).await["status"], "expired");
    let before = h.fingerprint().await;
    h.call("POST", &format!("/admin/v1/keys/{kid}/rotate"), Some(json!({"grace_seconds": 0})))
        .await
        .problem(409, "invalid_state");
    assert_eq!(h.fingerprint().await, before);
    // Revoking an expired key is still allowed (it records intent).
    h.ok("POST", &format!("/admin/v1/keys/{kid}/revoke"), json!({"reason": "cleanup"})).await;
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn integers_may_be_written_as_integral_numbers() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let k = h
        .ok(
            "POST",
            &format!("/admin/v1/apps/{}/keys", w.app),
            json!({"rate_limit": {"requests": 5.0, "per_seconds": 6e1}, "quota": {"requests": 1e3, "period": "day"}}),
        )
        .await;
    assert_eq!(k["rate_limit"], json!({"requests": 5, "per_seconds": 60}));
    assert_eq!(k["quota"], json!({"requests": 1000, "period": "day"}));
    let r = h.call("POST", &format!("/admin/v1/keys/{}/rotate", id(&k)), Some(json!({"grace_seconds": 351.0}))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let old = h.ok("GET", &format!("/admin/v1/keys/{}", id(&k)), Value::Null).await;
    let grace = chrono::DateTime::parse_from_rfc3339(old["grace_until"].as_str().unwrap()).unwrap();
    assert!((340..=351).contains(&grace.signed_duration_since(Utc::now()).num_seconds()), "{grace}");
}

#[tokio::test]
async fn null_means_none_where_the_document_says_so() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let k = h
        .ok(
            "POST",
            &format!("/admin/v1/apps/{}/keys", w.app),
            json!({"expires_at": null, "rate_limit": null, "quota": null, "name": null}),
        )
        .await;
    for field in ["expires_at", "rate_limit", "quota", "name"] {
        assert!(k[field].is_null(), "{field}: {k}");
    }
}

#[tokio::test]
async fn a_past_expiry_makes_a_key_that_is_already_expired() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let k = h.ok("POST", &format!("/admin/v1/apps/{}/keys", w.app), json!({"expires_at": "2001-01-01T00:00:00+01:00"})).await;
    assert_eq!(k["expires_at"], "2000-12-31T23:00:00Z");
    assert_eq!((k["status"].as_str(), k["effective_status"].as_str()), (Some("expired"), Some("expired")));
    assert_eq!(k["refusal_code"], "key_expired");
}

/// The gateway's answer to a call with `key` to the world's API, through
/// `POST /admin/v1/diagnose` (which runs the gateway's stages).
async fn gateway_code(h: &Harness, key: &str) -> Value {
    let d = h.ok("POST", "/admin/v1/diagnose", json!({"key": key, "method": "GET", "path": "/orders/v1/items"})).await;
    d["outcome"]["code"].clone()
}

/// Codes of stages 3 and 4: the ones `refusal_code` predicts.
const KEY_AND_IDENTITY_CODES: [&str; 6] =
    ["key_revoked", "key_rotated", "key_expired", "key_owner_deleted", "key_owner_suspended", "tenant_suspended"];

/// Asserts what the key listing, the key itself and the gateway say.
#[track_caller]
fn assert_effective(listed: &Value, got: &Value, gateway: &Value, status: &str, effective: &str, refusal: Option<&str>) {
    for view in [listed, got] {
        assert_eq!(view["status"], status, "{view}");
        assert_eq!(view["effective_status"], effective, "{view}");
        assert_eq!(view["refusal_code"].as_str(), refusal, "{view}");
    }
    match refusal {
        Some(code) => assert_eq!(gateway.as_str(), Some(code), "the gateway refuses with the predicted code"),
        None => assert!(
            !KEY_AND_IDENTITY_CODES.contains(&gateway.as_str().unwrap_or("")),
            "the gateway passes stages 3 and 4, got {gateway}"
        ),
    }
}

#[tokio::test]
async fn key_listings_show_what_the_gateway_does_with_each_key() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let (kid, text) = h.new_key(&w.app, json!({})).await;
    let check = |status: &'static str, effective: &'static str, refusal: Option<&'static str>| {
        let (h, w, kid, text) = (&h, &w, kid.clone(), text.clone());
        async move {
            let list = h.ok("GET", &format!("/admin/v1/apps/{}/keys", w.app), Value::Null).await;
            let listed = list["data"].as_array().unwrap().iter().find(|k| k["id"] == kid.as_str()).unwrap().clone();
            let got = h.ok("GET", &format!("/admin/v1/keys/{kid}"), Value::Null).await;
            assert_effective(&listed, &got, &gateway_code(h, &text).await, status, effective, refusal);
        }
    };
    let patch = |path: String, body: Value| {
        let h = &h;
        async move {
            h.ok("PATCH", &path, body).await;
        }
    };
    let (user, app, tenant) =
        (format!("/admin/v1/users/{}", w.user), format!("/admin/v1/apps/{}", w.app), format!("/admin/v1/tenants/{}", w.tenant));

    check("active", "active", None).await;
    patch(user.clone(), json!({"status": "suspended"})).await;
    check("active", "owner_suspended", Some("key_owner_suspended")).await;
    patch(tenant.clone(), json!({"status": "suspended"})).await;
    check("active", "owner_suspended", Some("key_owner_suspended")).await;
    patch(user.clone(), json!({"status": "active"})).await;
    check("active", "tenant_suspended", Some("tenant_suspended")).await;
    patch(app.clone(), json!({"status": "suspended"})).await;
    check("active", "app_suspended", Some("key_owner_suspended")).await;
    patch(tenant.clone(), json!({"status": "active"})).await;
    patch(app.clone(), json!({"status": "active"})).await;
    check("active", "active", None).await;

    // A deleted owner, then a deleted app: the key's own status stays active.
    let other = id(&h
        .ok("POST", &format!("/admin/v1/tenants/{}/users", w.tenant), json!({"email": "next@acme.test", "role": "admin"}))
        .await);
    h.ok("DELETE", &user, Value::Null).await;
    check("active", "owner_deleted", Some("key_owner_deleted")).await;
    patch(app.clone(), json!({"owner_user_id": other})).await;
    check("active", "active", None).await;
    h.ok("DELETE", &app, Value::Null).await;
    check("active", "app_deleted", Some("key_owner_deleted")).await;

    // The key's own state comes first, as in the gateway.
    h.ok("POST", &format!("/admin/v1/keys/{kid}/revoke"), json!({"reason": "done"})).await;
    check("revoked", "revoked", Some("key_revoked")).await;
}

#[tokio::test]
async fn rotated_keys_are_rotating_then_rotated() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let (kid, text) = h.new_key(&w.app, json!({})).await;
    let (soon, soon_text) = h.new_key(&w.app, json!({})).await;
    h.ok("POST", &format!("/admin/v1/keys/{kid}/rotate"), json!({"grace_seconds": 3600})).await;
    h.ok("POST", &format!("/admin/v1/keys/{soon}/rotate"), json!({"grace_seconds": 0})).await;
    let list = h.ok("GET", &format!("/admin/v1/apps/{}/keys", w.app), Value::Null).await;
    let find = |id: &str| list["data"].as_array().unwrap().iter().find(|k| k["id"] == id).unwrap().clone();
    let got = h.ok("GET", &format!("/admin/v1/keys/{kid}"), Value::Null).await;
    assert_effective(&find(&kid), &got, &gateway_code(&h, &text).await, "rotating", "rotating", None);
    let got = h.ok("GET", &format!("/admin/v1/keys/{soon}"), Value::Null).await;
    assert_effective(&find(&soon), &got, &gateway_code(&h, &soon_text).await, "rotated", "rotated", Some("key_rotated"));
}
