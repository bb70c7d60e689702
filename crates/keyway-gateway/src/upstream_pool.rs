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
//! pool, its checkout-or-connect race and its bookkeeping (callgrind).

use crate::body::Body;
use crate::upstream_client::{describe, UpstreamError};
use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body as _, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use keyway_pipeline::{TargetOrigin, UpstreamTarget};
// foldhash, not SipHash: looked up twice per request (checkout, give back)
// with the authority of a configured target, never a caller's text.
use hashbrown::HashMap;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
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
    sender: SendRequest<Body>,
    since: Instant,
}

impl Http1Pool {
    /// An empty pool.
    pub(crate) fn new(connect_timeout: Duration, idle_timeout: Duration, max_idle_per_host: usize) -> Self {
        Self { inner: Arc::new(Inner { idle: Mutex::default(), connect_timeout, idle_timeout, max_idle_per_host }) }
    }

    /// Sends `req` (origin-form URI, `Host` set) to `target` and returns
    /// the response head; the body streams from the connection. A request
    /// that a reused connection could not take (the upstream had closed
    /// it) is sent once more, on a new connection.
    pub(crate) async fn send(
        &self,
        target: &Arc<UpstreamTarget>,
        origin: &TargetOrigin,
        mut req: Request<Body>,
    ) -> Result<Response<PooledBody>, UpstreamError> {
        loop {
            let (mut sender, reused) = match self.checkout(&origin.authority) {
                Some(sender) => (sender, true),
                // Boxed: rare, and its state would otherwise sit in every request's future.
                None => (Box::pin(self.connect(&origin.host, origin.port)).await?, false),
            };
            if let Err(e) = sender.ready().await {
                if reused {
                    continue;
                }
                return Err(UpstreamError::Unavailable(describe(&e)));
            }
            match sender.try_send_request(req).await {
                Ok(resp) => {
                    let give_back = GiveBack { pool: self.inner.clone(), target: target.clone(), sender };
                    return Ok(resp.map(|body| PooledBody { body, give_back: Some(give_back) }));
                }
                Err(mut e) => match e.take_message() {
                    // Not written: safe to send again, on a fresh connection.
                    Some(unsent) if reused => req = unsent,
                    _ => return Err(UpstreamError::Unavailable(describe(e.error()))),
                },
            }
        }
    }

    /// The most recently used live idle connection to `authority`.
    fn checkout(&self, authority: &str) -> Option<SendRequest<Body>> {
        let mut idle = self.inner.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let queue = idle.get_mut(authority)?;
        let now = Instant::now();
        while let Some(Idle { sender, since }) = queue.pop_back() {
            if !sender.is_closed() && now.duration_since(since) < self.inner.idle_timeout {
                return Some(sender);
            }
        }
        None
    }

    async fn connect(&self, host: &str, port: u16) -> Result<SendRequest<Body>, UpstreamError> {
        let timeout = self.inner.connect_timeout;
        let stream = match tokio::time::timeout(timeout, tokio::net::TcpStream::connect((host, port))).await {
            Err(_) => return Err(UpstreamError::Unavailable(format!("connect timed out after {timeout:?}"))),
            Ok(Err(e)) => return Err(UpstreamError::Unavailable(format!("connect: {e}"))),
            Ok(Ok(s)) => s,
        };
        // Best effort: a request head is one write anyway.
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| UpstreamError::Unavailable(describe(&e)))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "upstream connection ended");
            }
        });
        Ok(sender)
    }
}

impl Inner {
    fn put(&self, authority: &str, sender: SendRequest<Body>) {
        if self.max_idle_per_host == 0 || sender.is_closed() {
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
        queue.push_back(Idle { sender, since: now });
    }
}

/// What returns a connection to its pool when the body has ended.
struct GiveBack {
    pool: Arc<Inner>,
    target: Arc<UpstreamTarget>,
    sender: SendRequest<Body>,
}

impl GiveBack {
    fn now(self) {
        if let Ok(origin) = &self.target.origin {
            self.pool.put(&origin.authority, self.sender);
        }
    }
}

/// A response body from a pooled connection: the connection goes back to
/// the pool once the body has been read to its end.
pub(crate) struct PooledBody {
    body: Incoming,
    give_back: Option<GiveBack>,
}

impl std::fmt::Debug for PooledBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledBody").field("body", &self.body).finish_non_exhaustive()
    }
}

impl http_body::Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let frame = std::task::ready!(Pin::new(&mut self.body).poll_frame(cx));
        match &frame {
            Some(Ok(_)) if !self.body.is_end_stream() => {}
            // A broken body: the connection is not reused.
            Some(Err(_)) => self.give_back = None,
            Some(Ok(_)) | None => {
                if let Some(g) = self.give_back.take() {
                    g.now();
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        // Read to its end without the last poll (an empty body, say).
        if self.body.is_end_stream() {
            if let Some(g) = self.give_back.take() {
                g.now();
            }
        }
    }
}
