//! Keyway's storage: the source of truth behind the admin API and the
//! snapshot the gateway reads at start-up.
//!
//! [`Store`] is the seam; [`sqlite::SqliteStore`] is the embedded
//! implementation. A PostgreSQL implementation slots in beside it without
//! touching the request path, which never calls the store per request.

mod call_frame;
pub mod sqlite;
mod trace_codec;

use async_trait::async_trait;
use keyway_core::certificates::ClientCertificate;
use keyway_core::change::Change;
use keyway_core::hmac_keys::HmacKey;
use keyway_core::ids::{
    AdminTokenId, ApiId, AppId, CertificateId, HmacKeyId, IssuerId, KeyId, ModelId, ProviderId, SubscriptionId, TenantId, UserId,
};
use keyway_core::issuers::JwtIssuer;
use keyway_core::model::{Api, ApiKey, App, Subscription, Tenant, User};
use keyway_core::providers::{AiModel, Provider};
use keyway_core::records::{AuditEntry, AuditQuery, CallLogRow, LogQuery};
use keyway_core::rollup::{Level, RollupQuery, RollupRow};
use keyway_core::Timestamp;
use std::sync::Arc;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique field clashes with an existing row (e.g. a tenant slug).
    #[error("conflict: {0}")]
    Conflict(String),
    /// An update named a row that does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The backend failed (I/O, corruption, driver error).
    #[error("storage backend: {0}")]
    Backend(String),
}

/// Where [`Store::load_all_streaming`] sends the keys it reads.
pub trait KeySink: Send {
    /// How many keys are coming (told once, before the first), so the
    /// receiver can size its tables once instead of growing them.
    fn expect(&mut self, count: usize);
    /// One key, in storage order.
    fn key(&mut self, key: ApiKey);
}

/// Collects the keys, for a reader that wants them all at once.
impl KeySink for Vec<ApiKey> {
    fn expect(&mut self, count: usize) {
        self.reserve(count);
    }

    fn key(&mut self, key: ApiKey) {
        self.push(key);
    }
}

/// Everything the gateway's snapshot is built from.
#[derive(Clone, Debug, Default)]
pub struct StateDump {
    /// All tenants.
    pub tenants: Vec<Tenant>,
    /// All users (deleted ones included: their keys must say so).
    pub users: Vec<User>,
    /// All apps (deleted ones included).
    pub apps: Vec<App>,
    /// All keys.
    pub keys: Vec<ApiKey>,
    /// All APIs (retired ones included: they answer 410).
    pub apis: Vec<Api>,
    /// All subscriptions, whatever their status.
    pub subscriptions: Vec<Subscription>,
    /// All AI providers (deleted ones included), credentials sealed.
    pub providers: Vec<keyway_core::providers::Provider>,
    /// All AI models (deleted ones included).
    pub models: Vec<keyway_core::providers::AiModel>,
    /// All trusted JWT issuers (deleted ones included).
    pub issuers: Vec<keyway_core::issuers::JwtIssuer>,
    /// All client certificate bindings (deleted ones included).
    pub certificates: Vec<keyway_core::certificates::ClientCertificate>,
    /// All apps' HMAC signing keys (revoked ones included), secrets sealed.
    pub hmac_keys: Vec<keyway_core::hmac_keys::HmacKey>,
}

/// An admin token as stored: its digest, never the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminToken {
    /// Id, `adm_…`.
    pub id: AdminTokenId,
    /// Label.
    pub name: String,
    /// Keyed digest of the token text.
    pub digest: [u8; 32],
    /// Creation time.
    pub created_at: Timestamp,
}

/// Requests counted against one quota in one period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaUsageRow {
    /// Level of the subject: `key`, `app`, `tenant` or `api`.
    pub level: String,
    /// The subject's id.
    pub subject: String,
    /// `day` or `month`.
    pub period: String,
    /// Start of the period (UTC).
    pub period_start: Timestamp,
    /// Requests counted.
    pub used: u64,
}

/// Storage backend. All methods are safe to call concurrently.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Checks the backend answers (for `/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Finishes pending background work of the backend before the process
    /// exits (called once, after the last write). The default does nothing.
    async fn close(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Copies committed writes back from the backend's write-ahead log,
    /// if it has one, without blocking writers. The node calls it every
    /// second so that no admin write pays for a checkpoint. The default
    /// does nothing.
    async fn checkpoint(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Applies `changes` and records `audit` in one transaction: all or
    /// nothing.
    async fn apply(&self, changes: &[Change], audit: &[AuditEntry]) -> Result<(), StoreError>;

    /// Loads every tenant, user, app, key and API.
    async fn load_all(&self) -> Result<StateDump, StoreError>;

    /// [`Store::load_all`], but each key is handed to `sink` as it is read
    /// instead of collected: the answer's `keys` is empty. At a million
    /// keys this saves holding every key twice (the rows and what is built
    /// from them) while the gateway starts. The default collects, then
    /// hands them over.
    async fn load_all_streaming(&self, mut sink: Box<dyn KeySink>) -> Result<StateDump, StoreError> {
        let mut dump = self.load_all().await?;
        sink.expect(dump.keys.len());
        for k in std::mem::take(&mut dump.keys) {
            sink.key(k);
        }
        Ok(dump)
    }

    /// A tenant by id.
    async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError>;
    /// All tenants, oldest first.
    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError>;
    /// A user by id.
    async fn user(&self, id: &UserId) -> Result<Option<User>, StoreError>;
    /// Users of a tenant, oldest first.
    async fn users_of_tenant(&self, tenant: &TenantId) -> Result<Vec<User>, StoreError>;
    /// An app by id.
    async fn app(&self, id: &AppId) -> Result<Option<App>, StoreError>;
    /// Apps of a tenant, oldest first.
    async fn apps_of_tenant(&self, tenant: &TenantId) -> Result<Vec<App>, StoreError>;
    /// A key by id.
    async fn key(&self, id: &KeyId) -> Result<Option<ApiKey>, StoreError>;
    /// Keys of an app, oldest first.
    async fn keys_of_app(&self, app: &AppId) -> Result<Vec<ApiKey>, StoreError>;
    /// An API by id.
    async fn api(&self, id: &ApiId) -> Result<Option<Api>, StoreError>;
    /// APIs of a tenant, oldest first.
    async fn apis_of_tenant(&self, tenant: &TenantId) -> Result<Vec<Api>, StoreError>;

    /// A subscription by id.
    async fn subscription(&self, id: &SubscriptionId) -> Result<Option<Subscription>, StoreError>;
    /// Subscriptions to an API, oldest first.
    async fn subscriptions_of_api(&self, api: &ApiId) -> Result<Vec<Subscription>, StoreError>;
    /// Subscriptions of an app, oldest first.
    async fn subscriptions_of_app(&self, app: &AppId) -> Result<Vec<Subscription>, StoreError>;

    /// An AI provider by id (deleted ones included), credentials sealed.
    async fn provider(&self, id: &ProviderId) -> Result<Option<Provider>, StoreError>;
    /// AI providers of a tenant (deleted ones included), oldest first.
    async fn providers_of_tenant(&self, tenant: &TenantId) -> Result<Vec<Provider>, StoreError>;
    /// An AI model by id (deleted ones included).
    async fn model(&self, id: &ModelId) -> Result<Option<AiModel>, StoreError>;
    /// AI models of a tenant (deleted ones included), oldest first.
    async fn models_of_tenant(&self, tenant: &TenantId) -> Result<Vec<AiModel>, StoreError>;
    /// A trusted JWT issuer by id (deleted ones included).
    async fn issuer(&self, id: &IssuerId) -> Result<Option<JwtIssuer>, StoreError>;
    /// Trusted JWT issuers of a tenant (deleted ones included), oldest first.
    async fn issuers_of_tenant(&self, tenant: &TenantId) -> Result<Vec<JwtIssuer>, StoreError>;
    /// A client certificate binding by id (deleted ones included).
    async fn certificate(&self, id: &CertificateId) -> Result<Option<ClientCertificate>, StoreError>;
    /// Client certificate bindings of an app (deleted ones included), oldest first.
    async fn certificates_of_app(&self, app: &AppId) -> Result<Vec<ClientCertificate>, StoreError>;
    /// The live binding of a fingerprint (lowercase hex), if any.
    async fn certificate_by_fingerprint(&self, sha256: &str) -> Result<Option<ClientCertificate>, StoreError>;
    /// An app's HMAC signing key by id (revoked ones included), sealed.
    async fn hmac_key(&self, id: &HmacKeyId) -> Result<Option<HmacKey>, StoreError>;
    /// An app's HMAC signing keys (revoked ones included), oldest first.
    async fn hmac_keys_of_app(&self, app: &AppId) -> Result<Vec<HmacKey>, StoreError>;

    /// Records when keys were last used (batched by the gateway). Unknown
    /// ids are ignored; an older time never overwrites a newer one.
    async fn touch_keys(&self, used: &[(KeyId, Timestamp)]) -> Result<(), StoreError>;

    /// Quota counters of periods that started at or after `since`.
    async fn quota_usage(&self, since: Timestamp) -> Result<Vec<QuotaUsageRow>, StoreError>;
    /// Upserts quota counters in one transaction; a stored count is never
    /// lowered.
    async fn save_quota_usage(&self, rows: &[QuotaUsageRow]) -> Result<(), StoreError>;

    /// Appends call-log rows in one transaction. The batch is shared, not
    /// copied: the writer keeps it to fold into the rollups afterwards.
    async fn insert_call_batch(&self, rows: Arc<Vec<CallLogRow>>) -> Result<(), StoreError>;
    /// [`Store::insert_call_batch`] of a copy of `rows` (tests and tools).
    async fn insert_calls(&self, rows: &[CallLogRow]) -> Result<(), StoreError> {
        self.insert_call_batch(Arc::new(rows.to_vec())).await
    }
    /// Reads call-log rows, newest first.
    async fn calls(&self, query: &LogQuery) -> Result<Vec<CallLogRow>, StoreError>;
    /// Deletes call-log rows older than `before`; returns how many. Done
    /// in small transactions, so the call-log writer is never held up for
    /// long.
    async fn purge_calls(&self, before: Timestamp) -> Result<u64, StoreError>;

    /// Adds `rows` (minute, hour and day rows of every grain, of calls not
    /// counted yet) into the stored rollups, merging each into its row
    /// (the rows of each grain count every call once), and raises the
    /// watermark to `watermark` (every call before it is counted), in one
    /// transaction.
    async fn save_rollups(&self, rows: Arc<Vec<RollupRow>>, watermark: Timestamp) -> Result<(), StoreError>;
    /// Stored rollups of `query`'s grain and level matching it, oldest
    /// bucket first; merged per `query.merge` when it is given.
    async fn rollups(&self, query: &RollupQuery) -> Result<Vec<RollupRow>, StoreError>;
    /// Starts counting calls in rollups from `at` (calls stored before
    /// are not counted; the log reader scans them instead), unless that
    /// was done before; returns the watermark: every call from the start
    /// up to it is counted.
    async fn start_rollups(&self, at: Timestamp) -> Result<Timestamp, StoreError>;
    /// Deletes rollups of `level` (of every grain) whose bucket starts
    /// before `before`; returns how many (in small transactions, like
    /// `purge_calls`).
    async fn purge_rollups(&self, level: Level, before: Timestamp) -> Result<u64, StoreError>;

    /// Reads audit entries, newest first.
    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;

    /// Stores an admin token's digest.
    async fn insert_admin_token(&self, token: &AdminToken) -> Result<(), StoreError>;
    /// Finds an admin token by digest.
    async fn admin_token_by_digest(&self, digest: &[u8; 32]) -> Result<Option<AdminToken>, StoreError>;
    /// How many admin tokens exist.
    async fn admin_token_count(&self) -> Result<u64, StoreError>;
}
