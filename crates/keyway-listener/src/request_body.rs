//! Request bodies under the listener's rules: a size limit (a streamed
//! body is cut off there), a longest pause between pieces, and a deadline
//! for the whole body. When one breaks, the body ends with a
//! [`BodyFault`] that names the client's fault, and the shared
//! [`BodyProgress`] keeps it so that whoever was forwarding the body can
//! answer `413`, `400` or `408` instead of blaming the upstream.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// Why a request body was cut off. Each is the client's fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyFault {
    /// More bytes than the limit.
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The framing is broken (a bad chunk size line, say).
    Malformed(String),
    /// The client paused longer than the body-read timeout.
    Stalled {
        /// The timeout.
        timeout: Duration,
        /// Bytes received before the pause.
        received: u64,
    },
    /// The whole body did not arrive within the request timeout.
    TooSlow {
        /// The timeout.
        timeout: Duration,
        /// Bytes received by then.
        received: u64,
    },
    /// The client closed the connection before the body ended.
    ClientGone {
        /// Bytes received before.
        received: u64,
    },
}

impl fmt::Display for BodyFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyFault::TooLarge { limit } => write!(f, "request body over the limit of {limit} bytes"),
            BodyFault::Malformed(why) => write!(f, "request body framing is broken: {why}"),
            BodyFault::Stalled { timeout, received } => {
                write!(f, "request body paused longer than {} ms after {received} bytes", timeout.as_millis())
            }
            BodyFault::TooSlow { timeout, received } => {
                write!(f, "request body not complete within {} ms ({received} bytes received)", timeout.as_millis())
            }
            BodyFault::ClientGone { received } => write!(f, "client closed the connection after {received} body bytes"),
        }
    }
}

impl std::error::Error for BodyFault {}

/// What became of a body, shared between the body and whoever sent it on.
#[derive(Debug, Default)]
pub struct BodyProgress {
    /// When the body ended, in [`crate::activity::now_ms`] time; 0 while streaming.
    done_at: AtomicU64,
    fault: OnceLock<BodyFault>,
}

impl BodyProgress {
    /// The fault that cut the body off, if one did.
    pub fn fault(&self) -> Option<&BodyFault> {
        self.fault.get()
    }

    /// How long ago the body ended; `None` while it is still arriving.
    pub fn ended_ago(&self) -> Option<Duration> {
        match self.done_at.load(Ordering::Relaxed) {
            0 => None,
            at => Some(Duration::from_millis(crate::activity::now_ms().saturating_sub(at))),
        }
    }
}

/// The rules a body is read under.
#[derive(Clone, Copy, Debug)]
pub struct BodyRules {
    /// Most bytes.
    pub limit: Option<u64>,
    /// Longest pause between pieces.
    pub idle: Duration,
    /// From the head until the body has arrived.
    pub total: Duration,
}

/// Where a body comes from: hyper's connection (HTTP/2) or Keyway's own
/// HTTP/1.1 one.
enum Inner {
    Hyper(Incoming),
    Lean(crate::h1::RequestBody),
}

impl Inner {
    fn is_end_stream(&self) -> bool {
        match self {
            Inner::Hyper(b) => b.is_end_stream(),
            Inner::Lean(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Inner::Hyper(b) => b.size_hint(),
            Inner::Lean(b) => b.size_hint(),
        }
    }

    /// The next frame, a broken body named as the client's fault.
    fn poll_frame(&mut self, cx: &mut Context<'_>, received: u64) -> Poll<Option<Result<Frame<Bytes>, BodyFault>>> {
        match self {
            Inner::Hyper(b) => Pin::new(b).poll_frame(cx).map_err(|e| classify(&e, received)),
            Inner::Lean(b) => b.poll_data(cx).map_err(|e| classify_lean(e, received)),
        }
    }
}

/// A request body read under [`BodyRules`].
pub struct GuardedBody {
    inner: Inner,
    /// `None` for a body that was empty from the start (nothing to police).
    progress: Option<Arc<BodyProgress>>,
    rules: BodyRules,
    received: u64,
    /// When the body started and when its last piece came; read only for
    /// a body that is not empty, so an empty one costs no clock read.
    started: Instant,
    last: Instant,
    timer: Option<Pin<Box<Sleep>>>,
    ended: bool,
}

impl fmt::Debug for GuardedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedBody").field("received", &self.received).field("ended", &self.ended).finish_non_exhaustive()
    }
}

impl GuardedBody {
    /// Polices `inner` from now on.
    pub fn new(inner: Incoming, rules: BodyRules) -> Self {
        Self::of(Inner::Hyper(inner), rules)
    }

    /// Polices a body of Keyway's HTTP/1.1 server from now on.
    pub(crate) fn lean(inner: crate::h1::RequestBody, rules: BodyRules) -> Self {
        Self::of(Inner::Lean(inner), rules)
    }

    fn of(inner: Inner, rules: BodyRules) -> Self {
        let empty = inner.is_end_stream();
        let now = if empty { empty_body_instant() } else { Instant::now() };
        Self {
            inner,
            progress: (!empty).then(Arc::default),
            rules,
            received: 0,
            started: now,
            last: now,
            timer: None,
            ended: empty,
        }
    }

    /// The shared progress, for a body that is not empty.
    pub fn progress(&self) -> Option<Arc<BodyProgress>> {
        self.progress.clone()
    }

    fn end(&mut self) {
        self.ended = true;
        if let Some(p) = &self.progress {
            p.done_at.store(crate::activity::now_ms(), Ordering::Relaxed);
        }
    }

    fn fail(&mut self, fault: BodyFault) -> Poll<Option<Result<Frame<Bytes>, BodyFault>>> {
        self.ended = true;
        if let Some(p) = &self.progress {
            let _ = p.fault.set(fault.clone());
        }
        Poll::Ready(Some(Err(fault)))
    }

    /// The fault if a deadline has passed, else arms the timer for the next one.
    fn check_deadlines(&mut self, cx: &mut Context<'_>) -> Option<BodyFault> {
        loop {
            let idle_at = self.last + self.rules.idle;
            let total_at = self.started + self.rules.total;
            let (at, fault) = if total_at <= idle_at {
                (total_at, BodyFault::TooSlow { timeout: self.rules.total, received: self.received })
            } else {
                (idle_at, BodyFault::Stalled { timeout: self.rules.idle, received: self.received })
            };
            if Instant::now() >= at {
                return Some(fault);
            }
            let timer = match &mut self.timer {
                Some(t) => {
                    if t.deadline() != at {
                        t.as_mut().reset(at);
                    }
                    t
                }
                None => self.timer.insert(Box::pin(tokio::time::sleep_until(at))),
            };
            if timer.as_mut().poll(cx).is_pending() {
                return None;
            }
        }
    }
}

/// One instant for every empty body (never read for those).
fn empty_body_instant() -> Instant {
    static AT: OnceLock<Instant> = OnceLock::new();
    *AT.get_or_init(Instant::now)
}

fn classify_lean(e: keyway_h1::FramingError, received: u64) -> BodyFault {
    use keyway_h1::FramingError;
    match e {
        FramingError::Cut => BodyFault::ClientGone { received },
        FramingError::Invalid(what) => BodyFault::Malformed(what.to_owned()),
        FramingError::Io(io) => match io.kind() {
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe => {
                BodyFault::ClientGone { received }
            }
            _ => BodyFault::Malformed(io.to_string()),
        },
    }
}

fn classify(e: &hyper::Error, received: u64) -> BodyFault {
    use std::error::Error;
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::UnexpectedEof => BodyFault::ClientGone { received },
                _ => BodyFault::Malformed(io.to_string()),
            };
        }
        source = s.source();
    }
    if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
        BodyFault::ClientGone { received }
    } else {
        BodyFault::Malformed(e.to_string())
    }
}

impl Body for GuardedBody {
    type Data = Bytes;
    type Error = BodyFault;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyFault>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let received = self.received;
        match self.inner.poll_frame(cx, received) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.received += data.len() as u64;
                    if let Some(limit) = self.rules.limit.filter(|l| self.received > *l) {
                        return self.fail(BodyFault::TooLarge { limit });
                    }
                }
                self.last = Instant::now();
                if self.inner.is_end_stream() {
                    self.end();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(fault))) => self.fail(fault),
            Poll::Ready(None) => {
                self.end();
                Poll::Ready(None)
            }
            Poll::Pending => match self.check_deadlines(cx) {
                Some(fault) => self.fail(fault),
                None => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
