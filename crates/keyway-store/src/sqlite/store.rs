//! [`Store`] for [`SqliteStore`]: each method moves its arguments onto the
//! blocking pool and calls the module that does the work.

use super::{
    admin_tokens, ai_rows, audit, calls, certificate_rows, entities, group, hmac_rows, issuer_rows, quota, rollups, rows, run,
    usage, SqliteStore,
};
use crate::{AdminToken, KeySink, QuotaUsageRow, StateDump, Store, StoreError};
use async_trait::async_trait;
use keyway_core::certificates::ClientCertificate;
use keyway_core::change::Change;
use keyway_core::hmac_keys::HmacKey;
use keyway_core::ids::{
    ApiId, AppId, CertificateId, HmacKeyId, IssuerId, KeyId, ModelId, ProviderId, SubscriptionId, TenantId, UserId,
};
use keyway_core::issuers::JwtIssuer;
use keyway_core::model::{Api, ApiKey, App, Subscription, Tenant, User};
use keyway_core::providers::{AiModel, Provider};
use keyway_core::records::{AuditEntry, AuditQuery, CallLogRow, LogQuery};
use keyway_core::Timestamp;
use std::sync::Arc;

use keyway_core::rollup::{Grain, Level, RollupQuery, RollupRow};

/// Rollup rows deleted per retention transaction.
const PURGE_CHUNK: usize = 1_000;
/// Call-log frames a retention transaction deletes or rewrites: a whole
/// frame goes with one row delete, so 32 of them (at most 32,768 calls)
/// keep the transaction to a few milliseconds.
const CALL_PURGE_FRAMES: usize = 32;
/// Retention transactions between two checkpoints of a call-log purge.
const PURGE_CHUNKS_PER_CHECKPOINT: u64 = 10;

fn passive_checkpoint(c: &mut rusqlite::Connection) -> Result<(), StoreError> {
    c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).map_err(super::errors::sqlite_error)
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        run(&self.main, |c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(super::errors::sqlite_error)).await
    }

    /// Copies the write-ahead log back into the database file and empties
    /// it (`wal_checkpoint(TRUNCATE)`), so the work is done here, inside
    /// the drain, instead of by SQLite when the last connection closes
    /// after "keyway stopped" (1.3-1.8 s of silent exit after a busy run).
    async fn close(&self) -> Result<(), StoreError> {
        run(&self.log, |c| c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(super::errors::sqlite_error))
            .await
    }

    /// `wal_checkpoint(PASSIVE)` on the checkpoint connection: copies
    /// what no reader still needs and never waits for, nor blocks, a
    /// writer, so commits stay a WAL append; the call-log writer keeps
    /// its connection meanwhile.
    async fn checkpoint(&self) -> Result<(), StoreError> {
        run(&self.checkpointer, passive_checkpoint).await
    }

    /// Queues the write and commits the queue: writes that arrive while
    /// another commit holds the connection commit together, each in its
    /// own savepoint (see `group.rs`). Answers once its group committed.
    async fn apply(&self, changes: &[Change], audit: &[AuditEntry]) -> Result<(), StoreError> {
        let (ticket, result) = self.queue.push(changes.to_vec(), audit.to_vec());
        let queue = Arc::clone(&self.queue);
        let ran = run(&self.main, move |c| {
            group::commit_queued(c, &queue);
            Ok(())
        })
        .await;
        // If this caller's run failed before reaching the queue, its write
        // is either still queued (taken back: never written, the failure
        // is the answer) or in another caller's group (its result comes).
        if let Err(e) = ran {
            if self.queue.withdraw(ticket) {
                return Err(e);
            }
        }
        result.await.map_err(|_| StoreError::Backend("a group commit ended without an answer".into()))?
    }

    async fn load_all(&self) -> Result<StateDump, StoreError> {
        run(&self.main, entities::load_all).await
    }

    async fn load_all_streaming(&self, mut sink: Box<dyn KeySink>) -> Result<StateDump, StoreError> {
        run(&self.main, move |c| entities::load_all_streaming(c, sink.as_mut())).await
    }

    async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let id = id.clone();
        run(&self.main, move |c| entities::by_id(c, &rows::TENANTS, id.as_str(), rows::tenant)).await
    }

    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        run(&self.main, |c| entities::all(c, &rows::TENANTS, rows::tenant)).await
    }

    async fn user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let id = id.clone();
        run(&self.main, move |c| entities::by_id(c, &rows::USERS, id.as_str(), rows::user)).await
    }

    async fn users_of_tenant(&self, tenant: &TenantId) -> Result<Vec<User>, StoreError> {
        let tenant = tenant.clone();
        run(&self.main, move |c| entities::by_parent(c, &rows::USERS, "tenant_id", tenant.as_str(), rows::user)).await
    }

    async fn app(&self, id: &AppId) -> Result<Option<App>, StoreError> {
        let id = id.clone();
        run(&self.main, move |c| entities::by_id(c, &rows::APPS, id.as_str(), rows::app)).await
    }

    async fn apps_of_tenant(&self, tenant: &TenantId) -> Result<Vec<App>, StoreError> {
        let tenant = tenant.clone();
        run(&self.main, move |c| entities::by_parent(c, &rows::APPS, "tenant_id", tenant.as_str(), rows::app)).await
    }

    async fn key(&self, id: &KeyId) -> Result<Option<ApiKey>, StoreError> {
        let id = id.clone();
        run(&self.main, move |c| entities::by_id(c, &rows::KEYS, id.as_str(), rows::key)).await
    }

    async fn keys_of_app(&self, app: &AppId) -> Result<Vec<ApiKey>, StoreError> {
        let app = app.clone();
        run(&self.main, move |c| entities::by_parent(c, &rows::KEYS, "app_id", app.as_str(), rows::key)).await
    }

    async fn api(&self, id: &ApiId) -> Result<Option<Api>, StoreError> {
        let id = id.clone();
        run(&self.main, move |c| entities::by_id(c, &rows::APIS, id.as_str(), rows::api)).await
    }

    async fn apis_of_tenant(&self, tenant: &TenantId) -> Result<Vec<Api>, StoreError> {
        let tenant = tenant.clone();
        run(&self.main, move |c| entities::by_parent(c, &rows::APIS, "tenant_id", tenant.as_str(), rows::api)).await
    }

    async fn subscription(&self, id: &SubscriptionId) -> Result<Option<Subscription>, StoreError> {
        let id = id.clone();
        run(&self.main, move |c| entities::by_id(c, &rows::SUBSCRIPTIONS, id.as_str(), rows::subscription)).await
    }

    async fn subscriptions_of_api(&self, api: &ApiId) -> Result<Vec<Subscription>, StoreError> {
        let api = api.clone();
        run(&self.main, move |c| entities::by_parent(c, &rows::SUBSCRIPTIONS, "api_id", api.as_str(), rows::subscription)).await
    }

    async fn subscriptions_of_app(&self, app: &AppId) -> Result<Vec<Subscription>, StoreError> {
        let app = app.clone();
        run(&self.main, move |c| entities::by_parent(c, &rows::SUBSCRIPTIONS, "app_id", app.as_str(), rows::subscription)).await
    }

    async fn issuer(&self, id: &IssuerId) -> Result<Option<JwtIssuer>, StoreError> {
        let id = id.clone();
        run(&self.main, move |c| entities::by_id(c, &issuer_rows::ISSUERS, id.as_str(), issuer_rows::issuer)).await
    }

    async fn issuers_of_tenant(&self, tenant: &TenantId) -> Result<Vec<JwtIssuer>, StoreError> {
        let tenant = tenant.clone();
        run(&self.main, move |c| entities::by_parent(c, &issuer_rows::ISSUERS, "tenant_id", tenant.as_str(), issuer_rows::issuer))
            .await
    }

    async fn certificate(&self, id: &CertificateId) -> Result<Option<ClientCertificate>, StoreError> {
        let id = id.clone();
        run(&self.main, move |c| entities::by_id(c, &certificate_rows::CERTIFICATES, id.as_str(), certificate_rows::certificate))
            .await
    }

    async fn certificates_of_app(&self, app: &AppId) -> Result<Vec<ClientCertificate>, StoreError> {
        let app = app.clone();
        run(&self.main, move |c| {
            entities::by_parent(c, &certificate_rows::CERTIFICATES, "app_id", app.as_str(), certificate_rows::certificate)
        })
        .await
    }

    async fn certificate_by_fingerprint(&self, sha256: &str) -> Result<Option<ClientCertificate>, StoreError> {
        let sha256 = sha256.to_owned();
        run(&self.main, move |c| certificate_rows::live_by_fingerprint(c, &sha256)).await
    }

    async fn hmac_key(&self, id: &HmacKeyId) -> Result<Option<HmacKey>, StoreError> {
        let id = id.clone();
        run(&self.main, move |c| entities::by_id(c, &hmac_rows::HMAC_KEYS, id.as_str(), hmac_rows::hmac_key)).await
    }

    async fn hmac_keys_of_app(&self, app: &AppId) -> Result<Vec<HmacKey>, StoreError> {
        let app = app.clone();
        run(&self.main, move |c| entities::by_parent(c, &hmac_rows::HMAC_KEYS, "app_id", app.as_str(), hmac_rows::hmac_key)).await
    }

    async fn provider(&self, id: &ProviderId) -> Result<Option<Provider>, StoreError> {
        let id = id.clone();
        run(&self.main, move |c| entities::by_id(c, &ai_rows::PROVIDERS, id.as_str(), ai_rows::provider)).await
    }

    async fn providers_of_tenant(&self, tenant: &TenantId) -> Result<Vec<Provider>, StoreError> {
        let tenant = tenant.clone();
        run(&self.main, move |c| entities::by_parent(c, &ai_rows::PROVIDERS, "tenant_id", tenant.as_str(), ai_rows::provider))
            .await
    }

    async fn model(&self, id: &ModelId) -> Result<Option<AiModel>, StoreError> {
        let id = id.clone();
        run(&self.main, move |c| entities::by_id(c, &ai_rows::MODELS, id.as_str(), ai_rows::model)).await
    }

    async fn models_of_tenant(&self, tenant: &TenantId) -> Result<Vec<AiModel>, StoreError> {
        let tenant = tenant.clone();
        run(&self.main, move |c| entities::by_parent(c, &ai_rows::MODELS, "tenant_id", tenant.as_str(), ai_rows::model)).await
    }

    async fn quota_usage(&self, since: Timestamp) -> Result<Vec<QuotaUsageRow>, StoreError> {
        run(&self.log, move |c| quota::since(c, since)).await
    }

    async fn save_quota_usage(&self, rows: &[QuotaUsageRow]) -> Result<(), StoreError> {
        let rows = rows.to_vec();
        run(&self.log, move |c| quota::save(c, &rows)).await
    }

    async fn touch_keys(&self, used: &[(KeyId, Timestamp)]) -> Result<(), StoreError> {
        let used = used.to_vec();
        run(&self.log, move |c| usage::touch_keys(c, &used)).await
    }

    async fn insert_call_batch(&self, rows: Arc<Vec<CallLogRow>>) -> Result<(), StoreError> {
        run(&self.log, move |c| calls::insert(c, &rows)).await
    }

    async fn calls(&self, query: &LogQuery) -> Result<Vec<CallLogRow>, StoreError> {
        let query = query.clone();
        run(&self.log, move |c| calls::find(c, &query)).await
    }

    async fn save_rollups(&self, rows: Arc<Vec<RollupRow>>, watermark: Timestamp) -> Result<(), StoreError> {
        let watermark = watermark.timestamp();
        run(&self.log, move |c| rollups::save(c, &rows, watermark)).await
    }

    /// Split over the analytics connections (see `readers.rs`).
    async fn rollups(&self, query: &RollupQuery) -> Result<Vec<RollupRow>, StoreError> {
        self.readers.rollups(query.clone()).await
    }

    async fn start_rollups(&self, at: Timestamp) -> Result<Timestamp, StoreError> {
        let at = at.timestamp();
        let w = run(&self.log, move |c| rollups::start(c, at)).await?;
        chrono::DateTime::from_timestamp(w, 0).ok_or_else(|| StoreError::Backend(format!("watermark {w} out of range")))
    }

    async fn purge_rollups(&self, level: Level, before: Timestamp) -> Result<u64, StoreError> {
        let before = before.timestamp();
        let mut total = 0;
        for grain in Grain::ALL {
            loop {
                let n = run(&self.log, move |c| rollups::purge_chunk(c, grain, level, before, PURGE_CHUNK)).await?;
                total += n;
                if n < PURGE_CHUNK as u64 {
                    break;
                }
            }
        }
        Ok(total)
    }

    async fn purge_calls(&self, before: Timestamp) -> Result<u64, StoreError> {
        // One short transaction per chunk, the connection released in
        // between, so batches of new rows interleave with the purge; and
        // every few chunks a passive checkpoint on the checkpoint
        // connection (the purge waits for it, the writer does not), so
        // the deletes never fill the WAL up to the automatic checkpoint,
        // which would run inside a commit on the log connection.
        let mut total = 0;
        let mut chunks = 0;
        loop {
            let p = run(&self.log, move |c| calls::purge_chunk(c, before, CALL_PURGE_FRAMES)).await?;
            total += p.rows;
            if p.done {
                return Ok(total);
            }
            chunks += 1;
            if chunks % PURGE_CHUNKS_PER_CHECKPOINT == 0 {
                run(&self.checkpointer, passive_checkpoint).await?;
            }
        }
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let query = query.clone();
        run(&self.main, move |c| audit::query(c, &query)).await
    }

    async fn insert_admin_token(&self, token: &AdminToken) -> Result<(), StoreError> {
        let token = token.clone();
        run(&self.main, move |c| admin_tokens::insert(c, &token)).await
    }

    /// Served from memory when the same token was found in the last few
    /// seconds (see `admin_tokens::Cache`): most admin requests then make
    /// no trip to the blocking pool for authentication.
    async fn admin_token_by_digest(&self, digest: &[u8; 32]) -> Result<Option<AdminToken>, StoreError> {
        if let Some(hit) = self.tokens.get(digest) {
            return Ok(Some(hit));
        }
        let digest = *digest;
        let found = run(&self.main, move |c| admin_tokens::by_digest(c, &digest)).await?;
        if let Some(token) = &found {
            self.tokens.put(token);
        }
        Ok(found)
    }

    async fn admin_token_count(&self) -> Result<u64, StoreError> {
        run(&self.main, |c| admin_tokens::count(c)).await
    }
}
