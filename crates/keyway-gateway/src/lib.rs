//! The gateway: listener, per-request handling, upstream proxying and the
//! asynchronous call-log writer.
//!
//! - [`handler`]: one request, top to bottom (served by `keyway-listener`).
//! - [`jwt_precheck`], [`hmac_precheck`]: JWTs and RFC 9421 signatures
//!   verified before the snapshot phases (I/O: a JWKS fetch, the body, the nonce store).
//! - [`inbound`]: a request body, streaming or read whole.
//! - [`proxy`]: the forwarded request and the relayed response.
//! - [`upstream_client`]: the upstream exchange, with timeouts; plain-http
//!   targets over [`upstream_pool`], one keep-alive pool per worker.
//! - [`limits`]: stage 6, rate limits and quotas.
//! - [`call_log`]: batched, non-blocking call-log writes.
//! - [`background`]: the idle lane, where background work runs without delaying requests.
//! - [`batch_sink`]: where written batches also go (the exporters).
//! - [`trace_sampler`]: which requests are traced as spans, and their W3C context.
//! - [`usage`]: periodic flush of keys' `last_used_at`.
//! - [`client_ip`]: the client IP behind trusted proxies.

pub mod ai;
pub mod background;
pub mod batch_sink;
pub mod body;
pub mod call_log;
pub mod client_ip;
pub mod handler;
pub mod hmac_precheck;
pub mod inbound;
pub mod jwt_precheck;
pub mod limits;
pub mod names;
pub mod proxy;
pub mod respond;
pub mod rollup;
pub mod trace_sampler;
pub mod upstream_client;
mod upstream_h1;
mod upstream_pool;
pub mod usage;

pub use handler::{Gateway, GatewaySettings};
