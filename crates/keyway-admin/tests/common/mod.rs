//! Test harness: the admin router over an in-memory SQLite store,
//! driven with `oneshot`.
#![allow(dead_code, reason = "each test binary uses part of the harness")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test harness fails loudly")]

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use keyway_admin::{bootstrap_admin_token, router, AdminState};
use keyway_core::key_format::{KeyEnv, KeyHasher};
use keyway_core::records::AuditQuery;
use keyway_core::sealed::{Sealer, PROVIDER_CREDENTIALS};
use keyway_pipeline::{Settings, SnapshotHandle};
use keyway_store::sqlite::SqliteStore;
use keyway_store::Store;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

/// One answer, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Resp {
    /// Asserts an RFC 9457 problem with this status and code; returns the body.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "status (expected {code}): {}", self.text);
        assert_eq!(self.headers.get("content-type").unwrap(), "application/problem+json", "{}", self.text);
        assert_eq!(self.json["code"], code, "{}", self.text);
        assert_eq!(self.json["status"], status, "{}", self.text);
        assert_eq!(self.json["type"], format!("https://keyway.dev/errors/{code}"));
        assert!(self.json["title"].is_string());
        assert!(self.json["detail"].is_string());
        let rid = self.headers.get("x-request-id").unwrap().to_str().unwrap();
        assert_eq!(self.json["request_id"], rid);
        &self.json
    }
}

pub struct Harness {
    pub state: AdminState,
    pub token: String,
    pub app: Router,
}

pub const SECRET: &[u8] = b"test server secret";

/// The provider-credential sealer the harness's admin API uses.
pub fn sealer() -> Sealer {
    Sealer::derive(SECRET, PROVIDER_CREDENTIALS)
}

/// The HMAC-key sealer of the test settings.
pub fn hmac_sealer() -> Sealer {
    Sealer::derive(SECRET, keyway_core::sealed::HMAC_KEYS)
}

impl Harness {
    pub async fn new() -> Self {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
        Self::with_store(store).await
    }

    pub async fn with_store(store: Arc<dyn Store>) -> Self {
        let hasher = KeyHasher::new(SECRET);
        let token = bootstrap_admin_token(store.as_ref(), &hasher, Some("kwadm_test_token")).await.unwrap();
        assert_eq!(token, None);
        let state = AdminState {
            store,
            snapshot: Arc::new(SnapshotHandle::default()),
            settings: Settings { environment: KeyEnv::Live, hasher, credentials: sealer(), hmac_keys: hmac_sealer() },
            metrics: Arc::new(|| "# TYPE keyway_up gauge\nkeyway_up 1\n".to_owned()),
            admin_addr: None,
            call_log: None,
            credential_health: Default::default(),
        };
        Harness { app: router(state.clone()), state, token: "kwadm_test_token".to_owned() }
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert!(status.as_u16() < 500 || status == StatusCode::SERVICE_UNAVAILABLE, "server error: {status} {text}");
        Resp { status, headers, text, json }
    }

    /// An authenticated call with an optional JSON body.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let mut b = Request::builder().method(method).uri(path).header("authorization", format!("Bearer {}", self.token));
        let body = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.send(b.body(body).unwrap()).await
    }

    /// An authenticated call with a raw body and content type.
    pub async fn raw(&self, method: &str, path: &str, content_type: Option<&str>, body: impl Into<Body>) -> Resp {
        let mut b = Request::builder().method(method).uri(path).header("authorization", format!("Bearer {}", self.token));
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        self.send(b.body(body.into()).unwrap()).await
    }

    /// An unauthenticated GET with optional extra headers.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut b = Request::builder().method("GET").uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        self.send(b.body(Body::empty()).unwrap()).await
    }

    /// A successful call (2xx): returns the body.
    pub async fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let body = if body.is_null() { None } else { Some(body) };
        let r = self.call(method, path, body).await;
        assert!(r.status.is_success(), "{method} {path}: {} {}", r.status, r.text);
        r.json
    }

    /// Everything stored plus the snapshot revision: equal before and
    /// after a refused write.
    pub async fn fingerprint(&self) -> String {
        let dump = self.state.store.load_all().await.unwrap();
        let audit = self.audit_count().await;
        format!("{dump:?}\naudit={audit}\nrevision={}", self.state.snapshot.load().revision)
    }

    pub async fn audit_count(&self) -> usize {
        self.state.store.audit(&AuditQuery { limit: 100_000, ..Default::default() }).await.unwrap().len()
    }

    /// A tenant with an owner, an app and an API at `base_path`.
    pub async fn world(&self, slug: &str, base_path: &str) -> World {
        let t = self.ok("POST", "/admin/v1/tenants", json!({"slug": slug, "name": slug})).await;
        let tenant = id(&t);
        let u = self
            .ok(
                "POST",
                &format!("/admin/v1/tenants/{tenant}/users"),
                json!({"email": format!("owner@{slug}.test"), "role": "owner"}),
            )
            .await;
        let user = id(&u);
        let a = self
            .ok(
                "POST",
                &format!("/admin/v1/tenants/{tenant}/apps"),
                json!({"name": format!("{slug}-app"), "owner_user_id": user}),
            )
            .await;
        let app = id(&a);
        let api = self.ok("POST", &format!("/admin/v1/tenants/{tenant}/apis"), api_body(base_path)).await;
        World { tenant, user, app, api: id(&api) }
    }

    /// Creates a key; returns (id, key text).
    pub async fn new_key(&self, app: &str, body: Value) -> (String, String) {
        let k = self.ok("POST", &format!("/admin/v1/apps/{app}/keys"), body).await;
        (id(&k), k["key"].as_str().unwrap().to_owned())
    }
}

pub fn api_body(base_path: &str) -> Value {
    json!({
        "name": "orders", "version": "v1", "base_path": base_path,
        "upstream": {"targets": [{"url": "http://127.0.0.1:9"}]},
        "auth": ["api_key"], "requires_approval": false, "visibility": "private"
    })
}

pub fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_owned()
}

pub struct World {
    pub tenant: String,
    pub user: String,
    pub app: String,
    pub api: String,
}
