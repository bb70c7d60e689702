//! Keyway's domain model, shared by every other crate.
//!
//! - [`ids`]: typed, prefixed identifiers (`ten_…`, `key_…`).
//! - [`model`]: tenants, users, apps, keys and APIs as stored (with their
//!   AI fields: API kinds, prompts, AI limits).
//! - [`key_format`]: the `kw_<env>_…` API key text, its checksum and digest.
//! - [`codes`]: the refusal catalog of `errors.md`, one variant per code.
//! - [`refusal`]: a refusal with its evidence, and its three envelopes.
//! - [`refusals`]: one typed constructor per refusal code, by stage.
//! - [`issuers`]: trusted JWT issuers of a tenant.
//! - [`certificates`]: client certificates bound to apps (mTLS).
//! - [`hmac_keys`]: apps' HMAC signing keys (RFC 9421), sealed.
//! - [`providers`]: AI providers (with sealed credentials) and models of a tenant.
//! - [`problem`]: the RFC 9457 problem+json renderer (gateway and admin API).
//! - [`trace`]: the per-request decision trace (stage, result, evidence).
//! - [`records`]: call-log and audit rows.
//! - [`sealed`]: secrets Keyway must use again, sealed with AES-256-GCM.
//! - [`span_timing`]: stage timing and W3C trace context of a traced request.

pub mod certificates;
pub mod change;
pub mod codes;
pub mod fresh;
pub mod hmac_keys;
pub mod ids;
pub mod issuers;
pub mod key_format;
pub mod model;
mod model_ai;
pub mod problem;
pub mod providers;
pub mod records;
pub mod refusal;
pub mod refusals;
pub mod rollup;
pub mod sealed;
pub mod sketch;
pub mod span_timing;
pub mod text;
pub mod trace;

pub use codes::{ErrorCode, Stage};
pub use refusal::Refusal;
pub use trace::{StepResult, Trace, TraceEntry};

/// Timestamps everywhere in Keyway: UTC, rendered as RFC 3339.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// Formats a timestamp as RFC 3339 with second precision and a `Z` suffix.
pub fn fmt_time(t: &Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
