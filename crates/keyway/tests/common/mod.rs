//! Shared harness: a real Keyway node on loopback port 0 with a temp data
//! directory, a real echo upstream, and an admin client.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::field_reassign_with_default,
    reason = "test harness shared by several test files"
)]

pub mod mtls;
pub mod raw;
pub mod receiver;
pub mod signer;
pub mod tokens;

use keyway::app::{self, Running};
use keyway::config::Config;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;

pub const ADMIN_TOKEN: &str = "kwadm_test_token_for_integration_tests_0001";

pub struct Node {
    pub running: Option<Running>,
    pub gateway: String,
    pub admin: String,
    pub data_dir: PathBuf,
    pub http: reqwest::Client,
    pub upstream: SocketAddr,
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("keyway-test-{tag}-{}-{}", std::process::id(), rand::random::<u64>()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn config(data_dir: PathBuf) -> Config {
    let mut c = Config::default();
    c.data_dir = data_dir;
    c.listen = "127.0.0.1:0".parse().unwrap();
    c.admin.listen = "127.0.0.1:0".parse().unwrap();
    c.admin.token = Some(ADMIN_TOKEN.into());
    c.call_log.flush_interval_ms = 20;
    c
}

impl Node {
    pub async fn start() -> Node {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Node {
        let upstream = keyway::echo::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let data_dir = temp_dir("node");
        let mut c = config(data_dir.clone());
        tweak(&mut c);
        let running = app::start(c).await.unwrap();
        Node {
            gateway: format!("http://{}", running.gateway_addr),
            admin: format!("http://{}", running.admin_addr),
            running: Some(running),
            data_dir,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            upstream,
        }
    }

    /// Stops the node gracefully and starts a new one on the same data
    /// directory (new ports).
    pub async fn restart(&mut self) {
        self.stop().await;
        let running = app::start(config(self.data_dir.clone())).await.unwrap();
        self.gateway = format!("http://{}", running.gateway_addr);
        self.admin = format!("http://{}", running.admin_addr);
        self.running = Some(running);
    }

    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }

    pub async fn admin(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(m, format!("{}{path}", self.admin)).bearer_auth(ADMIN_TOKEN);
        if !body.is_null() {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Admin call that must succeed.
    pub async fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, v) = self.admin(method, path, body).await;
        assert!((200..300).contains(&status), "{method} {path} -> {status}: {v}");
        v
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self.http.get(format!("{}{path}", self.gateway));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }

    pub async fn get_bearer(&self, path: &str, key: &str) -> reqwest::Response {
        self.get(path, &[("authorization", &format!("Bearer {key}"))]).await
    }

    pub fn upstream_url(&self) -> String {
        format!("http://{}", self.upstream)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// A tenant with an owner, an app and a private API at `/orders/v1`.
pub struct World {
    pub tenant: String,
    pub user: String,
    pub app: String,
    pub api: String,
}

pub async fn world(node: &Node, slug: &str, base_path: &str) -> World {
    let t = node.ok("POST", "/admin/v1/tenants", json!({"slug": slug, "name": slug})).await;
    let tenant = t["id"].as_str().unwrap().to_owned();
    let u = node
        .ok("POST", &format!("/admin/v1/tenants/{tenant}/users"), json!({"email": format!("owner@{slug}.test"), "role": "owner"}))
        .await;
    let user = u["id"].as_str().unwrap().to_owned();
    let a = node
        .ok("POST", &format!("/admin/v1/tenants/{tenant}/apps"), json!({"name": format!("{slug}-app"), "owner_user_id": user}))
        .await;
    let app = a["id"].as_str().unwrap().to_owned();
    let api = node
        .ok(
            "POST",
            &format!("/admin/v1/tenants/{tenant}/apis"),
            json!({
                "name": "orders", "version": "v1", "base_path": base_path,
                "upstream": {"targets": [{"url": node.upstream_url()}]},
                "auth": ["api_key"], "requires_approval": false, "visibility": "private"
            }),
        )
        .await;
    let api = api["id"].as_str().unwrap().to_owned();
    // A private API needs a subscription; it needs no approval here.
    let s = node.ok("POST", &format!("/admin/v1/apis/{api}/subscriptions"), json!({"app_id": app})).await;
    assert_eq!(s["status"], "approved");
    World { tenant, user, app, api }
}

/// Publishes a `tenant`-visible API of `tenant` at `base_path` in front of `upstream`.
pub async fn publish_api(node: &Node, tenant: &str, base_path: &str, upstream: &str) {
    node.ok(
        "POST",
        &format!("/admin/v1/tenants/{tenant}/apis"),
        json!({"name": base_path.trim_start_matches('/'), "version": "v1", "base_path": base_path,
               "upstream": {"targets": [{"url": upstream}]},
               "auth": ["api_key"], "requires_approval": false, "visibility": "tenant"}),
    )
    .await;
}

/// Creates a key for `app`; returns (id, key text).
pub async fn new_key(node: &Node, app: &str, body: Value) -> (String, String) {
    let k = node.ok("POST", &format!("/admin/v1/apps/{app}/keys"), body).await;
    (k["id"].as_str().unwrap().to_owned(), k["key"].as_str().unwrap().to_owned())
}

/// Asserts a refusal's status, code, envelope and headers; returns the body.
pub async fn expect_refusal(resp: reqwest::Response, status: u16, code: &str) -> Value {
    let got = resp.status().as_u16();
    let h = resp.headers().clone();
    let text = resp.text().await.unwrap();
    assert_eq!(got, status, "status for {code}: {text}");
    assert_eq!(h.get("x-keyway-error-code").and_then(|v| v.to_str().ok()), Some(code));
    assert!(h.get("x-request-id").is_some(), "x-request-id");
    assert_eq!(h.get("content-type").and_then(|v| v.to_str().ok()), Some("application/problem+json"));
    if status == 401 {
        assert!(h.get("www-authenticate").is_some(), "401 needs WWW-Authenticate");
    }
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], format!("https://keyway.dev/errors/{code}"));
    assert!(body["title"].is_string() && body["detail"].is_string(), "{body}");
    assert_eq!(body["request_id"].as_str(), h.get("x-request-id").and_then(|v| v.to_str().ok()));
    body
}

/// The call-log row of `request_id`, once stored (waits up to 2 s).
pub async fn log_row(node: &Node, request_id: &str) -> Value {
    for _ in 0..100 {
        let v = node.ok("GET", &format!("/admin/v1/logs?request_id={request_id}"), Value::Null).await;
        if let Some(row) = v["data"].as_array().and_then(|a| a.first()) {
            return row.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no call-log row for {request_id}");
}
