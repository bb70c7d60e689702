//! Reading the response head and deciding how its body is framed
//! (RFC 9112 §6.3), and whether the connection may carry another request.

use super::{Conn, ExchangeError, MAX_HEAD_BYTES};
use bytes::{Bytes, BytesMut};
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, Method, Response, StatusCode, Version};
use keyway_h1::head::{self, MAX_HEADERS};
use keyway_h1::Framing;
use std::mem::MaybeUninit;

/// A parsed final response head.
#[derive(Debug)]
pub(crate) struct Head {
    /// The status.
    pub status: StatusCode,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The headers as sent (a `content-length` beside a transfer coding
    /// removed).
    pub headers: HeaderMap,
    /// How the body is delimited.
    pub framing: Framing,
    /// Whether the connection may carry another request after this body.
    pub reusable: bool,
}

impl Head {
    /// The response with `body`.
    pub(crate) fn into_response<B>(self, body: B) -> Response<B> {
        let mut r = Response::new(body);
        *r.status_mut() = self.status;
        *r.version_mut() = self.version;
        *r.headers_mut() = self.headers;
        r
    }
}

impl Conn {
    /// Reads the final response head to a `method` request (interim 1xx
    /// responses are skipped).
    pub(super) async fn read_head(&mut self, method: &Method) -> Result<Head, ExchangeError> {
        let mut received = !self.buf.is_empty();
        loop {
            if let Some(head) = parse(&mut self.buf, &mut self.spans, &mut self.names, method)? {
                match head.status.as_u16() {
                    101 => return Err(ExchangeError::Invalid("101 Switching Protocols: upgrades are not proxied".into())),
                    100..=199 => continue,
                    _ => return Ok(head),
                }
            }
            if self.buf.len() > MAX_HEAD_BYTES {
                return Err(ExchangeError::Invalid(format!("response head over {MAX_HEAD_BYTES} bytes")));
            }
            match self.fill().await {
                Ok(0) if !received => return Err(ExchangeError::Closed),
                Ok(0) => return Err(ExchangeError::Invalid("connection closed inside the response head".into())),
                Ok(_) => received = true,
                Err(e) if !received && e.kind() == std::io::ErrorKind::ConnectionReset => return Err(ExchangeError::Closed),
                Err(e) => return Err(ExchangeError::Read(e)),
            }
        }
    }
}

/// Parses one response head off the front of `buf`, if it is all there.
pub(super) fn parse(
    buf: &mut BytesMut,
    spans: &mut Vec<[usize; 4]>,
    names: &mut head::Names,
    method: &Method,
) -> Result<Option<Head>, ExchangeError> {
    if buf.is_empty() {
        return Ok(None);
    }
    // Where each header's name and value sit in the head (offsets from
    // its start): the values then share the head's bytes, not copies.
    let (len, code, minor) = {
        // Uninitialised slots: zeroing 100 headers cost more than parsing.
        let mut slots = [const { MaybeUninit::uninit() }; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut []);
        let len = match httparse::ParserConfig::default().parse_response_with_uninit_headers(&mut resp, buf, &mut slots) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(ExchangeError::Invalid(e.to_string())),
        };
        head::spans_of(buf, resp.headers, spans);
        (len, resp.code.unwrap_or(0), resp.version.unwrap_or(1))
    };
    let bytes: Bytes = buf.split_to(len).freeze();
    let status = StatusCode::from_u16(code).map_err(|_| ExchangeError::Invalid(format!("status {code}")))?;
    let (mut headers, facts) = head::header_map(&bytes, spans, head::RESPONSE_ROOM, names).map_err(ExchangeError::Invalid)?;
    let version = if minor == 0 { Version::HTTP_10 } else { Version::HTTP_11 };
    let (framing, ambiguous) = framing(method, status, &facts)?;
    if ambiguous {
        // A transfer coding wins over a length (RFC 9112 §6.3): the length
        // does not reach the caller either.
        headers.remove(CONTENT_LENGTH);
    }
    let reusable = version == Version::HTTP_11 && !facts.close && framing != Framing::Close && !ambiguous;
    Ok(Some(Head { status, version, headers, framing, reusable }))
}

/// The body's framing, and whether the head was ambiguous (a transfer
/// coding and a length both).
fn framing(method: &Method, status: StatusCode, facts: &head::Facts) -> Result<(Framing, bool), ExchangeError> {
    let code = status.as_u16();
    if method == Method::HEAD || code == 204 || code == 304 || (100..200).contains(&code) {
        return Ok((Framing::Empty, false));
    }
    if facts.transfer_encoding {
        let framing = if facts.chunked_last { Framing::Chunked } else { Framing::Close };
        return Ok((framing, facts.content_length.is_some()));
    }
    Ok(match facts.content_length.transpose().map_err(|e| ExchangeError::Invalid(e.into()))? {
        Some(0) => (Framing::Empty, false),
        Some(n) => (Framing::Length(n), false),
        None => (Framing::Close, false),
    })
}
