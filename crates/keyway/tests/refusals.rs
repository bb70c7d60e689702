//! Every code of stages 1 to 4 through a real listener and a real
//! upstream: status, code, envelope, headers, and no secret in sight.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test harness code")]

mod common;

use common::*;
use keyway_core::key_format::{self, KeyEnv, BASE62};
use serde_json::{json, Value};

/// A key with the same display prefix as `real` but another secret,
/// with a valid checksum: it passes the credential stage.
fn same_prefix_wrong_secret(real: &str) -> String {
    let mut body = real[..12].to_owned();
    while body.len() < 38 {
        body.push(char::from(BASE62[rand::random::<usize>() % 62]));
    }
    let sum = key_format::checksum(&body);
    body.push_str(std::str::from_utf8(&sum).unwrap());
    assert!(key_format::parse(&body).is_ok());
    body
}

#[tokio::test]
async fn accepted_call_reaches_upstream_with_identity_and_without_the_key() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (key_id, key) = new_key(&node, &w.app, json!({})).await;
    let resp = node.get_bearer("/orders/v1/items?page=2", &key).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("x-request-id").is_some());
    let echo: Value = resp.json().await.unwrap();
    assert_eq!(echo["path"], "/items", "base path stripped");
    assert_eq!(echo["query"], "page=2");
    let h = &echo["headers"];
    assert_eq!(h["x-keyway-tenant-id"], w.tenant.as_str());
    assert_eq!(h["x-keyway-app-id"], w.app.as_str());
    assert_eq!(h["x-keyway-key-id"], key_id.as_str());
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert_eq!(h["x-forwarded-proto"], "http");
    assert!(h.get("authorization").is_none(), "credential must be stripped: {h}");
    assert!(!echo.to_string().contains(&key), "key reached the upstream");

    // x-api-key works too and is stripped.
    let echo: Value = node.get("/orders/v1/x", &[("x-api-key", &key)]).await.json().await.unwrap();
    assert!(echo["headers"].get("x-api-key").is_none());
    // Callers cannot spoof identity headers.
    let echo: Value = node
        .get("/orders/v1/x", &[("authorization", &format!("Bearer {key}")), ("x-keyway-tenant-id", "ten_evil")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(echo["headers"]["x-keyway-tenant-id"], w.tenant.as_str());
}

#[tokio::test]
async fn route_stage_codes() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;

    let body = expect_refusal(node.get_bearer("/nothing/here", &key).await, 404, "route_not_found").await;
    assert!(body["hint"].is_string());
    // Prefix must end on a segment boundary.
    expect_refusal(node.get_bearer("/orders/v10/items", &key).await, 404, "route_not_found").await;

    // Retired with a successor.
    let v2 = node
        .ok(
            "POST",
            &format!("/admin/v1/tenants/{}/apis", w.tenant),
            json!({"name": "orders", "version": "v2", "base_path": "/orders/v2",
                   "upstream": {"targets": [{"url": node.upstream_url()}]},
                   "auth": ["api_key"], "requires_approval": false, "visibility": "private"}),
        )
        .await;
    node.ok("PATCH", &format!("/admin/v1/apis/{}", w.api), json!({"status": "retired", "successor_api_id": v2["id"]})).await;
    let body = expect_refusal(node.get_bearer("/orders/v1/items", &key).await, 410, "api_retired").await;
    assert!(body["hint"].as_str().unwrap().contains("/orders/v2"), "{body}");

    // Method not allowed.
    node.ok(
        "POST",
        &format!("/admin/v1/tenants/{}/apis", w.tenant),
        json!({"name": "ro", "version": "v1", "base_path": "/ro/v1", "methods": ["GET"],
               "upstream": {"targets": [{"url": node.upstream_url()}]},
               "auth": ["api_key"], "requires_approval": false, "visibility": "private"}),
    )
    .await;
    let resp = node.http.delete(format!("{}/ro/v1/x", node.gateway)).bearer_auth(&key).send().await.unwrap();
    assert_eq!(resp.headers().get("allow").unwrap(), "GET");
    expect_refusal(resp, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn deprecated_api_serves_with_deprecation_and_sunset() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    node.ok("PATCH", &format!("/admin/v1/apis/{}", w.api), json!({"status": "deprecated", "sunset_at": "2030-01-01T00:00:00Z"}))
        .await;
    let resp = node.get_bearer("/orders/v1/items", &key).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("deprecation").unwrap().to_str().unwrap().starts_with('@'));
    assert_eq!(resp.headers().get("sunset").unwrap(), "Tue, 01 Jan 2030 00:00:00 GMT");
}

#[tokio::test]
async fn credential_stage_codes() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let p = "/orders/v1/items";

    let body = expect_refusal(node.get(p, &[]).await, 401, "credential_missing").await;
    assert!(body["hint"].as_str().unwrap().contains("Authorization: Bearer"), "{body}");

    let malformed: Vec<(String, String, &str)> = vec![
        ("authorization".into(), format!("Token {key}"), "scheme"),
        ("authorization".into(), key.clone(), "without the Bearer scheme"),
        ("authorization".into(), format!("Bearer Bearer {key}"), "twice"),
        ("authorization".into(), format!("Bearer  {key}"), "whitespace"),
        ("authorization".into(), format!("Bearer \"{key}\""), "quotes"),
        ("authorization".into(), format!("Bearer {}", &key[..40]), "44 characters"),
        ("x-api-key".into(), format!("{}{}{}", &key[..30], if &key[30..31] == "0" { "1" } else { "0" }, &key[31..]), "checksum"),
        ("authorization".into(), "Bearer sk-not-a-keyway-key".into(), "kw_live_"),
    ];
    for (name, value, says) in malformed {
        let body = expect_refusal(node.get(p, &[(&name, &value)]).await, 401, "credential_malformed").await;
        let text = format!("{} {}", body["detail"], body["hint"]);
        assert!(text.contains(says), "{value:?} -> {text}");
        assert!(!body.to_string().contains(&key), "the key must not be echoed");
    }
    // A typo is caught by the checksum.
    let mut typo = key.clone().into_bytes();
    typo[20] = if typo[20] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    let body = expect_refusal(node.get_bearer(p, &typo).await, 401, "credential_malformed").await;
    assert!(body["detail"].as_str().unwrap().contains("checksum"), "{body}");

    // A key in the query string when the API reads only headers.
    let resp = node.get(&format!("{p}?api_key={key}"), &[]).await;
    let body = expect_refusal(resp, 401, "credential_in_wrong_place").await;
    assert!(body["detail"].as_str().unwrap().contains("query"), "{body}");
    let resp = node.get(p, &[("api-key", &key)]).await;
    expect_refusal(resp, 401, "credential_in_wrong_place").await;

    // A test key on a live gateway.
    let test_key = key_format::generate(KeyEnv::Test);
    let body = expect_refusal(node.get_bearer(p, &test_key).await, 401, "key_environment_mismatch").await;
    assert!(body["detail"].as_str().unwrap().contains("test"), "{body}");
}

#[tokio::test]
async fn query_keys_work_when_the_api_opts_in_and_are_stripped() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    node.ok("PATCH", &format!("/admin/v1/apis/{}", w.api), json!({"key_locations": ["authorization_bearer", "query"]})).await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let resp = node.get(&format!("/orders/v1/items?a=1&api_key={key}&b=2"), &[]).await;
    assert_eq!(resp.status(), 200);
    let echo: Value = resp.json().await.unwrap();
    assert_eq!(echo["query"], "a=1&b=2");
    // x-api-key is no longer accepted there.
    expect_refusal(node.get("/orders/v1/items", &[("x-api-key", &key)]).await, 401, "credential_in_wrong_place").await;
}

#[tokio::test]
async fn unknown_key_and_wrong_secret_are_byte_identical() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let unknown = key_format::generate(KeyEnv::Live);
    let wrong = same_prefix_wrong_secret(&key);

    let a = node.get_bearer("/orders/v1/items", &unknown).await;
    let b = node.get_bearer("/orders/v1/items", &wrong).await;
    assert_eq!(a.status(), 401);
    assert_eq!(a.status(), b.status());
    let strip = |h: &reqwest::header::HeaderMap| {
        let mut v: Vec<(String, String)> = h
            .iter()
            .filter(|(k, _)| *k != "x-request-id" && *k != "date")
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(strip(a.headers()), strip(b.headers()));
    let ida = a.headers()["x-request-id"].to_str().unwrap().to_owned();
    let idb = b.headers()["x-request-id"].to_str().unwrap().to_owned();
    let ba = a.text().await.unwrap().replace(&ida, "REQ");
    let bb = b.text().await.unwrap().replace(&idb, "REQ");
    assert_eq!(ba, bb);
    let v: Value = serde_json::from_str(&ba).unwrap();
    assert_eq!(v["code"], "key_unknown");
    assert!(!ba.contains(&key[..12]), "no hint of the real key's prefix");
}

#[tokio::test]
async fn tenant_mismatch_on_another_tenants_private_api() {
    let node = Node::start().await;
    let acme = world(&node, "acme", "/orders/v1").await;
    let globex = world(&node, "globex", "/globex/v1").await;
    let (_, key) = new_key(&node, &globex.app, json!({})).await;
    let body = expect_refusal(node.get_bearer("/orders/v1/items", &key).await, 403, "tenant_mismatch").await;
    let text = body.to_string();
    assert!(!text.contains("acme") && !text.contains(&acme.tenant), "must not name the other tenant: {body}");
}

#[tokio::test]
async fn openai_and_anthropic_routes_get_their_own_envelopes() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    for (base, protocol) in [("/oai", "openai"), ("/anth", "anthropic")] {
        node.ok(
            "POST",
            &format!("/admin/v1/tenants/{}/apis", w.tenant),
            json!({"name": protocol, "version": "v1", "base_path": base, "protocol": protocol,
                   "upstream": {"targets": [{"url": node.upstream_url()}]},
                   "auth": ["api_key"], "requires_approval": false, "visibility": "private"}),
        )
        .await;
    }
    let resp = node.get("/oai/v1/chat/completions", &[]).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["x-keyway-error-code"], "credential_missing");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "credential_missing");
    assert_eq!(v["error"]["type"], "authentication_error");
    assert!(v["error"]["param"].is_null() && v["error"]["message"].is_string());

    let resp = node.get("/anth/v1/messages", &[]).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["x-keyway-error-code"], "credential_missing");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "authentication_error");
    assert!(v["error"]["message"].as_str().unwrap().starts_with("credential_missing: "));
}

#[tokio::test]
async fn dot_segments_never_climb_out_of_an_api() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    // reqwest normalizes paths, so speak HTTP/1.1 by hand.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for path in ["/orders/v1/../../admin", "/orders/v1/%2e%2e/secret"] {
        let mut s = tokio::net::TcpStream::connect(node.gateway.trim_start_matches("http://")).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\nconnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        assert!(out.starts_with("HTTP/1.1 404"), "{path}: {out}");
        assert!(out.contains("route_not_found"), "{out}");
    }
}
