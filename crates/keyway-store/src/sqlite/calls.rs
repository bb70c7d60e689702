//! The call log: batched inserts from the gateway, filtered reads for the
//! admin API and diagnose, and retention.
//!
//! The table is keyed by request id and has no other index: ids are
//! time-ordered ULIDs, so an insert is an append, a lookup by id is the
//! primary key, and a time range is a range of ids (widened by
//! [`ID_SLACK_MS`] for ids minted a moment before their row's time, then
//! filtered on the exact time). Filters by key, app or code scan the id
//! range newest first and stop at the limit; the caller narrows the
//! ranges with the rollups (see `Store::calls`).

use super::codec::{clamp_count, from_ns, time_ns};
use super::enums::Enum;
use super::errors::sqlite_error;
use super::query::Filter;
use crate::StoreError;
use keyway_core::ids::{ApiId, AppId, KeyId, RequestId, TenantId};
use keyway_core::records::{CallLogRow, LogQuery};
use keyway_core::Timestamp;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, Row, TransactionBehavior};

const COLUMNS: &str = "request_id, time, tenant_id, api_id, app_id, key_id, key_prefix, method, path, status, code, \
                       client_ip, latency_ms, upstream_latency_ms, model, prompt_tokens, completion_tokens, cost_usd, trace";

/// How far a request id's time may precede or follow its row's time.
/// The gateway mints the id from the row's time (equal to the
/// millisecond); ids of rows migrated from before were minted within
/// microseconds of it.
pub(crate) const ID_SLACK_MS: i64 = 1000;

/// Inserts `rows` in one transaction with one cached statement.
pub(crate) fn insert(conn: &mut Connection, rows: &[CallLogRow]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
    {
        let mut stmt = tx
            .prepare_cached(&format!(
                "INSERT INTO call_log ({COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
            ))
            .map_err(sqlite_error)?;
        for r in rows {
            let time = time_ns(&r.time).map_err(|e| StoreError::Backend(format!("cannot store call {}: {e}", r.request_id)))?;
            stmt.execute(params![
                r.request_id.as_str(),
                time,
                r.tenant_id.as_ref().map(TenantId::as_str),
                r.api_id.as_ref().map(ApiId::as_str),
                r.app_id.as_ref().map(AppId::as_str),
                r.key_id.as_ref().map(KeyId::as_str),
                r.key_prefix,
                r.method,
                r.path,
                r.status,
                r.code.map(Enum),
                r.client_ip,
                r.latency_ms,
                r.upstream_latency_ms,
                r.model,
                r.prompt_tokens.map(clamp_count),
                r.completion_tokens.map(clamp_count),
                r.cost_usd,
                super::trace_codec::encode(&r.trace),
            ])
            .map_err(|e| match e {
                rusqlite::Error::ToSqlConversionFailure(cause) => {
                    StoreError::Backend(format!("cannot store call {}: {cause}", r.request_id))
                }
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                    StoreError::Conflict(format!("call {} is already stored", r.request_id))
                }
                other => sqlite_error(other),
            })?;
        }
    }
    tx.commit().map_err(sqlite_error)
}

fn row(r: &Row<'_>) -> rusqlite::Result<CallLogRow> {
    Ok(CallLogRow {
        request_id: RequestId(r.get(0)?),
        time: from_ns(r.get(1)?),
        tenant_id: r.get::<_, Option<String>>(2)?.map(TenantId::from),
        api_id: r.get::<_, Option<String>>(3)?.map(ApiId::from),
        app_id: r.get::<_, Option<String>>(4)?.map(AppId::from),
        key_id: r.get::<_, Option<String>>(5)?.map(KeyId::from),
        key_prefix: r.get(6)?,
        method: r.get(7)?,
        path: r.get(8)?,
        status: r.get(9)?,
        code: r.get::<_, Option<Enum<_>>>(10)?.map(|c| c.0),
        client_ip: r.get(11)?,
        // SQLite stores NaN as NULL; give it back as NaN.
        latency_ms: r.get::<_, Option<f64>>(12)?.unwrap_or(f64::NAN),
        upstream_latency_ms: r.get(13)?,
        model: r.get(14)?,
        prompt_tokens: r.get(15)?,
        completion_tokens: r.get(16)?,
        cost_usd: r.get(17)?,
        trace: {
            // Binary (BLOB) since the compact form; JSON text in older rows.
            let stored = r.get_ref(18)?;
            let bytes = match stored {
                rusqlite::types::ValueRef::Blob(b) | rusqlite::types::ValueRef::Text(b) => b,
                other => return Err(rusqlite::Error::InvalidColumnType(18, "trace".into(), other.data_type())),
            };
            super::trace_codec::decode(bytes)
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(18, rusqlite::types::Type::Blob, Box::new(e)))?
        },
    })
}

/// A filter bound in nanoseconds: times past what a row can hold
/// (years 1677-2262) clamp to the ends, so such a bound selects all or
/// nothing instead of failing.
fn ns(t: &Timestamp) -> Result<i64, StoreError> {
    Ok(time_ns(t).unwrap_or(if t.timestamp() < 0 { i64::MIN } else { i64::MAX }))
}

/// A time range `[since, until)` in nanoseconds.
pub(crate) type NsRange = (i64, i64);

/// Rows matching `q` inside `window` (nanoseconds; `None`: the query's
/// own bounds), newest first (ties: larger id first), at most `limit`.
pub(crate) fn query(
    conn: &Connection,
    q: &LogQuery,
    window: Option<NsRange>,
    limit: usize,
) -> Result<Vec<CallLogRow>, StoreError> {
    let mut filter = Filter::default();
    filter.eq("request_id", q.request_id.as_deref());
    filter.eq("key_id", q.key_id.as_deref());
    filter.eq("app_id", q.app_id.as_deref());
    filter.eq("tenant_id", q.tenant_id.as_deref());
    filter.eq("api_id", q.api_id.as_deref());
    filter.eq("code", q.code.as_deref());
    let since = q.since.as_ref().map(ns).transpose()?;
    let until = q.until.as_ref().map(ns).transpose()?;
    let (since, until) = match window {
        Some((lo, hi)) => (Some(since.map_or(lo, |s| s.max(lo))), Some(until.map_or(hi, |u| u.min(hi)))),
        None => (since, until),
    };
    if q.request_id.is_none() {
        // The id range that holds the time range: the primary key does the work.
        if let Some(s) = since {
            filter.cmp("request_id", ">=", Value::Text(RequestId::lower_bound(s.div_euclid(1_000_000) - ID_SLACK_MS)));
        }
        if let Some(u) = until {
            filter.cmp("request_id", "<", Value::Text(RequestId::lower_bound(u.div_euclid(1_000_000) + 1 + ID_SLACK_MS)));
        }
    }
    if let Some(s) = since {
        filter.cmp("time", ">=", Value::Integer(s));
    }
    if let Some(u) = until {
        filter.cmp("time", "<", Value::Integer(u));
    }
    let (sql, params) = filter.build(&format!("SELECT {COLUMNS} FROM call_log"), "request_id DESC", limit);
    let mut stmt = conn.prepare_cached(&sql).map_err(sqlite_error)?;
    let rows = stmt.query_map(params_from_iter(params), row).map_err(sqlite_error)?;
    rows.collect::<Result<_, _>>().map_err(sqlite_error)
}

/// Deletes at most `chunk` rows with `time < before`, oldest first;
/// returns how many. Small chunks keep each write transaction short, so
/// the call-log writer is never held up for long by retention.
pub(crate) fn purge_chunk(conn: &Connection, before: Timestamp, chunk: usize) -> Result<u64, StoreError> {
    let before = ns(&before)?;
    let hi = RequestId::lower_bound(before.div_euclid(1_000_000) + 1 + ID_SLACK_MS);
    let n = conn
        .prepare_cached(
            "DELETE FROM call_log WHERE request_id IN \
             (SELECT request_id FROM call_log WHERE request_id < ?1 AND time < ?2 ORDER BY request_id LIMIT ?3)",
        )
        .and_then(|mut s| s.execute(params![hi, before, i64::try_from(chunk).unwrap_or(i64::MAX)]))
        .map_err(sqlite_error)?;
    Ok(u64::try_from(n).unwrap_or(u64::MAX))
}

/// Rows matching `q`, newest first, at most its effective limit. A query
/// by key, app, code, tenant or API reads the minute rollups for the
/// minutes where such calls occurred and scans only those (and what is
/// newer than the rollups' watermark), so it stays fast however large
/// the log is.
pub(crate) fn find(conn: &Connection, q: &LogQuery) -> Result<Vec<CallLogRow>, StoreError> {
    const S: i64 = 1_000_000_000;
    let limit = super::query::effective_limit(q.limit);
    let narrows = q.key_id.is_some() || q.app_id.is_some() || q.code.is_some() || q.tenant_id.is_some() || q.api_id.is_some();
    let coverage = if q.request_id.is_none() && narrows { super::rollups::coverage(conn)? } else { None };
    let Some((covered_from, watermark)) = coverage else {
        return query(conn, q, None, limit);
    };
    let since = q.since.as_ref().map(ns).transpose()?.unwrap_or(i64::MIN);
    let until = q.until.as_ref().map(ns).transpose()?.unwrap_or(i64::MAX);
    let (covered_from_ns, watermark_ns) = (covered_from.saturating_mul(S), watermark.saturating_mul(S));
    // Newest: from the watermark on, not in the rollups yet, scanned whole.
    let mut out = if until > watermark_ns { query(conn, q, Some((watermark_ns, i64::MAX)), limit)? } else { Vec::new() };
    // Covered: only the minutes where matching calls occurred.
    if out.len() < limit && since < watermark_ns && until > covered_from_ns {
        let rollups = keyway_core::rollup::RollupQuery {
            grain: keyway_core::rollup::Grain::Full,
            level: keyway_core::rollup::Level::Minute,
            since: keyway_core::rollup::Level::Minute.bucket(since.max(covered_from_ns).div_euclid(S)),
            until: watermark.min(until.saturating_add(S - 1).div_euclid(S)),
            tenant_id: q.tenant_id.clone(),
            api_id: q.api_id.clone(),
            app_id: q.app_id.clone(),
            key_id: q.key_id.clone(),
            code: q.code.clone(),
            sketches: false,
            merge: None,
        };
        for (lo, hi) in ranges(&super::rollup_read::minutes(conn, &rollups)?) {
            if out.len() >= limit {
                break;
            }
            let (lo, hi) = (lo.saturating_mul(S).max(covered_from_ns), hi.saturating_mul(S).min(watermark_ns));
            out.extend(query(conn, q, Some((lo, hi)), limit - out.len())?);
        }
    }
    // Oldest: stored before rollups existed, scanned whole.
    if out.len() < limit && since < covered_from_ns {
        out.extend(query(conn, q, Some((i64::MIN, covered_from_ns)), limit - out.len())?);
    }
    Ok(out)
}

/// Minute starts (newest first) as contiguous `[start, end)` ranges in
/// seconds, newest first.
fn ranges(minutes: &[i64]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &m in minutes {
        match out.last_mut() {
            Some((lo, _)) if *lo == m + 60 => *lo = m,
            _ => out.push((m, m + 60)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn minutes_merge_into_ranges() {
        assert_eq!(super::ranges(&[600, 540, 480, 300, 0]), vec![(480, 660), (300, 360), (0, 60)]);
        assert!(super::ranges(&[]).is_empty());
    }
}
