//! When storage fails: 503 `storage_unavailable`, no internals in the
//! body, and the snapshot is left alone.

mod common;

use async_trait::async_trait;
use common::Harness;
use keyway_core::change::Change;
use keyway_core::ids::{ApiId, AppId, KeyId, ModelId, ProviderId, SubscriptionId, TenantId, UserId};
use keyway_core::model::{Api, ApiKey, App, Subscription, Tenant, User};
use keyway_core::providers::{AiModel, Provider};
use keyway_core::records::{AuditEntry, AuditQuery, CallLogRow, LogQuery};
use keyway_core::Timestamp;
use keyway_store::sqlite::SqliteStore;
use keyway_store::{AdminToken, QuotaUsageRow, StateDump, Store, StoreError};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// SQLite that can be told to fail every call but token lookups.
struct Flaky {
    inner: SqliteStore,
    broken: AtomicBool,
}

impl Flaky {
    fn check(&self) -> Result<(), StoreError> {
        if self.broken.load(Ordering::SeqCst) {
            Err(StoreError::Backend("disk I/O error at /var/lib/keyway/keyway.db".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Store for Flaky {
    async fn ping(&self) -> Result<(), StoreError> {
        self.check()?;
        self.inner.ping().await
    }
    async fn apply(&self, changes: &[Change], audit: &[AuditEntry]) -> Result<(), StoreError> {
        self.check()?;
        self.inner.apply(changes, audit).await
    }
    async fn load_all(&self) -> Result<StateDump, StoreError> {
        self.inner.load_all().await
    }
    async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.inner.tenant(id).await
    }
    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.check()?;
        self.inner.tenants().await
    }
    async fn user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.inner.user(id).await
    }
    async fn users_of_tenant(&self, tenant: &TenantId) -> Result<Vec<User>, StoreError> {
        self.inner.users_of_tenant(tenant).await
    }
    async fn app(&self, id: &AppId) -> Result<Option<App>, StoreError> {
        self.inner.app(id).await
    }
    async fn apps_of_tenant(&self, tenant: &TenantId) -> Result<Vec<App>, StoreError> {
        self.inner.apps_of_tenant(tenant).await
    }
    async fn key(&self, id: &KeyId) -> Result<Option<ApiKey>, StoreError> {
        self.inner.key(id).await
    }
    async fn keys_of_app(&self, app: &AppId) -> Result<Vec<ApiKey>, StoreError> {
        self.inner.keys_of_app(app).await
    }
    async fn api(&self, id: &ApiId) -> Result<Option<Api>, StoreError> {
        self.inner.api(id).await
    }
    async fn apis_of_tenant(&self, tenant: &TenantId) -> Result<Vec<Api>, StoreError> {
        self.inner.apis_of_tenant(tenant).await
    }
    async fn provider(&self, id: &ProviderId) -> Result<Option<Provider>, StoreError> {
        self.inner.provider(id).await
    }
    async fn providers_of_tenant(&self, tenant: &TenantId) -> Result<Vec<Provider>, StoreError> {
        self.inner.providers_of_tenant(tenant).await
    }
    async fn issuer(&self, id: &keyway_core::ids::IssuerId) -> Result<Option<keyway_core::issuers::JwtIssuer>, StoreError> {
        self.inner.issuer(id).await
    }
    async fn issuers_of_tenant(&self, tenant: &TenantId) -> Result<Vec<keyway_core::issuers::JwtIssuer>, StoreError> {
        self.inner.issuers_of_tenant(tenant).await
    }
    async fn certificate(
        &self,
        id: &keyway_core::ids::CertificateId,
    ) -> Result<Option<keyway_core::certificates::ClientCertificate>, StoreError> {
        self.inner.certificate(id).await
    }
    async fn certificates_of_app(
        &self,
        app: &keyway_core::ids::AppId,
    ) -> Result<Vec<keyway_core::certificates::ClientCertificate>, StoreError> {
        self.inner.certificates_of_app(app).await
    }
    async fn certificate_by_fingerprint(
        &self,
        sha256: &str,
    ) -> Result<Option<keyway_core::certificates::ClientCertificate>, StoreError> {
        self.inner.certificate_by_fingerprint(sha256).await
    }
    async fn hmac_key(&self, id: &keyway_core::ids::HmacKeyId) -> Result<Option<keyway_core::hmac_keys::HmacKey>, StoreError> {
        self.inner.hmac_key(id).await
    }
    async fn hmac_keys_of_app(&self, app: &keyway_core::ids::AppId) -> Result<Vec<keyway_core::hmac_keys::HmacKey>, StoreError> {
        self.inner.hmac_keys_of_app(app).await
    }
    async fn model(&self, id: &ModelId) -> Result<Option<AiModel>, StoreError> {
        self.inner.model(id).await
    }
    async fn models_of_tenant(&self, tenant: &TenantId) -> Result<Vec<AiModel>, StoreError> {
        self.inner.models_of_tenant(tenant).await
    }
    async fn subscription(&self, id: &SubscriptionId) -> Result<Option<Subscription>, StoreError> {
        self.inner.subscription(id).await
    }
    async fn subscriptions_of_api(&self, api: &ApiId) -> Result<Vec<Subscription>, StoreError> {
        self.inner.subscriptions_of_api(api).await
    }
    async fn subscriptions_of_app(&self, app: &AppId) -> Result<Vec<Subscription>, StoreError> {
        self.inner.subscriptions_of_app(app).await
    }
    async fn quota_usage(&self, since: Timestamp) -> Result<Vec<QuotaUsageRow>, StoreError> {
        self.inner.quota_usage(since).await
    }
    async fn save_quota_usage(&self, rows: &[QuotaUsageRow]) -> Result<(), StoreError> {
        self.inner.save_quota_usage(rows).await
    }
    async fn touch_keys(&self, used: &[(KeyId, Timestamp)]) -> Result<(), StoreError> {
        self.inner.touch_keys(used).await
    }
    async fn insert_call_batch(&self, rows: std::sync::Arc<Vec<CallLogRow>>) -> Result<(), StoreError> {
        self.inner.insert_call_batch(rows).await
    }
    async fn calls(&self, query: &LogQuery) -> Result<Vec<CallLogRow>, StoreError> {
        self.check()?;
        self.inner.calls(query).await
    }
    async fn purge_calls(&self, before: Timestamp) -> Result<u64, StoreError> {
        self.inner.purge_calls(before).await
    }
    async fn save_rollups(
        &self,
        rows: std::sync::Arc<Vec<keyway_core::rollup::RollupRow>>,
        watermark: Timestamp,
    ) -> Result<(), StoreError> {
        self.inner.save_rollups(rows, watermark).await
    }
    async fn rollups(&self, query: &keyway_core::rollup::RollupQuery) -> Result<Vec<keyway_core::rollup::RollupRow>, StoreError> {
        self.check()?;
        self.inner.rollups(query).await
    }
    async fn start_rollups(&self, at: Timestamp) -> Result<Timestamp, StoreError> {
        self.inner.start_rollups(at).await
    }
    async fn purge_rollups(&self, level: keyway_core::rollup::Level, before: Timestamp) -> Result<u64, StoreError> {
        self.inner.purge_rollups(level, before).await
    }
    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.audit(query).await
    }
    async fn insert_admin_token(&self, token: &AdminToken) -> Result<(), StoreError> {
        self.inner.insert_admin_token(token).await
    }
    async fn admin_token_by_digest(&self, digest: &[u8; 32]) -> Result<Option<AdminToken>, StoreError> {
        self.inner.admin_token_by_digest(digest).await
    }
    async fn admin_token_count(&self) -> Result<u64, StoreError> {
        self.inner.admin_token_count().await
    }
}

#[tokio::test]
async fn storage_failures_are_503_and_leave_the_snapshot_alone() {
    let flaky = Arc::new(Flaky { inner: SqliteStore::open_in_memory().unwrap(), broken: AtomicBool::new(false) });
    let h = Harness::with_store(flaky.clone()).await;
    let w = h.world("acme", "/orders/v1").await;
    flaky.broken.store(true, Ordering::SeqCst);
    let revision = h.state.snapshot.load().revision;
    let audit = h.audit_count().await;

    let r = h.get_with("/readyz", &[]).await;
    r.problem(503, "storage_unavailable");
    // Liveness does not depend on storage.
    assert_eq!(h.get_with("/healthz", &[]).await.status, 200);

    for (method, path, body) in [
        ("POST", "/admin/v1/tenants".to_owned(), Some(json!({"slug": "new", "name": "New"}))),
        ("PATCH", format!("/admin/v1/users/{}", w.user), Some(json!({"status": "suspended"}))),
        ("POST", format!("/admin/v1/apps/{}/keys", w.app), Some(json!({}))),
        ("GET", "/admin/v1/logs".to_owned(), None),
    ] {
        let r = h.call(method, &path, body).await;
        r.problem(503, "storage_unavailable");
        assert!(!r.text.contains("/var/lib") && !r.text.contains("disk"), "{}", r.text);
    }
    assert_eq!(h.state.snapshot.load().revision, revision, "a failed write must not reach the snapshot");
    flaky.broken.store(false, Ordering::SeqCst);
    assert_eq!(h.audit_count().await, audit);
    assert_eq!(h.ok("GET", &format!("/admin/v1/users/{}", w.user), serde_json::Value::Null).await["status"], "active");
}
