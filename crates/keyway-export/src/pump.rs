//! The one loop every exporter runs in a task of its own: it takes
//! batches from its intake, encodes them for its destination, and sends
//! what is buffered, one request at a time, retrying with backoff.
//!
//! The buffer is bounded (by the destination's own weight: bytes, spans):
//! when the destination is down and the buffer is full, the oldest
//! entries are dropped and counted (`keyway_export_dropped_total{sink}`)
//! rather than memory growing. When the intake closes (the call-log
//! writer has drained at shutdown), the loop sends what is left for at
//! most the shutdown timeout, then counts the rest as dropped and ends.

use crate::Batch;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// First wait after a failed send; doubled per failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Why a send failed.
#[derive(Debug)]
pub(crate) enum SendError {
    /// Worth trying again (connection refused, 5xx, 429, timeout...).
    Retry(String),
    /// Never going to be accepted (a 4xx): dropped, not retried.
    Reject(String),
}

/// A batch encoded for one destination.
#[derive(Debug)]
pub(crate) struct Encoded<C> {
    /// What is sent.
    pub chunk: C,
    /// Rows (or traces) it carries, for the sent and dropped counts.
    pub items: u64,
    /// Its share of the buffer bound.
    pub weight: usize,
}

/// Where an exporter ships to.
pub(crate) trait Destination: Send + Sync + 'static {
    /// One encoded batch.
    type Chunk: Send + Sync + 'static;

    /// Encodes `batch`; `None` when nothing in it goes to this destination.
    fn encode(&self, batch: &Batch) -> Option<Encoded<Self::Chunk>>;

    /// Sends `chunks` as one request.
    fn send(&self, chunks: &[&Self::Chunk]) -> impl Future<Output = Result<(), SendError>> + Send;
}

/// How much an exporter holds and how long it tries at shutdown.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Most weight buffered (in flight included).
    pub max_buffered: usize,
    /// Most weight sent in one request (at least one chunk is).
    pub max_per_send: usize,
    /// After the intake closes, how long sending may go on.
    pub shutdown_timeout: Duration,
}

/// The counters of one exporter, labelled `sink`.
#[derive(Clone, Debug)]
pub(crate) struct Counters {
    /// `keyway_export_sent_total`.
    pub sent: metrics::Counter,
    /// `keyway_export_dropped_total`.
    pub dropped: metrics::Counter,
    /// `keyway_export_retries_total`.
    pub retries: metrics::Counter,
}

impl Counters {
    /// The counters of `sink`, exported at zero from the start.
    pub fn of(sink: &'static str) -> Self {
        let c = Self {
            sent: metrics::counter!("keyway_export_sent_total", "sink" => sink),
            dropped: metrics::counter!("keyway_export_dropped_total", "sink" => sink),
            retries: metrics::counter!("keyway_export_retries_total", "sink" => sink),
        };
        c.sent.increment(0);
        c.dropped.increment(0);
        c.retries.increment(0);
        c
    }
}

type InFlight<C> = JoinHandle<(Vec<Encoded<C>>, Result<(), SendError>)>;

/// Runs the exporter until its intake closes and it has sent (or, past
/// the shutdown timeout, dropped) everything.
pub(crate) async fn run<D: Destination>(
    sink: &'static str,
    dest: Arc<D>,
    mut intake: mpsc::Receiver<Batch>,
    limits: Limits,
    counters: Counters,
) {
    let mut queue: VecDeque<Encoded<D::Chunk>> = VecDeque::new();
    let mut held = 0usize;
    let mut in_flight: Option<InFlight<D::Chunk>> = None;
    let mut flying = 0u64;
    let mut retry_at: Option<Instant> = None;
    let mut backoff = FIRST_BACKOFF;
    let mut deadline: Option<Instant> = None;
    loop {
        if in_flight.is_none() && retry_at.is_none() && !queue.is_empty() {
            let (task, items) = start_send(&dest, &mut queue, limits.max_per_send);
            in_flight = Some(task);
            flying = items;
        }
        if deadline.is_some() && queue.is_empty() && in_flight.is_none() {
            return;
        }
        tokio::select! {
            batch = intake.recv(), if deadline.is_none() => match batch {
                Some(batch) => {
                    if let Some(e) = dest.encode(&batch) {
                        held += e.weight;
                        queue.push_back(e);
                        held = make_room(&mut queue, held, limits.max_buffered, &counters, sink);
                    }
                }
                None => deadline = Some(Instant::now() + limits.shutdown_timeout),
            },
            done = wait(&mut in_flight) => {
                in_flight = None;
                match done {
                    Ok((chunks, Ok(()))) => {
                        backoff = FIRST_BACKOFF;
                        let (items, weight) = totals(&chunks);
                        held -= weight;
                        counters.sent.increment(items);
                    }
                    Ok((chunks, Err(SendError::Reject(why)))) => {
                        let (items, weight) = totals(&chunks);
                        held -= weight;
                        counters.dropped.increment(items);
                        tracing::warn!(sink, items, error = %why, "export refused by the destination; dropped");
                    }
                    Ok((chunks, Err(SendError::Retry(why)))) => {
                        counters.retries.increment(1);
                        tracing::warn!(sink, error = %why, retry_in_ms = backoff.as_millis() as u64, "export failed; retrying");
                        for c in chunks.into_iter().rev() {
                            queue.push_front(c);
                        }
                        retry_at = Some(Instant::now() + backoff);
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                    Err(e) => {
                        // The send task panicked: what it held is gone.
                        tracing::error!(sink, error = %e, "export task failed");
                        held = queue.iter().map(|c| c.weight).sum();
                    }
                }
            },
            () = sleep_until(retry_at), if in_flight.is_none() => retry_at = None,
            () = sleep_until(deadline) => {
                let mut items = totals(queue.make_contiguous()).0;
                if let Some(task) = in_flight.take() {
                    task.abort();
                    items += flying;
                }
                if items > 0 {
                    counters.dropped.increment(items);
                    tracing::warn!(sink, items, "export not finished within the shutdown timeout; dropped the rest");
                }
                return;
            }
        }
    }
}

/// Takes chunks off the front (at least one, at most `max` weight) and
/// sends them in a task of their own.
fn start_send<D: Destination>(dest: &Arc<D>, queue: &mut VecDeque<Encoded<D::Chunk>>, max: usize) -> (InFlight<D::Chunk>, u64) {
    let mut take = Vec::new();
    let mut weight = 0;
    while let Some(front) = queue.front() {
        if !take.is_empty() && weight + front.weight > max {
            break;
        }
        weight += front.weight;
        take.extend(queue.pop_front());
    }
    let items = totals(&take).0;
    let dest = Arc::clone(dest);
    let task = tokio::spawn(async move {
        let chunks: Vec<&D::Chunk> = take.iter().map(|e| &e.chunk).collect();
        let result = dest.send(&chunks).await;
        drop(chunks);
        (take, result)
    });
    (task, items)
}

/// Drops the oldest queued chunks while more than `max` is held; returns
/// what is held then.
fn make_room<C>(queue: &mut VecDeque<Encoded<C>>, mut held: usize, max: usize, counters: &Counters, sink: &str) -> usize {
    let mut dropped = 0;
    while held > max {
        let Some(oldest) = queue.pop_front() else { break };
        held -= oldest.weight;
        dropped += oldest.items;
    }
    if dropped > 0 {
        counters.dropped.increment(dropped);
        tracing::warn!(sink, items = dropped, "export buffer full; dropped the oldest");
    }
    held
}

fn totals<C>(chunks: &[Encoded<C>]) -> (u64, usize) {
    chunks.iter().fold((0, 0), |(i, w), c| (i + c.items, w + c.weight))
}

async fn wait<C>(
    in_flight: &mut Option<InFlight<C>>,
) -> Result<(Vec<Encoded<C>>, Result<(), SendError>), tokio::task::JoinError> {
    match in_flight {
        Some(task) => task.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// Fails the first `fail` sends (or all, with `usize::MAX`); keeps
    /// what it was sent. A chunk is a batch's first path.
    #[derive(Default)]
    struct Fake {
        fail: AtomicUsize,
        got: Mutex<Vec<String>>,
    }

    impl Destination for Fake {
        type Chunk = String;

        fn encode(&self, batch: &Batch) -> Option<Encoded<String>> {
            batch.first().map(|r| Encoded { chunk: r.path.clone(), items: batch.len() as u64, weight: 1 })
        }

        async fn send(&self, chunks: &[&String]) -> Result<(), SendError> {
            if self.fail.load(Ordering::Relaxed) > 0 {
                self.fail.fetch_sub(1, Ordering::Relaxed);
                return Err(SendError::Retry("down".into()));
            }
            self.got.lock().unwrap().extend(chunks.iter().map(|c| (*c).clone()));
            Ok(())
        }
    }

    fn batch(path: &str) -> Batch {
        Arc::new(vec![crate::test_rows::row(path, 200, None)])
    }

    fn limits(max_buffered: usize, shutdown_ms: u64) -> Limits {
        Limits { max_buffered, max_per_send: 2, shutdown_timeout: Duration::from_millis(shutdown_ms) }
    }

    #[tokio::test]
    async fn a_destination_that_comes_back_gets_everything_in_order() {
        let dest = Arc::new(Fake { fail: AtomicUsize::new(3), ..Fake::default() });
        let (tx, rx) = mpsc::channel(16);
        let task = tokio::spawn(run("test", dest.clone(), rx, limits(100, 5_000), Counters::of("test")));
        for i in 0..7 {
            tx.send(batch(&format!("/{i}"))).await.unwrap();
        }
        drop(tx);
        task.await.unwrap();
        let got = dest.got.lock().unwrap().clone();
        assert_eq!(got, (0..7).map(|i| format!("/{i}")).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_full_buffer_drops_the_oldest_not_the_newest() {
        let dest = Arc::new(Fake { fail: AtomicUsize::new(usize::MAX), ..Fake::default() });
        let (tx, rx) = mpsc::channel(16);
        let task = tokio::spawn(run("test", dest.clone(), rx, limits(3, 5_000), Counters::of("test")));
        for i in 0..10 {
            tx.send(batch(&format!("/{i}"))).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The destination comes back: only what the bound kept is sent.
        dest.fail.store(0, Ordering::Relaxed);
        drop(tx);
        task.await.unwrap();
        let got = dest.got.lock().unwrap().clone();
        assert!(got.len() <= 3, "{got:?}");
        assert_eq!(got.last().map(String::as_str), Some("/9"), "{got:?}");
    }

    #[tokio::test]
    async fn shutdown_gives_up_on_a_dead_destination_after_its_timeout() {
        let dest = Arc::new(Fake { fail: AtomicUsize::new(usize::MAX), ..Fake::default() });
        let (tx, rx) = mpsc::channel(16);
        let task = tokio::spawn(run("test", dest.clone(), rx, limits(100, 300), Counters::of("test")));
        tx.send(batch("/a")).await.unwrap();
        drop(tx);
        let started = std::time::Instant::now();
        tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
        assert!(started.elapsed() >= Duration::from_millis(250));
        assert!(dest.got.lock().unwrap().is_empty());
    }
}
