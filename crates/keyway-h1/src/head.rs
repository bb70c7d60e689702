//! Header blocks and the header rules both ends apply.

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH};
use http::{HeaderMap, HeaderName, HeaderValue};

/// Most headers in one head (hyper's default too).
pub const MAX_HEADERS: usize = 100;

/// Where one header's name and value sit in a head: offsets from its
/// start and lengths, `[name_at, name_len, value_at, value_len]`.
pub type Span = [usize; 4];

/// The spans of `headers`, parsed out of `buf` (which starts the head).
pub fn spans_of(buf: &[u8], headers: &[httparse::Header<'_>], out: &mut Vec<Span>) {
    let base = buf.as_ptr() as usize;
    out.clear();
    out.extend(
        headers.iter().map(|h| [h.name.as_ptr() as usize - base, h.name.len(), h.value.as_ptr() as usize - base, h.value.len()]),
    );
}

/// Room kept in a parsed header map for the headers a proxy adds
/// (forwarding, request id, rate-limit headers), so adding them does not
/// grow and rehash the map.
const ROOM_TO_ADD: usize = 8;

/// The headers at `spans` of `head`; values share `head`'s bytes. `Err`
/// names the header that is not valid.
pub fn header_map(head: &Bytes, spans: &[Span]) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::with_capacity(spans.len() + ROOM_TO_ADD);
    for &[name_at, name_len, value_at, value_len] in spans {
        let name =
            HeaderName::from_bytes(&head[name_at..name_at + name_len]).map_err(|_| "a header name is not valid".to_owned())?;
        let value = HeaderValue::from_maybe_shared(head.slice(value_at..value_at + value_len))
            .map_err(|_| format!("the value of header {name} is not valid"))?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// The one length all `Content-Length` values agree on (`None` when there
/// is none); `Err` when one is not a number or two disagree.
pub fn content_length(headers: &HeaderMap) -> Result<Option<u64>, &'static str> {
    let mut length: Option<u64> = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        for part in value.as_bytes().split(|&b| b == b',') {
            let part = part.trim_ascii();
            if part.is_empty() || part.len() > 19 || !part.iter().all(u8::is_ascii_digit) {
                return Err("content-length is not a number");
            }
            let n = part.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            if length.is_some_and(|l| l != n) {
                return Err("conflicting content-length values");
            }
            length = Some(n);
        }
    }
    Ok(length)
}

/// Whether the last transfer coding named in `codings` is `chunked`.
pub fn chunked_last<'a>(codings: impl Iterator<Item = &'a HeaderValue>) -> bool {
    codings
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
        .last()
        .is_some_and(|t| t.eq_ignore_ascii_case(b"chunked"))
}

/// Whether `Connection` names `token` (`close`, `keep-alive`).
pub fn connection_has(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get_all(CONNECTION)
        .iter()
        .any(|v| v.as_bytes().split(|&b| b == b',').any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(*n, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn content_length_agrees_or_is_refused() {
        assert_eq!(content_length(&map(&[])), Ok(None));
        assert_eq!(content_length(&map(&[("content-length", "12")])), Ok(Some(12)));
        assert_eq!(content_length(&map(&[("content-length", "12, 12"), ("content-length", "12")])), Ok(Some(12)));
        for bad in ["", "-1", "1 2", "0x10", "12, 13", "99999999999999999999"] {
            assert!(content_length(&map(&[("content-length", bad)])).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn chunked_counts_only_when_last() {
        let te = |v: &'static str| map(&[("transfer-encoding", v)]);
        assert!(chunked_last(te("chunked").get_all("transfer-encoding").iter()));
        assert!(chunked_last(te("gzip, Chunked").get_all("transfer-encoding").iter()));
        assert!(!chunked_last(te("chunked, gzip").get_all("transfer-encoding").iter()));
        assert!(!chunked_last(te("identity").get_all("transfer-encoding").iter()));
    }

    #[test]
    fn connection_tokens_are_found_case_insensitively() {
        let h = map(&[("connection", "Keep-Alive, Upgrade")]);
        assert!(connection_has(&h, "keep-alive"));
        assert!(!connection_has(&h, "close"));
    }

    #[test]
    fn header_values_share_the_head() {
        let head = Bytes::from_static(b"GET / HTTP/1.1\r\nHost: a\r\nX-K: v 1\r\n\r\n");
        let mut slots = [httparse::EMPTY_HEADER; 4];
        let mut req = httparse::Request::new(&mut slots);
        assert!(req.parse(&head).unwrap().is_complete());
        let mut spans = Vec::new();
        spans_of(&head, req.headers, &mut spans);
        let h = header_map(&head, &spans).unwrap();
        assert_eq!(h["host"], "a");
        assert_eq!(h["x-k"], "v 1");
    }
}
