//! Keys' `last_used_at` and quota counters: the request path only touches
//! memory; this task writes the latest to storage periodically and once
//! more at shutdown.

use crate::limits::Limiters;
use keyway_pipeline::SnapshotHandle;
use keyway_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Writes unflushed key uses to storage now. Finding them reads every
/// key (milliseconds at a million keys), so it runs on the blocking pool,
/// not on a worker thread that requests queue behind.
pub async fn flush(snapshot: &SnapshotHandle, store: &dyn Store) {
    let current = snapshot.load();
    let used = match tokio::task::spawn_blocking(move || current.unflushed_usage()).await {
        Ok(used) => used,
        Err(e) => {
            tracing::warn!(error = %e, "could not collect keys' last use");
            return;
        }
    };
    if used.is_empty() {
        return;
    }
    if let Err(e) = store.touch_keys(&used).await {
        tracing::warn!(error = %e, keys = used.len(), "could not record keys' last use");
    }
}

/// Flushes keys' last use and quota counters every `every` until `stop`
/// changes, then once more.
pub async fn run(
    snapshot: Arc<SnapshotHandle>,
    limiters: Arc<Limiters>,
    store: Arc<dyn Store>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                flush(&snapshot, store.as_ref()).await;
                limiters.flush_counters(store.as_ref()).await;
            }
            _ = stop.changed() => break,
        }
    }
    flush(&snapshot, store.as_ref()).await;
    limiters.flush_counters(store.as_ref()).await;
}
