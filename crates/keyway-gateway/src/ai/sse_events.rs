//! Whole Server-Sent Events out of a byte stream split anywhere, kept as
//! the bytes they arrived as (for a stream passed through unchanged), and
//! the one question a pass-through asks of an event: does it carry usage?

use bytes::BytesMut;
use memchr::memmem::Finder;
use std::sync::LazyLock;

/// Buffers bytes and hands out whole events (each with its terminating
/// blank line: `\n\n` or `\r\n\r\n`).
#[derive(Debug, Default)]
pub struct EventSplitter {
    buf: BytesMut,
    /// Where the search for the next blank line resumes: no event ends
    /// before it (each `\n` is looked at once, however the bytes came).
    scanned: usize,
}

impl EventSplitter {
    /// Adds bytes as they arrived.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next whole event, if one has arrived. Events handed out one
    /// after another are adjacent in memory, so they join again without a
    /// copy ([`BytesMut::unsplit`]).
    pub fn next_event(&mut self) -> Option<BytesMut> {
        let end = self.event_end()?;
        self.scanned = 0;
        Some(self.buf.split_to(end))
    }

    /// The end of the first event, after its blank line: the first `\n`
    /// followed by `\n`, or preceded by `\r` and followed by `\r\n`.
    fn event_end(&mut self) -> Option<usize> {
        let buf = &self.buf[..];
        let mut at = self.scanned;
        while let Some(i) = memchr::memchr(b'\n', buf.get(at..).unwrap_or_default()) {
            let nl = at + i;
            let after_cr = nl > 0 && buf[nl - 1] == b'\r';
            match (buf.get(nl + 1), buf.get(nl + 2)) {
                (Some(b'\n'), _) => return Some(nl + 2),
                (Some(b'\r'), Some(b'\n')) if after_cr => return Some(nl + 3),
                // Too few bytes yet to tell: resume at this `\n`.
                (None, _) | (Some(b'\r'), None) => {
                    self.scanned = nl;
                    return None;
                }
                _ => at = nl + 1,
            }
        }
        self.scanned = buf.len();
        None
    }

    /// What is left when the stream ends (an unterminated last event).
    pub fn rest(&mut self) -> BytesMut {
        self.scanned = 0;
        std::mem::take(&mut self.buf)
    }
}

/// Finds `"usage"`; made once.
static USAGE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"usage\""));

/// Whether `event` has a `"usage"` member whose value is an object (not
/// OpenAI's `"usage": null` on every chunk of a stream asked for usage).
pub fn carries_usage(event: &[u8]) -> bool {
    let mut rest = event;
    while let Some(i) = USAGE.find(rest) {
        let after = &rest[i + 7..];
        let mut value = after.iter().skip_while(|b| b.is_ascii_whitespace());
        if value.next() == Some(&b':') && value.find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            return true;
        }
        rest = after;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_whole_however_the_bytes_were_split() {
        let stream = b"data: {\"a\":1}\n\ndata: {\"b\":2}\r\n\r\nevent: x\ndata: [DONE]\n\npartial";
        for cut in 1..stream.len() {
            let mut s = EventSplitter::default();
            let mut got = Vec::new();
            for piece in [&stream[..cut], &stream[cut..]] {
                s.push(piece);
                while let Some(e) = s.next_event() {
                    got.push(e);
                }
            }
            let got: Vec<&[u8]> = got.iter().map(|b| &b[..]).collect();
            assert_eq!(
                got,
                [&b"data: {\"a\":1}\n\n"[..], b"data: {\"b\":2}\r\n\r\n", b"event: x\ndata: [DONE]\n\n"],
                "cut at {cut}"
            );
            assert_eq!(&s.rest()[..], b"partial");
        }
    }

    #[test]
    fn byte_by_byte_the_same_events_and_adjacent_ones_join_without_a_copy() {
        let stream = b"data: 1\r\n\r\ndata: 2\n\n\ndata: 3\r\n\r\r\n\r\n";
        let mut s = EventSplitter::default();
        let mut got = Vec::new();
        for b in stream {
            s.push(std::slice::from_ref(b));
            while let Some(e) = s.next_event() {
                got.push(e);
            }
        }
        let texts: Vec<&[u8]> = got.iter().map(|b| &b[..]).collect();
        assert_eq!(texts, [&b"data: 1\r\n\r\n"[..], b"data: 2\n\n", b"\ndata: 3\r\n\r\r\n\r\n"]);
        let mut s = EventSplitter::default();
        s.push(b"data: a\n\ndata: b\n\ndata: c");
        let mut first = s.next_event().unwrap();
        let second = s.next_event().unwrap();
        let at = second.as_ptr();
        first.unsplit(second);
        assert_eq!((&first[..], first[9..].as_ptr()), (&b"data: a\n\ndata: b\n\n"[..], at));
        assert_eq!(&s.rest()[..], b"data: c");
    }

    #[test]
    fn usage_is_an_object_not_a_null() {
        assert!(carries_usage(br#"data: {"choices":[],"usage":{"prompt_tokens":1}}"#));
        assert!(carries_usage(br#"data: {"usage" :  {"x":1}}"#));
        assert!(!carries_usage(br#"data: {"choices":[{"delta":{"content":"usage"}}],"usage":null}"#));
        assert!(!carries_usage(br#"data: {"text":"\"usage\" is a word"}"#));
        assert!(carries_usage(b"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":6}}"));
    }
}
