//! The call log: batched inserts from the gateway, filtered reads for the
//! admin API and diagnose, and retention.
//!
//! Rows are stored in frames (`call_frame`): one `call_frames` row per
//! frame, `(id, lo_ms, hi_ms, rows, data)`, indexed by `lo_ms`. A batch
//! of 256 calls is one insert of one blob, whatever the calls hold, so
//! the writer's cost per call is the encoding, not SQLite's per-row and
//! per-page work. A frame's rows span at most [`MAX_SPAN_MS`], so a
//! lookup of millisecond `ms` reads the frames with `lo_ms` in
//! `[ms - MAX_SPAN_MS, ms]` (by the index) whose `hi_ms >= ms`:
//!
//! - by request id: the frames holding its id's millisecond (an id the
//!   gateway did not mint is looked for in every frame);
//! - by time range: the frames overlapping it, newest first, until the
//!   limit is met by rows newer than any older frame can hold;
//! - by key, app, tenant, API or code: the same, each frame skipped at
//!   once when the text is not in its dictionary, and the time ranges
//!   narrowed by the minute rollups first (see [`find`]);
//! - retention deletes whole frames, rewriting the few that straddle the
//!   cut.
//!
//! Rows come back newest first: by request-id millisecond, then by frame
//! (the order batches were stored), then by request id.

use super::errors::sqlite_error;
use crate::call_frame::{self, Bounds, Frame, FrameError, Placed, RowFilter, MAX_SPAN_MS};
use crate::StoreError;
use keyway_core::records::{CallLogRow, LogQuery};
use keyway_core::Timestamp;
use rusqlite::{params, Connection, TransactionBehavior};

const MS: i64 = 1_000_000;

/// How far a request id's time may precede its call's time: ids of calls
/// stored before the gateway minted them from the arrival time were
/// minted within microseconds of it.
const ID_SLACK_MS: i64 = 1_000;

fn frame_error(e: FrameError) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Inserts `rows` in one transaction: sorted by request id, cut into
/// frames, one insert per frame. A request id already stored, or twice
/// in `rows`, is refused ([`StoreError::Conflict`]) and nothing is
/// stored; only the frames that can hold a row's millisecond are read
/// for that (at the tail of the log: the last frame or two).
pub(crate) fn insert(conn: &mut Connection, rows: &[CallLogRow]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let frames = call_frame::split(rows).map_err(|e| StoreError::Backend(format!("cannot store calls: {e}")))?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
    refuse_stored(&tx, &frames)?;
    write_frames(&tx, &frames)?;
    tx.commit().map_err(sqlite_error)
}

/// Writes `frames` (of [`call_frame::split`]) as they are.
pub(crate) fn write_frames(conn: &Connection, frames: &[Vec<Placed<'_>>]) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached("INSERT INTO call_frames (lo_ms, hi_ms, rows, data) VALUES (?1, ?2, ?3, ?4)")
        .map_err(sqlite_error)?;
    for frame in frames {
        let (b, data) = call_frame::encode(frame);
        stmt.execute(params![b.lo_ms, b.hi_ms, frame.len() as i64, data]).map_err(sqlite_error)?;
    }
    Ok(())
}

/// Fails if a row of `frames` repeats a request id, in the batch or stored.
fn refuse_stored(conn: &Connection, frames: &[Vec<Placed<'_>>]) -> Result<(), StoreError> {
    let conflict = |id: &str| StoreError::Conflict(format!("call {id} is already stored"));
    // Sorted by (millisecond, id) across frames: a repeat is adjacent.
    let placed: Vec<&Placed<'_>> = frames.iter().flatten().collect();
    if let Some(w) = placed.windows(2).find(|w| w[0].row.request_id == w[1].row.request_id) {
        return Err(conflict(w[0].row.request_id.as_str()));
    }
    // Each new frame spans at most MAX_SPAN_MS: the stored frames it
    // overlaps are few, and of those only the ids of calls in its time
    // span (give or take the slack of ids minted before their call's
    // time) are looked up, by binary search in the sorted batch.
    for frame in frames {
        let (lo, hi) = frame.iter().fold((i64::MAX, i64::MIN), |(lo, hi), p| (lo.min(p.id_ms), hi.max(p.id_ms)));
        let (lo_ns, hi_ns) = ((lo - ID_SLACK_MS).saturating_mul(MS), (hi + 1 + ID_SLACK_MS).saturating_mul(MS));
        let mut clash = None;
        for_frames(conn, lo, hi, |stored| {
            for (time, id) in Frame::parse(stored.data()?).and_then(|f| f.ids()).map_err(frame_error)? {
                if time < lo_ns || time >= hi_ns {
                    continue;
                }
                let ms = call_frame::id_ms(id).unwrap_or_else(|| time.div_euclid(MS));
                // Outside the batch's id milliseconds no search can match;
                // at a batch boundary that is nearly every stored id.
                if ms < lo || ms > hi {
                    continue;
                }
                if frame.binary_search_by(|p| (p.id_ms, p.row.request_id.as_str()).cmp(&(ms, id))).is_ok() {
                    clash = Some(id.to_owned());
                    return Ok(false);
                }
            }
            Ok(true)
        })?;
        if let Some(id) = clash {
            return Err(conflict(&id));
        }
    }
    Ok(())
}

/// One frame's row as the scan meets it: its bounds read, its blob not
/// yet (SQLite reads a blob's overflow pages only when it is fetched, so
/// a frame skipped by its bounds costs an index entry and one page).
struct FrameRef<'r, 's> {
    id: i64,
    bounds: Bounds,
    row: &'r rusqlite::Row<'s>,
}

#[cfg(test)]
thread_local! {
    /// Frames whose blob a test's reads fetched.
    static FETCHED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl FrameRef<'_, '_> {
    fn data(&self) -> Result<&[u8], StoreError> {
        #[cfg(test)]
        FETCHED.with(|f| f.set(f.get() + 1));
        match self.row.get_ref(3).map_err(sqlite_error)? {
            rusqlite::types::ValueRef::Blob(b) => Ok(b),
            _ => Err(StoreError::Backend("call_frames.data is not a blob".into())),
        }
    }
}

/// Calls `f` for each frame that can hold a millisecond in `[lo, hi]`,
/// newest first (by `lo_ms`), while it returns `true`. The index on
/// `(lo_ms, hi_ms)` answers which: a frame starts at most
/// [`MAX_SPAN_MS`] before `lo` and ends at or after it, so the scan
/// steps through the index entries of that span and reads only the
/// frames whose bounds overlap.
fn for_frames(
    conn: &Connection,
    lo: i64,
    hi: i64,
    mut f: impl FnMut(&FrameRef<'_, '_>) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, lo_ms, hi_ms, data FROM call_frames INDEXED BY call_frames_lo \
             WHERE lo_ms >= ?1 AND lo_ms <= ?2 AND hi_ms >= ?3 ORDER BY lo_ms DESC, hi_ms DESC, id DESC",
        )
        .map_err(sqlite_error)?;
    let mut rows = stmt.query(params![lo.saturating_sub(MAX_SPAN_MS), hi, lo]).map_err(sqlite_error)?;
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        let bounds = Bounds { lo_ms: row.get(1).map_err(sqlite_error)?, hi_ms: row.get(2).map_err(sqlite_error)? };
        let frame = FrameRef { id: row.get(0).map_err(sqlite_error)?, bounds, row };
        if !f(&frame)? {
            break;
        }
    }
    Ok(())
}

/// A filter bound in nanoseconds: times past what a row can hold
/// (years 1677-2262) clamp to the ends, so such a bound selects all or
/// nothing instead of failing.
fn ns(t: &Timestamp) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 { i64::MIN } else { i64::MAX })
}

/// A time range `[since, until)` in nanoseconds.
pub(crate) type NsRange = (i64, i64);

/// Rows matching `q` inside `window` (nanoseconds; `None`: the query's
/// own bounds), newest first, at most `limit`.
pub(crate) fn query(
    conn: &Connection,
    q: &LogQuery,
    window: Option<NsRange>,
    limit: usize,
) -> Result<Vec<CallLogRow>, StoreError> {
    let since = q.since.as_ref().map(ns);
    let until = q.until.as_ref().map(ns);
    let (since, until) = match window {
        Some((lo, hi)) => (Some(since.map_or(lo, |s| s.max(lo))), Some(until.map_or(hi, |u| u.min(hi)))),
        None => (since, until),
    };
    let filter = RowFilter {
        request_id: q.request_id.as_deref(),
        tenant_id: q.tenant_id.as_deref(),
        api_id: q.api_id.as_deref(),
        app_id: q.app_id.as_deref(),
        key_id: q.key_id.as_deref(),
        code: q.code.as_deref(),
        since_ns: since,
        until_ns: until,
    };
    // The milliseconds a matching row's id or time can fall in.
    let (lo, hi) = match q.request_id.as_deref().map(call_frame::id_ms) {
        Some(Some(ms)) => (ms, ms),
        // An id the gateway did not mint: only a scan finds it.
        Some(None) => (i64::MIN, i64::MAX),
        None => (since.map_or(i64::MIN, |s| s.div_euclid(MS)), until.map_or(i64::MAX, |u| u.div_euclid(MS))),
    };
    let mut found: Vec<(i64, i64, usize, CallLogRow)> = Vec::new();
    let mut oldest_kept = i64::MIN;
    for_frames(conn, lo, hi, |frame| {
        let (id, b) = (frame.id, frame.bounds);
        // Every frame from here on starts at or before this one: once
        // `limit` rows are newer than anything it can hold, stop.
        if found.len() >= limit {
            if b.lo_ms.saturating_add(MAX_SPAN_MS) < oldest_kept {
                return Ok(false);
            }
            // Every call of this frame is older than the limit's last:
            // skipped on its bounds, its blob never read.
            if b.hi_ms < oldest_kept {
                return Ok(true);
            }
        }
        let rows = Frame::parse(frame.data()?).and_then(|f| f.rows(&filter)).map_err(frame_error)?;
        for (i, row) in rows.into_iter().enumerate() {
            let ms = call_frame::id_ms(row.request_id.as_str()).unwrap_or_else(|| ns(&row.time).div_euclid(MS));
            found.push((ms, id, i, row));
        }
        if found.len() >= limit {
            found.sort_unstable_by_key(|f| std::cmp::Reverse((f.0, f.1, f.2)));
            found.truncate(limit);
            oldest_kept = found.last().map_or(i64::MIN, |f| f.0);
        }
        Ok(true)
    })?;
    found.sort_unstable_by_key(|f| std::cmp::Reverse((f.0, f.1, f.2)));
    found.truncate(limit);
    Ok(found.into_iter().map(|f| f.3).collect())
}

/// What one retention transaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Purged {
    /// Calls deleted.
    pub(crate) rows: u64,
    /// Whether no call older than the cut is left.
    pub(crate) done: bool,
}

/// Deletes calls with `time < before` from at most `max_frames` frames,
/// oldest first, in one transaction. Frames wholly older go whole (their
/// blobs are never read); a frame straddling `before` is rewritten with
/// its newer calls. Bounding frames rather than calls keeps each
/// transaction short however small the frames are.
pub(crate) fn purge_chunk(conn: &mut Connection, before: Timestamp, max_frames: usize) -> Result<Purged, StoreError> {
    let before = ns(&before);
    let before_ms = before.div_euclid(MS);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
    let mut rows = 0u64;
    let done;
    {
        let limit = i64::try_from(max_frames).unwrap_or(i64::MAX);
        // One more than asked: whether any is left after these.
        let picked: Vec<(i64, i64, i64)> = tx
            .prepare_cached("SELECT id, hi_ms, rows FROM call_frames WHERE lo_ms <= ?1 ORDER BY lo_ms, id LIMIT ?2")
            .and_then(|mut s| {
                s.query_map(params![before_ms, limit.saturating_add(1)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<Result<_, _>>()
            })
            .map_err(sqlite_error)?;
        let mut delete = tx.prepare_cached("DELETE FROM call_frames WHERE id = ?1").map_err(sqlite_error)?;
        let mut read = tx.prepare_cached("SELECT data FROM call_frames WHERE id = ?1").map_err(sqlite_error)?;
        let mut rewrite = tx
            .prepare_cached("UPDATE call_frames SET lo_ms = ?2, hi_ms = ?3, rows = ?4, data = ?5 WHERE id = ?1")
            .map_err(sqlite_error)?;
        let mut straddling = 0;
        for &(id, hi_ms, n) in picked.iter().take(max_frames) {
            if hi_ms < before_ms {
                delete.execute([id]).map_err(sqlite_error)?;
                rows += u64::try_from(n).unwrap_or(0);
                continue;
            }
            straddling += 1;
            let data: Vec<u8> = read.query_row([id], |r| r.get(0)).map_err(sqlite_error)?;
            let all = Frame::parse(&data).and_then(|f| f.rows(&RowFilter::default())).map_err(frame_error)?;
            let newer: Vec<CallLogRow> = all.iter().filter(|r| ns(&r.time) >= before).cloned().collect();
            let gone = (all.len() - newer.len()) as u64;
            if newer.is_empty() {
                delete.execute([id]).map_err(sqlite_error)?;
            } else if gone > 0 {
                // Fewer calls of one frame make one frame again.
                let frames = call_frame::split(&newer).map_err(frame_error)?;
                let (b, data) = call_frame::encode(&frames.concat());
                rewrite.execute(params![id, b.lo_ms, b.hi_ms, newer.len() as i64, data]).map_err(sqlite_error)?;
            }
            rows += gone;
        }
        // Straddling frames stay picked (they start before the cut): once
        // every frame picked straddles, nothing older is left.
        done = picked.len() <= max_frames || straddling == max_frames;
    }
    tx.commit().map_err(sqlite_error)?;
    Ok(Purged { rows, done })
}

/// Rows matching `q`, newest first, at most its effective limit. A query
/// by key, app, code, tenant or API reads the minute rollups for the
/// minutes where such calls occurred and reads only those frames (and
/// what is newer than the rollups' watermark), so it stays fast however
/// large the log is.
pub(crate) fn find(conn: &Connection, q: &LogQuery) -> Result<Vec<CallLogRow>, StoreError> {
    const S: i64 = 1_000_000_000;
    let limit = super::query::effective_limit(q.limit);
    let narrows = q.key_id.is_some() || q.app_id.is_some() || q.code.is_some() || q.tenant_id.is_some() || q.api_id.is_some();
    let coverage = if q.request_id.is_none() && narrows { super::rollups::coverage(conn)? } else { None };
    let Some((covered_from, watermark)) = coverage else {
        return query(conn, q, None, limit);
    };
    let since = q.since.as_ref().map(ns).unwrap_or(i64::MIN);
    let until = q.until.as_ref().map(ns).unwrap_or(i64::MAX);
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

/// How many rows the log holds.
#[cfg(test)]
pub(crate) fn count(conn: &Connection) -> Result<u64, StoreError> {
    let n: Option<i64> = conn.query_row("SELECT sum(rows) FROM call_frames", [], |r| r.get(0)).map_err(sqlite_error)?;
    Ok(n.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
}

#[cfg(test)]
mod tests;
