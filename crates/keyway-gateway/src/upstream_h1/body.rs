//! The response body, decoded off the connection as the caller polls it;
//! at its end the connection goes back to whoever owns its reuse.

use super::response::Head;
use super::Conn;
use bytes::{Bytes, BytesMut};
use http_body::{Frame, SizeHint};
use keyway_h1::{Decoder, FramingError, Source};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// What takes a connection back once a body has been read to its end.
pub(crate) trait Reuse: Send + Unpin + 'static {
    /// Takes `conn` back.
    fn reuse(self, conn: Conn);
}

/// A response body read from its connection.
#[derive(Debug)]
pub(crate) struct UpstreamBody<R: Reuse> {
    conn: Option<Conn>,
    decoder: Decoder,
    reusable: bool,
    reuse: Option<R>,
}

impl<R: Reuse> UpstreamBody<R> {
    /// The body that follows `head` on `conn`.
    pub(crate) fn new(conn: Conn, head: &Head, reuse: R) -> Self {
        Self { conn: Some(conn), decoder: Decoder::new(head.framing), reusable: head.reusable, reuse: Some(reuse) }
    }

    /// Hands the connection back when it may carry another request.
    fn finish(&mut self) {
        if let (true, Some(conn), Some(reuse)) = (self.reusable, self.conn.take(), self.reuse.take()) {
            reuse.reuse(conn);
        }
    }
}

impl Source for Conn {
    fn buffer(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        Conn::poll_fill(self, cx)
    }
}

impl<R: Reuse> http_body::Body for UpstreamBody<R> {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        let Some(conn) = this.conn.as_mut() else { return Poll::Ready(None) };
        let close_delimited = this.decoder.is_close_delimited();
        match ready!(this.decoder.poll_data(conn, cx)) {
            Some(Ok(data)) => {
                if this.decoder.is_done() {
                    this.finish();
                }
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
            Some(Err(e)) => {
                // The framing is lost: the connection is not reused.
                this.reusable = false;
                this.conn = None;
                Poll::Ready(Some(Err(upstream_error(e))))
            }
            None => {
                if close_delimited {
                    this.reusable = false;
                }
                this.finish();
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.decoder.is_done()
    }

    fn size_hint(&self) -> SizeHint {
        self.decoder.remaining().map_or_else(SizeHint::default, SizeHint::with_exact)
    }
}

impl<R: Reuse> Drop for UpstreamBody<R> {
    fn drop(&mut self) {
        // Read to its end without a last poll (an empty body, say); a body
        // dropped half way closes its connection.
        if self.decoder.is_done() {
            self.finish();
        }
    }
}

/// The io error a broken response body reads as.
fn upstream_error(e: FramingError) -> io::Error {
    match e {
        FramingError::Io(e) => e,
        FramingError::Cut => {
            io::Error::new(io::ErrorKind::UnexpectedEof, "upstream closed the connection inside the response body")
        }
        FramingError::Invalid(what) => io::Error::new(io::ErrorKind::InvalidData, format!("upstream response body: {what}")),
    }
}
