//! Reading the response head and deciding how its body is framed
//! (RFC 9112 §6.3), and whether the connection may carry another request.

use super::{Conn, ExchangeError, MAX_HEADERS, MAX_HEAD_BYTES};
use bytes::{Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode, Version};
use std::mem::MaybeUninit;

/// How a response body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyFraming {
    /// None at all.
    Empty,
    /// This many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Until the upstream closes the connection.
    Close,
}

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
    pub framing: BodyFraming,
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
            if let Some(head) = parse(&mut self.buf, &mut self.spans, method)? {
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
pub(super) fn parse(buf: &mut BytesMut, spans: &mut Vec<[usize; 4]>, method: &Method) -> Result<Option<Head>, ExchangeError> {
    if buf.is_empty() {
        return Ok(None);
    }
    // Where each header's name and value sit in the head (offsets from
    // its start): the values then share the head's bytes, not copies.
    spans.clear();
    let (len, code, minor) = {
        // Uninitialised slots: zeroing 100 headers cost more than parsing.
        let mut slots = [const { MaybeUninit::uninit() }; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut []);
        let len = match httparse::ParserConfig::default().parse_response_with_uninit_headers(&mut resp, buf, &mut slots) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(ExchangeError::Invalid(e.to_string())),
        };
        let base = buf.as_ptr() as usize;
        spans.extend(
            resp.headers
                .iter()
                .map(|h| [h.name.as_ptr() as usize - base, h.name.len(), h.value.as_ptr() as usize - base, h.value.len()]),
        );
        (len, resp.code.unwrap_or(0), resp.version.unwrap_or(1))
    };
    let bytes: Bytes = buf.split_to(len).freeze();
    let status = StatusCode::from_u16(code).map_err(|_| ExchangeError::Invalid(format!("status {code}")))?;
    let mut headers = HeaderMap::with_capacity(spans.len());
    for &[name_at, name_len, value_at, value_len] in spans.iter() {
        let name = HeaderName::from_bytes(&bytes[name_at..name_at + name_len])
            .map_err(|_| ExchangeError::Invalid("a header name".into()))?;
        let value = HeaderValue::from_maybe_shared(bytes.slice(value_at..value_at + value_len))
            .map_err(|_| ExchangeError::Invalid(format!("the value of header {name}")))?;
        headers.append(name, value);
    }
    let version = if minor == 0 { Version::HTTP_10 } else { Version::HTTP_11 };
    let (framing, ambiguous) = framing(method, status, &headers)?;
    if ambiguous {
        // A transfer coding wins over a length (RFC 9112 §6.3): the length
        // does not reach the caller either.
        headers.remove(CONTENT_LENGTH);
    }
    let reusable = version == Version::HTTP_11 && !says_close(&headers) && framing != BodyFraming::Close && !ambiguous;
    Ok(Some(Head { status, version, headers, framing, reusable }))
}

/// The body's framing, and whether the head was ambiguous (a transfer
/// coding and a length both).
fn framing(method: &Method, status: StatusCode, headers: &HeaderMap) -> Result<(BodyFraming, bool), ExchangeError> {
    let code = status.as_u16();
    if method == Method::HEAD || code == 204 || code == 304 || (100..200).contains(&code) {
        return Ok((BodyFraming::Empty, false));
    }
    let mut codings = headers.get_all(TRANSFER_ENCODING).iter().peekable();
    if codings.peek().is_some() {
        let last =
            codings.filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim).filter(|t| !t.is_empty()).last();
        let chunked = last.is_some_and(|t| t.eq_ignore_ascii_case("chunked"));
        let framing = if chunked { BodyFraming::Chunked } else { BodyFraming::Close };
        return Ok((framing, headers.contains_key(CONTENT_LENGTH)));
    }
    let mut length: Option<u64> = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        for part in value.as_bytes().split(|&b| b == b',') {
            let part = part.trim_ascii();
            if part.is_empty() || part.len() > 19 || !part.iter().all(u8::is_ascii_digit) {
                return Err(ExchangeError::Invalid("content-length is not a number".into()));
            }
            let n = part.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            if length.is_some_and(|l| l != n) {
                return Err(ExchangeError::Invalid("conflicting content-length values".into()));
            }
            length = Some(n);
        }
    }
    Ok(match length {
        Some(0) => (BodyFraming::Empty, false),
        Some(n) => (BodyFraming::Length(n), false),
        None => (BodyFraming::Close, false),
    })
}

/// Whether `Connection` holds `close`.
fn says_close(headers: &HeaderMap) -> bool {
    headers
        .get_all(CONNECTION)
        .iter()
        .any(|v| v.as_bytes().split(|&b| b == b',').any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close")))
}
