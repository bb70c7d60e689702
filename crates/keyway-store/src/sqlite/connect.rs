//! Opening and configuring SQLite connections.

use super::errors::sqlite_error;
use crate::StoreError;
use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

/// How long a statement waits for another connection's write lock.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens (creating if needed) the database file at `path`, creating its
/// parent directory too, in WAL mode.
pub(crate) fn open_file(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend(format!("creating {}: {e}", dir.display())))?;
    }
    let conn = Connection::open(path).map_err(|e| StoreError::Backend(format!("opening {}: {e}", path.display())))?;
    configure(&conn)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(sqlite_error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(path = %path.display(), mode, "sqlite refused WAL journal mode");
    }
    Ok(conn)
}

/// Settings of the connection that writes the call log: a larger WAL
/// before an automatic checkpoint, so pages rewritten by one batch after
/// another are copied back to the database file less often (this halved
/// the log's CPU cost per row in bench/), and a 16 MiB page cache. A
/// 64 MiB cache saves a few more microseconds per row but adds ~50 MiB of
/// RSS under load; see bench/README.md.
pub(crate) fn tune_for_log_writes(conn: &Connection) -> Result<(), StoreError> {
    conn.pragma_update(None, "cache_size", -16_384).map_err(sqlite_error)?; // KiB: 16 MiB
    conn.pragma_update(None, "wal_autocheckpoint", 16_384).map_err(sqlite_error)?; // pages: 64 MiB
    Ok(())
}

/// Opens a private in-memory database.
pub(crate) fn open_memory() -> Result<Connection, StoreError> {
    let conn = Connection::open_in_memory().map_err(sqlite_error)?;
    configure(&conn)?;
    Ok(conn)
}

/// Per-connection settings: busy timeout, `synchronous=NORMAL` (safe with
/// WAL), foreign keys enforced.
fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite_error)?;
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(sqlite_error)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(sqlite_error)?;
    let enforced: bool = conn.pragma_query_value(None, "foreign_keys", |r| r.get(0)).map_err(sqlite_error)?;
    if !enforced {
        return Err(StoreError::Backend("this SQLite build cannot enforce foreign keys".into()));
    }
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}
