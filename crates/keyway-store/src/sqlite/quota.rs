//! Quota counters: upserted by the gateway's periodic flush, read back at
//! start-up so a restart does not reset anyone's quota.

use super::codec::Time;
use super::errors::sqlite_error;
use crate::{QuotaUsageRow, StoreError};
use keyway_core::Timestamp;
use rusqlite::{params, Connection, TransactionBehavior};

/// Rows of periods that started at or after `since`.
pub(crate) fn since(conn: &Connection, since: Timestamp) -> Result<Vec<QuotaUsageRow>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT level, subject, period, period_start, used FROM quota_usage WHERE period_start >= ?1")
        .map_err(sqlite_error)?;
    let rows = stmt
        .query_map([Time(since)], |r| {
            Ok(QuotaUsageRow {
                level: r.get(0)?,
                subject: r.get(1)?,
                period: r.get(2)?,
                period_start: r.get::<_, Time>(3)?.0,
                used: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
            })
        })
        .map_err(sqlite_error)?;
    rows.collect::<Result<_, _>>().map_err(sqlite_error)
}

/// The period of the minute counters of AI token limits: only the
/// current minute's counts matter, so older ones are dropped on save.
const TOKENS_MINUTE: &str = "tokens_minute";

/// Upserts `rows`, keeping the larger count of each; then drops the
/// `tokens_minute` counters of minutes before the newest one saved
/// (history nobody reads: without this a busy key would leave a row a
/// minute).
pub(crate) fn save(conn: &mut Connection, rows: &[QuotaUsageRow]) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO quota_usage (level, subject, period, period_start, used) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (level, subject, period, period_start) DO UPDATE SET used = max(used, excluded.used)",
            )
            .map_err(sqlite_error)?;
        for r in rows {
            let used = i64::try_from(r.used).unwrap_or(i64::MAX);
            stmt.execute(params![r.level, r.subject, r.period, Time(r.period_start), used]).map_err(sqlite_error)?;
        }
    }
    if let Some(newest) = rows.iter().filter(|r| r.period == TOKENS_MINUTE).map(|r| r.period_start).max() {
        tx.prepare_cached("DELETE FROM quota_usage WHERE period = ?1 AND period_start < ?2")
            .and_then(|mut stmt| stmt.execute(params![TOKENS_MINUTE, Time(newest)]))
            .map_err(sqlite_error)?;
    }
    tx.commit().map_err(sqlite_error)
}
