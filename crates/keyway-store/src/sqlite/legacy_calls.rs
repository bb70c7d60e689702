//! The call log's row table of schema versions 6 and 7, kept for the
//! migrations that still write it (6) and read it (8, which moves every
//! row into frames, see `calls.rs`). Nothing else uses it; reads,
//! filters and retention are the frames' (`calls.rs`).
//!
//! The table is a rowid table keyed by `seq = (ms << 20) | n` (migration
//! 6): `ms` is the request id's ULID millisecond (the gateway mints the
//! id from the row's time, so it is the row's millisecond) and `n` counts
//! the rows stored in that millisecond. Migration 6 numbers the rows it
//! copies in id order; a row whose id the gateway did not mint is placed
//! by its time, one more than the largest `seq` of its millisecond, and a
//! millisecond whose 2^20 numbers are used spills into the next one's.
//! `request_id` is a plain column without an index.

use super::codec::{clamp_count, from_ns, time_ns};
use super::enums::Enum;
use super::errors::sqlite_error;
use crate::StoreError;
use keyway_core::ids::{ApiId, AppId, KeyId, RequestId, TenantId};
use keyway_core::records::CallLogRow;
use rusqlite::{params, Connection, Row};

const COLUMNS: &str = "request_id, time, tenant_id, api_id, app_id, key_id, key_prefix, method, path, status, code, \
                       client_ip, latency_ms, upstream_latency_ms, model, prompt_tokens, completion_tokens, cost_usd, trace";

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

/// The millisecond whose `seq` range holds `row`: its id's, or for an id
/// that is not a minted ULID, its time's.
fn row_ms(row: &CallLogRow, time_ns: i64) -> (i64, bool) {
    match crate::call_frame::id_ms(row.request_id.as_str()) {
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

/// Inserts `rows` (inside the caller's transaction) with one cached statement.
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
                crate::trace_codec::encode(&r.trace),
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
    conn.create_scalar_function("keyway_call_ms", 1, det, |ctx| {
        Ok(ctx.get_raw(0).as_str().ok().and_then(crate::call_frame::id_ms))
    })
    .map_err(sqlite_error)?;
    let mut last: Option<(i64, i64)> = None;
    conn.create_scalar_function("keyway_call_seq", 1, FunctionFlags::SQLITE_UTF8, move |ctx| {
        let ms = ctx
            .get_raw(0)
            .as_str()
            .ok()
            .and_then(crate::call_frame::id_ms)
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
        provider: None,
        tokens_estimated: false,
        token_details: None,
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
            crate::trace_codec::decode(bytes)
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(18, rusqlite::types::Type::Blob, Box::new(e)))?
        },
    })
}

/// Migration 8's move of every row of the `call_log` table into frames
/// (`call_frames`, see `calls.rs`), in `seq` order, then the table's
/// drop. Reads and writes a chunk at a time, so memory stays bounded
/// however large the log is.
pub(crate) fn move_into_frames(conn: &Connection) -> Result<(), StoreError> {
    const CHUNK: usize = 16 * crate::call_frame::MAX_ROWS;
    {
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM call_log ORDER BY seq")).map_err(sqlite_error)?;
        let mut rows = stmt.query_map([], row).map_err(sqlite_error)?;
        let mut chunk = Vec::with_capacity(CHUNK);
        loop {
            chunk.clear();
            for r in rows.by_ref().take(CHUNK) {
                chunk.push(r.map_err(sqlite_error)?);
            }
            if chunk.is_empty() {
                break;
            }
            let frames = crate::call_frame::split(&chunk).map_err(|e| StoreError::Backend(e.to_string()))?;
            super::calls::write_frames(conn, &frames)?;
        }
    }
    conn.execute_batch("DROP TABLE call_log").map_err(sqlite_error)
}
