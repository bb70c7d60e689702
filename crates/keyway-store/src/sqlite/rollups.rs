//! Rollups: merged into by the call-log writer once a minute (minute,
//! hour and day rows of every grain in one transaction), read by analytics
//! (see `rollup_read`) and by the log reader to find where a key, app or
//! code occurred.
//!
//! Each grain has a table of the same shape: `rollups` (every dimension),
//! `rollups_by_key` (per key: API and code empty, status class 0; hour and
//! day rows only), `rollups_by_api` (per API and code: app and key
//! empty) and `rollups_by_app` (per app: API, key and code empty, status
//! class 0; hour and day rows only).

use super::errors::sqlite_error;
use crate::StoreError;
use keyway_core::rollup::{Grain, Level, RollupKey, RollupRow, RollupValue};
use keyway_core::sketch::Sketch;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

/// The key columns of every rollup table, in primary-key order.
pub(crate) const KEY: &str = "level, bucket, tenant_id, api_id, app_id, key_id, status_class, code";
/// The counted columns, before the two sketches.
pub(crate) const VALUES: &str = "requests, errors, prompt_tokens, completion_tokens, cost_usd";

/// The table holding rows of `grain`.
pub(crate) fn table(grain: Grain) -> &'static str {
    match grain {
        Grain::Full => "rollups",
        Grain::Key => "rollups_by_key",
        Grain::Api => "rollups_by_api",
        Grain::App => "rollups_by_app",
    }
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A stored count (never negative) as a count.
pub(crate) fn uncount(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Adds the stored sketch in column `i` of `r` into `into`.
pub(crate) fn merge_sketch(r: &Row<'_>, i: usize, into: &mut Sketch) -> rusqlite::Result<()> {
    let bytes = r.get_ref(i)?.as_bytes()?;
    into.merge_encoded(bytes).map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Blob, Box::new(e)))
}

/// Adds the value stored from column `first` of `r` (counts, then the
/// two sketches when `sketches`) into `into`.
pub(crate) fn merge_value(r: &Row<'_>, first: usize, sketches: bool, into: &mut RollupValue) -> rusqlite::Result<()> {
    into.requests += uncount(r.get(first)?);
    into.errors += uncount(r.get(first + 1)?);
    into.prompt_tokens = into.prompt_tokens.saturating_add(uncount(r.get(first + 2)?));
    into.completion_tokens = into.completion_tokens.saturating_add(uncount(r.get(first + 3)?));
    into.cost_usd += r.get::<_, f64>(first + 4)?;
    if sketches {
        merge_sketch(r, first + 5, &mut into.latency)?;
        merge_sketch(r, first + 6, &mut into.upstream_latency)?;
    }
    Ok(())
}

/// The statements adding rows into one grain's table: reading a stored
/// row, and writing it back.
pub(crate) struct Adder<'t> {
    read: rusqlite::CachedStatement<'t>,
    write: rusqlite::CachedStatement<'t>,
}

impl<'t> Adder<'t> {
    /// Prepares them for `grain`'s table.
    pub(crate) fn new(conn: &'t Connection, grain: Grain) -> Result<Adder<'t>, StoreError> {
        let t = table(grain);
        let read = conn
            .prepare_cached(&format!(
                "SELECT {VALUES}, latency, upstream_latency FROM {t} WHERE level = ?1 AND bucket = ?2 \
                 AND tenant_id = ?3 AND api_id = ?4 AND app_id = ?5 AND key_id = ?6 AND status_class = ?7 AND code = ?8"
            ))
            .map_err(sqlite_error)?;
        let write = conn
            .prepare_cached(&format!(
                "INSERT OR REPLACE INTO {t} ({KEY}, {VALUES}, latency, upstream_latency) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
            ))
            .map_err(sqlite_error)?;
        Ok(Adder { read, write })
    }

    /// Adds `value` into the stored row of `level` and `k` (or stores it).
    pub(crate) fn add(&mut self, level: Level, k: &RollupKey, value: &RollupValue) -> Result<(), StoreError> {
        let key = params![level.index(), k.bucket, k.tenant_id, k.api_id, k.app_id, k.key_id, k.status_class, k.code];
        let mut v = value.clone();
        self.read.query_row(key, |r| merge_value(r, 0, true, &mut v)).optional().map_err(sqlite_error)?;
        self.write
            .execute(params![
                level.index(),
                k.bucket,
                k.tenant_id,
                k.api_id,
                k.app_id,
                k.key_id,
                k.status_class,
                k.code,
                count(v.requests),
                count(v.errors),
                count(v.prompt_tokens),
                count(v.completion_tokens),
                v.cost_usd,
                v.latency.encode(),
                v.upstream_latency.encode(),
            ])
            .map_err(sqlite_error)?;
        Ok(())
    }
}

/// Adds `rows` into the stored ones (each merged into its level's row)
/// and moves the watermark up to `watermark`, in one transaction.
pub(crate) fn save(conn: &mut Connection, rows: &[RollupRow], watermark: i64) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
    for grain in Grain::ALL {
        let mut adder = Adder::new(&tx, grain)?;
        for row in rows.iter().filter(|r| r.grain == grain) {
            adder.add(row.level, &row.key, &row.value)?;
        }
    }
    tx.execute(
        "INSERT INTO rollup_state (id, watermark, covered_from) VALUES (1, ?1, ?1) \
         ON CONFLICT (id) DO UPDATE SET watermark = max(watermark, excluded.watermark)",
        [watermark],
    )
    .map_err(sqlite_error)?;
    tx.commit().map_err(sqlite_error)
}

/// `(covered_from, watermark)`: every call in that range (unix seconds)
/// is in the rollups. `None` when rollups were never started.
pub(crate) fn coverage(conn: &Connection) -> Result<Option<(i64, i64)>, StoreError> {
    conn.query_row("SELECT covered_from, watermark FROM rollup_state WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(sqlite_error)
}

/// Starts rollups at `at` (unix seconds) unless they were started
/// before; returns the watermark.
pub(crate) fn start(conn: &Connection, at: i64) -> Result<i64, StoreError> {
    conn.execute("INSERT OR IGNORE INTO rollup_state (id, watermark, covered_from) VALUES (1, ?1, ?1)", [at])
        .map_err(sqlite_error)?;
    Ok(coverage(conn)?.map_or(at, |(_, w)| w))
}

/// Deletes at most `chunk` rows of `grain` and `level` with buckets
/// before `before` (unix seconds); returns how many.
pub(crate) fn purge_chunk(conn: &Connection, grain: Grain, level: Level, before: i64, chunk: usize) -> Result<u64, StoreError> {
    let t = table(grain);
    let n = conn
        .prepare_cached(&format!(
            "DELETE FROM {t} WHERE ({KEY}) IN \
             (SELECT {KEY} FROM {t} WHERE level = ?1 AND bucket < ?2 ORDER BY bucket LIMIT ?3)"
        ))
        .and_then(|mut s| s.execute(params![level.index(), before, i64::try_from(chunk).unwrap_or(i64::MAX)]))
        .map_err(sqlite_error)?;
    Ok(u64::try_from(n).unwrap_or(u64::MAX))
}
