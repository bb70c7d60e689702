//! Where the call-log writer hands every batch it takes besides storage:
//! the exporters. The writer offers each batch before storing it and
//! never waits on a sink while it serves requests; only while it drains
//! at shutdown, when no request waits on it, does it wait for room.

use keyway_core::records::CallLogRow;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// One batch of call-log rows, shared (not copied) by storage and sinks.
pub type Batch = Arc<Vec<CallLogRow>>;

/// A consumer of the call log's batches.
pub trait BatchSink: Send + Sync + Debug {
    /// Takes `batch` if there is room; otherwise drops it and counts the
    /// drop. Never waits.
    fn offer(&self, batch: &Batch);

    /// Takes `batch`, waiting for room: while the writer drains at
    /// shutdown, so nothing queued before the stop is lost.
    fn hand_over<'a>(&'a self, batch: &'a Batch) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}
