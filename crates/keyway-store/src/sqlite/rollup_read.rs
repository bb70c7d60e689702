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
use keyway_core::rollup::{Dimension, Grain, Level, Merge, RollupKey, RollupQuery, RollupRow, RollupValue};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, Row};
use std::collections::HashMap;

/// Columns of [`KEY`] by position.
const BUCKET: usize = 1;
const FIRST_VALUE: usize = 8;

/// The column of `d` in [`KEY`].
fn column(d: Dimension) -> usize {
    match d {
        Dimension::Tenant => 2,
        Dimension::Api => 3,
        Dimension::App => 4,
        Dimension::Key => 5,
        Dimension::Code => 7,
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
/// `q.merge`.
pub(crate) fn query(conn: &Connection, q: &RollupQuery) -> Result<Vec<RollupRow>, StoreError> {
    let sketches = if q.sketches { "latency, upstream_latency" } else { "x'', x''" };
    let (sql, params) =
        filter(q, q.level).build(&format!("SELECT {KEY}, {VALUES}, {sketches} FROM {}", table(q.grain)), "bucket", no_limit());
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
        let bucket = self.merge.bucket(r.get(BUCKET)?);
        if self.bucket != Some(bucket) {
            self.close();
            self.bucket = Some(bucket);
        }
        let group = match self.merge.by {
            Some(d) => r.get_ref(column(d))?.as_str()?,
            None => "",
        };
        if let Some(value) = self.open.get_mut(group) {
            return merge_value(r, FIRST_VALUE, self.q.sketches, value);
        }
        let mut value = RollupValue::default();
        merge_value(r, FIRST_VALUE, self.q.sketches, &mut value)?;
        self.open.insert(group.to_owned(), value);
        Ok(())
    }

    /// Moves the open bucket's groups to the answer.
    fn close(&mut self) {
        let Some(bucket) = self.bucket else {
            return;
        };
        let (grain, level, by) = (self.q.grain, self.q.level, self.merge.by);
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
