//! The call log: batched inserts from the gateway, filtered reads for the
//! admin API and diagnose, and retention.
//!
//! The table is a rowid table keyed by `seq = (ms << 20) | n` (migration
//! 6): `ms` is the request id's ULID millisecond (the gateway mints the
//! id from the row's time, so it is the row's millisecond) and `n` counts
//! the rows stored in that millisecond. The writer sorts each batch by
//! request id and numbers it on from the largest `seq` stored, so an
//! insert is an append to the table's last page; a row older than that
//! (a straggler) takes one more than the largest `seq` of its own
//! millisecond, and a millisecond whose 2^20 numbers are used spills into
//! the next one's. `request_id` is a plain column without an index:
//!
//! - a lookup by request id reads the `seq` range of its millisecond
//!   (and of the next ones while the one before is full) and compares the
//!   text; an id that is not a minted ULID is looked for by a scan;
//! - a time range is a `seq` range, widened by [`ID_SLACK_MS`] for ids
//!   minted a moment before their row's time (rows migrated from before
//!   ids were minted from it), then filtered on the exact `time`;
//! - retention deletes the lowest `seq`s whose `time` has passed.
//!
//! A row whose id is far ahead of the others (a clock that jumped
//! forward and back) makes every later row a straggler until that time
//! comes: each then costs the duplicate check, and the first of its
//! millisecond in a batch a read of that millisecond's largest `seq`, so
//! the log keeps working, slower.
//!
//! Filters by key, app or code scan the `seq` range newest first and stop
//! at the limit; the caller narrows the ranges with the rollups (see
//! `Store::calls`). Rows come back newest first by `seq`: within one
//! millisecond, in the order they were stored.

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

/// Bits of a row's `seq` below its millisecond: up to 2^20 rows per
/// millisecond before a range spills into the next one.
const N_BITS: u32 = 20;
/// The last counter value of a millisecond's range.
const N_MAX: i64 = (1 << N_BITS) - 1;
/// The last millisecond a `seq` can hold (year 2248); later ones clamp.
const MAX_MS: i64 = i64::MAX >> N_BITS;

/// The first `seq` of millisecond `ms`'s range (clamped to `0..=MAX_MS`).
fn base(ms: i64) -> i64 {
    ms.clamp(0, MAX_MS) << N_BITS
}

/// The ULID millisecond of a request id the gateway minted
/// (`req_` and 26 lowercase Crockford base-32 digits); `None` for any
/// other text. For such ids, text order is millisecond order.
pub(crate) fn id_ms(id: &str) -> Option<i64> {
    let ulid = id.strip_prefix("req_")?.as_bytes();
    if ulid.len() != 26 || ulid[0] > b'7' {
        return None;
    }
    let mut ms: i64 = 0;
    for (i, &c) in ulid.iter().enumerate() {
        let digit = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'h' => c - b'a' + 10,
            b'j' | b'k' => c - b'j' + 18,
            b'm' | b'n' => c - b'm' + 20,
            b'p'..=b't' => c - b'p' + 22,
            b'v'..=b'z' => c - b'v' + 27,
            _ => return None,
        };
        if i < 10 {
            ms = (ms << 5) | i64::from(digit);
        }
    }
    Some(ms)
}

/// The millisecond whose `seq` range holds `row`: its id's, or for an id
/// that is not a minted ULID, its time's.
fn row_ms(row: &CallLogRow, time_ns: i64) -> (i64, bool) {
    match id_ms(row.request_id.as_str()) {
        Some(ms) => (ms, true),
        None => (time_ns.div_euclid(1_000_000), false),
    }
}

/// The next free `seq` of millisecond `ms`'s range, given `last`, the
/// largest `seq` stored: `last + 1` when `last` is in that range (the
/// common case: rows arrive in order), the range's first when `last` is
/// older; otherwise (a straggler, older than the newest row) one more
/// than the largest `seq` stored in the range, read from the table. A
/// full range spills into the next millisecond's.
fn next_seq(conn: &Connection, ms: i64, last: Option<i64>) -> Result<i64, StoreError> {
    let b = base(ms);
    match last {
        None => return Ok(b),
        Some(l) if l < b => return Ok(b),
        Some(l) if l < b + N_MAX => return Ok(l + 1),
        Some(_) => {}
    }
    let mut ms = ms.clamp(0, MAX_MS);
    let mut stmt = conn.prepare_cached("SELECT max(seq) FROM call_log WHERE seq >= ?1 AND seq <= ?2").map_err(sqlite_error)?;
    loop {
        let b = base(ms);
        let max: Option<i64> = stmt.query_row(params![b, b + N_MAX], |r| r.get(0)).map_err(sqlite_error)?;
        match max {
            None => return Ok(b),
            Some(m) if m < b + N_MAX => return Ok(m + 1),
            Some(_) if ms < MAX_MS => ms += 1,
            Some(_) => return Err(StoreError::Backend("the call log's last millisecond is full".into())),
        }
    }
}

/// The `seq` range `[lo, hi]` that holds every row of millisecond `ms`:
/// its own range, and the next ones while the one before is full.
fn ms_span(conn: &Connection, ms: i64) -> Result<(i64, i64), StoreError> {
    let mut stmt = conn.prepare_cached("SELECT 1 FROM call_log WHERE seq = ?1").map_err(sqlite_error)?;
    let (first, mut ms) = (base(ms), ms.clamp(0, MAX_MS));
    while ms < MAX_MS && stmt.exists([base(ms) + N_MAX]).map_err(sqlite_error)? {
        ms += 1;
    }
    Ok((first, base(ms) + N_MAX))
}

/// Whether `id` is stored, looking in `span` (`None`: everywhere).
fn stored(conn: &Connection, id: &str, span: Option<(i64, i64)>) -> Result<bool, StoreError> {
    let (lo, hi) = span.unwrap_or((i64::MIN, i64::MAX));
    conn.prepare_cached("SELECT 1 FROM call_log WHERE seq >= ?1 AND seq <= ?2 AND request_id = ?3")
        .and_then(|mut s| s.exists(params![lo, hi, id]))
        .map_err(sqlite_error)
}

/// Inserts `rows` in one transaction with one cached statement.
///
/// Each row gets `seq = (ms << 20) | n`: `ms` its request id's ULID
/// millisecond, `n` a counter in that millisecond. The batch is sorted
/// by request id first, so the rows of a batch are appended in key
/// order: SQLite fills the last page and starts a new one (its cheap
/// `balance_quick` path) instead of splitting pages in the middle of the
/// tree. A row older than the newest stored (a straggler from a slow
/// request, or another writer) takes the next free `seq` of its own
/// millisecond. A request id already stored is refused
/// ([`StoreError::Conflict`]); only rows whose millisecond already had
/// rows are looked up for that.
pub(crate) fn insert(conn: &mut Connection, rows: &[CallLogRow]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
    insert_rows(&tx, rows)?;
    tx.commit().map_err(sqlite_error)
}

/// [`insert`] inside the caller's transaction.
fn insert_rows(tx: &Connection, rows: &[CallLogRow]) -> Result<(), StoreError> {
    let mut order = Vec::with_capacity(rows.len());
    for r in rows {
        let time = time_ns(&r.time).map_err(|e| StoreError::Backend(format!("cannot store call {}: {e}", r.request_id)))?;
        let (ms, minted) = row_ms(r, time);
        order.push((ms, minted, time, r));
    }
    order.sort_unstable_by(|a, b| (a.0, a.3.request_id.as_str()).cmp(&(b.0, b.3.request_id.as_str())));
    {
        let stored_max: Option<i64> = tx
            .prepare_cached("SELECT max(seq) FROM call_log")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(sqlite_error)?;
        let mut last = stored_max;
        let mut stmt = tx
            .prepare_cached(&format!(
                "INSERT INTO call_log (seq, {COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
            ))
            .map_err(sqlite_error)?;
        let mut previous: Option<&str> = None;
        let mut prev: Option<(i64, i64)> = None;
        for &(ms, minted, time, r) in &order {
            let id = r.request_id.as_str();
            let conflict = || StoreError::Conflict(format!("call {id} is already stored"));
            if previous == Some(id) {
                return Err(conflict());
            }
            previous = Some(id);
            // Only a millisecond that had rows before this batch can hold the id.
            let old_range = stored_max.is_some_and(|m| base(ms) <= m);
            if (old_range || !minted) && stored(tx, id, if minted { Some(ms_span(tx, ms)?) } else { None })? {
                return Err(conflict());
            }
            // After a row of the same millisecond, the next number: that
            // row holds the largest `seq` of its range (also after a spill).
            let seq = match prev {
                Some((p_ms, p)) if p_ms == ms && p & N_MAX != N_MAX => p + 1,
                _ => next_seq(tx, ms, last)?,
            };
            prev = Some((ms, seq));
            // One past the largest stored: SQLite's own next rowid, which
            // it appends without searching the tree for a duplicate.
            let next_rowid = last == Some(seq - 1);
            last = Some(last.map_or(seq, |l| l.max(seq)));
            stmt.execute(params![
                (!next_rowid).then_some(seq),
                id,
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
                other => sqlite_error(other),
            })?;
            if next_rowid && tx.last_insert_rowid() != seq {
                return Err(StoreError::Backend(format!("call {id} was stored at {} instead of {seq}", tx.last_insert_rowid())));
            }
        }
    }
    Ok(())
}

/// Migration 6's copy of the call log (keyed by request id) into
/// `call_log_v6` (keyed by `seq`), which then becomes `call_log`. Rows
/// with minted ids are copied by one `INSERT ... SELECT` in id order, so
/// each gets `max(ms << 20, previous + 1)` (the order the writer gives
/// them); the others (ids from elsewhere, none from the gateway) are
/// read back and placed by their time, as the writer would.
pub(crate) fn migrate_to_seq(conn: &Connection) -> Result<(), StoreError> {
    use rusqlite::functions::FunctionFlags;
    let det = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("keyway_call_ms", 1, det, |ctx| Ok(ctx.get_raw(0).as_str().ok().and_then(id_ms)))
        .map_err(sqlite_error)?;
    let mut last: Option<(i64, i64)> = None;
    conn.create_scalar_function("keyway_call_seq", 1, FunctionFlags::SQLITE_UTF8, move |ctx| {
        let ms = ctx
            .get_raw(0)
            .as_str()
            .ok()
            .and_then(id_ms)
            .ok_or_else(|| rusqlite::Error::UserFunctionError("keyway_call_seq: not a minted request id".into()))?;
        let seq = match last {
            Some((last_ms, _)) if ms < last_ms => {
                return Err(rusqlite::Error::UserFunctionError("keyway_call_seq: rows out of id order".into()))
            }
            Some((_, l)) => base(ms).max(l + 1),
            None => base(ms),
        };
        last = Some((ms, seq));
        Ok(seq)
    })
    .map_err(sqlite_error)?;
    let others: Vec<CallLogRow> = {
        let mut stmt = conn
            .prepare(&format!("SELECT {COLUMNS} FROM call_log WHERE keyway_call_ms(request_id) IS NULL"))
            .map_err(sqlite_error)?;
        let rows = stmt.query_map([], row).map_err(sqlite_error)?;
        rows.collect::<Result<_, _>>().map_err(sqlite_error)?
    };
    conn.execute_batch(&format!(
        "INSERT INTO call_log_v6 (seq, {COLUMNS}) \
         SELECT keyway_call_seq(request_id), {COLUMNS} FROM call_log \
         WHERE keyway_call_ms(request_id) IS NOT NULL ORDER BY request_id;
         DROP TABLE call_log;
         ALTER TABLE call_log_v6 RENAME TO call_log;"
    ))
    .map_err(sqlite_error)?;
    for name in ["keyway_call_seq", "keyway_call_ms"] {
        conn.remove_function(name, 1).map_err(sqlite_error)?;
    }
    insert_rows(conn, &others)
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
/// own bounds), newest first (by `seq`: within a millisecond, in the
/// order they were stored), at most `limit`.
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
    match q.request_id.as_deref().map(id_ms) {
        // One request: the seq range of its id's millisecond.
        Some(Some(ms)) => {
            let (lo, hi) = ms_span(conn, ms)?;
            filter.cmp("seq", ">=", Value::Integer(lo));
            filter.cmp("seq", "<=", Value::Integer(hi));
        }
        // An id the gateway did not mint: only a scan finds it.
        Some(None) => {}
        // The seq range that holds the time range: the primary key does the work.
        None => {
            if let Some(s) = since {
                filter.cmp("seq", ">=", Value::Integer(base(s.div_euclid(1_000_000) - ID_SLACK_MS)));
            }
            if let Some(u) = until {
                filter.cmp("seq", "<=", Value::Integer(base(u.div_euclid(1_000_000) + ID_SLACK_MS) + N_MAX));
            }
        }
    }
    if let Some(s) = since {
        filter.cmp("time", ">=", Value::Integer(s));
    }
    if let Some(u) = until {
        filter.cmp("time", "<", Value::Integer(u));
    }
    let (sql, params) = filter.build(&format!("SELECT {COLUMNS} FROM call_log"), "seq DESC", limit);
    let mut stmt = conn.prepare_cached(&sql).map_err(sqlite_error)?;
    let rows = stmt.query_map(params_from_iter(params), row).map_err(sqlite_error)?;
    rows.collect::<Result<_, _>>().map_err(sqlite_error)
}

/// Deletes at most `chunk` rows with `time < before`, oldest first;
/// returns how many. Small chunks keep each write transaction short, so
/// the call-log writer is never held up for long by retention.
pub(crate) fn purge_chunk(conn: &Connection, before: Timestamp, chunk: usize) -> Result<u64, StoreError> {
    let before = ns(&before)?;
    let hi = base(before.div_euclid(1_000_000) + ID_SLACK_MS) + N_MAX;
    let n = conn
        .prepare_cached(
            "DELETE FROM call_log WHERE seq IN \
             (SELECT seq FROM call_log WHERE seq <= ?1 AND time < ?2 ORDER BY seq LIMIT ?3)",
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
    use super::*;

    #[test]
    fn id_ms_reads_the_ulid_millisecond_of_minted_ids_only() {
        for ms in [0, 1, 1_714_564_801_123, (1 << 48) - 1] {
            let id = RequestId::at(chrono::DateTime::from_timestamp_millis(ms).unwrap());
            assert_eq!(id_ms(id.as_str()), Some(ms), "{id}");
        }
        assert_eq!(id_ms(&RequestId::lower_bound(1_700_000_000_000)), Some(1_700_000_000_000));
        for other in [
            "req_b",
            "req_nope",
            "key_01hx0000000000000000000000",
            "req_01HX0000000000000000000000",
            "req_81hx0000000000000000000000",
            "req_01hx000000000000000000000u",
        ] {
            assert_eq!(id_ms(other), None, "{other}");
        }
    }

    fn migrated() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrations::migrate(&mut conn, super::super::migrations::MIGRATIONS, super::super::migrations::BACKFILLS)
            .unwrap();
        conn
    }

    fn row_at(ms: i64) -> CallLogRow {
        let time = chrono::DateTime::from_timestamp_millis(ms).unwrap();
        CallLogRow { status: 200, latency_ms: 1.0, ..CallLogRow::arriving(time, "GET", "/", "::1") }
    }

    fn seqs(conn: &Connection) -> Vec<i64> {
        let mut stmt = conn.prepare("SELECT seq FROM call_log ORDER BY seq").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    }

    fn by_id(conn: &Connection, r: &CallLogRow) -> Vec<CallLogRow> {
        query(conn, &LogQuery { request_id: Some(r.request_id.0.clone()), ..Default::default() }, None, 10).unwrap()
    }

    #[test]
    fn seq_counts_within_a_millisecond_and_stragglers_take_the_next_free_one() {
        let mut conn = migrated();
        let (a, b, c) = (row_at(7), row_at(7), row_at(9));
        insert(&mut conn, &[c.clone(), b.clone(), a.clone()]).unwrap();
        let (straggler, second) = (row_at(7), row_at(7));
        let older = row_at(3);
        insert(&mut conn, &[straggler.clone(), older.clone(), second.clone()]).unwrap();
        assert_eq!(seqs(&conn), vec![3 << 20, 7 << 20, (7 << 20) + 1, (7 << 20) + 2, (7 << 20) + 3, 9 << 20]);
        for r in [&a, &b, &c, &straggler, &second, &older] {
            assert_eq!(by_id(&conn, r), vec![r.clone()]);
        }
    }

    #[test]
    fn a_full_millisecond_spills_into_the_next_and_its_rows_are_still_found() {
        let mut conn = migrated();
        let filler = row_at(5);
        insert(&mut conn, std::slice::from_ref(&filler)).unwrap();
        // As if 2^20 rows had been stored at ms 5: its last seq is taken.
        conn.execute("UPDATE call_log SET seq = ?1", [(5 << 20) + N_MAX]).unwrap();
        let (spilled, next, straggler, again) = (row_at(5), row_at(6), row_at(5), row_at(5));
        insert(&mut conn, &[spilled.clone(), next.clone()]).unwrap();
        insert(&mut conn, &[straggler.clone(), again.clone()]).unwrap();
        assert_eq!(seqs(&conn), vec![(5 << 20) + N_MAX, 6 << 20, (6 << 20) + 1, (6 << 20) + 2, (6 << 20) + 3]);
        for r in [&filler, &spilled, &next, &straggler, &again] {
            assert_eq!(by_id(&conn, r), vec![r.clone()]);
        }
        assert!(matches!(insert(&mut conn, std::slice::from_ref(&spilled)), Err(StoreError::Conflict(_))));
    }

    #[test]
    fn minutes_merge_into_ranges() {
        assert_eq!(super::ranges(&[600, 540, 480, 300, 0]), vec![(480, 660), (300, 360), (0, 60)]);
        assert!(super::ranges(&[]).is_empty());
    }
}
