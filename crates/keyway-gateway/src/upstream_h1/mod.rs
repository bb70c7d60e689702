//! A lean HTTP/1.1 client for plain-`http://` upstreams: one exchange at a
//! time on a connection the worker's pool owns ([`crate::upstream_pool`]).
//!
//! hyper's client connection is general (a spawned task per connection,
//! a channel to hand it each request and another for the answer, its own
//! encoder and decoder); this hop is narrow: the request head written in
//! one `write`, the response head parsed with `httparse` (header values
//! share the read buffer, no copies), the body decoded in place. callgrind
//! put hyper's client side at ~14,000 instructions per proxied request.
//!
//! Framing is decided here, never taken on trust: the request body goes
//! with the length its body reports exactly (any `content-length` the
//! caller sent is replaced by it) or chunked; the response's framing
//! follows RFC 9112 §6.3 (no body for HEAD, 1xx, 204 and 304; chunked when
//! it is the last transfer coding; else one agreed `content-length`; else
//! until the upstream closes). A connection is reused only after a
//! response read to its end whose framing was unambiguous.

mod body;
mod request;
mod response;

pub(crate) use body::{Reuse, UpstreamBody};
pub(crate) use response::Head;

use bytes::BytesMut;
use std::io;
use std::task::{Context, Poll, Waker};
use tokio::net::TcpStream;

/// Most bytes of a response head.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// One connection to an upstream.
#[derive(Debug)]
pub(crate) struct Conn {
    io: TcpStream,
    /// Bytes read and not yet consumed.
    buf: BytesMut,
    /// The request head being written; kept to reuse its allocation.
    out: Vec<u8>,
    /// Where the headers of the response head being parsed sit.
    spans: Vec<[usize; 4]>,
    /// The header names of its last responses, kept to reuse.
    names: keyway_h1::head::Names,
}

/// Why an exchange failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExchangeError {
    /// Writing the request failed before any answer.
    #[error("sending the request: {0}")]
    Write(#[source] io::Error),
    /// The request body broke.
    #[error("request body: {0}")]
    Body(String),
    /// The upstream closed or reset the connection before answering.
    #[error("upstream closed the connection before answering")]
    Closed,
    /// Reading the answer failed.
    #[error("reading the response: {0}")]
    Read(#[source] io::Error),
    /// The answer is not valid HTTP/1.x.
    #[error("invalid response from upstream: {0}")]
    Invalid(String),
}

impl ExchangeError {
    /// Whether nothing of an answer arrived, so the request may be sent
    /// again on another connection (when it may be repeated at all).
    pub(crate) fn unanswered(&self) -> bool {
        matches!(self, ExchangeError::Write(_) | ExchangeError::Closed)
    }
}

impl Conn {
    /// A connection over `io`.
    pub(crate) fn new(io: TcpStream) -> Self {
        Self {
            io,
            buf: BytesMut::with_capacity(8 * 1024),
            out: Vec::with_capacity(1024),
            spans: Vec::with_capacity(16),
            names: Default::default(),
        }
    }

    /// Whether an idle connection can take a request: the upstream has
    /// neither closed it nor sent anything unasked. Asks the reactor's
    /// readiness (no system call while the connection is quiet).
    pub(crate) fn is_usable(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut cx = Context::from_waker(Waker::noop());
        match self.io.poll_read_ready(&mut cx) {
            Poll::Pending => true,
            Poll::Ready(Err(_)) => false,
            // Readable: end of stream, or bytes nobody asked for; or a
            // stale readiness, which the read clears.
            Poll::Ready(Ok(())) => {
                let mut probe = [0u8; 1];
                matches!(self.io.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
            }
        }
    }

    /// Reads more bytes into the buffer; `Ok(0)` at end of stream.
    async fn fill(&mut self) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_fill(cx)).await
    }

    /// Reads more bytes into the buffer, in a `poll` context.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        keyway_h1::read::poll_read_buf(&self.io, &mut self.buf, cx)
    }
}

impl Conn {
    /// One exchange: writes the request, reads the final response head.
    /// An upstream that answers before taking the whole body (a 413, say)
    /// is still heard; the connection is not reused after that.
    pub(crate) async fn exchange(
        &mut self,
        parts: &http::request::Parts,
        added: &[(http::HeaderName, http::HeaderValue)],
        body: &mut crate::body::Body,
    ) -> Result<Head, ExchangeError> {
        match self.send_request(parts, added, body).await {
            Ok(()) => self.read_head(&parts.method).await,
            Err(ExchangeError::Write(e)) => match self.read_head(&parts.method).await {
                Ok(head) => Ok(Head { reusable: false, ..head }),
                Err(_) => Err(ExchangeError::Write(e)),
            },
            Err(e) => Err(e),
        }
    }
}
