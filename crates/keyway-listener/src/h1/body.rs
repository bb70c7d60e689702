//! A request body on a connection served by [`super`]: empty, whole in
//! the buffer already (the common case: no sharing at all), or read off
//! the socket as the handler polls it, with the connection's buffer lent
//! to it until the response is written. `100 Continue` goes out when a
//! client that asked for it is first read from.

use super::io::poll_fill;
use bytes::{Bytes, BytesMut};
use http_body::{Frame, SizeHint};
use keyway_h1::{Decoder, FramingError, Source};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll};
use tokio::net::TcpStream;

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// What the body and its connection share while the body streams.
#[derive(Debug)]
pub(crate) struct Lent {
    /// The connection's read buffer.
    pub buf: BytesMut,
    /// Where the body stands.
    pub decoder: Decoder,
    /// Bytes of `100 Continue` still to write (0: none owed).
    continue_left: usize,
    stream: Arc<TcpStream>,
}

impl Lent {
    /// The buffer and decoder, lent to a body read off `stream`.
    pub(crate) fn new(buf: BytesMut, decoder: Decoder, stream: Arc<TcpStream>, expect_continue: bool) -> Self {
        Self { buf, decoder, continue_left: if expect_continue { CONTINUE.len() } else { 0 }, stream }
    }

    fn poll_continue(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), FramingError>> {
        while self.continue_left > 0 {
            ready!(self.stream.poll_write_ready(cx)).map_err(FramingError::Io)?;
            match self.stream.try_write(&CONTINUE[CONTINUE.len() - self.continue_left..]) {
                Ok(n) => self.continue_left -= n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(FramingError::Io(e))),
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// The buffer as a [`Source`] filled from the socket.
struct Filling<'a> {
    buf: &'a mut BytesMut,
    stream: &'a TcpStream,
}

impl Source for Filling<'_> {
    fn buffer(&mut self) -> &mut BytesMut {
        self.buf
    }

    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
        poll_fill(self.stream, self.buf, cx)
    }
}

/// Locks `lent`, whatever a panic elsewhere left behind.
pub(crate) fn lock(lent: &Mutex<Lent>) -> MutexGuard<'_, Lent> {
    lent.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A request body read by the lean HTTP/1.1 server.
#[derive(Debug)]
pub(crate) enum RequestBody {
    /// No body.
    Empty,
    /// The whole body, taken from the buffer (`None` once read).
    Whole(Option<Bytes>),
    /// A body still arriving on the socket.
    Streaming(Arc<Mutex<Lent>>),
}

impl RequestBody {
    /// The next piece; `None` at the end.
    pub(crate) fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, FramingError>>> {
        match self {
            RequestBody::Empty => Poll::Ready(None),
            RequestBody::Whole(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            RequestBody::Streaming(lent) => {
                let mut lent = lock(lent);
                if let Err(e) = ready!(lent.poll_continue(cx)) {
                    return Poll::Ready(Some(Err(e)));
                }
                let lent = &mut *lent;
                let mut src = Filling { buf: &mut lent.buf, stream: &lent.stream };
                lent.decoder.poll_data(&mut src, cx).map(|piece| piece.map(|r| r.map(Frame::data)))
            }
        }
    }

    /// Whether nothing more comes.
    pub(crate) fn is_end_stream(&self) -> bool {
        match self {
            RequestBody::Empty | RequestBody::Whole(None) => true,
            RequestBody::Whole(Some(_)) => false,
            RequestBody::Streaming(lent) => lock(lent).decoder.is_done(),
        }
    }

    /// The bytes still to come, when known.
    pub(crate) fn size_hint(&self) -> SizeHint {
        match self {
            RequestBody::Empty | RequestBody::Whole(None) => SizeHint::with_exact(0),
            RequestBody::Whole(Some(d)) => SizeHint::with_exact(d.len() as u64),
            RequestBody::Streaming(lent) => lock(lent).decoder.remaining().map_or_else(SizeHint::default, SizeHint::with_exact),
        }
    }
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = FramingError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, FramingError>>> {
        self.get_mut().poll_data(cx)
    }

    fn is_end_stream(&self) -> bool {
        RequestBody::is_end_stream(self)
    }

    fn size_hint(&self) -> SizeHint {
        RequestBody::size_hint(self)
    }
}
