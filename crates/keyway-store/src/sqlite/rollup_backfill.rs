//! Backfills of coarser grains from rollups already stored, so a store
//! upgraded in place answers from them at once, for all the past it has
//! rollups of: migration 5's per-key and per-API grains from the full
//! one, migration 9's per-app grain from the per-key one. One pass over
//! the source table in key order, one (level, bucket) at a time.

use super::errors::sqlite_error;
use super::rollup_read::key;
use super::rollups::{merge_value, table, Adder, KEY, VALUES};
use crate::StoreError;
use keyway_core::rollup::{Grain, Level, RollupKey, RollupValue};
use rusqlite::Connection;
use std::collections::HashMap;

/// Fills `rollups_by_key` (hours and days) and `rollups_by_api` from
/// `rollups` (migration 5).
pub(crate) fn coarse_grains(conn: &Connection) -> Result<(), StoreError> {
    fill(conn, Grain::Full, &[Grain::Key, Grain::Api])
}

/// Fills `rollups_by_app` (hours and days) from `rollups_by_key`
/// (migration 8): every call is in one per-key row of each hour and day.
pub(crate) fn app_grain(conn: &Connection) -> Result<(), StoreError> {
    fill(conn, Grain::Key, &[Grain::App])
}

/// Adds every row of `from`'s table, projected, into each of `into`'s
/// tables (at the levels each keeps).
fn fill(conn: &Connection, from: Grain, into: &[Grain]) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare(&format!("SELECT {KEY}, {VALUES}, latency, upstream_latency FROM {} ORDER BY level, bucket", table(from)))
        .map_err(sqlite_error)?;
    let mut rows = stmt.query([]).map_err(sqlite_error)?;
    let mut adders = into.iter().map(|g| Adder::new(conn, *g)).collect::<Result<Vec<_>, _>>()?;
    let mut at: Option<(Level, i64)> = None;
    let mut open: Vec<HashMap<RollupKey, RollupValue>> = into.iter().map(|_| HashMap::new()).collect();
    while let Some(r) = rows.next().map_err(sqlite_error)? {
        let level = r.get(0).map_err(sqlite_error)?;
        let level = Level::from_index(level).ok_or_else(|| StoreError::Backend(format!("rollup level {level} unknown")))?;
        let k = key(r).map_err(sqlite_error)?;
        if at != Some((level, k.bucket)) {
            if let Some((level, _)) = at {
                write(&mut adders, &mut open, level)?;
            }
            at = Some((level, k.bucket));
        }
        for (grain, merged) in into.iter().zip(open.iter_mut()).filter(|(g, _)| g.stored_at(level)) {
            merge_value(r, 8, true, merged.entry(grain.project(&k)).or_default()).map_err(sqlite_error)?;
        }
    }
    if let Some((level, _)) = at {
        write(&mut adders, &mut open, level)?;
    }
    Ok(())
}

fn write(adders: &mut [Adder<'_>], open: &mut [HashMap<RollupKey, RollupValue>], level: Level) -> Result<(), StoreError> {
    for (adder, merged) in adders.iter_mut().zip(open.iter_mut()) {
        for (k, v) in merged.drain() {
            adder.add(level, &k, &v)?;
        }
    }
    Ok(())
}
