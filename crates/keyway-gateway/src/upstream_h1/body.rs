//! The response body, decoded off the connection as the caller polls it;
//! at its end the connection goes back to whoever owns its reuse.

use super::response::{BodyFraming, Head};
use super::Conn;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Longest chunk-size or trailer line accepted.
const MAX_LINE_BYTES: usize = 4096;

/// What takes a connection back once a body has been read to its end.
pub(crate) trait Reuse: Send + Unpin + 'static {
    /// Takes `conn` back.
    fn reuse(self, conn: Conn);
}

/// A response body read from its connection.
#[derive(Debug)]
pub(crate) struct UpstreamBody<R: Reuse> {
    conn: Option<Conn>,
    state: State,
    reusable: bool,
    reuse: Option<R>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// This many bytes still to come.
    Length(u64),
    /// Everything until the upstream closes.
    Close,
    /// Expecting a chunk-size line.
    ChunkSize,
    /// This many bytes of the current chunk still to come.
    ChunkData(u64),
    /// The CRLF after a chunk.
    ChunkEnd,
    /// Trailer lines, up to an empty one (trailers are not relayed).
    Trailers,
    /// Read to its end.
    Done,
}

impl<R: Reuse> UpstreamBody<R> {
    /// The body that follows `head` on `conn`.
    pub(crate) fn new(conn: Conn, head: &Head, reuse: R) -> Self {
        let state = match head.framing {
            BodyFraming::Empty => State::Done,
            BodyFraming::Length(n) => State::Length(n),
            BodyFraming::Chunked => State::ChunkSize,
            BodyFraming::Close => State::Close,
        };
        Self { conn: Some(conn), state, reusable: head.reusable, reuse: Some(reuse) }
    }

    /// Marks the body read to its end and hands the connection back when
    /// it may carry another request.
    fn finish(&mut self) {
        self.state = State::Done;
        if let (true, Some(conn), Some(reuse)) = (self.reusable, self.conn.take(), self.reuse.take()) {
            reuse.reuse(conn);
        }
    }

    /// Takes up to `want` buffered bytes, reading when none are buffered;
    /// `None` at the end of the stream.
    fn poll_take(conn: &mut Conn, want: u64, cx: &mut Context<'_>) -> Poll<io::Result<Option<Bytes>>> {
        if conn.buf.is_empty() && ready!(conn.poll_fill(cx))? == 0 {
            return Poll::Ready(Ok(None));
        }
        let n = usize::try_from(want).unwrap_or(usize::MAX).min(conn.buf.len());
        Poll::Ready(Ok(Some(conn.buf.split_to(n).freeze())))
    }

    /// A CRLF-ended line off the buffer (without its CRLF), reading as
    /// needed.
    fn poll_line(conn: &mut Conn, cx: &mut Context<'_>) -> Poll<io::Result<Bytes>> {
        loop {
            if let Some(at) = conn.buf.windows(2).position(|w| w == b"\r\n") {
                let line = conn.buf.split_to(at + 2).freeze();
                return Poll::Ready(Ok(line.slice(..at)));
            }
            if conn.buf.len() > MAX_LINE_BYTES {
                return Poll::Ready(Err(invalid("chunk line too long")));
            }
            if ready!(conn.poll_fill(cx))? == 0 {
                return Poll::Ready(Err(cut()));
            }
        }
    }
}

impl<R: Reuse> http_body::Body for UpstreamBody<R> {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        loop {
            if this.state == State::Done {
                this.finish();
                return Poll::Ready(None);
            }
            let Some(conn) = this.conn.as_mut() else { return Poll::Ready(None) };
            let step = match this.state {
                State::Length(left) | State::ChunkData(left) => match ready!(Self::poll_take(conn, left, cx)) {
                    Ok(Some(data)) => {
                        let left = left - data.len() as u64;
                        this.state = match (this.state, left) {
                            (State::Length(_), 0) => State::Done,
                            (State::Length(_), _) => State::Length(left),
                            (_, 0) => State::ChunkEnd,
                            _ => State::ChunkData(left),
                        };
                        if this.state == State::Done {
                            this.finish();
                        }
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                    Ok(None) => Err(cut()),
                    Err(e) => Err(e),
                },
                State::Close => match ready!(Self::poll_take(conn, u64::MAX, cx)) {
                    Ok(Some(data)) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                    Ok(None) => {
                        this.reusable = false;
                        this.state = State::Done;
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
                State::ChunkSize => match ready!(Self::poll_line(conn, cx)) {
                    Ok(line) => chunk_size(&line).map(|size| {
                        this.state = if size == 0 { State::Trailers } else { State::ChunkData(size) };
                    }),
                    Err(e) => Err(e),
                },
                State::ChunkEnd => match ready!(Self::poll_line(conn, cx)) {
                    Ok(line) if line.is_empty() => {
                        this.state = State::ChunkSize;
                        Ok(())
                    }
                    Ok(_) => Err(invalid("chunk longer than its size")),
                    Err(e) => Err(e),
                },
                State::Trailers => match ready!(Self::poll_line(conn, cx)) {
                    Ok(line) => {
                        if line.is_empty() {
                            this.state = State::Done;
                        }
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
                State::Done => Ok(()),
            };
            if let Err(e) = step {
                // The framing is lost: the connection is not reused.
                this.reusable = false;
                this.conn = None;
                return Poll::Ready(Some(Err(e)));
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.state == State::Done
    }

    fn size_hint(&self) -> SizeHint {
        match self.state {
            State::Length(n) => SizeHint::with_exact(n),
            State::Done => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

impl<R: Reuse> Drop for UpstreamBody<R> {
    fn drop(&mut self) {
        // Read to its end without a last poll (an empty body, say); a body
        // dropped half way closes its connection.
        if self.state == State::Done {
            self.finish();
        }
    }
}

/// The size of a chunk-size line (`1a;ext=v`), hexadecimal.
fn chunk_size(line: &[u8]) -> io::Result<u64> {
    let digits = line.split(|&b| b == b';').next().unwrap_or_default().trim_ascii();
    if digits.is_empty() || digits.len() > 15 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return Err(invalid("bad chunk size"));
    }
    Ok(digits.iter().fold(0u64, |n, d| n * 16 + u64::from(char::from(*d).to_digit(16).unwrap_or(0))))
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("upstream response body: {what}"))
}

fn cut() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "upstream closed the connection inside the response body")
}

#[cfg(test)]
mod tests {
    use super::chunk_size;

    #[test]
    fn chunk_sizes_parse_with_extensions_and_refuse_junk() {
        assert_eq!(chunk_size(b"1a").unwrap(), 26);
        assert_eq!(chunk_size(b"FF;name=value").unwrap(), 255);
        assert_eq!(chunk_size(b"0").unwrap(), 0);
        assert_eq!(chunk_size(b"10 ;x").unwrap(), 16);
        for bad in [&b""[..], b";x", b"-1", b"0x10", b"1g", b"1234567890abcdef0"] {
            assert!(chunk_size(bad).is_err(), "{bad:?}");
        }
    }
}
