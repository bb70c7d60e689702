//! Bad input of every kind gets the right 4xx problem, never a 5xx, and
//! changes nothing: not the store, not the audit log, not the snapshot.

mod common;

use common::{Harness, World};
use serde_json::json;

async fn setup() -> (Harness, World) {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    (h, w)
}

#[tokio::test]
async fn malformed_json_wrong_types_and_unknown_fields() {
    let (h, w) = setup().await;
    let before = h.fingerprint().await;
    let tenants = "/admin/v1/tenants";
    let users = format!("/admin/v1/tenants/{}/users", w.tenant);
    let apps = format!("/admin/v1/tenants/{}/apps", w.tenant);
    let cases: Vec<(String, String, Option<&str>)> = vec![
        // Malformed JSON: no param.
        (tenants.into(), r#"{"slug": "x", "name": "#.into(), None),
        (tenants.into(), r#"{"slug": "x", "name": "y"} {"#.into(), None),
        (tenants.into(), "not json".into(), None),
        (tenants.into(), "".into(), None),
        (tenants.into(), "[1, 2]".into(), None),
        (tenants.into(), "null".into(), None),
        // Unknown fields.
        (tenants.into(), r#"{"slug": "x", "name": "y", "owner": "z"}"#.into(), Some("owner")),
        (users.clone(), r#"{"email": "a@b.c", "role": "owner", "admin": true}"#.into(), Some("admin")),
        // Missing and wrongly typed fields.
        (tenants.into(), r#"{"name": "y"}"#.into(), Some("slug")),
        (tenants.into(), r#"{"slug": 5, "name": "y"}"#.into(), Some("slug")),
        (users.clone(), r#"{"email": ["a@b.c"], "role": "owner"}"#.into(), Some("email")),
        (users.clone(), r#"{"email": "a@b.c", "role": "superuser"}"#.into(), Some("role")),
        (apps.clone(), r#"{"name": "x", "owner_user_id": null}"#.into(), Some("owner_user_id")),
        // Bad values.
        (tenants.into(), r#"{"slug": "Not A Slug", "name": "y"}"#.into(), Some("slug")),
        (tenants.into(), r#"{"slug": "-x", "name": "y"}"#.into(), Some("slug")),
        (tenants.into(), r#"{"slug": "x", "name": "   "}"#.into(), Some("name")),
        (users.clone(), r#"{"email": "no-at-sign", "role": "owner"}"#.into(), Some("email")),
        (users.clone(), r#"{"email": "a b@c.d", "role": "owner"}"#.into(), Some("email")),
        (users.clone(), r#"{"email": "x@y.z", "role": "owner", "password": "short"}"#.into(), Some("password")),
    ];
    for (path, body, param) in cases {
        let r = h.raw("POST", &path, Some("application/json"), body.clone()).await;
        let p = r.problem(400, "request_invalid");
        assert_eq!(p["param"].as_str(), param, "{path} {body}: {}", r.text);
    }
    assert_eq!(h.fingerprint().await, before);
}

#[tokio::test]
async fn patch_bodies_are_checked_too() {
    let (h, w) = setup().await;
    let before = h.fingerprint().await;
    let cases = [
        (format!("/admin/v1/tenants/{}", w.tenant), json!({"status": "deleted"}), Some("status")),
        (format!("/admin/v1/tenants/{}", w.tenant), json!({"reason": "why"}), Some("reason")),
        (format!("/admin/v1/tenants/{}", w.tenant), json!({}), None),
        (format!("/admin/v1/users/{}", w.user), json!({"status": "deleted"}), Some("status")),
        (format!("/admin/v1/users/{}", w.user), json!({"email": "new@x.y"}), Some("email")),
        (format!("/admin/v1/users/{}", w.user), json!({"role": "god"}), Some("role")),
        (format!("/admin/v1/apps/{}", w.app), json!({"status": "paused"}), Some("status")),
        (format!("/admin/v1/apps/{}", w.app), json!({"tenant_id": "ten_x"}), Some("tenant_id")),
        (format!("/admin/v1/apps/{}", w.app), json!({"name": ""}), Some("name")),
    ];
    for (path, body, param) in cases {
        let r = h.call("PATCH", &path, Some(body.clone())).await;
        assert_eq!(r.problem(400, "request_invalid")["param"].as_str(), param, "{path} {body}");
    }
    assert_eq!(h.fingerprint().await, before);
}

#[tokio::test]
async fn non_json_content_types_are_refused() {
    let (h, _) = setup().await;
    let before = h.fingerprint().await;
    let body = json!({"slug": "x", "name": "y"}).to_string();
    for ct in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
        h.raw("POST", "/admin/v1/tenants", ct, body.clone()).await.problem(400, "request_invalid");
    }
    // application/json with parameters, and +json types, are fine.
    let r = h.raw("POST", "/admin/v1/tenants", Some("application/json; charset=utf-8"), body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let before_ok = h.fingerprint().await;
    assert_ne!(before, before_ok);
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let (h, w) = setup().await;
    let before = h.fingerprint().await;
    let big = format!(r#"{{"slug": "big", "name": "{}"}}"#, "a".repeat(1024 * 1024 + 1));
    h.raw("POST", "/admin/v1/tenants", Some("application/json"), big.clone()).await.problem(413, "payload_too_large");
    let scopes: Vec<String> = (0..200_000).map(|i| format!("scope{i}")).collect();
    let big_key = json!({"scopes": scopes}).to_string();
    assert!(big_key.len() > 1024 * 1024);
    h.raw("POST", &format!("/admin/v1/apps/{}/keys", w.app), Some("application/json"), big_key)
        .await
        .problem(413, "payload_too_large");
    assert_eq!(h.fingerprint().await, before);
    // Just under the limit is parsed (and refused for its content, not its size).
    let near = format!(r#"{{"slug": "big", "name": "{}"}}"#, "a".repeat(1024 * 1024 - 100));
    h.raw("POST", "/admin/v1/tenants", Some("application/json"), near).await.problem(400, "request_invalid");
}

#[tokio::test]
async fn duplicates_are_409_already_exists() {
    let (h, w) = setup().await;
    let before = h.fingerprint().await;
    let r = h.call("POST", "/admin/v1/tenants", Some(json!({"slug": "acme", "name": "Other"}))).await;
    assert_eq!(r.problem(409, "already_exists")["param"], "slug");
    let users = format!("/admin/v1/tenants/{}/users", w.tenant);
    // Emails are unique per tenant, whatever their case.
    for email in ["owner@acme.test", "OWNER@acme.test"] {
        let r = h.call("POST", &users, Some(json!({"email": email, "role": "viewer"}))).await;
        assert_eq!(r.problem(409, "already_exists")["param"], "email");
    }
    let r = h.call("POST", &format!("/admin/v1/tenants/{}/apis", w.tenant), Some(common::api_body("/orders/v1"))).await;
    assert_eq!(r.problem(409, "already_exists")["param"], "base_path");
    assert_eq!(h.fingerprint().await, before);
    // The same email in another tenant is fine.
    let other = h.world("globex", "/billing/v1").await;
    h.ok("POST", &format!("/admin/v1/tenants/{}/users", other.tenant), json!({"email": "owner@acme.test", "role": "viewer"}))
        .await;
}

#[tokio::test]
async fn bad_query_strings() {
    let (h, _) = setup().await;
    for (path, param) in [
        ("/admin/v1/logs?since=yesterday", "since"),
        ("/admin/v1/logs?until=2025-13-01T00:00:00Z", "until"),
        ("/admin/v1/logs?limit=0", "limit"),
        ("/admin/v1/logs?limit=abc", "limit"),
        ("/admin/v1/logs?limit=100000", "limit"),
        ("/admin/v1/logs?code=not_a_code", "code"),
        ("/admin/v1/logs?key=kw_live_x", "key"),
        ("/admin/v1/logs?key_id=a&key_id=b", "key_id"),
        ("/admin/v1/audit?since=2025-01-01", "since"),
        ("/admin/v1/audit?resource=x", "resource"),
    ] {
        let r = h.call("GET", path, None).await;
        assert_eq!(r.problem(400, "request_invalid")["param"], param, "{path}");
    }
}
