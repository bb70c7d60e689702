//! Writing a response: the head in the same write as the first piece of
//! the body (a whole small response is one `writev`), the body framed by
//! its length when known, else chunked (or, to an HTTP/1.0 client, until
//! close). No body for HEAD, 1xx, 204 and 304.

use super::date::write_date;
use super::io::write_all;
use crate::activity::Activity;
use bytes::{Buf, Bytes};
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::{Method, Response, Version};
use http_body::Body;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use tokio::net::TcpStream;

/// How the body goes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Out {
    /// No body bytes at all.
    None,
    /// Exactly this many.
    Length(u64),
    /// Chunked.
    Chunked,
    /// Until the connection closes.
    Close,
}

/// What the request asked of its response.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Asked<'a> {
    /// The request's method (HEAD gets no body).
    pub method: &'a Method,
    /// The request's version.
    pub version: Version,
    /// Whether the connection may carry another request after this one.
    pub keep_alive: bool,
}

/// Writes the head of `parts` into `out` and decides the framing; the
/// returned flag says whether the connection stays open after.
fn head<B: Body>(out: &mut Vec<u8>, parts: &http::response::Parts, body: &B, asked: Asked<'_>) -> (Out, bool) {
    let status = parts.status;
    let code = status.as_u16();
    let mut keep = asked.keep_alive && !keyway_h1::head::connection_has(&parts.headers, "close");
    let bodiless_status = (100..200).contains(&code) || code == 204 || code == 304;
    let declared = keyway_h1::head::content_length(&parts.headers).ok().flatten();
    // HEAD says the length a GET would have, when it is known.
    let head_length =
        if *asked.method == Method::HEAD && !bodiless_status && declared.is_none() { body.size_hint().exact() } else { None };
    let out_framing = if bodiless_status || *asked.method == Method::HEAD {
        Out::None
    } else if let Some(n) = declared {
        Out::Length(n)
    } else if body.is_end_stream() {
        Out::Length(0)
    } else if let Some(n) = body.size_hint().exact() {
        Out::Length(n)
    } else if asked.version == Version::HTTP_11 {
        Out::Chunked
    } else {
        keep = false;
        Out::Close
    };
    out.extend_from_slice(if parts.version == Version::HTTP_10 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut dated = false;
    for (name, value) in &parts.headers {
        if name == TRANSFER_ENCODING || name == CONNECTION || (name == CONTENT_LENGTH && declared.is_none()) {
            continue;
        }
        dated |= name == DATE;
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !dated {
        write_date(out);
    }
    match (out_framing, head_length) {
        (Out::Length(n), _) | (Out::None, Some(n)) if declared.is_none() => {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(keyway_h1::decimal(n, &mut [0; 20]));
            out.extend_from_slice(b"\r\n");
        }
        (Out::Chunked, _) => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        _ => {}
    }
    if !keep {
        out.extend_from_slice(b"connection: close\r\n");
    } else if asked.version == Version::HTTP_10 {
        out.extend_from_slice(b"connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    (out_framing, keep)
}

/// Writes `resp` to the client; `Ok(true)` when the connection may carry
/// another request.
pub(crate) async fn write<B>(
    stream: &TcpStream,
    activity: &Activity,
    out: &mut Vec<u8>,
    resp: Response<B>,
    asked: Asked<'_>,
) -> io::Result<bool>
where
    B: Body<Data = Bytes> + Unpin,
{
    let (parts, mut body) = resp.into_parts();
    out.clear();
    let (framing, mut keep) = head(out, &parts, &body, asked);
    if framing == Out::None {
        write_all(stream, activity, &mut [IoSlice::new(out)]).await?;
        return Ok(keep);
    }
    let mut head_unsent = true;
    let mut sent: u64 = 0;
    let mut ended = false;
    let mut size_line = [0u8; 18];
    while !ended {
        let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await else { break };
        let Ok(frame) = frame else {
            // The body broke: what was written cannot be completed.
            return Ok(false);
        };
        let Ok(mut data) = frame.into_data() else { continue };
        if let Out::Length(n) = framing {
            if sent + data.len() as u64 > n {
                data.truncate(usize::try_from(n - sent).unwrap_or(0));
                keep = false;
                ended = true;
            }
        }
        if data.is_empty() && !body.is_end_stream() {
            continue;
        }
        sent += data.len() as u64;
        ended |= body.is_end_stream();
        let mut slices: [IoSlice<'_>; 5] = [IoSlice::new(&[]); 5];
        let mut n = 0;
        if head_unsent {
            slices[n] = IoSlice::new(out);
            n += 1;
        }
        let size_len;
        if framing == Out::Chunked && !data.is_empty() {
            size_len = hex_line(data.len(), &mut size_line);
            slices[n] = IoSlice::new(&size_line[..size_len]);
            slices[n + 1] = IoSlice::new(data.chunk());
            slices[n + 2] = IoSlice::new(b"\r\n");
            n += 3;
        } else if !data.is_empty() {
            slices[n] = IoSlice::new(data.chunk());
            n += 1;
        }
        if framing == Out::Chunked && ended {
            slices[n] = IoSlice::new(b"0\r\n\r\n");
            n += 1;
        }
        write_all(stream, activity, &mut slices[..n]).await?;
        head_unsent = false;
    }
    let mut tail: [IoSlice<'_>; 2] = [IoSlice::new(&[]); 2];
    let mut n = 0;
    if head_unsent {
        tail[n] = IoSlice::new(out);
        n += 1;
    }
    if framing == Out::Chunked && !ended {
        tail[n] = IoSlice::new(b"0\r\n\r\n");
        n += 1;
    }
    if n > 0 {
        write_all(stream, activity, &mut tail[..n]).await?;
    }
    if matches!(framing, Out::Length(len) if sent < len) || framing == Out::Close {
        keep = false;
    }
    Ok(keep)
}

/// `{len:x}\r\n` into `buf`; its length.
fn hex_line(len: usize, buf: &mut [u8; 18]) -> usize {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digits = ((usize::BITS - len.leading_zeros()).div_ceil(4)).max(1) as usize;
    for i in 0..digits {
        buf[digits - 1 - i] = HEX[(len >> (4 * i)) & 0xf];
    }
    buf[digits] = b'\r';
    buf[digits + 1] = b'\n';
    digits + 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::{Frame, SizeHint};
    use http_body_util::{Empty, Full};
    use std::task::{Context, Poll};

    /// One piece, of a length it does not tell.
    struct Unsized(Option<Bytes>);

    impl Body for Unsized {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.0.take().map(|b| Ok(Frame::data(b))))
        }
        fn size_hint(&self) -> SizeHint {
            SizeHint::default()
        }
    }

    fn head_of<B: Body>(resp: Response<B>, method: &Method, version: Version) -> (String, Out, bool) {
        let (parts, body) = resp.into_parts();
        let mut out = Vec::new();
        let (framing, keep) = head(&mut out, &parts, &body, Asked { method, version, keep_alive: true });
        (String::from_utf8(out).unwrap(), framing, keep)
    }

    #[test]
    fn a_known_length_is_said_and_a_stream_is_chunked() {
        let get = Method::GET;
        let (h, f, keep) = head_of(Response::new(Full::new(Bytes::from_static(b"hello"))), &get, Version::HTTP_11);
        assert!(h.starts_with("HTTP/1.1 200 OK\r\n") && h.contains("content-length: 5\r\n") && h.contains("date: "), "{h}");
        assert_eq!((f, keep), (Out::Length(5), true));
        let (h, f, _) = head_of(Response::new(Unsized(Some(Bytes::from_static(b"x")))), &get, Version::HTTP_11);
        assert!(h.contains("transfer-encoding: chunked\r\n"), "{h}");
        assert_eq!(f, Out::Chunked);
        let (h, f, keep) = head_of(Response::new(Unsized(None)), &get, Version::HTTP_10);
        assert!(h.contains("connection: close\r\n") && !h.contains("chunked"), "{h}");
        assert_eq!((f, keep), (Out::Close, false));
        let (h, f, _) = head_of(Response::new(Empty::<Bytes>::new()), &get, Version::HTTP_11);
        assert!(h.contains("content-length: 0\r\n"), "{h}");
        assert_eq!(f, Out::Length(0));
    }

    #[test]
    fn head_and_no_content_responses_carry_no_body_and_keep_their_length() {
        let mut resp = Response::new(Empty::<Bytes>::new());
        resp.headers_mut().insert(CONTENT_LENGTH, http::HeaderValue::from_static("42"));
        let (h, f, _) = head_of(resp, &Method::HEAD, Version::HTTP_11);
        assert!(h.contains("content-length: 42\r\n"), "{h}");
        assert_eq!(f, Out::None);
        let mut resp = Response::new(Empty::<Bytes>::new());
        *resp.status_mut() = http::StatusCode::NO_CONTENT;
        let (h, f, _) = head_of(resp, &Method::GET, Version::HTTP_11);
        assert!(!h.contains("content-length") && !h.contains("transfer-encoding"), "{h}");
        assert_eq!(f, Out::None);
    }

    #[test]
    fn hop_by_hop_framing_is_ours_and_close_is_honoured() {
        let mut resp = Response::new(Full::new(Bytes::from_static(b"ab")));
        resp.headers_mut().insert(TRANSFER_ENCODING, http::HeaderValue::from_static("chunked"));
        resp.headers_mut().insert(CONNECTION, http::HeaderValue::from_static("close"));
        let (h, f, keep) = head_of(resp, &Method::GET, Version::HTTP_11);
        assert!(!h.contains("chunked") && h.contains("content-length: 2\r\n") && h.contains("connection: close\r\n"), "{h}");
        assert_eq!((f, keep), (Out::Length(2), false));
    }

    #[test]
    fn numbers_are_written_in_their_bases() {
        let mut buf = [0u8; 18];
        let n = hex_line(0x1a2b, &mut buf);
        assert_eq!(&buf[..n], b"1a2b\r\n");
        let n = hex_line(1, &mut buf);
        assert_eq!(&buf[..n], b"1\r\n");
    }
}
