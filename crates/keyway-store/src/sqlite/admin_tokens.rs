//! Admin tokens: stored by digest, looked up by digest, counted.

use super::errors::{sqlite_error, violation, Violation};
use super::rows::{self, ADMIN_TOKENS};
use crate::{AdminToken, StoreError};
use rusqlite::{Connection, OptionalExtension};

/// Stores a token; a clashing id or digest is a conflict.
pub(crate) fn insert(conn: &Connection, token: &AdminToken) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(&ADMIN_TOKENS.insert()).map_err(sqlite_error)?;
    rows::write_admin_token(&mut stmt, token).map_err(|e| match violation(&e) {
        Some((Violation::Unique, message)) if message.contains("digest") => {
            StoreError::Conflict(format!("admin token digest is taken (token '{}')", token.id))
        }
        Some((Violation::Unique, _)) => StoreError::Conflict(format!("admin token id '{}' already exists", token.id)),
        _ => sqlite_error(e),
    })?;
    Ok(())
}

/// The token with this digest, if any.
pub(crate) fn by_digest(conn: &Connection, digest: &[u8; 32]) -> Result<Option<AdminToken>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("{} WHERE digest = ?1", ADMIN_TOKENS.select())).map_err(sqlite_error)?;
    stmt.query_row([digest], rows::admin_token).optional().map_err(sqlite_error)
}

/// How many tokens exist.
pub(crate) fn count(conn: &Connection) -> Result<u64, StoreError> {
    conn.query_row("SELECT count(*) FROM admin_tokens", [], |r| r.get(0)).map_err(sqlite_error)
}
