//! Reading a request head off the connection's buffer: the request line
//! and headers (values sharing the buffer), and how its body is framed,
//! strictly (RFC 9112 §6.3): a transfer coding that does not end in
//! `chunked`, a transfer coding beside a length, or disagreeing lengths
//! are refused, never guessed at: that is where request smuggling lives.

use bytes::BytesMut;
use http::{Method, Request, Uri, Version};
use keyway_h1::head::{self, Span, MAX_HEADERS};
use keyway_h1::Framing;
use std::mem::MaybeUninit;

/// Most bytes of a request head; a longer one gets `431`.
pub(crate) const MAX_HEAD_BYTES: usize = 64 * 1024;

/// A parsed request head.
#[derive(Debug)]
pub(crate) struct Head {
    /// Method, target, version and headers.
    pub parts: http::request::Parts,
    /// How its body is delimited.
    pub framing: Framing,
    /// Whether the client lets the connection carry another request.
    pub keep_alive: bool,
    /// Whether the client waits for `100 Continue` before its body.
    pub expect_continue: bool,
}

/// Why a head was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// Not valid HTTP/1.x (what is wrong).
    Malformed(String),
    /// More headers, or more bytes, than allowed.
    TooLarge,
}

/// Parses one request head off the front of `buf`, if it is all there.
pub(crate) fn parse(buf: &mut BytesMut, spans: &mut Vec<Span>, names: &mut head::Names) -> Result<Option<Head>, HeadError> {
    let (len, method, target, minor) = {
        // Uninitialised slots: zeroing 100 headers costs more than parsing.
        let mut slots = [const { MaybeUninit::uninit() }; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut []);
        let len = match httparse::ParserConfig::default().parse_request_with_uninit_headers(&mut req, buf, &mut slots) {
            Ok(httparse::Status::Complete(n)) if n > MAX_HEAD_BYTES => return Err(HeadError::TooLarge),
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
            Err(e) => return Err(HeadError::Malformed(e.to_string())),
        };
        head::spans_of(buf, req.headers, spans);
        let method = Method::from_bytes(req.method.unwrap_or_default().as_bytes())
            .map_err(|_| HeadError::Malformed("invalid method".into()))?;
        let path = req.path.unwrap_or_default();
        let target = (path.as_ptr() as usize - buf.as_ptr() as usize, path.len());
        (len, method, target, req.version.unwrap_or(1))
    };
    let bytes = buf.split_to(len).freeze();
    let uri = Uri::from_maybe_shared(bytes.slice(target.0..target.0 + target.1))
        .map_err(|_| HeadError::Malformed("invalid request target".into()))?;
    let (headers, facts) = head::header_map(&bytes, spans, head::REQUEST_ROOM, names).map_err(HeadError::Malformed)?;
    let version = if minor == 0 { Version::HTTP_10 } else { Version::HTTP_11 };
    let framing = framing(version, &facts)?;
    let keep_alive = match version {
        Version::HTTP_10 => facts.keep_alive,
        _ => !facts.close,
    };
    let expect_continue = version == Version::HTTP_11 && framing != Framing::Empty && facts.expect_continue;
    let mut req = Request::new(());
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    *req.version_mut() = version;
    *req.headers_mut() = headers;
    let (parts, ()) = req.into_parts();
    Ok(Some(Head { parts, framing, keep_alive, expect_continue }))
}

/// The framing of a request body.
fn framing(version: Version, facts: &head::Facts) -> Result<Framing, HeadError> {
    if facts.transfer_encoding {
        if version == Version::HTTP_10 {
            return Err(HeadError::Malformed("transfer-encoding in an HTTP/1.0 request".into()));
        }
        if facts.content_length.is_some() {
            return Err(HeadError::Malformed("both transfer-encoding and content-length".into()));
        }
        if !facts.chunked_last {
            return Err(HeadError::Malformed("transfer-encoding that does not end in chunked".into()));
        }
        return Ok(Framing::Chunked);
    }
    Ok(match facts.content_length.transpose().map_err(|e| HeadError::Malformed(e.into()))? {
        None | Some(0) => Framing::Empty,
        Some(n) => Framing::Length(n),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(wire: &str) -> Result<Option<Head>, HeadError> {
        parse(&mut BytesMut::from(wire), &mut Vec::new(), &mut head::Names::default())
    }

    #[test]
    fn a_head_parses_into_parts_and_framing() {
        let mut buf = BytesMut::from("POST /a/b?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET");
        let head = parse(&mut buf, &mut Vec::new(), &mut head::Names::default()).unwrap().unwrap();
        assert_eq!(head.parts.method, Method::POST);
        assert_eq!(head.parts.uri.path(), "/a/b");
        assert_eq!(head.parts.uri.query(), Some("x=1"));
        assert_eq!(head.parts.headers["host"], "h");
        assert_eq!(head.framing, Framing::Length(5));
        assert!(head.keep_alive && !head.expect_continue);
        assert_eq!(&buf[..], b"helloGET", "the body and what follows stay in the buffer");
    }

    #[test]
    fn a_partial_head_waits_for_more() {
        assert!(parse_all("GET / HTTP/1.1\r\nHost: h\r\n").unwrap().is_none());
    }

    #[test]
    fn ambiguous_framing_is_refused() {
        for wire in [
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\n",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            assert!(matches!(parse_all(wire), Err(HeadError::Malformed(_))), "{wire:?}");
        }
        let chunked = parse_all("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").unwrap().unwrap();
        assert_eq!(chunked.framing, Framing::Chunked);
    }

    #[test]
    fn keep_alive_follows_the_version_and_connection() {
        let ka = |wire: &str| parse_all(wire).unwrap().unwrap().keep_alive;
        assert!(ka("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
        assert!(!ka("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
        assert!(!ka("GET / HTTP/1.0\r\n\r\n"));
        assert!(ka("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    }

    #[test]
    fn expect_continue_only_with_a_body() {
        let head = |wire: &str| parse_all(wire).unwrap().unwrap();
        assert!(head("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n").expect_continue);
        assert!(!head("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n").expect_continue);
    }

    #[test]
    fn broken_heads_and_too_many_headers_are_refused() {
        assert!(matches!(parse_all("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n"), Err(HeadError::Malformed(_))));
        assert!(matches!(parse_all("GET\r\n\r\n"), Err(HeadError::Malformed(_))));
        let many: String = (0..101).map(|i| format!("X-{i}: v\r\n")).collect();
        assert_eq!(parse_all(&format!("GET / HTTP/1.1\r\n{many}\r\n")).unwrap_err(), HeadError::TooLarge);
    }
}
