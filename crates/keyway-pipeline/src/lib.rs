//! The request decision, free of I/O.
//!
//! [`snapshot`] holds the in-memory view of keys, owners and APIs that the
//! request path reads (never the database). [`stages`] holds one module
//! per stage of `errors.md`; [`phases`] names the request path's phases in
//! order, and [`Call::decide`] runs those that read only the snapshot. The
//! gateway runs it for every request, and `diagnose` for hypothetical ones.
//! [`upstream_target`] holds an API's targets taken apart once;
//! [`credential_health`] which AI provider credentials were refused.

pub mod cert_index;
pub mod credential_health;
pub mod evidence_memo;
pub mod hmac_index;
pub mod jwt_index;
pub mod key_loader;
pub mod key_table;
mod percent;
mod phase_evidence;
pub mod phases;
pub mod places;
pub mod shard_key;
pub mod snapshot;
pub mod stages;
pub mod table;
pub mod upstream_target;

pub use credential_health::CredentialHealth;
pub use key_loader::KeyLoader;
pub use key_table::KeyTable;
pub use phases::{Admitted, Call, CallInput, Settings};
pub use snapshot::{ApiEntry, KeyEntry, Snapshot, SnapshotHandle};
pub use table::Table;
pub use upstream_target::{TargetOrigin, UpstreamTarget};
