//! Writing the request: the head in one buffer (the first piece of a small
//! body with it), then the body, with the framing this side decides.

use super::{Conn, ExchangeError};
use crate::body::Body;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::Method;
use http_body::Body as _;
use http_body_util::BodyExt;
use std::io::Write as _;
use tokio::io::AsyncWriteExt;

/// A body piece this small goes out in the same write as the head.
const COALESCE_BYTES: usize = 16 * 1024;

/// How the request body is framed on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body, no framing header (GET and the like).
    None,
    /// Exactly this many bytes, said in `content-length`.
    Length(u64),
    /// `transfer-encoding: chunked`: the length is not known ahead.
    Chunked,
}

impl Framing {
    /// The framing of `body` for a `method` request: the length the body
    /// reports exactly, else chunked. A known-empty body of a method that
    /// usually carries one says `content-length: 0`.
    pub(super) fn of(method: &Method, body: &Body) -> Self {
        if body.is_end_stream() {
            return if matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
                Framing::Length(0)
            } else {
                Framing::None
            };
        }
        body.size_hint().exact().map_or(Framing::Chunked, Framing::Length)
    }
}

impl Conn {
    /// Writes `parts` (then the `added` headers) and `body` to the upstream.
    pub(super) async fn send_request(
        &mut self,
        parts: &http::request::Parts,
        added: &[(HeaderName, HeaderValue)],
        body: &mut Body,
    ) -> Result<(), ExchangeError> {
        let framing = Framing::of(&parts.method, body);
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        write_head(&mut out, parts, added, framing);
        let sent = self.send_with_body(&mut out, body, framing).await;
        self.out = out;
        sent
    }

    async fn send_with_body(&mut self, out: &mut Vec<u8>, body: &mut Body, framing: Framing) -> Result<(), ExchangeError> {
        if framing == Framing::None {
            return self.io.write_all(out).await.map_err(ExchangeError::Write);
        }
        let mut sent: u64 = 0;
        let mut head_written = false;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| ExchangeError::Body(e.to_string()))?;
            let Ok(data) = frame.into_data() else { continue };
            if data.is_empty() {
                continue;
            }
            sent += data.len() as u64;
            if let Framing::Length(n) = framing {
                if sent > n {
                    return Err(ExchangeError::Body(format!("longer than its length of {n} bytes")));
                }
            }
            if !head_written && data.len() <= COALESCE_BYTES {
                piece(out, &data, framing);
                self.io.write_all(out).await.map_err(ExchangeError::Write)?;
            } else {
                if !head_written {
                    self.io.write_all(out).await.map_err(ExchangeError::Write)?;
                }
                self.write_piece(&data, framing).await?;
            }
            out.clear();
            head_written = true;
        }
        match framing {
            Framing::Length(n) if sent != n => {
                return Err(ExchangeError::Body(format!("ended after {sent} of its {n} bytes")));
            }
            Framing::Chunked => out.extend_from_slice(b"0\r\n\r\n"),
            _ => {}
        }
        if !out.is_empty() {
            self.io.write_all(out).await.map_err(ExchangeError::Write)?;
        }
        Ok(())
    }

    async fn write_piece(&mut self, data: &Bytes, framing: Framing) -> Result<(), ExchangeError> {
        if framing == Framing::Chunked {
            let mut size = Vec::with_capacity(20);
            let _ = write!(size, "{:x}\r\n", data.len());
            self.io.write_all(&size).await.map_err(ExchangeError::Write)?;
        }
        self.io.write_all(data).await.map_err(ExchangeError::Write)?;
        if framing == Framing::Chunked {
            self.io.write_all(b"\r\n").await.map_err(ExchangeError::Write)?;
        }
        Ok(())
    }
}

/// Appends one body piece, framed, to `out`.
fn piece(out: &mut Vec<u8>, data: &[u8], framing: Framing) {
    if framing == Framing::Chunked {
        let _ = write!(out, "{:x}\r\n", data.len());
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    } else {
        out.extend_from_slice(data);
    }
}

/// The request line and headers, `added` after `parts`' own; the caller's
/// `content-length` and `transfer-encoding` are replaced by `framing`'s
/// own.
pub(super) fn write_head(out: &mut Vec<u8>, parts: &http::request::Parts, added: &[(HeaderName, HeaderValue)], framing: Framing) {
    out.extend_from_slice(parts.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(parts.uri.path_and_query().map_or("/", |p| p.as_str()).as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in parts.headers.iter().chain(added.iter().map(|(n, v)| (n, v))) {
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        Framing::None => {}
        Framing::Length(n) => {
            let _ = write!(out, "content-length: {n}\r\n");
        }
        Framing::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    out.extend_from_slice(b"\r\n");
}
