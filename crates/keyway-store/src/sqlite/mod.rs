//! The embedded store: SQLite through `rusqlite`.
//!
//! Connections are blocking, so each operation runs on tokio's blocking
//! pool with the connection behind a mutex. A file database gets these
//! connections: one for admin reads and writes, one for the gateway's
//! background writes (call log, `last_used_at`) and log reads, so a large
//! call-log batch never holds up the admin API, one that only
//! checkpoints the write-ahead log, so copying it back never holds either
//! of the others' mutex, and a few read-only ones for analytics, which
//! split a rollup read between them (see `readers.rs`). WAL mode lets
//! them overlap; writes serialize on SQLite's lock, waiting up to five
//! seconds (the busy timeout).
//!
//! Every write transaction starts `IMMEDIATE`, taking the write lock up
//! front, so two connections never deadlock upgrading a read.
//!
//! Timestamps are stored as RFC 3339 UTC text with exactly nine fractional
//! digits (`2024-05-01T12:00:00.123456789Z`): text order is time order and
//! every value round-trips exactly. Lists and nested structs are JSON text;
//! key and admin-token digests are 32-byte BLOBs. See `migrations.rs` for
//! the schema.

mod admin_tokens;
mod ai_rows;
mod apply;
mod audit;
mod calls;
mod certificate_rows;
mod codec;
mod connect;
mod entities;
mod enums;
mod errors;
mod group;
mod hmac_rows;
mod issuer_rows;
mod legacy_calls;
mod migrations;
mod query;
mod quota;
mod readers;
mod rollup_backfill;
mod rollup_read;
mod rollup_split;
mod rollups;
mod rows;
mod store;
mod usage;

use crate::StoreError;
use rusqlite::Connection;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A [`Store`](crate::Store) kept in one SQLite database.
#[derive(Clone)]
pub struct SqliteStore {
    /// Admin reads and writes, `load_all`.
    main: Arc<Mutex<Connection>>,
    /// Call log and `touch_keys` (the same connection as `main` for an
    /// in-memory database, which a second connection could not see).
    log: Arc<Mutex<Connection>>,
    /// Admin writes waiting for the next group commit on `main`.
    queue: Arc<group::Queue>,
    /// Admin tokens already found, by digest.
    tokens: Arc<admin_tokens::Cache>,
    /// Checkpoints only (`log` again for an in-memory database, which has
    /// no write-ahead log).
    checkpointer: Arc<Mutex<Connection>>,
    /// Analytics reads (`main` alone for an in-memory database).
    readers: Arc<readers::Readers>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("separate_log_connection", &!Arc::ptr_eq(&self.main, &self.log)).finish()
    }
}

impl SqliteStore {
    /// Opens the database file at `path`, creating it and its parent
    /// directory if needed, and applies any migrations it lacks.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let mut main = connect::open_file(path)?;
        migrations::migrate(&mut main, migrations::MIGRATIONS, migrations::BACKFILLS)?;
        connect::tune_for_admin_writes(&main)?;
        let log = connect::open_file(path)?;
        connect::tune_for_log_writes(&log)?;
        let checkpointer = connect::open_file(path)?;
        let readers = readers::Readers::open(path)?;
        Ok(SqliteStore {
            main: Arc::new(Mutex::new(main)),
            log: Arc::new(Mutex::new(log)),
            queue: Arc::default(),
            tokens: Arc::default(),
            checkpointer: Arc::new(Mutex::new(checkpointer)),
            readers: Arc::new(readers),
        })
    }

    /// Opens a fresh, private in-memory database (for tests and tools).
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let mut conn = connect::open_memory()?;
        migrations::migrate(&mut conn, migrations::MIGRATIONS, migrations::BACKFILLS)?;
        let main = Arc::new(Mutex::new(conn));
        Ok(SqliteStore {
            log: Arc::clone(&main),
            checkpointer: Arc::clone(&main),
            readers: Arc::new(readers::Readers::shared(&main)),
            main,
            queue: Arc::default(),
            tokens: Arc::default(),
        })
    }
}

/// Runs `job` with exclusive use of `conn`. When the connection is free
/// and the runtime multi-threaded, in place on the calling worker
/// (`block_in_place` hands that worker's other tasks to another thread,
/// and the job starts at once instead of waiting for a pool thread to
/// wake: an admin write is several of these in a row, and on a VM each
/// wake-up cost ~0.2-0.5 ms; at 1M keys this took single key creates and
/// revokes from p99 3.9-8.4 ms to ~2.2 ms). When another job holds the
/// connection, on the blocking pool as before, so concurrent callers
/// (group commit) do not each pin a worker thread; inline without a
/// runtime.
async fn run<T, F>(conn: &Arc<Mutex<Connection>>, job: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
{
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        if runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            if let Ok(mut guard) = conn.try_lock() {
                // A panicking job answers an error, as on the pool.
                let ran = tokio::task::block_in_place(|| std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut guard))));
                return ran.unwrap_or_else(|_| Err(StoreError::Backend("storage task panicked".into())));
            }
        }
    }
    spawn(conn, job).await
}

/// Starts `job` with exclusive use of `conn` on the blocking pool now,
/// whether or not the answer is awaited yet (inline, before returning,
/// without a runtime): several of these run at once on different
/// connections.
fn spawn<T, F>(conn: &Arc<Mutex<Connection>>, job: F) -> impl Future<Output = Result<T, StoreError>>
where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
{
    let conn = Arc::clone(conn);
    let locked = move || {
        let mut guard = conn.lock().map_err(|_| StoreError::Backend("sqlite connection mutex poisoned".into()))?;
        job(&mut guard)
    };
    let started = match tokio::runtime::Handle::try_current() {
        Ok(runtime) => Ok(runtime.spawn_blocking(locked)),
        Err(_) => Err(locked()),
    };
    async move {
        match started {
            Ok(task) => task.await.map_err(|e| StoreError::Backend(format!("storage task failed: {e}")))?,
            Err(done) => done,
        }
    }
}
