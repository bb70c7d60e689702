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

use crate::background::{set_this_thread, IdleLane, Policy};
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
    /// Someone waits in [`CallLogSender::flush`]: the next batches do not
    /// wait for idle time (see [`Lane`]).
    awaited: std::sync::atomic::AtomicBool,
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
                self.stats.awaited.store(true, Ordering::Relaxed);
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
        Self::start_with_sinks(store, settings, Vec::new(), IdleLane::start())
    }

    /// Starts the writer over `store`, offering every batch to `sinks`
    /// too (they are dropped when the writer ends, after its last batch),
    /// its batches on `idle` (see [`Lane`]; with none, all on its own
    /// thread at [`WRITER_NICE`](crate::background::WRITER_NICE)).
    pub fn start_with_sinks(
        store: Arc<dyn Store>,
        settings: CallLogSettings,
        sinks: Vec<Arc<dyn BatchSink>>,
        idle: Option<Arc<IdleLane>>,
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
        let writer = run(store, settings, rx, stop_rx, backlog.clone(), shared, idle);
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

/// The queue's fill (rows waiting, as a share of its capacity) past which
/// batches leave the idle lane for the writer's own (see [`Lane`]).
const CATCH_UP_FILL: f64 = 0.25;

/// Runs the writer on a thread of its own: lowers that thread's
/// scheduling priority to [`WRITER_NICE`](crate::background::WRITER_NICE) (best effort), then drives
/// `writer` on a current-thread runtime of its own, whose blocking pool
/// (started from this thread) inherits the priority: the catch-up lane.
fn background(writer: impl std::future::Future<Output = ()>) {
    set_this_thread(Policy::Writer);
    match tokio::runtime::Builder::new_current_thread().enable_all().thread_name("call-log-io").build() {
        Ok(rt) => rt.block_on(writer),
        Err(e) => tracing::error!(error = %e, "call-log writer runtime could not start; no call-log rows will be written"),
    }
}

/// Where a batch's work (encoding, the SQLite insert, the rollup fold)
/// runs: normally on the [`IdleLane`], so that it never delays a request;
/// but an idle thread gets next to nothing of a saturated core (or of a
/// host busy with other work), so once the queue is more than
/// [`CATCH_UP_FILL`] full, while someone waits in
/// [`CallLogSender::flush`] (`diagnose` does) and while draining at
/// shutdown, on the writer's own runtime at [`WRITER_NICE`](crate::background::WRITER_NICE), which keeps
/// up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lane {
    Idle,
    CatchUp,
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
    idle: Option<Arc<IdleLane>>,
) {
    let Shared { stats, rollups, sinks, stages } = shared;
    let settler = Settler {
        store: store.clone(),
        stats: stats.clone(),
        rollups: rollups.clone(),
        idle: idle.clone(),
        backlog: backlog.clone(),
        recheck: settings.flush_interval.min(Duration::from_millis(50)),
    };
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
        let awaited = stats.awaited.swap(false, Ordering::Relaxed);
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
            let fill = || rx.len() as f64 / rx.max_capacity() as f64;
            let lane = lane(fill(), stopping || awaited);
            batch = settler.settle(shared, lane, || lane_of(fill(), &stats) == Lane::CatchUp).await;
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
            let flush = flush_rollups(store.clone(), rollups.clone(), cut.timestamp(), cut);
            match idle.as_ref() {
                Some(idle) => {
                    if let Err(e) = idle.handle().spawn(flush).await {
                        tracing::warn!(error = %e, "rollup flush task failed; kept for the next one");
                    }
                }
                None => flush.await,
            }
        }
    }
    // Every row is written: every minute goes to storage.
    let watermark = chrono::Utc::now() + chrono::Duration::seconds(1);
    flush_rollups(store, rollups, i64::MAX, watermark).await;
}

async fn flush_rollups(store: Arc<dyn Store>, rollups: Arc<LiveRollups>, cut: i64, watermark: keyway_core::Timestamp) {
    match rollups.flush(store.as_ref(), cut, watermark).await {
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

/// The lane of the next batch: idle unless the queue is more than
/// [`CATCH_UP_FILL`] full, or someone waits for it (`flush`, the drain at
/// shutdown: `waited`).
fn lane(fill: f64, waited: bool) -> Lane {
    if waited || fill > CATCH_UP_FILL {
        Lane::CatchUp
    } else {
        Lane::Idle
    }
}

/// Whether the rows are needed now: the queue's `fill`, or a waiter in
/// [`CallLogSender::flush`] since the writer last woke.
fn lane_of(fill: f64, stats: &CallLogStats) -> Lane {
    lane(fill, stats.awaited.load(Ordering::Relaxed))
}

/// Settles batches on their lane.
struct Settler {
    store: Arc<dyn Store>,
    stats: Arc<CallLogStats>,
    rollups: Arc<LiveRollups>,
    idle: Option<Arc<IdleLane>>,
    /// Woken by a waiter in `flush` and by a filling queue.
    backlog: Arc<Notify>,
    /// How often a batch waiting for the idle lane is looked at again.
    recheck: Duration,
}

impl Settler {
    /// Settles `batch` on `lane`. A batch handed to the idle lane is taken
    /// back and settled here, on the catch-up lane, if it becomes urgent
    /// (`urgent`) before the lane started it: a lane with no idle time
    /// (a saturated core) then never holds up a `flush` or a filling queue.
    /// Once started it is waited for: it holds the log's connection.
    async fn settle(&self, batch: Batch, lane: Lane, urgent: impl Fn() -> bool) -> Vec<CallLogRow> {
        let here = |batch| settle(self.store.clone(), batch, self.stats.clone(), self.rollups.clone());
        let Some(idle) = self.idle.as_ref().filter(|_| lane == Lane::Idle) else {
            return here(batch).await;
        };
        let handed = Arc::new(Mutex::new(Some(batch)));
        let mut task = idle.handle().spawn({
            let (handed, store, stats, rollups) = (handed.clone(), self.store.clone(), self.stats.clone(), self.rollups.clone());
            async move {
                let taken = handed.lock().unwrap_or_else(PoisonError::into_inner).take();
                match taken {
                    Some(batch) => Some(settle(store, batch, stats, rollups).await),
                    None => None,
                }
            }
        });
        loop {
            tokio::select! {
                done = &mut task => {
                    return match done {
                        Ok(Some(rows)) => rows,
                        Ok(None) => Vec::new(),
                        Err(e) => {
                            tracing::error!(error = %e, "call-log batch task failed");
                            Vec::new()
                        }
                    };
                }
                () = self.backlog.notified() => {}
                () = tokio::time::sleep(self.recheck) => {}
            }
            if urgent() {
                let taken = handed.lock().unwrap_or_else(PoisonError::into_inner).take();
                if let Some(batch) = taken {
                    return here(batch).await;
                }
            }
        }
    }
}

/// Writes `shared` (shared with the store and the sinks, not copied),
/// retrying with backoff, and folds it into the rollups; then returns its
/// allocation, emptied, for the next batch when nobody else holds it any
/// more (a sink still may: a fresh one then).
async fn settle(store: Arc<dyn Store>, shared: Batch, stats: Arc<CallLogStats>, rollups: Arc<LiveRollups>) -> Vec<CallLogRow> {
    let n = shared.len() as u64;
    if write_shared(store.as_ref(), &shared, n, &stats).await {
        rollups.fold(&shared);
    }
    match Arc::try_unwrap(shared) {
        Ok(mut rows) => {
            rows.clear();
            rows
        }
        Err(_) => Vec::with_capacity(n as usize),
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

    #[test]
    fn batches_leave_the_idle_lane_when_the_queue_fills_or_someone_waits() {
        assert_eq!(lane(0.0, false), Lane::Idle);
        assert_eq!(lane(CATCH_UP_FILL, false), Lane::Idle);
        assert_eq!(lane(CATCH_UP_FILL + 0.01, false), Lane::CatchUp);
        assert_eq!(lane(0.0, true), Lane::CatchUp);
    }

    #[tokio::test]
    async fn rows_go_to_the_idle_lane_and_a_flush_does_not_wait_for_its_idle_time() {
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let lane = IdleLane::start().expect("lane");
        let settings = CallLogSettings { flush_interval: Duration::from_millis(20), ..Default::default() };
        let (tx, writer) = CallLogWriter::start_with_sinks(store.clone(), settings, Vec::new(), Some(lane.clone()));
        tx.record(row());
        assert_eq!(count_reaching(&store, 1).await, 1, "written through the idle lane");
        // A lane with no time to spare (as on a saturated core): its one
        // thread is busy for longer than the flush may take (with room for
        // a loaded machine: the flush below has 10 s, the lane is busy 12).
        lane.handle().spawn(async { std::thread::sleep(Duration::from_secs(12)) });
        tokio::time::sleep(Duration::from_millis(50)).await;
        tx.record(row());
        // The writer hands it to the lane at its next wake, where it waits.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(count(&store).await, 1, "still waiting for the idle lane");
        assert!(tx.flush(Duration::from_secs(10)).await, "taken back from the lane and written on the catch-up lane");
        assert_eq!(count(&store).await, 2);
        writer.shutdown().await;
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
