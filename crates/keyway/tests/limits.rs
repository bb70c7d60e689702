//! Stage 6 through real listeners: request rates at the key, app, tenant
//! and API levels with the IETF RateLimit headers, and quotas that survive
//! a restart.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test harness code")]

mod common;

use common::*;
use serde_json::{json, Value};

const P: &str = "/orders/v1/items";

#[tokio::test]
async fn a_keys_rate_limit_trips_with_headers_naming_the_level() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({"rate_limit": {"requests": 2, "per_seconds": 60}})).await;
    let first = node.get_bearer(P, &key).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["ratelimit-policy"], "\"key\";q=2;w=60");
    assert!(first.headers()["ratelimit"].to_str().unwrap().starts_with("\"key\";r=1;t="));
    assert_eq!(node.get_bearer(P, &key).await.status(), 200);
    let resp = node.get_bearer(P, &key).await;
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "GCRA: one request every 30 s: {retry}");
    assert_eq!(resp.headers()["ratelimit"].to_str().unwrap().split(';').nth(1), Some("r=0"));
    let body = expect_refusal(resp, 429, "rate_limited").await;
    assert!(body["detail"].as_str().unwrap().contains("key's rate limit of 2 requests per 60 s"), "{body}");
    // Another key of the same app is not affected.
    let (_, other) = new_key(&node, &w.app, json!({})).await;
    assert_eq!(node.get_bearer(P, &other).await.status(), 200);
}

#[tokio::test]
async fn app_default_key_rate_and_app_tenant_api_levels() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    // The app's default rate per key applies to keys without their own...
    node.ok(
        "PATCH",
        &format!("/admin/v1/apps/{}", w.app),
        json!({"limits": {"key_rate_limit": {"requests": 1, "per_seconds": 60}}}),
    )
    .await;
    let (_, plain) = new_key(&node, &w.app, json!({})).await;
    let (_, own) = new_key(&node, &w.app, json!({"rate_limit": {"requests": 3, "per_seconds": 60}})).await;
    assert_eq!(node.get_bearer(P, &plain).await.status(), 200);
    expect_refusal(node.get_bearer(P, &plain).await, 429, "rate_limited").await;
    // ...and a key's own limit overrides it.
    for _ in 0..3 {
        assert_eq!(node.get_bearer(P, &own).await.status(), 200);
    }
    expect_refusal(node.get_bearer(P, &own).await, 429, "rate_limited").await;

    // The API's limit counts every caller.
    node.ok("PATCH", &format!("/admin/v1/apps/{}", w.app), json!({"limits": {}})).await;
    node.ok("PATCH", &format!("/admin/v1/apis/{}", w.api), json!({"limits": {"rate_limit": {"requests": 2, "per_seconds": 60}}}))
        .await;
    let (_, a) = new_key(&node, &w.app, json!({})).await;
    let (_, b) = new_key(&node, &w.app, json!({})).await;
    assert_eq!(node.get_bearer(P, &a).await.status(), 200);
    assert_eq!(node.get_bearer(P, &b).await.status(), 200);
    let body = expect_refusal(node.get_bearer(P, &a).await, 429, "rate_limited").await;
    assert!(body["detail"].as_str().unwrap().contains("API's"), "{body}");

    // The tenant's limit.
    node.ok("PATCH", &format!("/admin/v1/apis/{}", w.api), json!({"limits": {}})).await;
    node.ok(
        "PATCH",
        &format!("/admin/v1/tenants/{}", w.tenant),
        json!({"limits": {"rate_limit": {"requests": 1, "per_seconds": 60}}}),
    )
    .await;
    let (_, c) = new_key(&node, &w.app, json!({})).await;
    assert_eq!(node.get_bearer(P, &c).await.status(), 200);
    let body = expect_refusal(node.get_bearer(P, &c).await, 429, "rate_limited").await;
    assert!(body["detail"].as_str().unwrap().contains("team's"), "{body}");
    // Bad limits are refused and change nothing.
    let (status, v) = node
        .admin(
            "PATCH",
            &format!("/admin/v1/tenants/{}", w.tenant),
            json!({"limits": {"key_rate_limit": {"requests": 1, "per_seconds": 1}}}),
        )
        .await;
    assert_eq!((status, v["param"].as_str()), (400, Some("limits.key_rate_limit")));
}

#[tokio::test]
async fn quotas_survive_a_restart() {
    let mut node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    node.ok("PATCH", &format!("/admin/v1/apps/{}", w.app), json!({"limits": {"quota": {"requests": 3, "period": "day"}}})).await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    for _ in 0..2 {
        assert_eq!(node.get_bearer(P, &key).await.status(), 200);
    }
    node.restart().await;
    assert_eq!(node.get_bearer(P, &key).await.status(), 200, "the third of three");
    let resp = node.get_bearer(P, &key).await;
    assert!(resp.headers().get("retry-after").is_some());
    let body = expect_refusal(resp, 429, "quota_exceeded").await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("3 requests per day") && detail.contains("resets at"), "{detail}");
    // A key quota, too, and refused requests do not count against it.
    let (_, k2) = new_key(&node, &w.app, json!({"quota": {"requests": 1, "period": "month"}})).await;
    expect_refusal(node.get_bearer(P, &k2).await, 429, "quota_exceeded").await;
    node.ok("PATCH", &format!("/admin/v1/apps/{}", w.app), json!({"limits": {}})).await;
    assert_eq!(node.get_bearer(P, &k2).await.status(), 200, "the refused call did not use the key's quota");
    expect_refusal(node.get_bearer(P, &k2).await, 429, "quota_exceeded").await;
}

#[tokio::test]
async fn limits_are_in_the_trace() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({"rate_limit": {"requests": 1, "per_seconds": 60}})).await;
    node.get_bearer(P, &key).await;
    let resp = node.get_bearer(P, &key).await;
    let rid = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let mut d = Value::Null;
    for _ in 0..100 {
        let (status, v) = node.admin("POST", "/admin/v1/diagnose", json!({"request_id": rid})).await;
        if status == 200 {
            d = v;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(d["outcome"]["code"], "rate_limited");
    let limits = &d["steps"][5];
    assert_eq!((limits["stage"].as_str(), limits["result"].as_str()), (Some("limits"), Some("fail")));
    assert_eq!(d["steps"][6]["result"], "not_reached");
}
