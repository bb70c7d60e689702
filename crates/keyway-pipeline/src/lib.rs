//! The request decision, free of I/O.
//!
//! [`snapshot`] holds the in-memory view of keys, owners and APIs that the
//! request path reads (never the database). [`stages`] holds one module
//! per stage of `errors.md`; [`decide`] runs them in order and returns a
//! [`Decision`] with the decision trace. The gateway calls it for every
//! request, and `diagnose` calls it for hypothetical ones.

pub mod decide;
mod percent;
pub mod places;
pub mod shard_key;
pub mod snapshot;
pub mod stages;
pub mod table;

pub use decide::{decide, Admitted, CallInput, Decision, Settings};
pub use snapshot::{ApiEntry, KeyEntry, Snapshot, SnapshotHandle};
pub use table::Table;
