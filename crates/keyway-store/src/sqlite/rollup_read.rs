//! Reading rollups: the rows of one grain and level a query matches, as
//! stored or merged as the query allows (see [`Merge`]), and the minutes
//! in which a key, app or code occurred (for the log reader).
//!
//! A merged read folds each row into its group as it is read: dimension
//! text is borrowed from SQLite, and sketches are added straight from
//! their stored bytes, so a query over hundreds of thousands of rows
//! allocates per group, not per row.

use super::errors::sqlite_error;
use super::query::Filter;
use super::rollups::{merge_value, table, KEY, VALUES};
use crate::StoreError;
use keyway_core::rollup::{Dimension, Grain, Level, Merge, RollupKey, RollupQuery, RollupRow, RollupValue, OK};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, Row};
use std::collections::HashMap;

/// Columns of a merged read (`SELECT bucket, <group>, {VALUES}, ...`).
const MERGED_BUCKET: usize = 0;
const MERGED_GROUP: usize = 1;
const MERGED_FIRST_VALUE: usize = 2;
/// Most merged rows reserved up front (~70 MB of address space, paged in
/// only as used).
const RESERVE_CAP: usize = 262_144;
/// The first counted column of an unmerged read (`SELECT {KEY}, ...`).
const FIRST_VALUE: usize = 8;

/// The column named `d`.
fn column(d: Dimension) -> &'static str {
    match d {
        Dimension::Tenant => "tenant_id",
        Dimension::Api => "api_id",
        Dimension::App => "app_id",
        Dimension::Key => "key_id",
        Dimension::Code => "code",
    }
}

/// The index a query filtering on one key, app or code reads, when its
/// grain has one: the rows of that key, app or code in bucket order,
/// instead of every row of the range (SQLite, without statistics, picks
/// the range of the primary key whatever the filter). A key is the most
/// selective, then an app, then a code (not `ok`: most calls).
fn index_hint(q: &RollupQuery) -> &'static str {
    match q.grain {
        Grain::Full if q.key_id.is_some() => "INDEXED BY rollups_key",
        Grain::Full if q.app_id.is_some() => "INDEXED BY rollups_app",
        Grain::Full if q.code.as_deref().is_some_and(|c| c != OK) => "INDEXED BY rollups_code",
        Grain::Key if q.key_id.is_some() => "INDEXED BY rollups_by_key_key",
        Grain::Key if q.app_id.is_some() => "INDEXED BY rollups_by_key_app",
        Grain::App if q.app_id.is_some() => "INDEXED BY rollups_by_app_app",
        _ => "",
    }
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

fn no_limit() -> usize {
    usize::try_from(i64::MAX).unwrap_or(usize::MAX)
}

/// Rows matching `q`, oldest bucket first: as stored, or merged per
/// `q.merge`. A merged read selects only the bucket, the group and the
/// values (the sketches only when `q.sketches`), so a read of counts
/// alone is answered from the grain's counts index (migration 7) and
/// never reads a sketch.
pub(crate) fn query(conn: &Connection, q: &RollupQuery) -> Result<Vec<RollupRow>, StoreError> {
    let (sql, params) = sql(q);
    let mut stmt = conn.prepare_cached(&sql).map_err(sqlite_error)?;
    let mut rows = stmt.query(params_from_iter(params)).map_err(sqlite_error)?;
    let mut out = Vec::new();
    match q.merge {
        None => {
            while let Some(r) = rows.next().map_err(sqlite_error)? {
                let mut value = RollupValue::default();
                merge_value(r, FIRST_VALUE, q.sketches, &mut value).map_err(sqlite_error)?;
                out.push(RollupRow { grain: q.grain, level: q.level, key: key(r).map_err(sqlite_error)?, value });
            }
        }
        Some(merge) => {
            let mut fold = Fold { q, merge, bucket: None, open: HashMap::new(), out: &mut out };
            while let Some(r) = rows.next().map_err(sqlite_error)? {
                fold.add(r).map_err(sqlite_error)?;
            }
            fold.close();
        }
    }
    Ok(out)
}

/// The statement reading `q`, and its parameters.
fn sql(q: &RollupQuery) -> (String, Vec<Value>) {
    let t = table(q.grain);
    let hint = index_hint(q);
    let sketches = if q.sketches { ", latency, upstream_latency" } else { "" };
    let select = match q.merge {
        None => format!("SELECT {KEY}, {VALUES}{sketches} FROM {t} {hint}"),
        Some(merge) => {
            let group = merge.by.map_or("''", column);
            format!("SELECT bucket, {group}, {VALUES}{sketches} FROM {t} {hint}")
        }
    };
    filter(q, q.level).build(&select, "bucket", no_limit())
}

/// The key columns of a row read as `SELECT {KEY}, ...`.
pub(crate) fn key(r: &Row<'_>) -> rusqlite::Result<RollupKey> {
    Ok(RollupKey {
        bucket: r.get(1)?,
        tenant_id: r.get(2)?,
        api_id: r.get(3)?,
        app_id: r.get(4)?,
        key_id: r.get(5)?,
        status_class: r.get(6)?,
        code: r.get(7)?,
    })
}

/// Rows merged per bucket of the merge's step and group, as they arrive
/// (oldest bucket first, so a bucket is done when a later one starts).
struct Fold<'a> {
    q: &'a RollupQuery,
    merge: Merge,
    bucket: Option<i64>,
    open: HashMap<String, RollupValue>,
    out: &'a mut Vec<RollupRow>,
}

impl Fold<'_> {
    fn add(&mut self, r: &Row<'_>) -> rusqlite::Result<()> {
        let bucket = self.merge.bucket(r.get(MERGED_BUCKET)?);
        if self.bucket != Some(bucket) {
            self.close();
            self.bucket = Some(bucket);
        }
        let group = r.get_ref(MERGED_GROUP)?.as_str()?;
        if let Some(value) = self.open.get_mut(group) {
            return merge_value(r, MERGED_FIRST_VALUE, self.q.sketches, value);
        }
        let mut value = RollupValue::default();
        merge_value(r, MERGED_FIRST_VALUE, self.q.sketches, &mut value)?;
        self.open.insert(group.to_owned(), value);
        Ok(())
    }

    /// Moves the open bucket's groups to the answer.
    fn close(&mut self) {
        let Some(bucket) = self.bucket else {
            return;
        };
        let (grain, level, by) = (self.q.grain, self.q.level, self.merge.by);
        if self.out.is_empty() {
            // As many groups in each bucket still to come as in the first:
            // the answer grows once, not by doubling (a copy of every row
            // so far, and fresh pages, each time).
            let buckets = (self.q.until.saturating_sub(bucket) / self.merge.step.max(1)).saturating_add(1);
            let rows = usize::try_from(buckets).unwrap_or(usize::MAX).saturating_mul(self.open.len());
            self.out.reserve(rows.min(RESERVE_CAP));
        }
        self.out.extend(self.open.drain().map(|(group, value)| {
            let mut key = RollupKey { bucket, status_class: 0, ..RollupKey::default() };
            if let Some(d) = by {
                *dimension_mut(&mut key, d) = group;
            }
            RollupRow { grain, level, key, value }
        }));
    }
}

fn dimension_mut(k: &mut RollupKey, d: Dimension) -> &mut String {
    match d {
        Dimension::Tenant => &mut k.tenant_id,
        Dimension::Api => &mut k.api_id,
        Dimension::App => &mut k.app_id,
        Dimension::Key => &mut k.key_id,
        Dimension::Code => &mut k.code,
    }
}

/// Distinct minute buckets in `[since, until)` (unix seconds) where a
/// call matching `q`'s dimensions occurred, newest first (from the full
/// grain, whatever `q.grain` says).
pub(crate) fn minutes(conn: &Connection, q: &RollupQuery) -> Result<Vec<i64>, StoreError> {
    let f = filter(q, Level::Minute);
    let (sql, params) = f.build(&format!("SELECT DISTINCT bucket FROM {}", table(Grain::Full)), "bucket DESC", no_limit());
    let mut stmt = conn.prepare_cached(&sql).map_err(sqlite_error)?;
    let rows = stmt.query_map(params_from_iter(params), |r| r.get(0)).map_err(sqlite_error)?;
    rows.collect::<Result<_, _>>().map_err(sqlite_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::migrations::{migrate, BACKFILLS, MIGRATIONS};

    fn plan(conn: &Connection, q: &RollupQuery) -> String {
        let (sql, params) = sql(q);
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt.query_map(params_from_iter(params), |r| r.get::<_, String>(3)).unwrap();
        rows.collect::<Result<Vec<_>, _>>().unwrap().join("; ")
    }

    fn q(grain: Grain, level: Level, sketches: bool, by: Option<Dimension>) -> RollupQuery {
        RollupQuery {
            grain,
            level,
            since: 0,
            until: 86_400 * 7,
            tenant_id: None,
            api_id: None,
            app_id: None,
            key_id: None,
            code: None,
            sketches,
            merge: Some(Merge { step: 3600, by }),
        }
    }

    #[test]
    fn reads_of_counts_never_touch_sketches_and_filters_use_their_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, MIGRATIONS, BACKFILLS).unwrap();
        let counts = q(Grain::Key, Level::Hour, false, Some(Dimension::Key));
        assert!(plan(&conn, &counts).contains("COVERING INDEX rollups_by_key_counts"), "{}", plan(&conn, &counts));
        let by_code = q(Grain::Api, Level::Minute, false, Some(Dimension::Code));
        assert!(plan(&conn, &by_code).contains("COVERING INDEX rollups_by_api_counts"), "{}", plan(&conn, &by_code));
        // Percentiles need the sketches: the table itself.
        let p99 = q(Grain::Key, Level::Hour, true, Some(Dimension::App));
        assert!(!plan(&conn, &p99).contains("rollups_by_key_counts"), "{}", plan(&conn, &p99));
        // One key, app or code: its rows only.
        let one_key = RollupQuery { key_id: Some("key_1".into()), ..q(Grain::Key, Level::Hour, true, None) };
        assert!(plan(&conn, &one_key).contains("INDEX rollups_by_key_key (level=? AND key_id=?"), "{}", plan(&conn, &one_key));
        let one_key = RollupQuery { key_id: Some("key_1".into()), ..q(Grain::Full, Level::Minute, false, None) };
        assert!(plan(&conn, &one_key).contains("INDEX rollups_key (level=? AND key_id=?"), "{}", plan(&conn, &one_key));
        let one_code =
            RollupQuery { code: Some("key_revoked".into()), ..q(Grain::Full, Level::Hour, false, Some(Dimension::Key)) };
        assert!(plan(&conn, &one_code).contains("INDEX rollups_code (level=? AND code=?"), "{}", plan(&conn, &one_code));
        let one_app = RollupQuery { app_id: Some("app_1".into()), ..q(Grain::Key, Level::Day, false, None) };
        assert!(plan(&conn, &one_app).contains("INDEX rollups_by_key_app (level=? AND app_id=?"), "{}", plan(&conn, &one_app));
        let one_app = RollupQuery { app_id: Some("app_1".into()), ..q(Grain::App, Level::Day, true, None) };
        assert!(plan(&conn, &one_app).contains("INDEX rollups_by_app_app (level=? AND app_id=?"), "{}", plan(&conn, &one_app));
        let by_app = q(Grain::App, Level::Hour, false, Some(Dimension::App));
        assert!(plan(&conn, &by_app).contains("COVERING INDEX rollups_by_app_counts"), "{}", plan(&conn, &by_app));
    }
}
