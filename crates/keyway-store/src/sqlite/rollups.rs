//! Rollups: merged into by the call-log writer once a minute (minute,
//! hour and day rows in one transaction), read by analytics and by the
//! log reader to find where a key, app or code occurred.

use super::errors::sqlite_error;
use super::query::Filter;
use crate::StoreError;
use keyway_core::rollup::{Level, RollupKey, RollupQuery, RollupRow, RollupValue};
use keyway_core::sketch::Sketch;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, TransactionBehavior};

const KEY: &str = "level, bucket, tenant_id, api_id, app_id, key_id, status_class, code";
const VALUES: &str = "requests, errors, prompt_tokens, completion_tokens, cost_usd";

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn uncount(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn sketch(r: &Row<'_>, i: usize) -> rusqlite::Result<Sketch> {
    let bytes: Vec<u8> = r.get(i)?;
    Sketch::decode(&bytes).map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Blob, Box::new(e)))
}

fn value(r: &Row<'_>, first: usize, sketches: bool) -> rusqlite::Result<RollupValue> {
    Ok(RollupValue {
        requests: uncount(r.get(first)?),
        errors: uncount(r.get(first + 1)?),
        prompt_tokens: uncount(r.get(first + 2)?),
        completion_tokens: uncount(r.get(first + 3)?),
        cost_usd: r.get(first + 4)?,
        latency: if sketches { sketch(r, first + 5)? } else { Sketch::default() },
        upstream_latency: if sketches { sketch(r, first + 6)? } else { Sketch::default() },
    })
}

/// Adds `rows` into the stored ones (each merged into its level's row)
/// and moves the watermark up to `watermark`, in one transaction.
pub(crate) fn save(conn: &mut Connection, rows: &[RollupRow], watermark: i64) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
    {
        let mut read = tx
            .prepare_cached(&format!(
                "SELECT {VALUES}, latency, upstream_latency FROM rollups WHERE level = ?1 AND bucket = ?2 \
                 AND tenant_id = ?3 AND api_id = ?4 AND app_id = ?5 AND key_id = ?6 AND status_class = ?7 AND code = ?8"
            ))
            .map_err(sqlite_error)?;
        let mut write = tx
            .prepare_cached(&format!(
                "INSERT OR REPLACE INTO rollups ({KEY}, {VALUES}, latency, upstream_latency) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
            ))
            .map_err(sqlite_error)?;
        for row in rows {
            let k = &row.key;
            let key = params![row.level.index(), k.bucket, k.tenant_id, k.api_id, k.app_id, k.key_id, k.status_class, k.code];
            let stored = read.query_row(key, |r| value(r, 0, true)).optional().map_err(sqlite_error)?;
            let mut v = row.value.clone();
            if let Some(old) = stored {
                v.merge(&old);
            }
            write
                .execute(params![
                    row.level.index(),
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

/// `q`'s conditions, at `level`.
fn filter(q: &RollupQuery, level: Level) -> Filter {
    let mut f = Filter::default();
    f.cmp("level", "=", Value::Integer(level.index()));
    f.cmp("bucket", ">=", Value::Integer(q.since));
    f.cmp("bucket", "<", Value::Integer(q.until));
    f.eq("tenant_id", q.tenant_id.as_deref());
    f.eq("api_id", q.api_id.as_deref());
    f.eq("app_id", q.app_id.as_deref());
    f.eq("key_id", q.key_id.as_deref());
    f.eq("code", q.code.as_deref());
    f
}

/// Rows matching `q`, in key order.
pub(crate) fn query(conn: &Connection, q: &RollupQuery) -> Result<Vec<RollupRow>, StoreError> {
    let f = filter(q, q.level);
    let sketches = if q.sketches { "latency, upstream_latency" } else { "x'', x''" };
    let (sql, params) = f.build(
        &format!("SELECT {KEY}, {VALUES}, {sketches} FROM rollups"),
        "bucket",
        usize::try_from(i64::MAX).unwrap_or(usize::MAX),
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(sqlite_error)?;
    let rows = stmt
        .query_map(params_from_iter(params), |r| {
            let level = Level::from_index(r.get(0)?).unwrap_or(Level::Minute);
            let key = RollupKey {
                bucket: r.get(1)?,
                tenant_id: r.get(2)?,
                api_id: r.get(3)?,
                app_id: r.get(4)?,
                key_id: r.get(5)?,
                status_class: r.get(6)?,
                code: r.get(7)?,
            };
            Ok(RollupRow { level, key, value: value(r, 8, q.sketches)? })
        })
        .map_err(sqlite_error)?;
    rows.collect::<Result<_, _>>().map_err(sqlite_error)
}

/// Distinct minute buckets in `[since, until)` (unix seconds) where a
/// call matching `q`'s dimensions occurred, newest first.
pub(crate) fn minutes(conn: &Connection, q: &RollupQuery) -> Result<Vec<i64>, StoreError> {
    let f = filter(q, Level::Minute);
    let (sql, params) =
        f.build("SELECT DISTINCT bucket FROM rollups", "bucket DESC", usize::try_from(i64::MAX).unwrap_or(usize::MAX));
    let mut stmt = conn.prepare_cached(&sql).map_err(sqlite_error)?;
    let rows = stmt.query_map(params_from_iter(params), |r| r.get(0)).map_err(sqlite_error)?;
    rows.collect::<Result<_, _>>().map_err(sqlite_error)
}

/// Deletes at most `chunk` rows of `level` with buckets before `before`
/// (unix seconds); returns how many.
pub(crate) fn purge_chunk(conn: &Connection, level: Level, before: i64, chunk: usize) -> Result<u64, StoreError> {
    let n = conn
        .prepare_cached(&format!(
            "DELETE FROM rollups WHERE ({KEY}) IN \
             (SELECT {KEY} FROM rollups WHERE level = ?1 AND bucket < ?2 ORDER BY bucket LIMIT ?3)"
        ))
        .and_then(|mut s| s.execute(params![level.index(), before, i64::try_from(chunk).unwrap_or(i64::MAX)]))
        .map_err(sqlite_error)?;
    Ok(u64::try_from(n).unwrap_or(u64::MAX))
}
