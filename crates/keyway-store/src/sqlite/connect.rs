//! Opening and configuring SQLite connections.

use super::errors::sqlite_error;
use crate::StoreError;
use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

/// How long a statement waits for another connection's write lock.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens (creating if needed) the database file at `path`, creating its
/// parent directory too, in WAL mode. The file is private to its owner
/// (0600): SQLite gives its `-wal` and `-shm` files the database file's
/// mode, so they are private too.
pub(crate) fn open_file(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend(format!("creating {}: {e}", dir.display())))?;
    }
    make_private(path).map_err(|e| StoreError::Backend(format!("making {} private: {e}", path.display())))?;
    let conn = Connection::open(path).map_err(|e| StoreError::Backend(format!("opening {}: {e}", path.display())))?;
    configure(&conn)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(sqlite_error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(path = %path.display(), mode, "sqlite refused WAL journal mode");
    }
    Ok(conn)
}

/// Creates `path` with mode 0600 if it is missing; narrows it (and its
/// `-wal` / `-shm` companions, from older versions) to 0600 if it exists.
#[cfg(unix)]
fn make_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new().write(true).create(true).truncate(false).mode(0o600).open(path)?;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = Path::new(&name);
        match std::fs::metadata(file) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_private(_path: &Path) -> std::io::Result<()> {
    Ok(())
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

/// Settings of the connection that commits admin writes: its automatic
/// checkpoint (SQLite's default: every 1,000 pages, about 4 MiB of WAL,
/// so every ~125th key create) moved up to 64 MiB, a backstop only. The
/// node's periodic [`crate::Store::checkpoint`] copies the WAL back off
/// the write path; with the default, one admin write in a hundred paid
/// for a checkpoint and its fsync (the p99 of key creates).
pub(crate) fn tune_for_admin_writes(conn: &Connection) -> Result<(), StoreError> {
    conn.pragma_update(None, "wal_autocheckpoint", 16_384).map_err(sqlite_error)?; // pages: 64 MiB
    Ok(())
}

/// Settings of a connection that only reads (analytics): it refuses
/// writes (`query_only`), and keeps a page cache of `cache_kib` KiB.
pub(crate) fn tune_for_reads(conn: &Connection, cache_kib: i64) -> Result<(), StoreError> {
    conn.pragma_update(None, "query_only", true).map_err(sqlite_error)?;
    conn.pragma_update(None, "cache_size", -cache_kib).map_err(sqlite_error)?; // negative: KiB
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
