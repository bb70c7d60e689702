//! Trusted JWT issuers: created, read, patched and soft-deleted, audited,
//! validated field by field (algorithm names, the key source, the JWKS),
//! inline secret key members never answered nor audited; apps'
//! `token_subjects` unique per tenant; APIs' `jwt_issuers` and `auth`
//! with `jwt`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use common::{api_body, id, Harness};
use keyway_core::ids::{IssuerId, TenantId};
use serde_json::{json, Value};

/// The public EC P-256 key of RFC 7517 Appendix A.1.
fn ec_key() -> Value {
    json!({"kty": "EC", "crv": "P-256", "kid": "ec-1",
           "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4", "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"})
}

const HS_SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYnk";

fn inline(name: &str) -> Value {
    json!({"name": name, "issuer": "https://idp.acme.test", "jwks": {"keys": [ec_key(), {"kty": "oct", "kid": "hs-1", "k": HS_SECRET}]},
           "algorithms": ["ES256", "HS256"], "audiences": ["orders"]})
}

#[tokio::test]
async fn issuers_are_created_read_patched_and_deleted_with_defaults_and_audit() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let path = format!("/admin/v1/tenants/{}/issuers", w.tenant);
    let r = h.call("POST", &path, Some(inline("okta"))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let iss = id(&r.json);
    assert!(iss.starts_with("iss_"), "{iss}");
    assert_eq!(r.json["leeway_seconds"], 60);
    assert_eq!((r.json["subject_claim"].clone(), r.json["scopes_claim"].clone()), (json!("sub"), json!("scope")));
    assert_eq!(r.json["algorithms"], json!(["ES256", "HS256"]));
    assert!(r.json["jwks_url"].is_null() && r.json["deleted_at"].is_null());
    assert_eq!(r.json["jwks"]["keys"][1]["kid"], "hs-1");
    assert!(r.json["jwks"]["keys"][1].get("k").is_none(), "the HMAC secret is not answered: {}", r.text);

    let one = h.call("GET", &format!("/admin/v1/issuers/{iss}"), None).await;
    let all = h.call("GET", &path, None).await;
    assert_eq!(one.json, r.json);
    assert_eq!(all.json["data"], json!([r.json]));
    let patched = h
        .call(
            "PATCH",
            &format!("/admin/v1/issuers/{iss}"),
            Some(json!({"jwks_url": "https://idp.acme.test/jwks", "leeway_seconds": 5})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json["jwks_url"], "https://idp.acme.test/jwks");
    assert!(patched.json["jwks"].is_null(), "a jwks_url replaces the inline set");
    assert_eq!(patched.json["leeway_seconds"], 5);
    let snapshot = h.state.snapshot.load();
    let built = snapshot.jwt.issuer(&IssuerId::from(iss.as_str())).unwrap();
    assert!(built.built.as_ref().unwrap().jwks_cache().is_some(), "the snapshot holds the rebuilt issuer");
    let trust = snapshot.jwt.trusted_by(&snapshot.apis.values().next().unwrap().api).unwrap();
    assert!(trust.get("https://idp.acme.test").is_some(), "an API naming no issuers trusts its tenant's");

    let deleted = h.call("DELETE", &format!("/admin/v1/issuers/{iss}"), None).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert!(deleted.json["deleted_at"].is_string());
    h.call("DELETE", &format!("/admin/v1/issuers/{iss}"), None).await.problem(409, "invalid_state");
    h.call("PATCH", &format!("/admin/v1/issuers/{iss}"), Some(json!({"name": "x"}))).await.problem(409, "invalid_state");
    let snapshot = h.state.snapshot.load();
    let tenant_trust = snapshot.jwt.trusted_by(&snapshot.apis.values().next().unwrap().api);
    assert!(tenant_trust.is_none_or(|t| t.get("https://idp.acme.test").is_none()), "a deleted issuer is trusted by nobody");

    let audit = h.call("GET", &format!("/admin/v1/audit?resource_id={iss}"), None).await;
    let actions: Vec<&str> = audit.json["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(
        actions.contains(&"issuer.create") && actions.contains(&"issuer.update") && actions.contains(&"issuer.delete"),
        "{actions:?}"
    );
    assert_eq!(audit.json["data"][0]["resource_type"], "issuer");
    for text in [&r.text, &one.text, &all.text, &audit.text] {
        assert!(!text.contains(HS_SECRET), "an inline secret is shown: {text}");
    }
    let stored = h.state.store.issuer(&IssuerId::from(iss.as_str())).await.unwrap().unwrap();
    assert!(stored.jwks.is_none() && stored.tenant_id == TenantId::from(w.tenant.as_str()));
}

#[tokio::test]
async fn issuer_input_is_validated_naming_the_field() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let path = format!("/admin/v1/tenants/{}/issuers", w.tenant);
    let before = h.fingerprint().await;
    let with = |field: &str, value: Value| {
        let mut b = inline("idp");
        b[field] = value;
        b
    };
    let mut both = inline("idp");
    both["jwks_url"] = json!("https://idp.acme.test/jwks");
    let mut neither = inline("idp");
    neither.as_object_mut().unwrap().remove("jwks");
    let cases = [
        (with("algorithms", json!(["RS256", "none"])), "algorithms[1]", "not supported"),
        (with("algorithms", json!(["ES512"])), "algorithms[0]", "not supported"),
        (with("algorithms", json!([])), "algorithms", "at least one"),
        (both, "jwks_url", "exactly one of jwks_url and jwks"),
        (neither, "jwks_url", "exactly one of jwks_url and jwks"),
        (with("jwks", json!({"nokeys": []})), "jwks", ""),
        (with("jwks", json!({"keys": [{"kty": "RSA", "kid": "half"}]})), "jwks.keys[0]", "needs n"),
        (
            with("jwks", json!({"keys": [ec_key(), {"kty": "EC", "crv": "P-256", "x": "AA", "y": null}]})),
            "jwks.keys[1].y",
            "string",
        ),
        (with("jwks", json!({"keys": [{"kty": "oct", "k": "AB"}]})), "jwks.keys[0].k", "base64url"),
        (with("jwks", json!({"keys": [{"kty": "OKP", "crv": "X25519", "x": "AA"}]})), "jwks.keys[0]", "kty must be"),
        (with("jwks", json!({"keys": [{"kty": "oct", "k": "AA", "use": "enc"}]})), "jwks.keys[0].use", "sig"),
        (with("jwks", json!({"keys": []})), "jwks", "no usable"),
        (with("jwks_url", json!("ftp://idp.test/jwks")), "jwks_url", "http"),
        (with("leeway_seconds", json!(86_401)), "leeway_seconds", "86400"),
        (with("issuer", json!(" ")), "issuer", "empty"),
        (with("subject_claim", json!("")), "subject_claim", "empty"),
        (with("jwks", json!({"keys": vec![ec_key(); 101]})), "jwks", "at most 100"),
        (with("leeway_seconds", json!(1.5)), "leeway_seconds", ""),
    ];
    for (body, param, says) in cases {
        let r = h.call("POST", &path, Some(body.clone())).await;
        let p = r.problem(400, "request_invalid");
        assert_eq!(p["param"], param, "{body}: {}", r.text);
        assert!(p["detail"].as_str().unwrap().contains(says), "{body}: {}", r.text);
    }
    h.call("POST", &path, Some(with("colour", json!("red")))).await.problem(400, "request_invalid");
    assert_eq!(h.fingerprint().await, before, "nothing written");
    h.ok("POST", &path, inline("idp")).await;
    let clash = h.call("POST", &path, Some(inline("idp"))).await;
    assert_eq!(clash.problem(409, "already_exists")["param"], "name");
    h.call("POST", "/admin/v1/tenants/ten_nope/issuers", Some(inline("x"))).await.problem(404, "resource_not_found");
}

#[tokio::test]
async fn token_subjects_are_unique_per_tenant_and_freed_by_delete() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let other = h.world("globex", "/globex/v1").await;
    let apps = format!("/admin/v1/tenants/{}/apps", w.tenant);
    let created = h
        .ok("POST", &apps, json!({"name": "billing", "owner_user_id": w.user, "token_subjects": ["svc-billing", "svc-billing"]}))
        .await;
    assert_eq!(created["token_subjects"], json!(["svc-billing"]), "duplicates dropped");
    let billing = id(&created);
    let clash = h
        .call("POST", &apps, Some(json!({"name": "dup", "owner_user_id": w.user, "token_subjects": ["x", "svc-billing"]})))
        .await;
    let p = clash.problem(409, "already_exists");
    assert_eq!(p["param"], "token_subjects[1]");
    assert!(p["detail"].as_str().unwrap().contains(&billing), "{p}");
    let patch = h.call("PATCH", &format!("/admin/v1/apps/{}", w.app), Some(json!({"token_subjects": ["svc-billing"]}))).await;
    assert_eq!(patch.problem(409, "already_exists")["param"], "token_subjects[0]");
    let theirs = format!("/admin/v1/tenants/{}/apps", other.tenant);
    h.ok("POST", &theirs, json!({"name": "b", "owner_user_id": other.user, "token_subjects": ["svc-billing"]})).await;
    let snap = h.state.snapshot.load();
    assert_eq!(
        snap.jwt.app_of_subject(&TenantId::from(w.tenant.as_str()), "svc-billing").map(|a| a.to_string()),
        Some(billing.clone())
    );
    h.call("PATCH", &format!("/admin/v1/apps/{}", w.app), Some(json!({"token_subjects": [""]})))
        .await
        .problem(400, "request_invalid");
    h.call("DELETE", &format!("/admin/v1/apps/{billing}"), None).await;
    let moved = h.call("PATCH", &format!("/admin/v1/apps/{}", w.app), Some(json!({"token_subjects": ["svc-billing"]}))).await;
    assert_eq!(moved.status, 200, "a deleted app's subjects are free again: {}", moved.text);
    let snap = h.state.snapshot.load();
    assert_eq!(
        snap.jwt.app_of_subject(&TenantId::from(w.tenant.as_str()), "svc-billing").map(|a| a.to_string()),
        Some(w.app.clone())
    );
}

#[tokio::test]
async fn apis_accept_jwt_and_name_their_tenants_issuers() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let other = h.world("globex", "/globex/v1").await;
    let mine = id(&h.ok("POST", &format!("/admin/v1/tenants/{}/issuers", w.tenant), inline("okta")).await);
    let theirs = id(&h.ok("POST", &format!("/admin/v1/tenants/{}/issuers", other.tenant), inline("okta")).await);
    let apis = format!("/admin/v1/tenants/{}/apis", w.tenant);
    let mut body = api_body("/jwt/v1");
    body["auth"] = json!(["jwt", "api_key"]);
    body["jwt_issuers"] = json!([mine, mine]);
    let api = h.ok("POST", &apis, body.clone()).await;
    assert_eq!((api["auth"].clone(), api["jwt_issuers"].clone()), (json!(["jwt", "api_key"]), json!([mine])));
    body["base_path"] = json!("/jwt/v2");
    body["jwt_issuers"] = json!([theirs]);
    let p = h.call("POST", &apis, Some(body)).await;
    assert_eq!(p.problem(422, "reference_invalid")["param"], "jwt_issuers[0]");
    let api_id = id(&api);
    h.call("DELETE", &format!("/admin/v1/issuers/{mine}"), None).await.problem(409, "invalid_state");
    let cleared = h.ok("PATCH", &format!("/admin/v1/apis/{api_id}"), json!({"jwt_issuers": []})).await;
    assert_eq!(cleared["jwt_issuers"], json!([]));
    let deleted = h.call("DELETE", &format!("/admin/v1/issuers/{mine}"), None).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    let p = h.call("PATCH", &format!("/admin/v1/apis/{api_id}"), Some(json!({"jwt_issuers": [mine]}))).await;
    assert_eq!(p.problem(422, "reference_invalid")["param"], "jwt_issuers[0]", "a deleted issuer cannot be named");
}
