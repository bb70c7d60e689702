//! The call log records every request with its trace; diagnose replays it
//! and walks hypothetical calls; no secret reaches any stored byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test harness code")]

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn accepted_and_refused_calls_are_logged_with_their_trace() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (key_id, key) = new_key(&node, &w.app, json!({})).await;

    let ok = node.get_bearer("/orders/v1/items?secret=1", &key).await;
    let ok_id = ok.headers()["x-request-id"].to_str().unwrap().to_owned();
    let row = log_row(&node, &ok_id).await;
    assert_eq!(row["status"], 200);
    assert!(row["code"].is_null());
    assert_eq!(row["key_id"], key_id.as_str());
    assert_eq!(row["app_id"], w.app.as_str());
    assert_eq!(row["tenant_id"], w.tenant.as_str());
    assert_eq!(row["api_id"], w.api.as_str());
    assert_eq!(row["key_prefix"], &key[..12]);
    assert_eq!(row["path"], "/orders/v1/items");
    assert_eq!(row["method"], "GET");
    assert_eq!(row["client_ip"], "127.0.0.1");
    assert!(row["latency_ms"].as_f64().unwrap() > 0.0);
    assert!(row["upstream_latency_ms"].as_f64().unwrap() > 0.0);
    let stages: Vec<&str> = row["trace"].as_array().unwrap().iter().map(|s| s["stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["route", "credential", "key", "identity", "authorization", "limits", "upstream"]);

    let bad = node.get("/orders/v1/items", &[]).await;
    let bad_id = bad.headers()["x-request-id"].to_str().unwrap().to_owned();
    let row = log_row(&node, &bad_id).await;
    assert_eq!(row["status"], 401);
    assert_eq!(row["code"], "credential_missing");

    // Filters.
    let by_code = node.ok("GET", "/admin/v1/logs?code=credential_missing", Value::Null).await;
    assert_eq!(by_code["data"].as_array().unwrap().len(), 1);
    let by_key = node.ok("GET", &format!("/admin/v1/logs?key_id={key_id}"), Value::Null).await;
    assert_eq!(by_key["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn diagnose_replays_a_refusal_and_tells_what_changed_since() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (key_id, key) = new_key(&node, &w.app, json!({})).await;
    node.ok("POST", &format!("/admin/v1/keys/{key_id}/revoke"), json!({"reason": "compromised"})).await;
    let resp = node.get_bearer("/orders/v1/items", &key).await;
    let rid = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    log_row(&node, &rid).await;
    node.ok("PATCH", &format!("/admin/v1/apps/{}", w.app), json!({"status": "suspended"})).await;

    let d = node.ok("POST", "/admin/v1/diagnose", json!({"request_id": rid})).await;
    assert_eq!(d["outcome"], json!({"status": 401, "code": "key_revoked"}));
    let steps = d["steps"].as_array().unwrap();
    assert_eq!(steps[0]["stage"], "route");
    assert_eq!(steps[0]["result"], "pass");
    assert_eq!(steps[2]["stage"], "key");
    assert_eq!(steps[2]["result"], "fail");
    assert!(steps[2]["evidence"].as_str().unwrap().contains("compromised"));
    assert_eq!(steps[3]["result"], "not_reached");
    let changes = d["changes_since"].as_array().unwrap();
    assert!(changes.iter().any(|c| c["action"].as_str().unwrap().starts_with("app.")), "{d}");
    assert!(!d.to_string().contains(&key), "diagnose never shows the key");
}

#[tokio::test]
async fn diagnose_walks_a_hypothetical_call_against_current_state() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let d = node.ok("POST", "/admin/v1/diagnose", json!({"key": key, "method": "GET", "path": "/orders/v1/items"})).await;
    assert_eq!(d["outcome"]["status"], 200);
    let stages: Vec<(&str, &str)> =
        d["steps"].as_array().unwrap().iter().map(|s| (s["stage"].as_str().unwrap(), s["result"].as_str().unwrap())).collect();
    assert_eq!(
        stages,
        [
            ("route", "pass"),
            ("credential", "pass"),
            ("key", "pass"),
            ("identity", "pass"),
            ("authorization", "pass"),
            ("limits", "not_reached"),
            ("upstream", "not_reached")
        ]
    );
    node.ok("PATCH", &format!("/admin/v1/users/{}", w.user), json!({"status": "suspended", "reason": "offboarding"})).await;
    let d = node.ok("POST", "/admin/v1/diagnose", json!({"key": key, "method": "GET", "path": "/orders/v1/items"})).await;
    assert_eq!(d["outcome"]["code"], "key_owner_suspended");
    let identity = &d["steps"][3];
    assert_eq!(identity["stage"], "identity");
    assert_eq!(identity["result"], "fail");
    let evidence = identity["evidence"].as_str().unwrap();
    assert!(evidence.contains("owner@acme.test") && evidence.contains("offboarding"), "operator sees everything: {evidence}");
    assert!(identity["fix"].as_str().unwrap().contains("reactivate"));
    assert!(!d.to_string().contains(&key));
}

#[tokio::test]
async fn no_key_or_token_reaches_the_database_file() {
    let mut node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (id, key) = new_key(&node, &w.app, json!({})).await;
    let rotated = node.ok("POST", &format!("/admin/v1/keys/{id}/rotate"), json!({"grace_seconds": 60})).await;
    let key2 = rotated["key"].as_str().unwrap().to_owned();
    node.get_bearer("/orders/v1/items", &key).await;
    node.get(&format!("/orders/v1/items?api_key={key2}"), &[]).await;
    node.get("/orders/v1/items", &[("authorization", &format!("Token {key2}"))]).await;
    node.admin("POST", "/admin/v1/diagnose", json!({"key": key, "path": "/orders/v1/x"})).await;
    node.stop().await;
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&node.data_dir).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with("keyway.db") {
            bytes.extend(std::fs::read(&p).unwrap());
        }
    }
    assert!(!bytes.is_empty());
    let hay = String::from_utf8_lossy(&bytes);
    for secret in [&key, &key2, &ADMIN_TOKEN.to_owned()] {
        assert!(!hay.contains(secret.as_str()), "a secret reached the database file");
        assert!(!hay.contains(&secret[12..30]), "part of a secret reached the database file");
    }
}

#[tokio::test]
async fn a_request_id_is_diagnosable_the_moment_its_response_is_sent() {
    // A flush interval no test waits for: only flushing on demand finds the row.
    let node = Node::start_with(|c| c.call_log.flush_interval_ms = 600_000).await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let resp = node.get_bearer("/orders/v1/items", &format!("{key}x")).await;
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let d = node.ok("POST", "/admin/v1/diagnose", json!({"request_id": id})).await;
    assert_eq!(d["outcome"]["code"], "credential_malformed", "{d}");
    let resp = node.get_bearer("/orders/v1/items", &key).await;
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let v = node.ok("GET", &format!("/admin/v1/logs?request_id={id}"), Value::Null).await;
    assert_eq!(v["data"][0]["request_id"], id.as_str(), "{v}");
}

#[tokio::test]
async fn with_the_call_log_off_calls_are_served_and_nothing_is_logged() {
    let node = Node::start_with(|c| c.call_log.enabled = false).await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let ok = node.get_bearer("/orders/v1/items", &key).await;
    assert_eq!(ok.status(), 200);
    let id = ok.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(node.get("/orders/v1/items", &[]).await.status(), 401);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let by_id = node.ok("GET", &format!("/admin/v1/logs?request_id={id}"), Value::Null).await;
    assert_eq!(by_id["data"].as_array().map(Vec::len), Some(0), "{by_id}");
    let all = node.ok("GET", "/admin/v1/logs", Value::Null).await;
    assert_eq!(all["data"].as_array().map(Vec::len), Some(0), "{all}");
}
