//! Header blocks and the header rules both ends apply.

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, TRANSFER_ENCODING};
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

/// Room kept in a parsed request's header map for a header a proxy sets
/// (its `Host`, in place of the caller's). The headers the gateway adds
/// stay out of the map (`keyway_gateway::proxy::Added`), so a map of a
/// few headers stays within one small allocation (a map's entries take
/// ~100 bytes each, and past 1 KiB an allocation leaves mimalloc's fast
/// path).
pub const REQUEST_ROOM: usize = 1;

/// Room kept in a parsed response's header map for the headers a proxy
/// adds to an answer (request id, rate limits; lifecycle headers of a
/// deprecated API), as few as those take, for the reason given at
/// [`REQUEST_ROOM`].
pub const RESPONSE_ROOM: usize = 4;

/// What the framing and connection rules need from a head, noted while
/// its headers are read, so deciding them takes no lookups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// The one length every `Content-Length` agrees on; `Err` when one is
    /// not a number or two disagree; `None` without the header.
    pub content_length: Option<Result<u64, &'static str>>,
    /// Whether `Transfer-Encoding` is present.
    pub transfer_encoding: bool,
    /// Whether the last transfer coding named is `chunked`.
    pub chunked_last: bool,
    /// Whether `Connection` names `close`.
    pub close: bool,
    /// Whether `Connection` names `keep-alive`.
    pub keep_alive: bool,
    /// Whether `Expect` is `100-continue`.
    pub expect_continue: bool,
}

impl Facts {
    fn note(&mut self, name: &HeaderName, value: &[u8]) {
        if *name == CONTENT_LENGTH {
            self.content_length = Some(match self.content_length.take() {
                Some(Err(e)) => Err(e),
                seen => lengths_of(value, seen.and_then(Result::ok)),
            });
        } else if *name == TRANSFER_ENCODING {
            self.transfer_encoding = true;
            if let Some(last) = tokens(value).rfind(|t| !t.is_empty()) {
                self.chunked_last = last.eq_ignore_ascii_case(b"chunked");
            }
        } else if *name == CONNECTION {
            for token in tokens(value) {
                self.close |= token.eq_ignore_ascii_case(b"close");
                self.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if *name == EXPECT {
            self.expect_continue = value.trim_ascii().eq_ignore_ascii_case(b"100-continue");
        }
    }
}

/// The length in one `Content-Length` value (`12` or `12, 12`), agreeing
/// with `seen`.
fn lengths_of(value: &[u8], mut seen: Option<u64>) -> Result<u64, &'static str> {
    for part in value.split(|&b| b == b',') {
        let part = part.trim_ascii();
        if part.is_empty() || part.len() > 19 || !part.iter().all(u8::is_ascii_digit) {
            return Err("content-length is not a number");
        }
        let n = part.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        if seen.is_some_and(|l| l != n) {
            return Err("conflicting content-length values");
        }
        seen = Some(n);
    }
    seen.ok_or("content-length is not a number")
}

/// Most header names [`Names`] keeps, and the longest it keeps: what a
/// connection holds for them stays under 3 KiB, whatever its peer sends.
const KEPT_NAMES: usize = 32;
const KEPT_NAME_LEN: usize = 32;

/// The header names of a connection's last heads, by place: a keep-alive
/// peer sends the same names in the same order head after head, so a name
/// spelled as the one kept at its place is that name again, cloned (a
/// copy; a reference count for a custom name) instead of parsed (~130
/// instructions: a case-folding copy and a match over the standard names;
/// a custom name also allocates).
#[derive(Debug, Default)]
pub struct Names {
    kept: Vec<KeptName>,
}

#[derive(Debug)]
struct KeptName {
    /// The name as sent (its first `len` bytes).
    text: [u8; KEPT_NAME_LEN],
    len: usize,
    name: HeaderName,
}

impl Names {
    /// The name of the header at place `i` of a head, sent as `raw`.
    fn name(&mut self, i: usize, raw: &[u8]) -> Result<HeaderName, http::header::InvalidHeaderName> {
        if let Some(kept) = self.kept.get(i) {
            if kept.text.get(..kept.len) == Some(raw) {
                return Ok(kept.name.clone());
            }
        }
        let name = HeaderName::from_bytes(raw)?;
        if i < KEPT_NAMES && raw.len() <= KEPT_NAME_LEN && i <= self.kept.len() {
            let mut text = [0; KEPT_NAME_LEN];
            text[..raw.len()].copy_from_slice(raw);
            let kept = KeptName { text, len: raw.len(), name: name.clone() };
            match self.kept.get_mut(i) {
                Some(slot) => *slot = kept,
                None => self.kept.push(kept),
            }
        }
        Ok(name)
    }
}

/// The headers at `spans` of `head` (values share `head`'s bytes) and
/// their [`Facts`], in a map with `room` for more; `names` are the
/// connection's names kept from its last heads. `Err` names the header
/// that is not valid.
pub fn header_map(head: &Bytes, spans: &[Span], room: usize, names: &mut Names) -> Result<(HeaderMap, Facts), String> {
    let mut headers = HeaderMap::with_capacity(spans.len() + room);
    let mut facts = Facts::default();
    for (i, &[name_at, name_len, value_at, value_len]) in spans.iter().enumerate() {
        let name = names.name(i, &head[name_at..name_at + name_len]).map_err(|_| "a header name is not valid".to_owned())?;
        let value = HeaderValue::from_maybe_shared(head.slice(value_at..value_at + value_len))
            .map_err(|_| format!("the value of header {name} is not valid"))?;
        facts.note(&name, value.as_bytes());
        headers.append(name, value);
    }
    Ok((headers, facts))
}

/// The one length all `Content-Length` values agree on (`None` when there
/// is none); `Err` when one is not a number or two disagree.
pub fn content_length(headers: &HeaderMap) -> Result<Option<u64>, &'static str> {
    let mut length: Option<u64> = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        length = Some(lengths_of(value.as_bytes(), length)?);
    }
    Ok(length)
}

/// The comma-separated tokens of a header value, trimmed.
fn tokens(value: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(<[u8]>::trim_ascii)
}

/// Whether `Connection` names `token` (`close`, `keep-alive`).
pub fn connection_has(headers: &HeaderMap, token: &str) -> bool {
    headers.get_all(CONNECTION).iter().any(|v| tokens(v.as_bytes()).any(|t| t.eq_ignore_ascii_case(token.as_bytes())))
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
        let te = |v: &str| parsed(format!("POST / HTTP/1.1\r\nTransfer-Encoding: {v}\r\n\r\n").as_bytes()).1.chunked_last;
        assert!(te("chunked"));
        assert!(te("gzip, Chunked"));
        assert!(!te("chunked, gzip"));
        assert!(!te("identity"));
    }

    #[test]
    fn connection_tokens_are_found_case_insensitively() {
        let h = map(&[("connection", "Keep-Alive, Upgrade")]);
        assert!(connection_has(&h, "keep-alive"));
        assert!(!connection_has(&h, "close"));
    }

    /// The header map and facts of a whole head.
    fn parsed(wire: &[u8]) -> (HeaderMap, Facts) {
        let head = Bytes::copy_from_slice(wire);
        let mut slots = [httparse::EMPTY_HEADER; 8];
        let mut req = httparse::Request::new(&mut slots);
        assert!(req.parse(&head).unwrap().is_complete());
        let mut spans = Vec::new();
        spans_of(&head, req.headers, &mut spans);
        header_map(&head, &spans, REQUEST_ROOM, &mut Names::default()).unwrap()
    }

    #[test]
    fn kept_names_are_the_names_parsed() {
        let mut names = Names::default();
        let long = "x-".repeat(20);
        let heads = [
            vec!["Host", "X-Custom", "accept", long.as_str(), "x-after-long"],
            vec!["Host", "X-Custom", "accept", long.as_str(), "x-after-long"],
            vec!["host", "X-Other", "Accept", "x-y", long.as_str()],
            vec!["x-custom"],
            vec!["Host", "X-Custom", "Bad Name"],
        ];
        for head in heads {
            for (i, raw) in head.iter().enumerate() {
                let parsed = HeaderName::from_bytes(raw.as_bytes()).ok();
                assert_eq!(names.name(i, raw.as_bytes()).ok(), parsed, "{raw} at {i}");
            }
        }
        let many: Vec<String> = (0..40).map(|i| format!("x-h{i}")).collect();
        for _ in 0..2 {
            for (i, raw) in many.iter().enumerate() {
                assert_eq!(names.name(i, raw.as_bytes()).unwrap(), HeaderName::from_bytes(raw.as_bytes()).unwrap());
            }
        }
        assert_eq!(names.kept.len(), KEPT_NAMES);
    }

    #[test]
    fn header_values_share_the_head() {
        let (h, facts) = parsed(b"GET / HTTP/1.1\r\nHost: a\r\nX-K: v 1\r\n\r\n");
        assert_eq!(h["host"], "a");
        assert_eq!(h["x-k"], "v 1");
        assert_eq!(facts, Facts::default());
    }

    #[test]
    fn facts_agree_with_the_lookups() {
        let (h, facts) = parsed(
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5, 5\r\nConnection: Keep-Alive, x\r\n\
            Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked, \r\nExpect: 100-Continue\r\n\r\n",
        );
        assert_eq!(facts.content_length, Some(content_length(&h)).map(|r| r.map(|n| n.unwrap_or(0))));
        assert_eq!(facts.content_length, Some(Ok(5)));
        assert!(facts.transfer_encoding && facts.chunked_last, "the last coding of the last header is chunked");
        assert!(facts.keep_alive && !facts.close && facts.expect_continue);
        let (_, facts) = parsed(b"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
        assert_eq!(facts.content_length, Some(Err("conflicting content-length values")));
    }
}
