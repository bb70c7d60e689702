//! The call log's write path: the request path hands rows to a bounded
//! channel and never waits; one writer task wakes every `flush_interval`
//! (sooner when the queue is half full) and inserts what is queued in
//! batches of at most `batch_size` rows, one transaction per batch. When the channel is full the row is dropped and
//! counted (`keyway_call_log_dropped_total`), never silently. Shutdown
//! closes the channel and the writer drains everything buffered.
//!
//! Every batch is also offered to the [`BatchSink`]s (the exporters)
//! before it is stored; with none, nothing more happens per row.
//!
//! Every row written is folded into the [`LiveRollups`], which the writer
//! adds to storage once a minute (`rollup_interval`) and at shutdown.

use crate::batch_sink::{Batch, BatchSink};
use crate::rollup::LiveRollups;
use keyway_core::records::CallLogRow;
use keyway_store::Store;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;

/// Tuning of the call-log writer.
#[derive(Clone, Debug)]
pub struct CallLogSettings {
    /// Rows buffered between the request path and the writer.
    pub queue_capacity: usize,
    /// Most rows per insert transaction.
    pub batch_size: usize,
    /// Longest a row waits before its batch is written.
    pub flush_interval: Duration,
    /// How often closed minutes of rollups go to storage.
    pub rollup_interval: Duration,
}

impl Default for CallLogSettings {
    fn default() -> Self {
        Self {
            queue_capacity: 65_536,
            batch_size: 256,
            flush_interval: Duration::from_millis(200),
            rollup_interval: Duration::from_secs(60),
        }
    }
}

/// Counters of the call-log writer.
#[derive(Debug, Default)]
pub struct CallLogStats {
    /// Rows accepted into the queue.
    pub queued: AtomicU64,
    /// Rows dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Rows written to storage.
    pub written: AtomicU64,
    /// Rows lost because storage failed repeatedly.
    pub failed: AtomicU64,
    /// Woken after every batch the writer finishes.
    settled: Notify,
}

impl CallLogStats {
    /// Rows the writer is done with, written or lost.
    fn settled_rows(&self) -> u64 {
        self.written.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }
}

/// The request path's handle: cheap to clone, never blocks.
#[derive(Clone, Debug)]
pub struct CallLogSender {
    /// Off (`call_log.enabled = false`): rows are dropped uncounted.
    enabled: bool,
    tx: mpsc::Sender<CallLogRow>,
    stats: Arc<CallLogStats>,
    backlog: Arc<Notify>,
    rollups: Arc<LiveRollups>,
}

impl CallLogSender {
    /// Queues a row; if the queue is full, drops it and counts the drop.
    pub fn record(&self, row: CallLogRow) {
        if !self.enabled {
            return;
        }
        match self.tx.try_send(row) {
            Ok(()) => {
                self.stats.queued.fetch_add(1, Ordering::Relaxed);
                // Past half full, do not wait for the interval.
                if self.tx.capacity() < self.tx.max_capacity() / 2 {
                    self.backlog.notify_one();
                }
            }
            Err(_) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("keyway_call_log_dropped_total").increment(1);
            }
        }
    }

    /// Has every row queued before this call written now, instead of at
    /// the next interval, and waits for it (at most `within`). Returns
    /// whether they were. So `diagnose` finds a request the moment its
    /// response was sent: its row was queued before the response left.
    pub async fn flush(&self, within: Duration) -> bool {
        let target = self.stats.queued.load(Ordering::Relaxed);
        let wait = async {
            loop {
                let settled = self.stats.settled.notified();
                tokio::pin!(settled);
                settled.as_mut().enable();
                if self.stats.settled_rows() >= target {
                    return;
                }
                self.backlog.notify_one();
                settled.await;
            }
        };
        tokio::time::timeout(within, wait).await.is_ok()
    }

    /// This sender, logging nothing when `enabled` is false.
    pub fn enabled(self, enabled: bool) -> Self {
        Self { enabled, ..self }
    }

    /// The writer's counters.
    pub fn stats(&self) -> &Arc<CallLogStats> {
        &self.stats
    }

    /// The rollups of every row written, minutes not yet stored included.
    pub fn rollups(&self) -> &Arc<LiveRollups> {
        &self.rollups
    }
}

/// The writer task; stop it with [`CallLogWriter::shutdown`] to flush.
#[derive(Debug)]
pub struct CallLogWriter {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl CallLogWriter {
    /// Starts the writer over `store`.
    pub fn start(store: Arc<dyn Store>, settings: CallLogSettings) -> (CallLogSender, CallLogWriter) {
        Self::start_with_sinks(store, settings, Vec::new())
    }

    /// Starts the writer over `store`, offering every batch to `sinks`
    /// too; they are dropped when the writer ends, after its last batch.
    pub fn start_with_sinks(
        store: Arc<dyn Store>,
        settings: CallLogSettings,
        sinks: Vec<Arc<dyn BatchSink>>,
    ) -> (CallLogSender, CallLogWriter) {
        let (tx, rx) = mpsc::channel(settings.queue_capacity.max(1));
        let stats = Arc::new(CallLogStats::default());
        // Exported from the start, at zero, so a dashboard sees 0 rather than nothing.
        for name in ["keyway_call_log_dropped_total", "keyway_call_log_written_total", "keyway_call_log_failed_total"] {
            metrics::counter!(name).increment(0);
        }
        let (stop_tx, stop_rx) = oneshot::channel();
        let backlog = Arc::new(Notify::new());
        let rollups = Arc::new(LiveRollups::default());
        let shared = Shared { stats: stats.clone(), rollups: rollups.clone(), sinks };
        let task = tokio::spawn(run(store, settings, rx, stop_rx, backlog.clone(), shared));
        (CallLogSender { enabled: true, tx, stats, backlog, rollups }, CallLogWriter { stop: Some(stop_tx), task })
    }

    /// Stops accepting rows, writes every buffered one, and returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Err(e) = (&mut self.task).await {
            tracing::error!(error = %e, "call-log writer task failed");
        }
    }
}

/// What the writer shares with the request path and the admin API.
struct Shared {
    stats: Arc<CallLogStats>,
    rollups: Arc<LiveRollups>,
    sinks: Vec<Arc<dyn BatchSink>>,
}

async fn run(
    store: Arc<dyn Store>,
    settings: CallLogSettings,
    mut rx: mpsc::Receiver<CallLogRow>,
    mut stop: oneshot::Receiver<()>,
    backlog: Arc<Notify>,
    shared: Shared,
) {
    let Shared { stats, rollups, sinks } = shared;
    let batch_size = settings.batch_size.max(1);
    let mut batch: Vec<CallLogRow> = Vec::with_capacity(batch_size);
    let mut stopping = false;
    let mut next_rollup = tokio::time::Instant::now() + settings.rollup_interval;
    while !stopping {
        // Sleep through the interval rather than waking per row: the
        // request path's `try_send` then never has a task to wake. A large
        // backlog, or the stop signal, cuts the sleep short.
        tokio::select! {
            () = tokio::time::sleep(settings.flush_interval) => {}
            () = backlog.notified() => {}
            _ = &mut stop => {
                stopping = true;
                rx.close();
            }
        }
        // Write everything queued, one transaction per batch.
        loop {
            while batch.len() < batch_size {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                break;
            }
            let full = batch.len() == batch_size;
            let shared = Arc::new(std::mem::take(&mut batch));
            offer(&sinks, &shared, stopping).await;
            write_batch(store.as_ref(), shared, &mut batch, &stats, &rollups).await;
            stats.settled.notify_waiters();
            if !full {
                break;
            }
        }
        if tokio::time::Instant::now() >= next_rollup {
            next_rollup = tokio::time::Instant::now() + settings.rollup_interval;
            // The minute before the current one stays open too: a row
            // queued at its end may still be on its way.
            let now = chrono::Utc::now();
            let cut = now - chrono::Duration::seconds(now.timestamp().rem_euclid(60) + 60);
            flush_rollups(store.as_ref(), &rollups, cut.timestamp(), cut).await;
        }
    }
    // Every row is written: every minute goes to storage.
    let watermark = chrono::Utc::now() + chrono::Duration::seconds(1);
    flush_rollups(store.as_ref(), &rollups, i64::MAX, watermark).await;
}

async fn flush_rollups(store: &dyn Store, rollups: &LiveRollups, cut: i64, watermark: keyway_core::Timestamp) {
    match rollups.flush(store, cut, watermark).await {
        Ok(n) => tracing::debug!(rows = n, "rollups flushed"),
        Err(e) => tracing::warn!(error = %e, "rollup flush failed; kept for the next one"),
    }
}

/// Hands `batch` to every sink: offered while serving, handed over
/// (waiting for room) while draining at shutdown.
async fn offer(sinks: &[Arc<dyn BatchSink>], batch: &Batch, draining: bool) {
    for sink in sinks {
        if draining {
            sink.hand_over(batch).await;
        } else {
            sink.offer(batch);
        }
    }
}

/// Writes `shared` (shared with the store and the sinks, not copied),
/// retrying with backoff; then, when nobody else holds it any more, keeps
/// its allocation in `batch` for reuse.
async fn write_batch(store: &dyn Store, shared: Batch, batch: &mut Vec<CallLogRow>, stats: &CallLogStats, rollups: &LiveRollups) {
    let n = shared.len() as u64;
    if write_shared(store, &shared, n, stats).await {
        rollups.fold(&shared);
    }
    match Arc::try_unwrap(shared) {
        Ok(mut rows) => {
            rows.clear();
            *batch = rows;
        }
        // A sink still holds it: the next batch gets an allocation of its own.
        Err(_) => batch.reserve(n as usize),
    }
}

/// Whether the batch was stored.
async fn write_shared(store: &dyn Store, batch: &Arc<Vec<CallLogRow>>, n: u64, stats: &CallLogStats) -> bool {
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=5 {
        match store.insert_call_batch(Arc::clone(batch)).await {
            Ok(()) => {
                stats.written.fetch_add(n, Ordering::Relaxed);
                metrics::counter!("keyway_call_log_written_total").increment(n);
                return true;
            }
            Err(e) => {
                tracing::warn!(error = %e, attempt, rows = n, "call-log batch insert failed");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
    }
    tracing::error!(rows = n, "call-log batch lost after 5 attempts");
    stats.failed.fetch_add(n, Ordering::Relaxed);
    metrics::counter!("keyway_call_log_failed_total").increment(n);
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyway_core::records::LogQuery;
    use keyway_store::sqlite::SqliteStore;

    fn row() -> CallLogRow {
        CallLogRow {
            status: 404,
            code: Some(keyway_core::ErrorCode::RouteNotFound),
            latency_ms: 0.1,
            ..CallLogRow::arriving(chrono::Utc::now(), "GET", "/x", "127.0.0.1")
        }
    }

    async fn count(store: &SqliteStore) -> usize {
        store.calls(&LogQuery { limit: 1000, ..Default::default() }).await.unwrap().len()
    }

    /// A writer over a fresh in-memory store that only writes on its own
    /// once an hour, in batches of 7.
    fn hourly_writer_in_batches_of_7() -> (Arc<SqliteStore>, CallLogSender, CallLogWriter) {
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let settings = CallLogSettings {
            queue_capacity: 1000,
            batch_size: 7,
            flush_interval: Duration::from_secs(3600),
            ..Default::default()
        };
        let (tx, writer) = CallLogWriter::start(store.clone(), settings);
        (store, tx, writer)
    }

    #[tokio::test]
    async fn flush_writes_what_is_queued_without_waiting_for_the_interval() {
        let (store, tx, writer) = hourly_writer_in_batches_of_7();
        for _ in 0..20 {
            tx.record(row());
        }
        assert!(tx.flush(Duration::from_secs(5)).await, "flush timed out");
        assert_eq!(count(&store).await, 20);
        // Nothing queued: returns at once.
        assert!(tx.flush(Duration::from_millis(1)).await);
        writer.shutdown().await;
    }

    #[tokio::test]
    async fn shutdown_writes_every_queued_row_in_batches() {
        let (store, tx, writer) = hourly_writer_in_batches_of_7();
        for _ in 0..100 {
            tx.record(row());
        }
        // The interval is an hour: nothing is written before shutdown.
        tokio::task::yield_now().await;
        writer.shutdown().await;
        assert_eq!(count(&store).await, 100);
        assert_eq!(tx.stats().written.load(Ordering::Relaxed), 100);
        assert_eq!(tx.stats().dropped.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn rows_are_written_within_the_interval() {
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let settings = CallLogSettings {
            queue_capacity: 100,
            batch_size: 10,
            flush_interval: Duration::from_millis(10),
            ..Default::default()
        };
        let (tx, writer) = CallLogWriter::start(store.clone(), settings);
        for _ in 0..25 {
            tx.record(row());
        }
        let mut n = 0;
        for _ in 0..200 {
            n = count(&store).await;
            if n == 25 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(n, 25);
        writer.shutdown().await;
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_instead_of_blocking() {
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let settings = CallLogSettings {
            queue_capacity: 4,
            batch_size: 10,
            flush_interval: Duration::from_secs(3600),
            ..Default::default()
        };
        let (tx, writer) = CallLogWriter::start(store.clone(), settings);
        for _ in 0..10 {
            tx.record(row());
        }
        assert_eq!(tx.stats().dropped.load(Ordering::Relaxed), 6);
        writer.shutdown().await;
        assert_eq!(count(&store).await, 4, "what was queued is written; nothing else");
    }
}
