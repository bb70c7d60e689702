//! RFC 9421 HMAC request signatures end to end: a node, an app's HMAC key
//! made through the admin API, requests signed here (tests/common/signer.rs,
//! written from the RFC apart from the gateway's verifier) and by the
//! Python signer of docs/hmac.md, the echo upstream showing what reached
//! it. Every `signature_*` code and `request_timestamp_skewed`, each body
//! checked against the disclosure rule; replays, revoked keys, a suspended
//! owner, scopes, a body changed after signing; diagnose by request id
//! and by headers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use common::signer::Signing;
use common::tokens::now;
use common::{expect_refusal, log_row, new_key, world, Node, World};
use serde_json::{json, Value};

const WINDOW: u64 = 60;

struct Signed {
    node: Node,
    w: World,
    keyid: String,
    secret: String,
}

/// A node, a tenant world, an HMAC-only API at `/signed/v1` needing
/// `orders:read` (window 60 s), and an HMAC key of the app with that scope.
async fn setup() -> Signed {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let api = node
        .ok(
            "POST",
            &format!("/admin/v1/tenants/{}/apis", w.tenant),
            json!({"name": "signed", "version": "v1", "base_path": "/signed/v1",
                   "upstream": {"targets": [{"url": node.upstream_url()}]}, "required_scopes": ["orders:read"],
                   "auth": ["hmac"], "hmac": {"window_seconds": WINDOW}, "requires_approval": false, "visibility": "tenant"}),
        )
        .await;
    assert_eq!(api["auth"], json!(["hmac"]));
    let (keyid, secret) = hmac_key(&node, &w.app, json!({"scopes": ["orders:read"]})).await;
    Signed { node, w, keyid, secret }
}

async fn hmac_key(node: &Node, app: &str, body: Value) -> (String, String) {
    let k = node.ok("POST", &format!("/admin/v1/apps/{app}/hmac-keys"), body).await;
    (k["id"].as_str().unwrap().to_owned(), k["secret"].as_str().unwrap().to_owned())
}

impl Signed {
    fn authority(&self) -> String {
        self.node.gateway.trim_start_matches("http://").to_owned()
    }

    fn get(&self, path: &str) -> Signing {
        Signing::get(&self.authority(), path, &self.keyid, &self.secret)
    }

    /// Sends `s` with its signature headers (and `extra`), body `s.body`.
    async fn send_with(&self, s: &Signing, extra: &[(&str, &str)]) -> reqwest::Response {
        let target = match &s.query {
            Some(q) => format!("{}{}?{q}", self.node.gateway, s.path),
            None => format!("{}{}", self.node.gateway, s.path),
        };
        let method = reqwest::Method::from_bytes(s.method.as_bytes()).unwrap();
        let mut req = self.node.http.request(method, target).body(s.body.clone());
        for (k, v) in s.headers() {
            req = req.header(k, v);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }

    async fn send(&self, s: &Signing) -> reqwest::Response {
        self.send_with(s, &[]).await
    }
}

fn request_id(resp: &reqwest::Response) -> String {
    resp.headers()["x-request-id"].to_str().unwrap().to_owned()
}

/// A refusal before the HMAC verified: nothing about the key, its app,
/// the window, server time or the nonce store.
fn discloses_nothing(body: &Value, s: &Signed) {
    let text = body.to_string();
    for secret in [s.secret.as_str(), s.w.app.as_str(), s.w.tenant.as_str(), "acme-app", "window", "server time", "revoked"] {
        assert!(!text.contains(secret), "the body shows {secret:?} before the HMAC verified: {text}");
    }
}

#[tokio::test]
async fn signed_requests_reach_the_upstream_as_their_app_without_the_signature_headers() {
    let s = setup().await;
    let mut get = s.get("/signed/v1/items");
    get.query = Some("page=2&sort=id".into());
    let mut post = s.get("/signed/v1/items");
    post.method = "POST".into();
    post.body = br#"{"item": 7}"#.to_vec();
    for signing in [get, post] {
        let resp = s.send(&signing).await;
        let rid = request_id(&resp);
        assert_eq!(resp.status(), 200, "{}: {}", signing.method, resp.text().await.unwrap());
        let echo: Value = resp.json().await.unwrap();
        let headers = &echo["headers"];
        assert_eq!(headers["x-keyway-app-id"], s.w.app.as_str(), "{echo}");
        assert_eq!(headers["x-keyway-tenant-id"], s.w.tenant.as_str());
        assert!(headers.get("x-keyway-key-id").is_none(), "no API key id for a signature: {echo}");
        for stripped in ["signature", "signature-input"] {
            assert!(headers.get(stripped).is_none(), "{stripped} reached the upstream: {echo}");
        }
        if signing.method == "POST" {
            assert_eq!(echo["body_bytes"], 11, "the body read for its digest is forwarded whole: {echo}");
        }
        let row = log_row(&s.node, &rid).await;
        assert_eq!((row["app_id"].as_str(), row["tenant_id"].as_str()), (Some(s.w.app.as_str()), Some(s.w.tenant.as_str())));
        assert!(row["code"].is_null(), "{row}");
    }
}

#[tokio::test]
async fn a_wrong_secret_and_an_unknown_keyid_read_the_same_and_carry_the_signature_base() {
    let s = setup().await;
    let mut wrong = s.get("/signed/v1/items");
    wrong.secret = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    let mut unknown = s.get("/signed/v1/items");
    unknown.keyid = "hk_01jzzzzzzzzzzzzzzzzzzzzzzz".into();
    let mut bodies = Vec::new();
    for signing in [&wrong, &unknown] {
        let body = expect_refusal(s.send(signing).await, 401, "signature_invalid").await;
        assert_eq!(body["signature_base"], signing.base().0, "the base the gateway computed is the one signed: {body}");
        discloses_nothing(&body, &s);
        bodies.push((body["detail"].clone(), body["hint"].clone()));
    }
    assert_eq!(bodies[0], bodies[1], "an unknown keyid and a wrong secret are told apart by nobody but the operator");
    // Signed in the past as well: still signature_invalid, the window is judged only after the HMAC.
    unknown.created = now() - 10 * WINDOW;
    expect_refusal(s.send(&unknown).await, 401, "signature_invalid").await;
}

#[tokio::test]
async fn an_incomplete_signature_is_signature_headers_missing_naming_only_what_is_absent() {
    let s = setup().await;
    let mut no_path = s.get("/signed/v1/items");
    no_path.omit = vec!["@path"];
    let mut no_nonce = s.get("/signed/v1/items");
    no_nonce.omit_params = vec!["nonce"];
    let mut no_query = s.get("/signed/v1/items");
    no_query.query = Some("page=2".into());
    no_query.omit = vec!["@query"];
    let mut no_digest = s.get("/signed/v1/items");
    no_digest.method = "POST".into();
    no_digest.body = b"{}".to_vec();
    no_digest.omit = vec!["content-digest"];
    for (signing, named) in [(&no_path, "@path"), (&no_nonce, "nonce"), (&no_query, "@query"), (&no_digest, "content-digest")] {
        let body = expect_refusal(s.send(signing).await, 401, "signature_headers_missing").await;
        assert!(body["detail"].as_str().unwrap().contains(named), "{named}: {body}");
        discloses_nothing(&body, &s);
    }
    // Signature-Input without Signature.
    let only_input = s.get("/signed/v1/items").headers().into_iter().find(|(n, _)| n == "signature-input").unwrap();
    let resp = s.node.get("/signed/v1/items", &[(&only_input.0, &only_input.1)]).await;
    let body = expect_refusal(resp, 401, "signature_headers_missing").await;
    assert!(body["detail"].as_str().unwrap().contains("Signature"), "{body}");
    // No signature at all, to an API that takes only signatures.
    let body = expect_refusal(s.node.get("/signed/v1/items", &[]).await, 401, "credential_missing").await;
    assert!(body["hint"].as_str().unwrap().contains("Signature-Input"), "{body}");
}

#[tokio::test]
async fn a_proven_signature_out_of_the_window_is_request_timestamp_skewed_with_server_time_and_window() {
    let s = setup().await;
    let mut old = s.get("/signed/v1/items");
    old.created = now() - 3 * WINDOW;
    let body = expect_refusal(s.send(&old).await, 401, "request_timestamp_skewed").await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains(&old.created.to_string()) && detail.contains("server time") && detail.contains("60 s"), "{body}");
    assert!(!body.to_string().contains(&s.secret));
    let mut future = s.get("/signed/v1/items");
    future.created = now() + 3 * WINDOW;
    expect_refusal(s.send(&future).await, 401, "request_timestamp_skewed").await;
}

#[tokio::test]
async fn a_replayed_signature_is_refused_and_diagnose_checks_it_afresh_without_spending_its_nonce() {
    let s = setup().await;
    let signing = s.get("/signed/v1/items");
    assert_eq!(s.send(&signing).await.status(), 200);
    let replay = s.send(&signing).await;
    let rid = request_id(&replay);
    let body = expect_refusal(replay, 401, "signature_replayed").await;
    assert!(body["detail"].as_str().unwrap().contains(&signing.nonce), "{body}");
    // Diagnose by request id: the stored trace names the refusal.
    let d = s.node.ok("POST", "/admin/v1/diagnose", json!({"request_id": rid})).await;
    assert_eq!(d["outcome"]["code"], "signature_replayed", "{d}");
    assert_eq!(d["request"]["app_id"], s.w.app.as_str(), "a proven replay names its app for the operator: {d}");
    let key_step = d["steps"].as_array().unwrap().iter().find(|st| st["stage"] == "key").unwrap().clone();
    assert!(key_step["evidence"].as_str().unwrap().contains(&s.keyid), "{d}");
    // The hypothetical form with the same headers: verified again, the
    // nonce neither required to be new nor spent.
    let headers: serde_json::Map<String, Value> = signing.headers().into_iter().map(|(k, v)| (k, json!(v))).collect();
    let mut with_host = headers.clone();
    with_host.insert("host".into(), json!(s.authority()));
    let h = s.node.ok("POST", "/admin/v1/diagnose", json!({"path": "/signed/v1/items", "headers": with_host})).await;
    assert_eq!(h["outcome"]["status"], 200, "{h}");
    assert_eq!(h["request"]["app_id"], s.w.app.as_str(), "{h}");
    assert_eq!(h["request"]["hmac_key_id"], s.keyid.as_str(), "{h}");
    let key_step = h["steps"].as_array().unwrap().iter().find(|st| st["stage"] == "key").unwrap().clone();
    assert!(key_step["evidence"].as_str().unwrap().contains(&s.keyid), "{h}");
    assert!(!h.to_string().contains(&s.secret), "diagnose never shows the secret");
    let fresh = s.get("/signed/v1/items");
    let mut tampered = fresh.clone();
    tampered.secret = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    let bad: serde_json::Map<String, Value> = tampered.headers().into_iter().map(|(k, v)| (k, json!(v))).collect();
    let mut bad_host = bad;
    bad_host.insert("host".into(), json!(s.authority()));
    let h = s.node.ok("POST", "/admin/v1/diagnose", json!({"path": "/signed/v1/items", "headers": bad_host})).await;
    assert_eq!(h["outcome"]["code"], "signature_invalid", "{h}");
    assert_eq!(s.send(&fresh).await.status(), 200, "diagnose spent no nonce of the real request");
}

#[tokio::test]
async fn a_revoked_key_is_key_revoked_only_to_a_caller_that_proves_it_holds_the_secret() {
    let s = setup().await;
    s.node.ok("POST", &format!("/admin/v1/hmac-keys/{}/revoke", s.keyid), Value::Null).await;
    let body = expect_refusal(s.send(&s.get("/signed/v1/items")).await, 401, "key_revoked").await;
    assert!(body["detail"].as_str().unwrap().contains(&s.keyid), "{body}");
    let mut forged = s.get("/signed/v1/items");
    forged.secret = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    let body = expect_refusal(s.send(&forged).await, 401, "signature_invalid").await;
    discloses_nothing(&body, &s);
}

#[tokio::test]
async fn a_key_of_a_suspended_owner_is_key_owner_suspended_and_scopes_come_from_the_hmac_key() {
    let s = setup().await;
    let (weak_id, weak_secret) = hmac_key(&s.node, &s.w.app, json!({"scopes": ["orders:list"]})).await;
    let weak = Signing::get(&s.authority(), "/signed/v1/items", &weak_id, &weak_secret);
    let body = expect_refusal(s.send(&weak).await, 403, "scope_insufficient").await;
    assert!(body["detail"].as_str().unwrap().contains("orders:list"), "{body}");
    s.node.ok("PATCH", &format!("/admin/v1/users/{}", s.w.user), json!({"status": "suspended", "reason": "offboarding"})).await;
    expect_refusal(s.send(&s.get("/signed/v1/items")).await, 403, "key_owner_suspended").await;
}

#[tokio::test]
async fn a_body_changed_after_signing_is_signature_invalid_naming_its_digest() {
    let s = setup().await;
    let mut signed = s.get("/signed/v1/items");
    signed.method = "POST".into();
    signed.body = br#"{"amount": 10}"#.to_vec();
    let headers = signed.headers();
    let target = format!("{}/signed/v1/items", s.node.gateway);
    let mut req = s.node.http.post(target).body(r#"{"amount": 99}"#);
    for (k, v) in &headers {
        req = req.header(k, v);
    }
    let body = expect_refusal(req.send().await.unwrap(), 401, "signature_invalid").await;
    let changed = Signing { body: br#"{"amount": 99}"#.to_vec(), ..signed.clone() };
    let digest = changed.content_digest();
    let computed = digest.trim_start_matches("sha-256=");
    assert!(body["detail"].as_str().unwrap().contains(computed), "the digest of the body received: {body}");
}

#[tokio::test]
async fn a_key_beside_a_signature_is_ambiguous_and_an_api_may_take_both_kinds() {
    let s = setup().await;
    let (_, key) = new_key(&s.node, &s.w.app, json!({})).await;
    // The world's key API accepts signatures too.
    let api = s.node.ok("GET", &format!("/admin/v1/apis/{}", s.w.api), Value::Null).await;
    assert_eq!(api["auth"], json!(["api_key"]));
    let both = s.send_with(&s.get("/signed/v1/items"), &[("x-api-key", &key)]).await;
    let body = expect_refusal(both, 401, "credential_ambiguous").await;
    assert!(body["detail"].as_str().unwrap().contains("Signature"), "{body}");
    let mixed = s
        .node
        .ok(
            "POST",
            &format!("/admin/v1/tenants/{}/apis", s.w.tenant),
            json!({"name": "mixed", "version": "v1", "base_path": "/mixed/v1",
                   "upstream": {"targets": [{"url": s.node.upstream_url()}]},
                   "auth": ["api_key", "hmac"], "requires_approval": false, "visibility": "tenant"}),
        )
        .await;
    assert_eq!(mixed["auth"], json!(["api_key", "hmac"]));
    assert_eq!(s.node.get_bearer("/mixed/v1/x", &key).await.status(), 200, "a key still serves");
    assert_eq!(s.send(&s.get("/mixed/v1/x")).await.status(), 200, "and so does a signature");
}

/// The signer of docs/hmac.md, as printed there.
fn python_signer() -> &'static str {
    const DOC: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/hmac.md"));
    let after = DOC.split("<!-- python-signer -->").nth(1).expect("marker in the doc");
    let start = after.find("```python\n").expect("python block") + "```python\n".len();
    &after[start..start + after[start..].find("```").expect("block end")]
}

#[tokio::test]
async fn the_python_signer_of_the_docs_signs_requests_the_gateway_passes_upstream() {
    let s = setup().await;
    let call = format!(
        "import json\nprint(json.dumps(sign('POST', {authority:?}, '/signed/v1/items', 'dry_run=1', b'{{\"item\": 7}}', {keyid:?}, {secret:?})))\n",
        authority = s.authority(),
        keyid = s.keyid,
        secret = s.secret,
    );
    let out = std::process::Command::new("python3").arg("-c").arg(format!("{}{call}", python_signer())).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let headers: std::collections::BTreeMap<String, String> = serde_json::from_slice(&out.stdout).unwrap();
    let send = || {
        let mut req = s.node.http.post(format!("{}/signed/v1/items?dry_run=1", s.node.gateway)).body(r#"{"item": 7}"#);
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        req.send()
    };
    let resp = send().await.unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let echo: Value = resp.json().await.unwrap();
    assert_eq!(echo["headers"]["x-keyway-app-id"], s.w.app.as_str(), "{echo}");
    assert_eq!(echo["query"], "dry_run=1", "{echo}");
    expect_refusal(send().await.unwrap(), 401, "signature_replayed").await;
}
