//! Apps' HMAC signing keys: created with a 32-byte secret shown once,
//! stored sealed (it opens with the HMAC-key sealer, bound to its id),
//! listed and revoked without the secret in any read or audit entry;
//! APIs accept `auth` `hmac` and validate `hmac.window_seconds`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use base64::Engine;
use common::{api_body, hmac_sealer, id, Harness};
use keyway_core::ids::HmacKeyId;
use serde_json::json;

#[tokio::test]
async fn a_key_shows_its_secret_once_and_is_stored_sealed() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let path = format!("/admin/v1/apps/{}/hmac-keys", w.app);
    let r = h.call("POST", &path, Some(json!({"scopes": ["orders:read", "orders:read"]}))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let hk = id(&r.json);
    assert!(hk.starts_with("hk_"), "{hk}");
    assert_eq!((r.json["app_id"].as_str(), r.json["tenant_id"].as_str()), (Some(w.app.as_str()), Some(w.tenant.as_str())));
    assert_eq!(r.json["scopes"], json!(["orders:read"]));
    assert_eq!(r.json["alg"], "hmac-sha256");
    let secret = r.json["secret"].as_str().unwrap().to_owned();
    let bytes = base64::engine::general_purpose::STANDARD.decode(&secret).unwrap();
    assert_eq!(bytes.len(), 32);

    let stored = h.state.store.hmac_key(&HmacKeyId::from(hk.as_str())).await.unwrap().unwrap();
    assert!(!stored.sealed.windows(bytes.len()).any(|w| w == bytes.as_slice()), "the secret is not stored plain");
    assert_eq!(hmac_sealer().open(&stored.sealed, &hk).unwrap(), bytes, "it opens with the HMAC-key sealer for its own id");
    assert!(hmac_sealer().open(&stored.sealed, "hk_other").is_err(), "bound to its id");
    assert!(h.state.snapshot.load().hmac.get(&hk).is_some(), "the snapshot holds it at once");

    let listed = h.call("GET", &path, None).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.json["data"][0]["id"], hk.as_str());
    let revoked = h.call("POST", &format!("/admin/v1/hmac-keys/{hk}/revoke"), None).await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert!(revoked.json["revoked_at"].is_string() && revoked.json["revoked_by"].is_string());
    h.call("POST", &format!("/admin/v1/hmac-keys/{hk}/revoke"), None).await.problem(409, "invalid_state");
    h.call("POST", "/admin/v1/hmac-keys/hk_nope/revoke", None).await.problem(404, "resource_not_found");
    assert!(h.state.snapshot.load().hmac.get(&hk).unwrap().record.revoked_at.is_some());

    let audit = h.call("GET", &format!("/admin/v1/audit?resource_id={hk}"), None).await;
    let actions: Vec<&str> = audit.json["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"hmac_key.create") && actions.contains(&"hmac_key.revoke"), "{actions:?}");
    assert_eq!(audit.json["data"][0]["resource_type"], "hmac_key");
    let again = h.call("GET", &path, None).await;
    for text in [&listed.text, &revoked.text, &audit.text, &again.text] {
        assert!(!text.contains(&secret) && !text.contains("sealed"), "no read shows the secret: {text}");
    }
    assert!(again.json["data"][0].get("secret").is_none());
}

#[tokio::test]
async fn bad_requests_are_refused_with_a_code() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let path = format!("/admin/v1/apps/{}/hmac-keys", w.app);
    h.call("POST", &path, Some(json!({"scopes": ["bad scope"]}))).await.problem(400, "request_invalid");
    h.call("POST", &path, Some(json!({"secret": "mine"}))).await.problem(400, "request_invalid");
    h.call("POST", &path, Some(json!({"scopes": null}))).await.problem(400, "request_invalid");
    h.call("POST", "/admin/v1/apps/app_nope/hmac-keys", Some(json!({}))).await.problem(404, "resource_not_found");
    h.call("GET", "/admin/v1/apps/app_nope/hmac-keys", None).await.problem(404, "resource_not_found");
}

#[tokio::test]
async fn apis_take_hmac_auth_and_a_bounded_window() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let apis = format!("/admin/v1/tenants/{}/apis", w.tenant);
    let mut body = api_body("/signed/v1");
    body["auth"] = json!(["hmac"]);
    body["hmac"] = json!({"window_seconds": 60});
    let r = h.call("POST", &apis, Some(body.clone())).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!((r.json["auth"].clone(), r.json["hmac"].clone()), (json!(["hmac"]), json!({"window_seconds": 60})));
    let api = id(&r.json);
    for bad in [json!({"window_seconds": 0}), json!({"window_seconds": 3601}), json!({}), json!({"window_seconds": 5, "x": 1})] {
        let mut b = api_body("/other/v1");
        b["hmac"] = bad.clone();
        let p = h.call("POST", &apis, Some(b)).await;
        assert_eq!((p.status.as_u16(), p.json["code"].as_str()), (400, Some("request_invalid")), "{bad}: {}", p.text);
    }
    let mut b = api_body("/other/v1");
    b["hmac"] = json!({"window_seconds": 9000});
    let wide = h.call("POST", &apis, Some(b)).await;
    assert_eq!(wide.json["param"], "hmac.window_seconds", "{}", wide.text);
    let patched = h.call("PATCH", &format!("/admin/v1/apis/{api}"), Some(json!({"hmac": {"window_seconds": 600.0}}))).await;
    assert_eq!(patched.json["hmac"], json!({"window_seconds": 600}), "{}", patched.text);
    let cleared = h.call("PATCH", &format!("/admin/v1/apis/{api}"), Some(json!({"hmac": null}))).await;
    assert!(cleared.json.get("hmac").is_none(), "null returns to the defaults: {}", cleared.text);
    let mut both = api_body("/both/v1");
    both["auth"] = json!(["hmac", "mtls"]);
    let both = h.ok("POST", &apis, both).await;
    assert_eq!(both["auth"], json!(["hmac", "mtls"]));
}
