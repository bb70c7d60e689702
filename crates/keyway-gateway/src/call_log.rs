//! The call log's write path: the request path hands rows to a bounded
//! channel and never waits; one writer task inserts them in batches (one
//! transaction per batch, flushed every `batch_size` rows or
//! `flush_interval`). When the channel is full the row is dropped and
//! counted (`keyway_call_log_dropped_total`), never silently. Shutdown
//! closes the channel and the writer drains everything buffered.

use keyway_core::records::CallLogRow;
use keyway_store::Store;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
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
}

impl Default for CallLogSettings {
    fn default() -> Self {
        Self { queue_capacity: 65_536, batch_size: 512, flush_interval: Duration::from_millis(200) }
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
}

/// The request path's handle: cheap to clone, never blocks.
#[derive(Clone, Debug)]
pub struct CallLogSender {
    tx: mpsc::Sender<CallLogRow>,
    stats: Arc<CallLogStats>,
}

impl CallLogSender {
    /// Queues a row; if the queue is full, drops it and counts the drop.
    pub fn record(&self, row: CallLogRow) {
        match self.tx.try_send(row) {
            Ok(()) => {
                self.stats.queued.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("keyway_call_log_dropped_total").increment(1);
            }
        }
    }

    /// The writer's counters.
    pub fn stats(&self) -> &Arc<CallLogStats> {
        &self.stats
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
        let (tx, rx) = mpsc::channel(settings.queue_capacity.max(1));
        let stats = Arc::new(CallLogStats::default());
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = tokio::spawn(run(store, settings, rx, stop_rx, stats.clone()));
        (CallLogSender { tx, stats }, CallLogWriter { stop: Some(stop_tx), task })
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

async fn run(
    store: Arc<dyn Store>,
    settings: CallLogSettings,
    mut rx: mpsc::Receiver<CallLogRow>,
    mut stop: oneshot::Receiver<()>,
    stats: Arc<CallLogStats>,
) {
    let batch_size = settings.batch_size.max(1);
    let mut batch: Vec<CallLogRow> = Vec::with_capacity(batch_size);
    let mut stopping = false;
    loop {
        // Wait for a first row (or the stop signal).
        if !stopping && batch.is_empty() {
            tokio::select! {
                row = rx.recv() => match row {
                    Some(r) => batch.push(r),
                    None => break,
                },
                _ = &mut stop => {
                    stopping = true;
                    rx.close();
                }
            }
        }
        // Gather more until the batch is full or the interval passes.
        let deadline = tokio::time::Instant::now() + settings.flush_interval;
        while batch.len() < batch_size {
            if stopping {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
                continue;
            }
            tokio::select! {
                row = rx.recv() => match row {
                    Some(r) => batch.push(r),
                    None => { stopping = true; break; }
                },
                _ = tokio::time::sleep_until(deadline) => break,
                _ = &mut stop => { stopping = true; rx.close(); }
            }
        }
        if !batch.is_empty() {
            write_batch(store.as_ref(), &mut batch, &stats).await;
        }
        if stopping && rx.is_empty() {
            break;
        }
    }
    if !batch.is_empty() {
        write_batch(store.as_ref(), &mut batch, &stats).await;
    }
}

async fn write_batch(store: &dyn Store, batch: &mut Vec<CallLogRow>, stats: &CallLogStats) {
    let n = batch.len() as u64;
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=5 {
        match store.insert_calls(batch).await {
            Ok(()) => {
                stats.written.fetch_add(n, Ordering::Relaxed);
                metrics::counter!("keyway_call_log_written_total").increment(n);
                batch.clear();
                return;
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
    batch.clear();
}
