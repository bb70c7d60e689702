//! Keep-alive HTTP/1.1 connections to plain-`http://` upstreams.
//!
//! Each gateway worker owns one pool (see `Gateway::with_upstream`), so
//! its lock is never contended and its connections are driven by the
//! worker's own runtime. A request checks out the most recently used
//! idle connection of its target (or opens one), sends on it, and the
//! connection goes back to the pool when the response body has been read
//! to its end: an HTTP/1 connection carries one exchange at a time. A
//! body dropped before its end closes the connection, as it must (its
//! framing is lost). Connections idle longer than the idle timeout, or
//! closed by the upstream, are dropped when met.
//!
//! This is the hop most APIs take, and the reason it is its own code:
//! hyper-util's general client (still used for `https://` targets, where
//! ALPN may pick HTTP/2) spent ~12,000 instructions per request on its
//! pool, its checkout-or-connect race and its bookkeeping (callgrind);
//! the exchange itself is [`crate::upstream_h1`]'s, not hyper's client
//! connection (~14,000 more).

use crate::body::Body;
use crate::upstream_client::UpstreamError;
use crate::upstream_h1::{Conn, Reuse, UpstreamBody};
// foldhash, not SipHash: looked up twice per request (checkout, give back)
// with the authority of a configured target, never a caller's text.
use hashbrown::HashMap;
use http::{Request, Response};
use http_body::Body as _;
use keyway_pipeline::{TargetOrigin, UpstreamTarget};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The pool of one worker.
#[derive(Clone, Debug)]
pub(crate) struct Http1Pool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Idle connections by target authority, most recently used last.
    idle: Mutex<HashMap<Box<str>, VecDeque<Idle>>>,
    connect_timeout: Duration,
    idle_timeout: Duration,
    max_idle_per_host: usize,
}

#[derive(Debug)]
struct Idle {
    conn: Conn,
    since: Instant,
}

/// A response body from a pooled connection.
pub(crate) type PooledBody = UpstreamBody<GiveBack>;

impl Http1Pool {
    /// An empty pool.
    pub(crate) fn new(connect_timeout: Duration, idle_timeout: Duration, max_idle_per_host: usize) -> Self {
        Self { inner: Arc::new(Inner { idle: Mutex::default(), connect_timeout, idle_timeout, max_idle_per_host }) }
    }

    /// Sends `req` (origin-form URI, `Host` set) to `target` and returns
    /// the response head; the body streams from the connection. A request
    /// that may be repeated (idempotent, no body) and found a reused
    /// connection dead before any answer is sent once more, on a new one.
    pub(crate) async fn send(
        &self,
        target: &Arc<UpstreamTarget>,
        origin: &TargetOrigin,
        req: Request<Body>,
        added: &[(http::HeaderName, http::HeaderValue)],
    ) -> Result<Response<PooledBody>, UpstreamError> {
        let (parts, mut body) = req.into_parts();
        let repeatable = parts.method.is_idempotent() && body.is_end_stream();
        loop {
            let (mut conn, reused) = match self.checkout(&origin.authority) {
                Some(conn) => (conn, true),
                // Boxed: rare, and its state would otherwise sit in every request's future.
                None => (Box::pin(self.connect(&origin.host, origin.port)).await?, false),
            };
            match conn.exchange(&parts, added, &mut body).await {
                Ok(head) => {
                    let give_back = GiveBack { pool: self.inner.clone(), target: target.clone() };
                    let body = UpstreamBody::new(conn, &head, give_back);
                    return Ok(head.into_response(body));
                }
                Err(e) if reused && repeatable && e.unanswered() => {}
                Err(e) => return Err(UpstreamError::Unavailable(crate::upstream_client::describe(&e))),
            }
        }
    }

    /// The most recently used live idle connection to `authority`.
    fn checkout(&self, authority: &str) -> Option<Conn> {
        let mut idle = self.inner.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let queue = idle.get_mut(authority)?;
        let now = Instant::now();
        while let Some(Idle { mut conn, since }) = queue.pop_back() {
            if now.duration_since(since) < self.inner.idle_timeout && conn.is_usable() {
                return Some(conn);
            }
        }
        None
    }

    async fn connect(&self, host: &str, port: u16) -> Result<Conn, UpstreamError> {
        let timeout = self.inner.connect_timeout;
        let stream = match tokio::time::timeout(timeout, tokio::net::TcpStream::connect((host, port))).await {
            Err(_) => return Err(UpstreamError::Unavailable(format!("connect timed out after {timeout:?}"))),
            Ok(Err(e)) => return Err(UpstreamError::Unavailable(format!("connect: {e}"))),
            Ok(Ok(s)) => s,
        };
        // Best effort: a request head is one write anyway.
        let _ = stream.set_nodelay(true);
        Ok(Conn::new(stream))
    }
}

impl Inner {
    fn put(&self, authority: &str, conn: Conn) {
        if self.max_idle_per_host == 0 {
            return;
        }
        let now = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let queue = match idle.get_mut(authority) {
            Some(q) => q,
            None => idle.entry(authority.into()).or_default(),
        };
        // The oldest are at the front: drop those past the idle timeout.
        while queue.front().is_some_and(|i| now.duration_since(i.since) >= self.idle_timeout) {
            queue.pop_front();
        }
        if queue.len() >= self.max_idle_per_host {
            queue.pop_front();
        }
        queue.push_back(Idle { conn, since: now });
    }
}

/// What returns a connection to its pool when the body has ended.
#[derive(Debug)]
pub(crate) struct GiveBack {
    pool: Arc<Inner>,
    target: Arc<UpstreamTarget>,
}

impl Reuse for GiveBack {
    fn reuse(self, conn: Conn) {
        if let Ok(origin) = &self.target.origin {
            self.pool.put(&origin.authority, conn);
        }
    }
}
