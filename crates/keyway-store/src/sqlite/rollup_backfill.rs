//! Migration 5's backfill: the coarser grains built from the full-grain
//! rollups already stored, so a store upgraded in place answers from
//! them at once, for all the past it has rollups of. One pass over
//! `rollups` in key order, one (level, bucket) at a time.

use super::errors::sqlite_error;
use super::rollup_read::key;
use super::rollups::{merge_value, Adder, KEY, VALUES};
use crate::StoreError;
use keyway_core::rollup::{Grain, Level, RollupKey, RollupValue};
use rusqlite::Connection;
use std::collections::HashMap;

/// The grains built from the full one.
const COARSE: [Grain; 2] = [Grain::Key, Grain::Api];

/// Fills `rollups_by_key` (hours and days) and `rollups_by_api` from
/// `rollups`.
pub(crate) fn coarse_grains(conn: &Connection) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare(&format!("SELECT {KEY}, {VALUES}, latency, upstream_latency FROM rollups ORDER BY level, bucket"))
        .map_err(sqlite_error)?;
    let mut rows = stmt.query([]).map_err(sqlite_error)?;
    let mut adders = [Adder::new(conn, COARSE[0])?, Adder::new(conn, COARSE[1])?];
    let mut at: Option<(Level, i64)> = None;
    let mut open: [HashMap<RollupKey, RollupValue>; 2] = Default::default();
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
        for (grain, merged) in COARSE.iter().zip(open.iter_mut()).filter(|(g, _)| g.stored_at(level)) {
            merge_value(r, 8, true, merged.entry(grain.project(&k)).or_default()).map_err(sqlite_error)?;
        }
    }
    if let Some((level, _)) = at {
        write(&mut adders, &mut open, level)?;
    }
    Ok(())
}

fn write(adders: &mut [Adder<'_>; 2], open: &mut [HashMap<RollupKey, RollupValue>; 2], level: Level) -> Result<(), StoreError> {
    for (adder, merged) in adders.iter_mut().zip(open.iter_mut()) {
        for (k, v) in merged.drain() {
            adder.add(level, &k, &v)?;
        }
    }
    Ok(())
}
