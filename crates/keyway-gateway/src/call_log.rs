//! The call log's write path: the request path stages each row in its
//! worker's own buffer (an uncontended lock and a push: nothing shared
//! with the other workers per request) and hands the writer a chunk of
//! [`STAGE_ROWS`] at a time through a bounded channel, never waiting. One
//! writer task wakes every `flush_interval` (sooner when the queue is half
//! full), collects every worker's partial chunk, and inserts what is
//! queued in batches of at most `batch_size` rows, one transaction per
//! batch. When the channel is full the chunk is dropped and counted
//! (`keyway_call_log_dropped_total`), never silently. Shutdown collects the
//! partial chunks, closes the channel and drains everything buffered.
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
use std::sync::{Arc, Mutex, PoisonError};
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

/// Rows a worker stages before handing them to the writer together.
pub const STAGE_ROWS: usize = 64;

/// One worker's rows not yet handed to the writer.
#[derive(Debug, Default)]
struct Stage {
    rows: Mutex<Vec<CallLogRow>>,
}

impl Stage {
    fn take(&self) -> Vec<CallLogRow> {
        std::mem::take(&mut *self.rows.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Every worker's stage, for the writer (and `flush`) to collect.
#[derive(Debug, Default)]
struct Stages {
    all: Mutex<Vec<Arc<Stage>>>,
}

impl Stages {
    fn add(&self) -> Arc<Stage> {
        let stage = Arc::new(Stage::default());
        self.all.lock().unwrap_or_else(PoisonError::into_inner).push(stage.clone());
        stage
    }

    /// Every worker's partial chunk, counted as queued.
    fn take_all(&self, stats: &CallLogStats) -> Vec<Vec<CallLogRow>> {
        let stages = self.all.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let chunks: Vec<_> = stages.iter().map(|s| s.take()).filter(|rows| !rows.is_empty()).collect();
        stats.queued.fetch_add(chunks.iter().map(|c| c.len() as u64).sum(), Ordering::Relaxed);
        chunks
    }

    /// Rows staged and not yet handed over.
    fn staged_rows(&self) -> u64 {
        let stages = self.all.lock().unwrap_or_else(PoisonError::into_inner).clone();
        stages.iter().map(|s| s.rows.lock().unwrap_or_else(PoisonError::into_inner).len() as u64).sum()
    }
}

/// Queues `rows` for the writer, or drops and counts them when it is full.
fn hand_over(tx: &mpsc::Sender<Vec<CallLogRow>>, stats: &CallLogStats, rows: Vec<CallLogRow>) -> bool {
    let n = rows.len() as u64;
    match tx.try_send(rows) {
        Ok(()) => {
            stats.queued.fetch_add(n, Ordering::Relaxed);
            true
        }
        Err(_) => {
            stats.dropped.fetch_add(n, Ordering::Relaxed);
            metrics::counter!("keyway_call_log_dropped_total").increment(n);
            false
        }
    }
}

/// The request path's handle, never blocks. A clone shares its stage;
/// [`CallLogSender::for_worker`] gives a worker a stage of its own.
#[derive(Clone, Debug)]
pub struct CallLogSender {
    /// Off (`call_log.enabled = false`): rows are dropped uncounted.
    enabled: bool,
    tx: mpsc::Sender<Vec<CallLogRow>>,
    stage: Arc<Stage>,
    stages: Arc<Stages>,
    stats: Arc<CallLogStats>,
    backlog: Arc<Notify>,
    rollups: Arc<LiveRollups>,
}

impl CallLogSender {
    /// The same log with a stage of its own, for one worker thread.
    pub fn for_worker(&self) -> Self {
        Self { stage: self.stages.add(), ..self.clone() }
    }

    /// Stages a row; a full stage goes to the writer (if the queue is
    /// full, its rows are dropped and counted).
    pub fn record(&self, row: CallLogRow) {
        if !self.enabled {
            return;
        }
        let chunk = {
            let mut rows = self.stage.rows.lock().unwrap_or_else(PoisonError::into_inner);
            if rows.capacity() == 0 {
                rows.reserve(STAGE_ROWS);
            }
            rows.push(row);
            if rows.len() < STAGE_ROWS {
                return;
            }
            std::mem::replace(&mut *rows, Vec::with_capacity(STAGE_ROWS))
        };
        // Past half full, do not wait for the interval.
        if hand_over(&self.tx, &self.stats, chunk) && self.tx.capacity() < self.tx.max_capacity() / 2 {
            self.backlog.notify_one();
        }
    }

    /// Has every row queued before this call written now, instead of at
    /// the next interval, and waits for it (at most `within`). Returns
    /// whether they were. So `diagnose` finds a request the moment its
    /// response was sent: its row was queued before the response left.
    pub async fn flush(&self, within: Duration) -> bool {
        // The staged rows count too: the writer collects them when woken.
        let target = self.stats.queued.load(Ordering::Relaxed) + self.stages.staged_rows();
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
        let (tx, rx) = mpsc::channel(settings.queue_capacity.div_ceil(STAGE_ROWS).max(1));
        let stats = Arc::new(CallLogStats::default());
        // Exported from the start, at zero, so a dashboard sees 0 rather than nothing.
        for name in ["keyway_call_log_dropped_total", "keyway_call_log_written_total", "keyway_call_log_failed_total"] {
            metrics::counter!(name).increment(0);
        }
        let (stop_tx, stop_rx) = oneshot::channel();
        let backlog = Arc::new(Notify::new());
        let rollups = Arc::new(LiveRollups::default());
        let stages = Arc::new(Stages::default());
        let stage = stages.add();
        let shared = Shared { stats: stats.clone(), rollups: rollups.clone(), sinks, stages: stages.clone() };
        let writer = run(store, settings, rx, stop_rx, backlog.clone(), shared);
        let task = tokio::task::spawn_blocking(move || background(writer));
        (CallLogSender { enabled: true, tx, stage, stages, stats, backlog, rollups }, CallLogWriter { stop: Some(stop_tx), task })
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

/// The nice value the writer's thread (and the threads it starts, which
/// inherit it: its runtime's blocking pool, where SQLite writes) runs at.
/// Above the gateway workers' 0, so that on a contended core a batch of
/// inserts yields to requests instead of delaying them by milliseconds;
/// not the lowest (19), so that the writer still gets ~10% of a busy core,
/// more than its ~6% share at saturation, and keeps up.
pub const WRITER_NICE: i32 = 10;

/// Runs the writer on a thread of its own: lowers that thread's
/// scheduling priority to [`WRITER_NICE`] (best effort: a system that
/// refuses leaves it as it was, logged), then drives `writer` on a
/// current-thread runtime of its own, whose blocking pool (started from
/// this thread) inherits the priority.
fn background(writer: impl std::future::Future<Output = ()>) {
    lower_priority();
    match tokio::runtime::Builder::new_current_thread().enable_all().thread_name("call-log-io").build() {
        Ok(rt) => rt.block_on(writer),
        Err(e) => tracing::error!(error = %e, "call-log writer runtime could not start; no call-log rows will be written"),
    }
}

fn lower_priority() {
    // thread-priority maps 0..=99 onto nice 19..=-20 for the normal policy:
    // 22 is nice 10 (`WRITER_NICE`).
    let priority = thread_priority::ThreadPriorityValue::try_from(22u8).map(thread_priority::ThreadPriority::Crossplatform);
    match priority.map(thread_priority::set_current_thread_priority) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = ?e, "call-log writer keeps the default scheduling priority"),
        Err(e) => tracing::warn!(error = %e, "call-log writer keeps the default scheduling priority"),
    }
}

/// What the writer shares with the request path and the admin API.
struct Shared {
    stats: Arc<CallLogStats>,
    rollups: Arc<LiveRollups>,
    sinks: Vec<Arc<dyn BatchSink>>,
    stages: Arc<Stages>,
}

async fn run(
    store: Arc<dyn Store>,
    settings: CallLogSettings,
    mut rx: mpsc::Receiver<Vec<CallLogRow>>,
    mut stop: oneshot::Receiver<()>,
    backlog: Arc<Notify>,
    shared: Shared,
) {
    let Shared { stats, rollups, sinks, stages } = shared;
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
            _ = &mut stop => stopping = true,
        }
        if stopping {
            rx.close();
        }
        // The workers' partial chunks come after the full ones queued
        // before them (at the stop, the last ones: nothing is recorded
        // after the listeners drained).
        let mut partial = stages.take_all(&stats).into_iter();
        // Write everything queued, one transaction per batch.
        let mut carry: Vec<CallLogRow> = Vec::new();
        loop {
            while batch.len() < batch_size {
                if carry.is_empty() {
                    match rx.try_recv().ok().or_else(|| partial.next()) {
                        Some(chunk) => carry = chunk,
                        None => break,
                    }
                }
                let room = batch_size - batch.len();
                if carry.len() <= room {
                    batch.append(&mut carry);
                } else {
                    batch.extend(carry.drain(..room));
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

    /// The stored row count once it reaches `n`, or after two seconds.
    async fn count_reaching(store: &SqliteStore, n: usize) -> usize {
        let mut seen = 0;
        for _ in 0..200 {
            seen = count(store).await;
            if seen == n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        seen
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
        assert_eq!(count_reaching(&store, 25).await, 25);
        writer.shutdown().await;
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_instead_of_blocking() {
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let settings = CallLogSettings {
            // Room for one staged chunk.
            queue_capacity: STAGE_ROWS,
            batch_size: 10,
            flush_interval: Duration::from_secs(3600),
            ..Default::default()
        };
        let (tx, writer) = CallLogWriter::start(store.clone(), settings);
        for _ in 0..STAGE_ROWS * 3 + 5 {
            tx.record(row());
        }
        assert_eq!(tx.stats().dropped.load(Ordering::Relaxed), 2 * STAGE_ROWS as u64, "two chunks found the queue full");
        writer.shutdown().await;
        assert_eq!(count(&store).await, STAGE_ROWS + 5, "the queued chunk and the staged rows are written");
    }

    #[tokio::test]
    async fn every_workers_staged_rows_are_written_at_the_interval_and_at_shutdown() {
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let settings = CallLogSettings { batch_size: 7, flush_interval: Duration::from_millis(20), ..Default::default() };
        let (tx, writer) = CallLogWriter::start(store.clone(), settings);
        let workers = [tx.for_worker(), tx.for_worker(), tx.for_worker()];
        for (i, w) in workers.iter().enumerate() {
            for _ in 0..=i {
                w.record(row());
            }
        }
        assert_eq!(count_reaching(&store, 6).await, 6, "partial stages are collected at the interval");
        for w in &workers {
            w.record(row());
        }
        writer.shutdown().await;
        assert_eq!(count(&store).await, 9, "and at shutdown");
    }
}
