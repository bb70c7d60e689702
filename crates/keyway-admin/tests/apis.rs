//! APIs: create with defaults, lifecycle PATCHes, successors, routes.

mod common;

use common::{api_body, id, Harness};
use keyway_core::ids::ApiId;
use keyway_core::model::ApiStatus;
use serde_json::{json, Value};

#[tokio::test]
async fn create_with_defaults_and_list_get() {
    let h = Harness::new().await;
    let tid = id(&h.ok("POST", "/admin/v1/tenants", json!({"slug": "acme", "name": "Acme"})).await);
    let r = h.call("POST", &format!("/admin/v1/tenants/{tid}/apis"), Some(api_body("/orders/v1/"))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let a = r.json;
    let aid = id(&a);
    assert!(aid.starts_with("api_"));
    assert_eq!(a["status"], "published");
    assert_eq!(a["base_path"], "/orders/v1", "trailing slash dropped");
    assert_eq!(a["key_locations"], json!(["authorization_bearer", "x_api_key"]));
    assert_eq!(a["protocol"], "rest");
    assert_eq!(a["requires_approval"], false);
    assert_eq!(a["methods"], json!([]));
    assert_eq!(a["host"], Value::Null);
    assert_eq!(a["upstream"]["targets"][0]["weight"], 1);
    assert_eq!(a["upstream"]["strip_base_path"], true);
    assert_eq!(a["tenant_id"], tid.as_str());

    // The gateway routes it at once.
    let snap = h.state.snapshot.load();
    assert_eq!(snap.routes["/orders/v1"][0].api.id.as_str(), aid);

    let full = json!({
        "name": "chat", "version": "v2", "base_path": "/chat/v2", "host": "API.Example.com",
        "methods": ["GET", "POST"], "key_locations": ["authorization_bearer", "query"], "protocol": "openai",
        "upstream": {"targets": [{"url": "https://a.internal", "weight": 3}, {"url": "http://b.internal:8080/p"}],
                     "strip_base_path": false, "timeout_ms": 2500},
        "auth": ["api_key"], "requires_approval": true, "visibility": "public", "required_scopes": ["chat"]
    });
    let b = h.ok("POST", &format!("/admin/v1/tenants/{tid}/apis"), full).await;
    assert_eq!(b["host"], "api.example.com");
    assert_eq!(b["protocol"], "openai");
    assert_eq!(b["upstream"]["timeout_ms"], 2500);
    assert_eq!(b["visibility"], "public");
    assert_eq!(b["required_scopes"], json!(["chat"]));

    let list = h.ok("GET", &format!("/admin/v1/tenants/{tid}/apis"), Value::Null).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    assert_eq!(h.ok("GET", &format!("/admin/v1/apis/{aid}"), Value::Null).await, a);
    let audit = h.ok("GET", "/admin/v1/audit?resource_type=api", Value::Null).await;
    assert_eq!(audit["data"].as_array().unwrap().len(), 2);
    assert_eq!(audit["data"][0]["action"], "api.create");
}

#[tokio::test]
async fn lifecycle_deprecate_retire_with_successor() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let v2 = id(&h.ok("POST", &format!("/admin/v1/tenants/{}/apis", w.tenant), api_body("/orders/v2")).await);
    let path = format!("/admin/v1/apis/{}", w.api);

    let d =
        h.ok("PATCH", &path, json!({"status": "deprecated", "sunset_at": "2030-01-01T00:00:00Z", "successor_api_id": v2})).await;
    assert_eq!(d["status"], "deprecated");
    assert!(d["deprecated_at"].is_string());
    assert_eq!(d["sunset_at"], "2030-01-01T00:00:00Z");
    assert_eq!(d["successor_api_id"], v2.as_str());
    let snap = h.state.snapshot.load();
    assert_eq!(snap.apis[&ApiId::from(w.api.as_str())].api.status, ApiStatus::Deprecated);

    let r = h.ok("PATCH", &path, json!({"status": "retired"})).await;
    assert_eq!(r["status"], "retired");
    assert!(r["retired_at"].is_string());
    assert_eq!(r["deprecated_at"], d["deprecated_at"], "deprecated_at is kept");
    assert_eq!(h.state.snapshot.load().apis[&ApiId::from(w.api.as_str())].api.status, ApiStatus::Retired);

    // Clearing with null.
    let c = h.ok("PATCH", &path, json!({"sunset_at": null, "successor_api_id": null})).await;
    assert_eq!((c["sunset_at"].clone(), c["successor_api_id"].clone()), (Value::Null, Value::Null));

    let audit = h.ok("GET", &format!("/admin/v1/audit?resource_id={}", w.api), Value::Null).await;
    let actions: Vec<&str> = audit["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["api.update", "api.retire", "api.deprecate", "api.create"]);

    // A new live API may take the retired one's route; un-retiring the old
    // one then clashes.
    h.ok("POST", &format!("/admin/v1/tenants/{}/apis", w.tenant), api_body("/orders/v1")).await;
    let before = h.fingerprint().await;
    let r = h.call("PATCH", &path, Some(json!({"status": "published"}))).await;
    assert_eq!(r.problem(409, "already_exists")["param"], "base_path");
    assert_eq!(h.fingerprint().await, before);
}

#[tokio::test]
async fn patch_settings() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let path = format!("/admin/v1/apis/{}", w.api);
    let p = h
        .ok(
            "PATCH",
            &path,
            json!({
                "key_locations": ["authorization_bearer", "query"], "methods": ["GET"], "visibility": "tenant",
                "required_scopes": ["orders:read"], "requires_approval": true,
                "upstream": {"targets": [{"url": "http://new.internal:81"}]}
            }),
        )
        .await;
    assert_eq!(p["key_locations"], json!(["authorization_bearer", "query"]));
    assert_eq!(p["methods"], json!(["GET"]));
    assert_eq!(p["visibility"], "tenant");
    assert_eq!(p["required_scopes"], json!(["orders:read"]));
    assert_eq!(p["requires_approval"], true);
    assert_eq!(p["upstream"]["targets"][0]["url"], "http://new.internal:81");
    let snap = h.state.snapshot.load();
    let entry = &snap.apis[&ApiId::from(w.api.as_str())];
    assert_eq!(entry.rotation.first().map(|t| &*t.url), Some("http://new.internal:81"));
}

#[tokio::test]
async fn successors_must_exist_in_the_same_tenant_and_not_be_itself() {
    let h = Harness::new().await;
    let acme = h.world("acme", "/orders/v1").await;
    let globex = h.world("globex", "/billing/v1").await;
    let path = format!("/admin/v1/apis/{}", acme.api);
    let before = h.fingerprint().await;
    for successor in [acme.api.as_str(), globex.api.as_str(), "api_nope"] {
        let r = h.call("PATCH", &path, Some(json!({"status": "retired", "successor_api_id": successor}))).await;
        assert_eq!(r.problem(422, "reference_invalid")["param"], "successor_api_id");
    }
    assert_eq!(h.fingerprint().await, before);
}

#[tokio::test]
async fn routes_are_unique_per_host_and_base_path() {
    let h = Harness::new().await;
    let acme = h.world("acme", "/orders/v1").await;
    let globex = h.world("globex", "/billing/v1").await;
    let before = h.fingerprint().await;
    // Same base path, any tenant, with or without the trailing slash.
    for (tenant, bp) in [(&acme.tenant, "/orders/v1"), (&globex.tenant, "/orders/v1/")] {
        let r = h.call("POST", &format!("/admin/v1/tenants/{tenant}/apis"), Some(api_body(bp))).await;
        assert_eq!(r.problem(409, "already_exists")["param"], "base_path");
    }
    assert_eq!(h.fingerprint().await, before);
    // Bound to a host, the same path is a different route.
    let mut body = api_body("/orders/v1");
    body["host"] = json!("orders.example.com");
    h.ok("POST", &format!("/admin/v1/tenants/{}/apis", acme.tenant), body.clone()).await;
    let r = h.call("POST", &format!("/admin/v1/tenants/{}/apis", acme.tenant), Some(body)).await;
    r.problem(409, "already_exists");
}

#[tokio::test]
async fn every_credential_kind_is_accepted_and_an_unknown_one_is_refused() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let mut body = api_body("/every/v1");
    body["auth"] = json!(["api_key", "jwt", "hmac", "mtls", "jwt"]);
    let api = h.ok("POST", &format!("/admin/v1/tenants/{}/apis", w.tenant), body).await;
    assert_eq!(api["auth"], json!(["api_key", "jwt", "hmac", "mtls"]));
    let before = h.fingerprint().await;
    let mut body = api_body("/saml/v1");
    body["auth"] = json!(["api_key", "saml"]);
    let r = h.call("POST", &format!("/admin/v1/tenants/{}/apis", w.tenant), Some(body)).await;
    r.problem(400, "request_invalid");
    assert_eq!(h.fingerprint().await, before);
}

#[tokio::test]
async fn api_input_is_validated() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let path = format!("/admin/v1/tenants/{}/apis", w.tenant);
    let before = h.fingerprint().await;
    let with = |field: &str, value: Value| {
        let mut b = api_body("/new/v1");
        let parts: Vec<&str> = field.split('.').collect();
        match parts.as_slice() {
            [f] => b[*f] = value,
            [a, c] => b[*a][*c] = value,
            _ => unreachable!(),
        }
        b
    };
    let cases = [
        (with("base_path", json!("new/v1")), "base_path"),
        (with("base_path", json!("/new//v1")), "base_path"),
        (with("base_path", json!("/new/v1?x=1")), "base_path"),
        (with("base_path", json!("/new/v1#top")), "base_path"),
        (with("base_path", json!("/new/../v1")), "base_path"),
        (with("upstream.targets", json!([])), "upstream.targets"),
        (with("upstream.targets", json!([{"url": "ftp://x"}])), "upstream.targets[0].url"),
        (with("upstream.targets", json!([{"url": "http://"}])), "upstream.targets[0].url"),
        (with("upstream.targets", json!([{"url": "x.internal"}])), "upstream.targets[0].url"),
        (with("upstream.targets", json!([{"url": "http://x", "weight": 0}])), "upstream.targets[0].weight"),
        (with("upstream.targets", json!([{"url": "http://x", "extra": 1}])), "upstream.targets[0].extra"),
        (with("upstream.timeout_ms", json!(0)), "upstream.timeout_ms"),
        (with("auth", json!([])), "auth"),
        (with("auth", json!(["basic"])), "auth[0]"),
        (with("visibility", json!("everyone")), "visibility"),
        (with("protocol", json!("grpc")), "protocol"),
        (with("methods", json!(["get"])), "methods[0]"),
        (with("key_locations", json!([])), "key_locations"),
        (with("key_locations", json!(["cookie"])), "key_locations[0]"),
        (with("host", json!("http://a.b")), "host"),
        (with("requires_approval", json!("yes")), "requires_approval"),
        (with("required_scopes", json!(["a b"])), "required_scopes[0]"),
        (with("name", json!("")), "name"),
        (with("status", json!("published")), "status"),
    ];
    for (body, param) in cases {
        let r = h.call("POST", &path, Some(body.clone())).await;
        assert_eq!(r.problem(400, "request_invalid")["param"], param, "{body}");
    }
    let mut missing = api_body("/new/v1");
    missing.as_object_mut().unwrap().remove("upstream");
    assert_eq!(h.call("POST", &path, Some(missing)).await.problem(400, "request_invalid")["param"], "upstream");

    let patch = format!("/admin/v1/apis/{}", w.api);
    for (body, param) in [
        (json!({"status": "archived"}), "status"),
        (json!({"base_path": "/x"}), "base_path"),
        (json!({"sunset_at": "soon"}), "sunset_at"),
        (json!({"upstream": {"targets": []}}), "upstream.targets"),
        (json!({"key_locations": []}), "key_locations"),
    ] {
        let r = h.call("PATCH", &patch, Some(body.clone())).await;
        assert_eq!(r.problem(400, "request_invalid")["param"], param, "{body}");
    }
    h.call("PATCH", &patch, Some(json!({}))).await.problem(400, "request_invalid");
    assert_eq!(h.fingerprint().await, before);
}
