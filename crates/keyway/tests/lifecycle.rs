//! Each lifecycle event is seen by the very next request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test harness code")]

mod common;

use common::*;
use serde_json::json;

const P: &str = "/orders/v1/items";

#[tokio::test]
async fn revoke_is_seen_by_the_next_request_with_reason_and_time() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (id, key) = new_key(&node, &w.app, json!({})).await;
    assert_eq!(node.get_bearer(P, &key).await.status(), 200);
    node.ok("POST", &format!("/admin/v1/keys/{id}/revoke"), json!({"reason": "leaked in a CI log"})).await;
    let body = expect_refusal(node.get_bearer(P, &key).await, 401, "key_revoked").await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("leaked in a CI log") && detail.contains(&key[..12]), "{detail}");
    assert!(!body.to_string().contains(&key), "full key must never appear");
}

#[tokio::test]
async fn expiry_is_seen_once_the_time_passes() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let at = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let (_, key) = new_key(&node, &w.app, json!({"expires_at": at.to_rfc3339()})).await;
    assert_eq!(node.get_bearer(P, &key).await.status(), 200);
    // Wait for the expiry instant itself, then the very next request fails.
    while chrono::Utc::now() <= at {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let body = expect_refusal(node.get_bearer(P, &key).await, 401, "key_expired").await;
    assert!(body["detail"].as_str().unwrap().contains("server time"), "{body}");
}

#[tokio::test]
async fn rotated_key_works_during_grace_and_fails_after() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (id, old) = new_key(&node, &w.app, json!({})).await;
    let new = node.ok("POST", &format!("/admin/v1/keys/{id}/rotate"), json!({"grace_seconds": 3600})).await;
    let new_key_text = new["key"].as_str().unwrap().to_owned();
    assert_eq!(node.get_bearer(P, &old).await.status(), 200, "old key works during grace");
    assert_eq!(node.get_bearer(P, &new_key_text).await.status(), 200, "new key works");

    // Rotating the new key with no grace: it fails at once, naming its successor.
    let newer =
        node.ok("POST", &format!("/admin/v1/keys/{}/rotate", new["id"].as_str().unwrap()), json!({"grace_seconds": 0})).await;
    let body = expect_refusal(node.get_bearer(P, &new_key_text).await, 401, "key_rotated").await;
    let newer_prefix = newer["prefix"].as_str().unwrap();
    assert!(body["hint"].as_str().unwrap().contains(newer_prefix), "{body}");
    assert_eq!(node.get_bearer(P, newer["key"].as_str().unwrap()).await.status(), 200);
}

#[tokio::test]
async fn user_suspend_and_delete() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    node.ok("PATCH", &format!("/admin/v1/users/{}", w.user), json!({"status": "suspended", "reason": "offboarding"})).await;
    let body = expect_refusal(node.get_bearer(P, &key).await, 403, "key_owner_suspended").await;
    assert!(!body.to_string().contains("owner@acme.test"), "no emails to callers: {body}");
    assert!(!body.to_string().contains("offboarding"), "the reason is the operator's: {body}");
    node.ok("PATCH", &format!("/admin/v1/users/{}", w.user), json!({"status": "active"})).await;
    assert_eq!(node.get_bearer(P, &key).await.status(), 200);
    node.ok("DELETE", &format!("/admin/v1/users/{}", w.user), serde_json::Value::Null).await;
    expect_refusal(node.get_bearer(P, &key).await, 403, "key_owner_deleted").await;
}

#[tokio::test]
async fn app_suspend() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    node.ok("PATCH", &format!("/admin/v1/apps/{}", w.app), json!({"status": "suspended"})).await;
    let body = expect_refusal(node.get_bearer(P, &key).await, 403, "key_owner_suspended").await;
    assert!(body["detail"].as_str().unwrap().contains("acme-app"), "names the app: {body}");
    node.ok("PATCH", &format!("/admin/v1/apps/{}", w.app), json!({"status": "active"})).await;
    assert_eq!(node.get_bearer(P, &key).await.status(), 200);
}

#[tokio::test]
async fn tenant_suspend() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    node.ok("PATCH", &format!("/admin/v1/tenants/{}", w.tenant), json!({"status": "suspended"})).await;
    expect_refusal(node.get_bearer(P, &key).await, 403, "tenant_suspended").await;
    node.ok("PATCH", &format!("/admin/v1/tenants/{}", w.tenant), json!({"status": "active"})).await;
    assert_eq!(node.get_bearer(P, &key).await.status(), 200);
}

#[tokio::test]
async fn last_used_at_is_recorded_without_a_write_per_request() {
    let node = Node::start_with(|c| c.keys.usage_flush_interval_ms = 100).await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (id, key) = new_key(&node, &w.app, json!({})).await;
    let before = node.ok("GET", &format!("/admin/v1/keys/{id}"), serde_json::Value::Null).await;
    assert!(before["last_used_at"].is_null());
    for _ in 0..5 {
        assert_eq!(node.get_bearer(P, &key).await.status(), 200);
    }
    let mut seen = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let k = node.ok("GET", &format!("/admin/v1/keys/{id}"), serde_json::Value::Null).await;
        if k["last_used_at"].is_string() {
            seen = true;
            break;
        }
    }
    assert!(seen, "last_used_at never flushed");
}

#[tokio::test]
async fn app_delete() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    node.ok("DELETE", &format!("/admin/v1/apps/{}", w.app), serde_json::Value::Null).await;
    let body = expect_refusal(node.get_bearer(P, &key).await, 403, "key_owner_deleted").await;
    assert!(body["detail"].as_str().unwrap().contains("acme-app"), "{body}");
}
