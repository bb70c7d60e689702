//! The limits of one listener.

use crate::tls::TlsTerminator;
use std::sync::Arc;
use std::time::Duration;

/// How much a listener's clients may take: connections, and how long each
/// part of a request may last. Every timeout is a whole-part deadline,
/// so a client trickling one byte at a time gains nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerSettings {
    /// A name for logs and metric labels (`gateway`, `admin`).
    pub name: &'static str,
    /// Most open connections; one more is answered `503 gateway_overloaded` and closed.
    pub max_connections: usize,
    /// From a new connection, or from the first byte of a request on a
    /// kept-alive one, until the whole request head has arrived.
    pub header_read_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Longest pause between two pieces of a request body.
    pub body_read_timeout: Duration,
    /// From the request head until the whole request body has arrived.
    pub request_timeout: Duration,
    /// How long writing a response may stay blocked on a client that does not read.
    pub send_timeout: Duration,
    /// Largest request body, in bytes; a streamed body is cut off there.
    /// `None` leaves the limit to the service.
    pub max_body_bytes: Option<u64>,
    /// TLS on every connection (none: plain HTTP/1.1 and h2c).
    pub tls: Option<Tls>,
}

/// A listener's TLS, shared by every socket and thread serving it; two
/// are equal when they are the same one.
#[derive(Clone, Debug)]
pub struct Tls(pub Arc<TlsTerminator>);

impl PartialEq for Tls {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Tls {}

impl ListenerSettings {
    /// Defaults for a listener called `name`.
    pub fn defaults(name: &'static str) -> Self {
        Self {
            name,
            max_connections: 10_000,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            send_timeout: Duration::from_secs(60),
            max_body_bytes: None,
            tls: None,
        }
    }
}
