//! Whole Server-Sent Events out of a byte stream split anywhere, kept as
//! the bytes they arrived as (for a stream passed through unchanged), and
//! the one question a pass-through asks of an event: does it carry usage?

use bytes::{Bytes, BytesMut};

/// Buffers bytes and hands out whole events (each with its terminating
/// blank line: `\n\n` or `\r\n\r\n`).
#[derive(Debug, Default)]
pub struct EventSplitter {
    buf: BytesMut,
}

impl EventSplitter {
    /// Adds bytes as they arrived.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next whole event, if one has arrived.
    pub fn next_event(&mut self) -> Option<Bytes> {
        let lf = memchr::memmem::find(&self.buf, b"\n\n").map(|i| i + 2);
        let crlf = memchr::memmem::find(&self.buf, b"\r\n\r\n").map(|i| i + 4);
        let end = match (lf, crlf) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(self.buf.split_to(end).freeze())
    }

    /// What is left when the stream ends (an unterminated last event).
    pub fn rest(&mut self) -> Bytes {
        std::mem::take(&mut self.buf).freeze()
    }
}

/// Whether `event` has a `"usage"` member whose value is an object (not
/// OpenAI's `"usage": null` on every chunk of a stream asked for usage).
pub fn carries_usage(event: &[u8]) -> bool {
    let mut rest = event;
    while let Some(i) = memchr::memmem::find(rest, b"\"usage\"") {
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
    fn usage_is_an_object_not_a_null() {
        assert!(carries_usage(br#"data: {"choices":[],"usage":{"prompt_tokens":1}}"#));
        assert!(carries_usage(br#"data: {"usage" :  {"x":1}}"#));
        assert!(!carries_usage(br#"data: {"choices":[{"delta":{"content":"usage"}}],"usage":null}"#));
        assert!(!carries_usage(br#"data: {"text":"\"usage\" is a word"}"#));
        assert!(carries_usage(b"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":6}}"));
    }
}
