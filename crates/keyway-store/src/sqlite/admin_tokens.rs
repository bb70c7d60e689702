//! Admin tokens: stored by digest, looked up by digest, counted; the
//! ones found lately kept in memory for a few seconds.

use super::errors::{sqlite_error, violation, Violation};
use super::rows::{self, ADMIN_TOKENS};
use crate::{AdminToken, StoreError};
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a token found in storage is answered from memory. Tokens are
/// only ever added through the store, so a found token stays valid; the
/// bound is for one removed from the database by hand, which stops
/// working within this long.
pub(crate) const CACHE_TTL: Duration = Duration::from_secs(10);

/// Tokens found lately, by digest. Only found tokens are kept: an unknown
/// digest always asks storage, so a token added by another process works
/// at once, and guessing fills nothing.
#[derive(Default)]
pub(crate) struct Cache {
    found: Mutex<HashMap<[u8; 32], (AdminToken, Instant)>>,
}

/// Most distinct tokens kept; past it the cache starts over.
const CACHE_MAX: usize = 1_024;

impl Cache {
    /// The token with this digest, if it was found within [`CACHE_TTL`].
    pub(crate) fn get(&self, digest: &[u8; 32]) -> Option<AdminToken> {
        let found = self.found.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        found.get(digest).filter(|(_, at)| at.elapsed() < CACHE_TTL).map(|(t, _)| t.clone())
    }

    /// Remembers a token just found in storage.
    pub(crate) fn put(&self, token: &AdminToken) {
        let mut found = self.found.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if found.len() >= CACHE_MAX {
            found.clear();
        }
        found.insert(token.digest, (token.clone(), Instant::now()));
    }
}

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
