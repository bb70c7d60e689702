//! Deny by default, the public paths, bootstrap tokens, fallbacks.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::Harness;
use keyway_admin::bootstrap_admin_token;
use keyway_core::key_format::KeyHasher;
use keyway_store::sqlite::SqliteStore;
use keyway_store::Store;
use serde_json::json;

#[tokio::test]
async fn missing_token_is_refused_everywhere_but_public_paths() {
    let h = Harness::new().await;
    for path in ["/admin/v1/tenants", "/admin/v1/keys/key_x", "/admin/v1/logs", "/admin/v1/audit", "/nowhere", "/"] {
        let r = h.get_with(path, &[]).await;
        r.problem(401, "admin_token_missing");
        assert_eq!(r.headers.get("www-authenticate").unwrap(), "Bearer realm=\"keyway-admin\"", "{path}");
    }
    // A write without a token changes nothing.
    let before = h.fingerprint().await;
    let req = Request::post("/admin/v1/tenants")
        .header("content-type", "application/json")
        .body(Body::from(json!({"slug": "acme", "name": "Acme"}).to_string()))
        .unwrap();
    h.send(req).await.problem(401, "admin_token_missing");
    assert_eq!(h.fingerprint().await, before);
}

#[tokio::test]
async fn invalid_tokens_are_refused() {
    let h = Harness::new().await;
    for value in ["Bearer kwadm_wrong", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer  kwadm_test_token", "kwadm_test_token"] {
        let r = h.get_with("/admin/v1/tenants", &[("authorization", value)]).await;
        r.problem(401, "admin_token_invalid");
        let challenge = r.headers.get("www-authenticate").unwrap().to_str().unwrap();
        assert!(challenge.starts_with("Bearer realm=\"keyway-admin\""), "{challenge}");
        assert!(challenge.contains("invalid_token"), "{challenge}");
    }
    let ok = h.get_with("/admin/v1/tenants", &[("authorization", "Bearer kwadm_test_token")]).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json, json!({"data": []}));
}

#[tokio::test]
async fn public_paths_need_no_token() {
    let h = Harness::new().await;
    let r = h.get_with("/healthz", &[]).await;
    assert_eq!((r.status.as_u16(), r.json.clone()), (200, json!({"status": "ok"})));
    let r = h.get_with("/readyz", &[]).await;
    assert_eq!((r.status.as_u16(), r.json.clone()), (200, json!({"status": "ok"})));
    let r = h.get_with("/metrics", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers.get("content-type").unwrap(), "text/plain; version=0.0.4");
    assert!(r.text.contains("keyway_up 1"));
    let r = h.get_with("/admin/v1/openapi.json", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["openapi"], "3.1.0");
    assert!(r.json["paths"]["/admin/v1/keys/{id}/rotate"]["post"].is_object());
    // Every response carries a request id.
    assert!(r.headers.get("x-request-id").unwrap().to_str().unwrap().starts_with("req_"));
}

#[tokio::test]
async fn public_path_matching_is_exact() {
    let h = Harness::new().await;
    for path in ["/healthz/", "/healthz/../admin/v1/tenants", "/admin/v1/openapi.json/x", "/metricsx"] {
        h.get_with(path, &[]).await.problem(401, "admin_token_missing");
    }
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problems() {
    let h = Harness::new().await;
    let r = h.call("GET", "/admin/v1/nothing", None).await;
    r.problem(404, "resource_not_found");
    let r = h.call("PUT", "/admin/v1/tenants", None).await;
    r.problem(405, "method_not_allowed");
    let allow = r.headers.get("allow").unwrap().to_str().unwrap();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    h.call("DELETE", "/admin/v1/keys/key_x", None).await.problem(405, "method_not_allowed");
    h.call("GET", "/admin/v1/tenants/ten_nope", None).await.problem(404, "resource_not_found");
}

#[tokio::test]
async fn bootstrap_mints_once_and_env_tokens_are_stored_by_digest() {
    let store = SqliteStore::open_in_memory().unwrap();
    let hasher = KeyHasher::new(common::SECRET);
    let minted = bootstrap_admin_token(&store, &hasher, None).await.unwrap().expect("a first token is minted");
    assert!(minted.starts_with("kwadm_") && minted.len() == 46, "{minted}");
    assert!(minted[6..].bytes().all(|b| b.is_ascii_alphanumeric()));
    let found = store.admin_token_by_digest(&hasher.digest(&minted)).await.unwrap().unwrap();
    assert_ne!(found.digest, [0; 32]);
    // Not again.
    assert_eq!(bootstrap_admin_token(&store, &hasher, None).await.unwrap(), None);
    assert_eq!(store.admin_token_count().await.unwrap(), 1);
    // An env token is added once, however often the node starts.
    assert_eq!(bootstrap_admin_token(&store, &hasher, Some("from-env-123")).await.unwrap(), None);
    assert_eq!(bootstrap_admin_token(&store, &hasher, Some("from-env-123")).await.unwrap(), None);
    assert_eq!(store.admin_token_count().await.unwrap(), 2);
    let env = store.admin_token_by_digest(&hasher.digest("from-env-123")).await.unwrap().unwrap();
    assert_eq!(env.name, "env");
}

#[tokio::test]
async fn the_token_id_is_the_actor_of_audit_entries() {
    let h = Harness::new().await;
    let token = h.state.store.admin_token_by_digest(&h.state.settings.hasher.digest(&h.token)).await.unwrap().unwrap();
    h.ok("POST", "/admin/v1/tenants", json!({"slug": "acme", "name": "Acme"})).await;
    let audit = h.ok("GET", "/admin/v1/audit", serde_json::Value::Null).await;
    assert_eq!(audit["data"][0]["actor"], token.id.to_string());
    assert_eq!(audit["data"][0]["action"], "tenant.create");
}
