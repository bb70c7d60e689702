//! The gateway: listener, per-request handling, upstream proxying and the
//! asynchronous call-log writer.
//!
//! - [`handler`]: one request, top to bottom (served by `keyway-listener`).
//! - [`proxy`]: the upstream hop.
//! - [`limits`]: stage 6, rate limits and quotas.
//! - [`call_log`]: batched, non-blocking call-log writes.
//! - [`usage`]: periodic flush of keys' `last_used_at`.
//! - [`client_ip`]: the client IP behind trusted proxies.

pub mod body;
pub mod call_log;
pub mod client_ip;
pub mod handler;
pub mod limits;
pub mod names;
pub mod proxy;
pub mod respond;
pub mod rollup;
pub mod usage;

pub use handler::{Gateway, GatewaySettings};
