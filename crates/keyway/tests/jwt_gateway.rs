//! JWT bearer tokens end to end: a node with trusted issuers (inline keys
//! and a loopback JWKS URL), tokens minted here with RS256, ES256 and
//! EdDSA keys, the echo upstream showing what reached it. Every `token_*`
//! code the gateway returns, each body checked against the disclosure
//! rule; the same stages 4-7 as for keys; JWKS rotation without a restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use common::tokens::{jwks, now, JwksServer, TestKey};
use common::{expect_refusal, log_row, world, Node, World};
use serde_json::{json, Value};

const ISS: &str = "https://idp.acme.test";
const SUBJECT: &str = "svc-billing-7f3a";

/// Claims valid now for the test issuer, audience and subject.
fn claims() -> Value {
    json!({"iss": ISS, "sub": SUBJECT, "aud": "orders", "exp": now() + 600, "iat": now() - 5, "scope": "orders:read"})
}

fn with(mut claims: Value, field: &str, value: Value) -> Value {
    claims[field] = value;
    claims
}

/// A node, a tenant world whose app is `SUBJECT`, an issuer with `body`,
/// and a JWT-only API at `/jwt/v1` trusting the tenant's issuers.
async fn setup(issuer: Value) -> (Node, World) {
    setup_with(issuer, |_| {}).await
}

async fn setup_with(issuer: Value, tweak: impl FnOnce(&mut keyway::config::Config)) -> (Node, World) {
    let node = Node::start_with(tweak).await;
    let w = world(&node, "acme", "/orders/v1").await;
    node.ok("PATCH", &format!("/admin/v1/apps/{}", w.app), json!({"token_subjects": [SUBJECT]})).await;
    node.ok("POST", &format!("/admin/v1/tenants/{}/issuers", w.tenant), issuer).await;
    let api = node
        .ok(
            "POST",
            &format!("/admin/v1/tenants/{}/apis", w.tenant),
            json!({"name": "jwt", "version": "v1", "base_path": "/jwt/v1",
                   "upstream": {"targets": [{"url": node.upstream_url()}]}, "required_scopes": ["orders:read"],
                   "auth": ["jwt"], "requires_approval": false, "visibility": "tenant"}),
        )
        .await;
    assert_eq!(api["auth"], json!(["jwt"]));
    (node, w)
}

fn inline_issuer(keys: &[&TestKey], algorithms: &[&str]) -> Value {
    json!({"name": "acme-idp", "issuer": ISS, "jwks": jwks(keys), "algorithms": algorithms, "audiences": ["orders"]})
}

async fn call(node: &Node, token: &str) -> reqwest::Response {
    node.get_bearer("/jwt/v1/items", token).await
}

/// A refusal body that discloses nothing about the token's claims or the
/// issuer's configuration: no subject, audience, expiry or accepted list.
fn discloses_nothing(body: &Value, exp: u64) {
    let text = body.to_string();
    for secret in [SUBJECT, "orders", &exp.to_string(), "leeway", "idp.acme.test/"] {
        assert!(!text.contains(secret), "the body shows {secret:?} before the signature verified: {text}");
    }
}

#[tokio::test]
async fn rs256_es256_and_eddsa_tokens_reach_the_upstream_as_their_app_and_the_token_is_not_forwarded() {
    let (rsa, ec, ed) = (TestKey::rsa("rsa-1"), TestKey::es256("ec-1"), TestKey::ed25519("ed-1"));
    let (node, w) = setup(inline_issuer(&[&rsa, &ec, &ed], &["RS256", "ES256", "EdDSA"])).await;
    for key in [&rsa, &ec, &ed] {
        let token = key.sign(&claims());
        let resp = call(&node, &token).await;
        let rid = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(resp.status(), 200, "{:?}: {}", key.alg, resp.text().await.unwrap());
        let echo: Value = resp.json().await.unwrap();
        let headers = &echo["headers"];
        assert_eq!(headers["x-keyway-app-id"], w.app.as_str(), "{echo}");
        assert_eq!(headers["x-keyway-tenant-id"], w.tenant.as_str());
        assert!(headers.get("x-keyway-key-id").is_none(), "a token caller has no key: {echo}");
        assert!(headers.get("authorization").is_none(), "the token never reaches the upstream: {echo}");
        assert!(!echo.to_string().contains(&token));
        let row = log_row(&node, &rid).await;
        assert_eq!((row["app_id"].clone(), row["tenant_id"].clone()), (json!(w.app), json!(w.tenant)), "{row}");
        assert!(row["key_id"].is_null() && row["code"].is_null(), "{row}");
        let trace = row["trace"].to_string();
        assert!(trace.contains("verified") && !trace.contains(&token), "{trace}");
    }
}

#[tokio::test]
async fn a_token_with_a_bad_signature_is_token_signature_invalid_and_discloses_nothing() {
    let (ec, other) = (TestKey::es256("ec-1"), TestKey::es256("ec-1"));
    let (node, _) = setup(inline_issuer(&[&ec], &["ES256"])).await;
    // Signed by another key under the same kid, and expired: the signature decides first.
    let exp = now() - 3600;
    let forged = other.sign(&with(claims(), "exp", json!(exp)));
    let body = expect_refusal(call(&node, &forged).await, 401, "token_signature_invalid").await;
    discloses_nothing(&body, exp);
    let mut parts: Vec<String> = ec.sign(&claims()).split('.').map(str::to_owned).collect();
    parts[1] = common::tokens::b64(with(claims(), "sub", json!("admin")).to_string().as_bytes());
    let tampered = parts.join(".");
    expect_refusal(call(&node, &tampered).await, 401, "token_signature_invalid").await;
}

#[tokio::test]
async fn alg_none_and_hs256_with_the_rsa_key_are_token_algorithm_rejected() {
    let rsa = TestKey::rsa("rsa-1");
    let (node, _) = setup(inline_issuer(&[&rsa], &["RS256", "HS256"])).await;
    let exp = now() + 600;
    let header = |alg: &str| common::tokens::b64(json!({"alg": alg, "kid": "rsa-1"}).to_string().as_bytes());
    let payload = common::tokens::b64(claims().to_string().as_bytes());
    let unsigned = format!("{}.{payload}.c2ln", header("none"));
    let body = expect_refusal(call(&node, &unsigned).await, 401, "token_algorithm_rejected").await;
    assert!(body["detail"].as_str().unwrap().contains("alg none"), "{body}");
    discloses_nothing(&body, exp);
    // HS256 keyed with the RSA public key's bytes: algorithm confusion.
    let n = rsa.jwk["n"].as_str().unwrap().as_bytes().to_vec();
    let confused = TestKey {
        alg: jsonwebtoken::Algorithm::HS256,
        encoding: jsonwebtoken::EncodingKey::from_secret(&n),
        jwk: rsa.jwk.clone(),
    };
    let body = expect_refusal(call(&node, &confused.sign(&claims())).await, 401, "token_algorithm_rejected").await;
    assert!(body["detail"].as_str().unwrap().contains("HS256"), "{body}");
    assert!(!body.to_string().contains("RSA"), "the issuer's key type is not disclosed: {body}");
    discloses_nothing(&body, exp);
}

#[tokio::test]
async fn an_unknown_kid_is_token_key_unknown() {
    let (ec, stranger) = (TestKey::es256("ec-1"), TestKey::es256("ec-9"));
    let (node, _) = setup(inline_issuer(&[&ec], &["ES256"])).await;
    let body = expect_refusal(call(&node, &stranger.sign(&claims())).await, 401, "token_key_unknown").await;
    assert!(body["detail"].as_str().unwrap().contains("ec-9"), "{body}");
    discloses_nothing(&body, now() + 600);
}

#[tokio::test]
async fn a_token_of_another_issuer_is_token_issuer_untrusted() {
    let ec = TestKey::es256("ec-1");
    let (node, _) = setup(inline_issuer(&[&ec], &["ES256"])).await;
    let exp = now() + 600;
    let body = expect_refusal(
        call(&node, &ec.sign(&with(claims(), "iss", json!("https://evil.test")))).await,
        401,
        "token_issuer_untrusted",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("https://evil.test"), "{body}");
    discloses_nothing(&body, exp);
}

#[tokio::test]
async fn a_verified_token_for_another_audience_is_token_audience_mismatch_with_both_lists() {
    let ec = TestKey::es256("ec-1");
    let (node, _) = setup(inline_issuer(&[&ec], &["ES256"])).await;
    let body =
        expect_refusal(call(&node, &ec.sign(&with(claims(), "aud", json!("billing")))).await, 401, "token_audience_mismatch")
            .await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("billing") && detail.contains("orders"), "{body}");
}

#[tokio::test]
async fn an_expired_token_is_token_expired_with_exp_server_time_and_leeway_and_diagnose_shows_it() {
    let ec = TestKey::es256("ec-1");
    let (node, _) = setup(inline_issuer(&[&ec], &["ES256"])).await;
    let exp = now() - 3600;
    let token = ec.sign(&with(claims(), "exp", json!(exp)));
    let resp = call(&node, &token).await;
    let rid = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body = expect_refusal(resp, 401, "token_expired").await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains(&exp.to_string()) && detail.contains("server time") && detail.contains("leeway 60 s"), "{body}");
    let row = log_row(&node, &rid).await;
    assert_eq!(row["code"], "token_expired", "{row}");
    let d = node.ok("POST", "/admin/v1/diagnose", json!({"request_id": rid})).await;
    assert_eq!(d["outcome"]["code"], "token_expired", "{d}");
    let key_step = d["steps"].as_array().unwrap().iter().find(|s| s["stage"] == "key").unwrap().clone();
    assert_eq!(key_step["result"], "fail", "{d}");
    assert!(!d.to_string().contains(&token), "diagnose never shows the token");
    // The hypothetical form: the token as a header, walked against today's state.
    let h = node
        .ok(
            "POST",
            "/admin/v1/diagnose",
            json!({"path": "/jwt/v1/items", "headers": {"authorization": format!("Bearer {token}")}}),
        )
        .await;
    assert_eq!(h["outcome"]["code"], "token_expired", "{h}");
    assert!(!h.to_string().contains(&token));
}

#[tokio::test]
async fn a_token_from_the_future_is_token_not_yet_valid_with_the_skew() {
    let ec = TestKey::es256("ec-1");
    let (node, _) = setup(inline_issuer(&[&ec], &["ES256"])).await;
    let nbf = now() + 3600;
    let body = expect_refusal(call(&node, &ec.sign(&with(claims(), "nbf", json!(nbf)))).await, 401, "token_not_yet_valid").await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("nbf {nbf}")) && detail.contains(" s after server time"), "{body}");
}

#[tokio::test]
async fn a_verified_token_whose_subject_is_no_app_is_token_subject_unknown() {
    let ec = TestKey::es256("ec-1");
    let (node, _) = setup(inline_issuer(&[&ec], &["ES256"])).await;
    let body =
        expect_refusal(call(&node, &ec.sign(&with(claims(), "sub", json!("svc-nobody")))).await, 401, "token_subject_unknown")
            .await;
    assert!(body["detail"].as_str().unwrap().contains("svc-nobody"), "{body}");
}

#[tokio::test]
async fn a_token_of_an_app_whose_owner_is_suspended_is_key_owner_suspended_and_scopes_come_from_the_token() {
    let ec = TestKey::es256("ec-1");
    let (node, w) = setup(inline_issuer(&[&ec], &["ES256"])).await;
    let body =
        expect_refusal(call(&node, &ec.sign(&with(claims(), "scope", json!("orders:write")))).await, 403, "scope_insufficient")
            .await;
    assert!(body["detail"].as_str().unwrap().contains("the token has orders:write"), "{body}");
    node.ok("PATCH", &format!("/admin/v1/users/{}", w.user), json!({"status": "suspended", "reason": "offboarding"})).await;
    expect_refusal(call(&node, &ec.sign(&claims())).await, 403, "key_owner_suspended").await;
}

#[tokio::test]
async fn an_api_taking_keys_and_tokens_tells_them_apart_and_refuses_both_at_once() {
    let ec = TestKey::es256("ec-1");
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    node.ok("PATCH", &format!("/admin/v1/apps/{}", w.app), json!({"token_subjects": [SUBJECT]})).await;
    let iss = node.ok("POST", &format!("/admin/v1/tenants/{}/issuers", w.tenant), inline_issuer(&[&ec], &["ES256"])).await;
    node.ok("PATCH", &format!("/admin/v1/apis/{}", w.api), json!({"jwt_issuers": [iss["id"]]})).await;
    let (status, _) = node.admin("PATCH", &format!("/admin/v1/apis/{}", w.api), json!({"visibility": "tenant"})).await;
    assert_eq!(status, 200);
    // The world's API takes keys only: a token is a malformed key there.
    let token = ec.sign(&claims());
    expect_refusal(node.get_bearer("/orders/v1/items", &token).await, 401, "credential_malformed").await;
    let both = node
        .ok(
            "POST",
            &format!("/admin/v1/tenants/{}/apis", w.tenant),
            json!({"name": "both", "version": "v1", "base_path": "/both/v1", "upstream": {"targets": [{"url": node.upstream_url()}]},
                   "auth": ["api_key", "jwt"], "jwt_issuers": [iss["id"]], "requires_approval": false, "visibility": "tenant"}),
        )
        .await;
    assert_eq!(both["jwt_issuers"], json!([iss["id"]]));
    let (_, key) = common::new_key(&node, &w.app, json!({})).await;
    assert_eq!(node.get_bearer("/both/v1/items", &key).await.status(), 200);
    assert_eq!(node.get_bearer("/both/v1/items", &token).await.status(), 200);
    let two = node.get("/both/v1/items", &[("authorization", &format!("Bearer {token}")), ("x-api-key", &key)]).await;
    expect_refusal(two, 401, "credential_ambiguous").await;
}

/// A node whose issuer publishes `key` at a loopback JWKS URL.
async fn with_jwks_url(key: &TestKey, tweak: impl FnOnce(&mut keyway::config::Config)) -> (Node, JwksServer) {
    let idp = JwksServer::start(jwks(&[key])).await;
    let issuer = json!({"name": "acme-idp", "issuer": ISS, "jwks_url": idp.url(), "algorithms": ["EdDSA"]});
    let (node, _) = setup_with(issuer, tweak).await;
    (node, idp)
}

#[tokio::test]
async fn a_rotated_jwks_is_picked_up_without_a_restart() {
    let (old, new) = (TestKey::ed25519("ed-1"), TestKey::ed25519("ed-2"));
    let (node, idp) = with_jwks_url(&old, |c| c.keys.jwks_unknown_kid_interval_seconds = 0).await;
    assert_eq!(call(&node, &old.sign(&claims())).await.status(), 200, "the first token fetches the set");
    assert_eq!(call(&node, &old.sign(&claims())).await.status(), 200);
    assert_eq!(idp.fetch_count(), 1, "the set is held, not fetched per request");
    *idp.set.lock().unwrap() = jwks(&[&new]);
    assert_eq!(call(&node, &new.sign(&claims())).await.status(), 200, "an unknown kid refreshes the set once");
    assert_eq!(idp.fetch_count(), 2);
    let stranger = TestKey::ed25519("ed-9");
    expect_refusal(call(&node, &stranger.sign(&claims())).await, 401, "token_key_unknown").await;
    expect_refusal(call(&node, &old.sign(&claims())).await, 401, "token_key_unknown").await;
}

#[tokio::test]
async fn unknown_kids_refresh_the_jwks_at_most_once_per_interval() {
    let ed = TestKey::ed25519("ed-1");
    let (node, idp) = with_jwks_url(&ed, |_| {}).await;
    assert_eq!(call(&node, &ed.sign(&claims())).await.status(), 200);
    for i in 0..5 {
        let made_up = TestKey::ed25519(&format!("made-up-{i}"));
        expect_refusal(call(&node, &made_up.sign(&claims())).await, 401, "token_key_unknown").await;
    }
    assert_eq!(idp.fetch_count(), 1, "made-up kids inside the interval do not reach the IdP");
}
