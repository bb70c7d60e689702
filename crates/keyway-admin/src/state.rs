//! What every handler shares, and the one path every write takes:
//! [`AdminState::commit`] writes storage (changes and audit in one
//! transaction), then patches the gateway's snapshot, so the very next
//! gateway request sees the write.

use crate::error::AdminError;
use crate::extract::Actor;
use keyway_core::change::{Change, Record};
use keyway_core::ids::{AuditId, TenantId};
use keyway_core::records::{AuditEntry, CallLogRow, LogQuery};
use keyway_core::rollup::{RollupQuery, RollupRow};
use keyway_core::Timestamp;
use keyway_pipeline::{CredentialHealth, Settings, SnapshotHandle};
use keyway_store::{Store, StoreError};
use serde_json::Value;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Shared state of the admin API.
#[derive(Clone)]
pub struct AdminState {
    /// The source of truth.
    pub store: Arc<dyn Store>,
    /// The gateway's in-memory view, patched after each write.
    pub snapshot: Arc<SnapshotHandle>,
    /// Gateway settings: key environment and the key/token hasher.
    pub settings: Settings,
    /// Renders Prometheus text for `GET /metrics` (the binary wires the
    /// real exporter in).
    pub metrics: Arc<dyn Fn() -> String + Send + Sync>,
    /// The address the admin listener is bound to, once known: the
    /// OpenAPI document names it as its server. `None` (e.g. in tests):
    /// the document names the server relative to itself (`/`).
    pub admin_addr: Option<SocketAddr>,
    /// The gateway's call-log queue, flushed on demand so that a request
    /// id is readable the moment its response was sent. `None`: rows are
    /// only what storage holds.
    pub call_log: Option<Arc<dyn PendingCalls>>,
    /// Which AI provider credentials the gateway found refused (a
    /// credential read shows `healthy: false` while it is skipped).
    pub credential_health: Arc<CredentialHealth>,
}

/// Call-log rows queued on their way to storage.
pub trait PendingCalls: Send + Sync {
    /// Writes every row queued so far to storage, waiting at most
    /// `within`; whether that finished in time.
    fn flush(&self, within: std::time::Duration) -> Pin<Box<dyn Future<Output = bool> + Send + '_>>;

    /// The rollups matching `query`: those in `store` and the minutes
    /// still open in memory, each call counted once.
    fn rollups<'a>(
        &'a self,
        store: &'a dyn Store,
        query: &'a RollupQuery,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<RollupRow>, StoreError>> + Send + 'a>>;
}

impl AdminState {
    /// The call-log rows matching `query`; when a request id finds
    /// nothing, the queue is flushed and storage asked again, so a call
    /// answered a moment ago is found.
    pub async fn calls(&self, query: &LogQuery) -> Result<Vec<CallLogRow>, AdminError> {
        let rows = self.store.calls(query).await?;
        if !rows.is_empty() || query.request_id.is_none() {
            return Ok(rows);
        }
        match &self.call_log {
            Some(pending) if pending.flush(FLUSH_WAIT).await => Ok(self.store.calls(query).await?),
            _ => Ok(rows),
        }
    }
}

impl AdminState {
    /// Rollups matching `query`, up to the call answered a moment ago: the
    /// queue is flushed first, then storage and the open minutes are read.
    pub async fn rollups(&self, query: &RollupQuery) -> Result<Vec<RollupRow>, AdminError> {
        match &self.call_log {
            Some(pending) => {
                pending.flush(FLUSH_WAIT).await;
                Ok(pending.rollups(self.store.as_ref(), query).await?)
            }
            None => Ok(self.store.rollups(query).await?),
        }
    }
}

/// Longest a read waits for the call-log queue to be written.
const FLUSH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl std::fmt::Debug for AdminState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminState")
            .field("settings", &self.settings)
            .field("admin_addr", &self.admin_addr)
            .finish_non_exhaustive()
    }
}

/// Serializes admin writes in this process, so a read-check-write
/// sequence (rotate, revoke, PATCH) never interleaves with another one
/// and no update is lost between reading a record and writing it back.
/// Writes that only insert new records whose checks read nothing another
/// insert changes (key creates) share it, so they commit concurrently and
/// storage groups them into one transaction; they still exclude, and are
/// excluded by, every read-check-write sequence.
static WRITER: RwLock<()> = RwLock::const_new(());

/// One change to commit, with what the audit log says about it.
#[derive(Clone, Debug)]
pub struct Write {
    /// The audit action, e.g. `key.rotate`.
    pub action: &'static str,
    /// The record as it was, for updates.
    pub before: Option<Record>,
    /// The change itself.
    pub change: Change,
}

impl Write {
    /// A new record.
    pub fn insert(action: &'static str, record: Record) -> Self {
        Write { action, before: None, change: Change::Insert(record) }
    }

    /// A replaced record, with its previous version.
    pub fn update(action: &'static str, before: Record, after: Record) -> Self {
        Write { action, before: Some(before), change: Change::Update(after) }
    }
}

impl AdminState {
    /// State with a metrics renderer that renders nothing.
    pub fn new(store: Arc<dyn Store>, snapshot: Arc<SnapshotHandle>, settings: Settings) -> Self {
        AdminState {
            store,
            snapshot,
            settings,
            metrics: Arc::new(String::new),
            admin_addr: None,
            call_log: None,
            credential_health: Arc::default(),
        }
    }

    /// Records the address the admin listener is bound to.
    pub fn with_admin_addr(mut self, addr: SocketAddr) -> Self {
        self.admin_addr = Some(addr);
        self
    }

    /// Replaces the metrics renderer.
    pub fn with_metrics(mut self, metrics: Arc<dyn Fn() -> String + Send + Sync>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Takes the process-wide write lock. Handlers that write hold it from
    /// the first read they base the write on until [`AdminState::commit`]
    /// returns.
    pub async fn begin_write(&self) -> RwLockWriteGuard<'static, ()> {
        WRITER.write().await
    }

    /// Takes the write lock shared with other inserts: for a handler that
    /// only inserts fresh records (new ids) after checking records that no
    /// other insert changes (a key create checks its app). It excludes
    /// every [`AdminState::begin_write`] holder, as that one does.
    pub async fn begin_insert(&self) -> RwLockReadGuard<'static, ()> {
        WRITER.read().await
    }

    /// Applies `writes` to storage together with one audit entry each, in
    /// one transaction, then to the snapshot. Nothing reaches the snapshot
    /// unless storage accepted all of it.
    pub async fn commit(&self, actor: &Actor, writes: Vec<Write>) -> Result<(), AdminError> {
        let time = now();
        let mut audit = Vec::with_capacity(writes.len());
        for w in &writes {
            audit.push(audit_entry(actor, time, w)?);
        }
        let changes: Vec<Change> = writes.into_iter().map(|w| w.change).collect();
        self.store.apply(&changes, &audit).await?;
        self.snapshot.apply(&changes);
        Ok(())
    }
}

/// Now, at millisecond precision (what storage keeps).
pub fn now() -> Timestamp {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(3)
}

fn audit_entry(actor: &Actor, time: Timestamp, w: &Write) -> Result<AuditEntry, AdminError> {
    let after = w.change.record();
    let (resource_id, tenant_id) = identify(after);
    Ok(AuditEntry {
        id: AuditId::generate(),
        time,
        actor: actor.0.clone(),
        action: w.action.to_owned(),
        resource_type: after.kind().to_owned(),
        resource_id,
        tenant_id,
        before: w.before.as_ref().map(record_json).transpose()?,
        after: Some(record_json(after)?),
    })
}

fn identify(r: &Record) -> (String, Option<TenantId>) {
    match r {
        Record::Tenant(t) => (t.id.to_string(), Some(t.id.clone())),
        Record::User(u) => (u.id.to_string(), Some(u.tenant_id.clone())),
        Record::App(a) => (a.id.to_string(), Some(a.tenant_id.clone())),
        Record::Key(k) => (k.id.to_string(), Some(k.tenant_id.clone())),
        Record::Api(a) => (a.id.to_string(), Some(a.tenant_id.clone())),
        Record::Subscription(s) => (s.id.to_string(), Some(s.tenant_id.clone())),
        Record::Provider(p) => (p.id.to_string(), Some(p.tenant_id.clone())),
        Record::Model(m) => (m.id.to_string(), Some(m.tenant_id.clone())),
        Record::Issuer(i) => (i.id.to_string(), Some(i.tenant_id.clone())),
        Record::Certificate(c) => (c.id.to_string(), Some(c.tenant_id.clone())),
        Record::HmacKey(k) => (k.id.to_string(), Some(k.tenant_id.clone())),
    }
}

/// The audit form of a record: the model's own serialization, which skips
/// key digests, password hashes, the secret members of inline JWKS keys
/// and sealed HMAC secrets.
fn record_json(r: &Record) -> Result<Value, AdminError> {
    let v = match r {
        Record::Tenant(t) => serde_json::to_value(t),
        Record::User(u) => serde_json::to_value(u),
        Record::App(a) => serde_json::to_value(a),
        Record::Key(k) => serde_json::to_value(k),
        Record::Api(a) => serde_json::to_value(a),
        Record::Subscription(s) => serde_json::to_value(s),
        Record::Provider(p) => serde_json::to_value(p),
        Record::Model(m) => serde_json::to_value(m),
        Record::Issuer(i) => serde_json::to_value(i),
        Record::Certificate(c) => serde_json::to_value(c),
        Record::HmacKey(k) => serde_json::to_value(k),
    };
    v.map_err(|e| AdminError::Internal(format!("serializing an audit record: {e}")))
}
