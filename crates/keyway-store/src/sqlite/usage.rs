//! `touch_keys`: the gateway's batched `last_used_at` updates.

use super::codec::Time;
use super::errors::sqlite_error;
use crate::StoreError;
use keyway_core::ids::KeyId;
use keyway_core::Timestamp;
use rusqlite::{params, Connection, TransactionBehavior};

/// Moves each key's `last_used_at` forward to the given time, in one
/// transaction; never backwards, and unknown ids are ignored.
pub(crate) fn touch_keys(conn: &mut Connection, used: &[(KeyId, Timestamp)]) -> Result<(), StoreError> {
    if used.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
    {
        let mut stmt = tx
            .prepare_cached("UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)")
            .map_err(sqlite_error)?;
        for (id, at) in used {
            stmt.execute(params![id.as_str(), Time(*at)]).map_err(sqlite_error)?;
        }
    }
    tx.commit().map_err(sqlite_error)
}
