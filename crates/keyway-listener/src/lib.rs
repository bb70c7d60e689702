//! Keyway's client-facing listeners, shared by the gateway and the admin
//! API: everything that protects a listener from its clients before a
//! request reaches a handler.
//!
//! - [`settings`]: the limits, one set per listener.
//! - [`serve`]: the accept loop, connection limit, per-connection
//!   watchdog and graceful drain.
//! - [`activity`]: what a connection is doing (idle, reading a head,
//!   serving, blocked on a slow reader), and the deadlines that follow.
//! - [`request_body`]: request bodies under a size limit, an idle timeout
//!   and a whole-request deadline, with the fault named when they break.
//! - [`h1`]: Keyway's own HTTP/1.1 server connection (hyper serves h2c).
//! - [`raw_refusal`]: refusals written straight to a socket.
//! - [`accept`]: accept errors backed off, counted and logged at a
//!   bounded rate.
//! - [`overload`]: the answer at the connection limit.
//! - [`fd_budget`]: the file-descriptor budget the limits must fit in.
//! - [`tls`]: TLS termination (rustls), reloaded certificates, client
//!   certificates judged for mTLS.
//! - [`workers`]: one listener served by one single-threaded runtime per
//!   core over `SO_REUSEPORT` sockets.

pub mod accept;
pub mod activity;
pub mod fd_budget;
mod h1;
pub mod overload;
pub mod raw_refusal;
pub mod request_body;
pub mod serve;
pub mod settings;
pub mod tls;
mod tracked_body;
mod watched_io;
pub mod workers;

pub use request_body::{BodyFault, BodyProgress, GuardedBody};
pub use serve::serve;
pub use settings::{ListenerSettings, Tls};
