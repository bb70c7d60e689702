//! A message body decoded in place off its connection's read buffer, as
//! the reader polls it: a length, chunked (extensions ignored, trailers
//! read and dropped) or everything until the peer closes.

use bytes::{Bytes, BytesMut};
use std::io;
use std::task::{ready, Context, Poll};

/// Longest chunk-size or trailer line accepted.
const MAX_LINE_BYTES: usize = 4096;

/// How a body is delimited (RFC 9112 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// None at all.
    Empty,
    /// This many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Until the peer closes the connection (responses only).
    Close,
}

/// Where a body's bytes come from: a read buffer and a way to fill it.
pub trait Source {
    /// Bytes read and not yet consumed.
    fn buffer(&mut self) -> &mut BytesMut;
    /// Reads more bytes into the buffer; `Ok(0)` at end of stream.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>>;
}

/// Why a body could not be read to its end.
#[derive(Debug)]
pub enum FramingError {
    /// The framing is broken (what is wrong).
    Invalid(&'static str),
    /// The peer closed the connection inside the body.
    Cut,
    /// Reading failed.
    Io(io::Error),
}

impl std::fmt::Display for FramingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FramingError::Invalid(what) => f.write_str(what),
            FramingError::Cut => f.write_str("the connection closed inside the body"),
            FramingError::Io(e) => write!(f, "reading the body: {e}"),
        }
    }
}

impl std::error::Error for FramingError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// This many bytes still to come.
    Length(u64),
    /// Everything until the peer closes.
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
    /// Broken; nothing more comes.
    Failed,
}

/// The decoding state of one body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoder {
    state: State,
}

impl Decoder {
    /// A body delimited by `framing`.
    pub fn new(framing: Framing) -> Self {
        let state = match framing {
            Framing::Empty | Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::ChunkSize,
            Framing::Close => State::Close,
        };
        Self { state }
    }

    /// Whether the body has been read to its end.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Whether the body ended at a close of the connection (it then
    /// cannot be followed by another message).
    pub fn is_close_delimited(&self) -> bool {
        self.state == State::Close
    }

    /// Bytes still to come, when known exactly.
    pub fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Length(n) => Some(n),
            State::Done => Some(0),
            _ => None,
        }
    }

    /// The next piece of the body; `None` at its end.
    pub fn poll_data<S: Source>(&mut self, src: &mut S, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, FramingError>>> {
        loop {
            let step = match self.state {
                State::Done | State::Failed => return Poll::Ready(None),
                State::Length(left) | State::ChunkData(left) => match ready!(take(src, left, cx)) {
                    Ok(Some(data)) => {
                        let left = left - data.len() as u64;
                        self.state = match (self.state, left) {
                            (State::Length(_), 0) => State::Done,
                            (State::Length(_), _) => State::Length(left),
                            (_, 0) => State::ChunkEnd,
                            _ => State::ChunkData(left),
                        };
                        return Poll::Ready(Some(Ok(data)));
                    }
                    Ok(None) => Err(FramingError::Cut),
                    Err(e) => Err(FramingError::Io(e)),
                },
                State::Close => match ready!(take(src, u64::MAX, cx)) {
                    Ok(Some(data)) => return Poll::Ready(Some(Ok(data))),
                    Ok(None) => {
                        self.state = State::Done;
                        return Poll::Ready(None);
                    }
                    Err(e) => Err(FramingError::Io(e)),
                },
                State::ChunkSize => ready!(line(src, cx)).and_then(|l| chunk_size(&l)).map(|size| {
                    self.state = if size == 0 { State::Trailers } else { State::ChunkData(size) };
                }),
                State::ChunkEnd => match ready!(line(src, cx)) {
                    Ok(l) if l.is_empty() => {
                        self.state = State::ChunkSize;
                        Ok(())
                    }
                    Ok(_) => Err(FramingError::Invalid("a chunk is longer than its size")),
                    Err(e) => Err(e),
                },
                State::Trailers => ready!(line(src, cx)).map(|l| {
                    if l.is_empty() {
                        self.state = State::Done;
                    }
                }),
            };
            if let Err(e) = step {
                self.state = State::Failed;
                return Poll::Ready(Some(Err(e)));
            }
            if self.state == State::Done {
                return Poll::Ready(None);
            }
        }
    }
}

/// Up to `want` buffered bytes, reading when none are buffered; `None`
/// at the end of the stream.
fn take<S: Source>(src: &mut S, want: u64, cx: &mut Context<'_>) -> Poll<io::Result<Option<Bytes>>> {
    if src.buffer().is_empty() && ready!(src.poll_fill(cx))? == 0 {
        return Poll::Ready(Ok(None));
    }
    let buf = src.buffer();
    let n = usize::try_from(want).unwrap_or(usize::MAX).min(buf.len());
    Poll::Ready(Ok(Some(buf.split_to(n).freeze())))
}

/// A CRLF-ended line off the buffer (without its CRLF), reading as needed.
fn line<S: Source>(src: &mut S, cx: &mut Context<'_>) -> Poll<Result<Bytes, FramingError>> {
    loop {
        let buf = src.buffer();
        if let Some(at) = buf.windows(2).position(|w| w == b"\r\n") {
            let line = buf.split_to(at + 2).freeze();
            return Poll::Ready(Ok(line.slice(..at)));
        }
        if buf.len() > MAX_LINE_BYTES {
            return Poll::Ready(Err(FramingError::Invalid("a chunk line is too long")));
        }
        match ready!(src.poll_fill(cx)) {
            Ok(0) => return Poll::Ready(Err(FramingError::Cut)),
            Ok(_) => {}
            Err(e) => return Poll::Ready(Err(FramingError::Io(e))),
        }
    }
}

/// The size of a chunk-size line (`1a;ext=v`), hexadecimal.
fn chunk_size(line: &[u8]) -> Result<u64, FramingError> {
    let digits = line.split(|&b| b == b';').next().unwrap_or_default().trim_ascii();
    if digits.is_empty() || digits.len() > 15 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return Err(FramingError::Invalid("a chunk size is not valid"));
    }
    Ok(digits.iter().fold(0u64, |n, d| n * 16 + u64::from(char::from(*d).to_digit(16).unwrap_or(0))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    /// A source that yields its input `step` bytes per fill.
    struct Trickle {
        input: Vec<u8>,
        at: usize,
        step: usize,
        buf: BytesMut,
    }

    impl Source for Trickle {
        fn buffer(&mut self) -> &mut BytesMut {
            &mut self.buf
        }
        fn poll_fill(&mut self, _: &mut Context<'_>) -> Poll<io::Result<usize>> {
            let n = self.step.min(self.input.len() - self.at);
            self.buf.extend_from_slice(&self.input[self.at..self.at + n]);
            self.at += n;
            Poll::Ready(Ok(n))
        }
    }

    fn decode(framing: Framing, input: &[u8], step: usize) -> (Result<Vec<u8>, String>, Vec<u8>) {
        let mut src = Trickle { input: input.to_vec(), at: 0, step, buf: BytesMut::new() };
        let mut d = Decoder::new(framing);
        let mut cx = Context::from_waker(Waker::noop());
        let mut out = Vec::new();
        loop {
            match d.poll_data(&mut src, &mut cx) {
                Poll::Ready(Some(Ok(b))) => out.extend_from_slice(&b),
                Poll::Ready(Some(Err(e))) => return (Err(e.to_string()), Vec::new()),
                Poll::Ready(None) => break,
                Poll::Pending => unreachable!("the trickle is always ready"),
            }
        }
        let mut rest = src.buf.to_vec();
        rest.extend_from_slice(&src.input[src.at..]);
        (Ok(out), rest)
    }

    #[test]
    fn chunked_bodies_decode_whatever_the_read_sizes_and_leave_the_next_message() {
        let wire = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\nGET / HTTP/1.1\r\n";
        for step in [1, 2, 3, 7, 64] {
            let (body, rest) = decode(Framing::Chunked, wire, step);
            assert_eq!(body.unwrap(), b"Wikipedia", "step {step}");
            assert_eq!(rest, b"GET / HTTP/1.1\r\n", "step {step}");
        }
    }

    #[test]
    fn a_length_takes_exactly_its_bytes() {
        let (body, rest) = decode(Framing::Length(5), b"helloNEXT", 3);
        assert_eq!(body.unwrap(), b"hello");
        assert_eq!(rest, b"NEXT");
        assert_eq!(decode(Framing::Length(9), b"short", 2).0.unwrap_err(), "the connection closed inside the body");
    }

    #[test]
    fn broken_chunks_are_named() {
        assert_eq!(decode(Framing::Chunked, b"zz\r\n", 64).0.unwrap_err(), "a chunk size is not valid");
        assert_eq!(decode(Framing::Chunked, b"2\r\nabc\r\n", 64).0.unwrap_err(), "a chunk is longer than its size");
        assert_eq!(decode(Framing::Chunked, b"2\r\nab", 64).0.unwrap_err(), "the connection closed inside the body");
        let long = [b'1'; 5000];
        assert_eq!(decode(Framing::Chunked, &long, 64).0.unwrap_err(), "a chunk line is too long");
    }

    #[test]
    fn close_delimited_reads_to_the_end() {
        assert_eq!(decode(Framing::Close, b"all of it", 4).0.unwrap(), b"all of it");
    }

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
