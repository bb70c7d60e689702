//! Stage 5 through real listeners: subscriptions (with approval), scopes
//! per API and per route, client IP allow lists, and stage order.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test harness code")]

mod common;

use common::*;
use serde_json::{json, Value};

async fn api(node: &Node, tenant: &str, base: &str, extra: Value) -> String {
    let mut body = json!({"name": base.trim_start_matches('/'), "version": "v1", "base_path": base,
        "upstream": {"targets": [{"url": node.upstream_url()}]}, "auth": ["api_key"],
        "requires_approval": false, "visibility": "private"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let a = node.ok("POST", &format!("/admin/v1/tenants/{tenant}/apis"), body).await;
    a["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn subscriptions_decide_who_may_call() {
    let node = Node::start().await;
    let acme = world(&node, "acme", "/orders/v1").await;
    let globex = world(&node, "globex", "/globex/v1").await;
    let (_, acme_key) = new_key(&node, &acme.app, json!({})).await;
    let (_, globex_key) = new_key(&node, &globex.app, json!({})).await;

    // A private API of acme without a subscription of the app.
    api(&node, &acme.tenant, "/billing", json!({})).await;
    let body = expect_refusal(node.get_bearer("/billing/x", &acme_key).await, 403, "subscription_required").await;
    assert!(body["hint"].as_str().unwrap().contains("ubscribe"), "{body}");

    // A tenant-wide API needs none.
    api(&node, &acme.tenant, "/wiki", json!({"visibility": "tenant"})).await;
    assert_eq!(node.get_bearer("/wiki/x", &acme_key).await.status(), 200);
    expect_refusal(node.get_bearer("/wiki/x", &globex_key).await, 403, "tenant_mismatch").await;

    // A public API with approval: globex subscribes, waits, is approved, then revoked.
    let public = api(&node, &acme.tenant, "/partners", json!({"visibility": "public", "requires_approval": true})).await;
    expect_refusal(node.get_bearer("/partners/x", &globex_key).await, 403, "subscription_required").await;
    let sub = node.ok("POST", &format!("/admin/v1/apis/{public}/subscriptions"), json!({"app_id": globex.app})).await;
    assert_eq!(sub["status"], "pending");
    let sub_id = sub["id"].as_str().unwrap();
    let body = expect_refusal(node.get_bearer("/partners/x", &globex_key).await, 403, "subscription_pending").await;
    let requested = sub["requested_at"].as_str().unwrap();
    assert!(body["detail"].as_str().unwrap().contains(&requested[..19]), "names when it was asked: {body}");
    assert!(!body.to_string().contains("acme"), "no other tenant named: {body}");
    let d = node.ok("POST", "/admin/v1/diagnose", json!({"key": globex_key, "path": "/partners/x"})).await;
    let auth = &d["steps"][4];
    assert_eq!(auth["stage"], "authorization");
    assert!(auth["evidence"].as_str().unwrap().contains("approver: any admin of tenant acme"), "{d}");

    node.ok("POST", &format!("/admin/v1/subscriptions/{sub_id}/approve"), Value::Null).await;
    assert_eq!(node.get_bearer("/partners/x", &globex_key).await.status(), 200);
    node.ok("POST", &format!("/admin/v1/subscriptions/{sub_id}/revoke"), json!({"reason": "contract ended"})).await;
    let body = expect_refusal(node.get_bearer("/partners/x", &globex_key).await, 403, "subscription_rejected").await;
    assert!(body["detail"].as_str().unwrap().contains("contract ended"), "{body}");

    // Asking again reopens it as pending; rejecting gives the reason.
    let again = node.ok("POST", &format!("/admin/v1/apis/{public}/subscriptions"), json!({"app_id": globex.app})).await;
    assert_eq!(again["id"], sub_id);
    assert_eq!(again["status"], "pending");
    node.ok("POST", &format!("/admin/v1/subscriptions/{sub_id}/reject"), json!({"reason": "not a partner"})).await;
    let body = expect_refusal(node.get_bearer("/partners/x", &globex_key).await, 403, "subscription_rejected").await;
    assert!(body["detail"].as_str().unwrap().contains("not a partner"), "{body}");

    // Every decision is audited.
    let audit = node.ok("GET", &format!("/admin/v1/audit?resource_id={sub_id}"), Value::Null).await;
    let actions: Vec<&str> = audit["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["subscription.request", "subscription.approve", "subscription.revoke", "subscription.reject"] {
        assert!(actions.contains(&a), "{actions:?}");
    }
    // A private API takes no subscriptions from other tenants' apps.
    let (status, v) =
        node.admin("POST", &format!("/admin/v1/apis/{}/subscriptions", acme.api), json!({"app_id": globex.app})).await;
    assert_eq!((status, v["code"].as_str()), (422, Some("reference_invalid")));
    // Rejecting an approved subscription is refused: revoke it instead.
    let approved = node.ok("GET", &format!("/admin/v1/apps/{}/subscriptions", acme.app), Value::Null).await;
    let approved_id = approved["data"][0]["id"].as_str().unwrap();
    let (status, v) = node.admin("POST", &format!("/admin/v1/subscriptions/{approved_id}/reject"), json!({"reason": "x"})).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("invalid_state")));
}

#[tokio::test]
async fn scopes_per_api_and_per_route() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    node.ok(
        "PATCH",
        &format!("/admin/v1/apis/{}", w.api),
        json!({"required_scopes": ["orders"], "scope_rules": [
            {"method": "GET", "path": "/items/*", "scopes": ["orders:read"]},
            {"method": "POST", "path": "/items", "scopes": ["orders:write"]}
        ]}),
    )
    .await;
    let (_, reader) = new_key(&node, &w.app, json!({"scopes": ["orders", "orders:read"]})).await;
    let (_, bare) = new_key(&node, &w.app, json!({})).await;
    assert_eq!(node.get_bearer("/orders/v1/items/42", &reader).await.status(), 200);
    assert_eq!(node.get_bearer("/orders/v1/other", &reader).await.status(), 200);
    let resp = node.http.post(format!("{}/orders/v1/items", node.gateway)).bearer_auth(&reader).send().await.unwrap();
    let body = expect_refusal(resp, 403, "scope_insufficient").await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("orders:write") && detail.contains("orders, orders:read"), "lists needed and held: {detail}");
    let body = expect_refusal(node.get_bearer("/orders/v1/other", &bare).await, 403, "scope_insufficient").await;
    assert!(body["detail"].as_str().unwrap().contains("has none"), "{body}");
    // Bad rules are refused by the admin API and change nothing.
    let (status, v) = node
        .admin("PATCH", &format!("/admin/v1/apis/{}", w.api), json!({"scope_rules": [{"path": "/**/x", "scopes": ["a"]}]}))
        .await;
    assert_eq!((status, v["param"].as_str()), (400, Some("scope_rules[0].path")));
}

#[tokio::test]
async fn ip_allow_lists_use_the_ip_the_gateway_saw() {
    let node = Node::start_with(|c| c.gateway.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({"allowed_ips": ["10.0.0.0/8", "2001:db8::/32"]})).await;
    let body = expect_refusal(node.get_bearer("/orders/v1/x", &key).await, 403, "ip_not_allowed").await;
    assert!(body["detail"].as_str().unwrap().contains("127.0.0.1"), "says which IP it saw: {body}");
    let auth = format!("Bearer {key}");
    for client in ["10.9.8.7", "2001:db8::1"] {
        let resp = node.get("/orders/v1/x", &[("authorization", &auth), ("x-forwarded-for", client)]).await;
        assert_eq!(resp.status(), 200, "{client} is allowed behind the trusted proxy");
    }
    let resp = node.get("/orders/v1/x", &[("authorization", &auth), ("x-forwarded-for", "192.0.2.1")]).await;
    let body = expect_refusal(resp, 403, "ip_not_allowed").await;
    assert!(body["detail"].as_str().unwrap().contains("192.0.2.1"), "{body}");
}

#[tokio::test]
async fn the_earliest_failing_stage_is_reported() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let gated = api(&node, &w.tenant, "/gated", json!({"requires_approval": true, "required_scopes": ["admin"]})).await;
    let (key_id, key) = new_key(&node, &w.app, json!({"allowed_ips": ["10.0.0.0/8"]})).await;
    // No subscription, no scope, wrong IP: the subscription is named first.
    expect_refusal(node.get_bearer("/gated/x", &key).await, 403, "subscription_required").await;
    node.ok("POST", &format!("/admin/v1/apis/{gated}/subscriptions"), json!({"app_id": w.app})).await;
    expect_refusal(node.get_bearer("/gated/x", &key).await, 403, "subscription_pending").await;
    // Revoking the key trumps everything after the key stage.
    node.ok("POST", &format!("/admin/v1/keys/{key_id}/revoke"), json!({"reason": "rotated out"})).await;
    expect_refusal(node.get_bearer("/gated/x", &key).await, 401, "key_revoked").await;
    // And a missing credential comes before the key stage.
    expect_refusal(node.get("/gated/x", &[]).await, 401, "credential_missing").await;
}

#[tokio::test]
async fn public_apis_are_listed_for_every_tenant() {
    let node = Node::start().await;
    let acme = world(&node, "acme", "/orders/v1").await;
    let globex = world(&node, "globex", "/globex/v1").await;
    api(&node, &acme.tenant, "/partners", json!({"visibility": "public"})).await;
    api(&node, &acme.tenant, "/internal", json!({"visibility": "tenant"})).await;
    let names = |v: Value| -> Vec<String> {
        v["data"].as_array().unwrap().iter().map(|a| a["base_path"].as_str().unwrap().to_owned()).collect()
    };
    let globex_sees = names(node.ok("GET", &format!("/admin/v1/tenants/{}/catalog", globex.tenant), Value::Null).await);
    assert_eq!(globex_sees, ["/globex/v1", "/partners"]);
    let acme_sees = names(node.ok("GET", &format!("/admin/v1/tenants/{}/catalog", acme.tenant), Value::Null).await);
    assert_eq!(acme_sees, ["/orders/v1", "/partners", "/internal"]);
}
