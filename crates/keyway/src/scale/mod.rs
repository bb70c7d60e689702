//! `keyway tools scale-test`: writes a synthetic month of traffic straight
//! into a fresh store (raw rows and rollups, as the call-log writer
//! would), then times the analytics and log queries through the real
//! admin handlers, and a retention purge under concurrent writes. Run it
//! on a data directory no node is serving; it prints what it measured.

mod measure;
mod traffic;

use crate::app;
use crate::config::Config;
use keyway_gateway::rollup::LiveRollups;
use keyway_store::Store;
use std::sync::Arc;
use std::time::Instant;

/// What to generate.
#[derive(Clone, Debug)]
pub struct ScaleOptions {
    /// Rows in all.
    pub rows: u64,
    /// Days they span, ending now.
    pub days: u32,
    /// Distinct keys.
    pub keys: usize,
    /// Rows the purge test deletes.
    pub purge_rows: u64,
    /// Measure what is stored, writing nothing first.
    pub measure_only: bool,
    /// Time only the queries whose label contains this (and no purge).
    pub only: Option<String>,
}

/// Rows per insert transaction while generating.
const BATCH: usize = 5_000;

/// Generates, writes and measures; prints a report to stdout.
pub async fn run(config: &Config, opts: &ScaleOptions) -> anyhow::Result<()> {
    let store = app::open_store(config)?;
    let mut gen = traffic::Traffic::new(opts);
    if opts.measure_only {
        measure::queries(config, store.clone(), &gen, opts.only.as_deref()).await?;
        if opts.only.is_some() {
            return Ok(());
        }
        return measure::purge(store, &gen, opts.purge_rows).await;
    }
    let first = gen.time_of(0);
    store.start_rollups(first).await?;
    let live = LiveRollups::default();
    let started = Instant::now();
    let mut next_flush = first.timestamp() + 3600;
    let mut written = 0u64;
    while written < opts.rows {
        let n = (opts.rows - written).min(BATCH as u64);
        let batch = Arc::new(gen.batch(written, n));
        store.insert_call_batch(batch.clone()).await?;
        live.fold(&batch);
        written += n;
        let last = batch.last().map_or(0, |r| r.time.timestamp());
        if last >= next_flush {
            // As the writer does: everything before the previous minute.
            let cut = last - last.rem_euclid(60) - 60;
            live.flush(store.as_ref(), cut, chrono::DateTime::from_timestamp(cut, 0).unwrap_or(first)).await?;
            next_flush = last + 3600;
        }
        if written % 1_000_000 < n {
            let secs = started.elapsed().as_secs_f64();
            println!("written {written} rows in {secs:.0} s ({:.0} rows/s)", written as f64 / secs);
        }
    }
    live.flush(store.as_ref(), i64::MAX, chrono::Utc::now() + chrono::Duration::seconds(1)).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "generated {} rows over {} days in {secs:.0} s: {:.1} us per row (insert + rollup fold and flush)",
        opts.rows,
        opts.days,
        secs * 1e6 / opts.rows as f64
    );
    store.close().await?;
    let bytes = std::fs::metadata(config.data_dir.join(app::DB_FILE))?.len();
    println!(
        "disk: {:.2} GB, {:.0} MB per million rows (raw rows, rollups and their indexes)",
        bytes as f64 / 1e9,
        bytes as f64 / 1e6 / (opts.rows as f64 / 1e6)
    );
    measure::queries(config, store.clone(), &gen, opts.only.as_deref()).await?;
    measure::purge(store, &gen, opts.purge_rows).await?;
    Ok(())
}
