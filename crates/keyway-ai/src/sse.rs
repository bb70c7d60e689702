//! Server-Sent Events: an incremental [`SseDecoder`] and [`encode`].
//!
//! The decoder follows the WHATWG event-stream rules that matter for LLM
//! APIs: lines end in `\n`, `\r\n` or `\r`; a line starting with `:` is a
//! comment; `field: value` loses one space after the colon; several `data`
//! lines join with `\n`; a blank line dispatches the event; an event with
//! no `data` line is not dispatched. Bytes may be split anywhere, even
//! inside a UTF-8 character: lines are only decoded once complete (invalid
//! UTF-8 becomes U+FFFD, as the standard says). `id` and `retry` are read
//! and ignored. The decoder holds at most `max_event_size` bytes of one
//! event; beyond that it fails with [`FormatError::EventTooLarge`].

use crate::error::FormatError;

/// Default bound on one event's size: 1 MiB.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 1 << 20;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field, if any (Anthropic names every event; OpenAI none).
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Incremental decoder: feed it byte chunks, get whole events.
#[derive(Debug, Clone)]
pub struct SseDecoder {
    /// Bytes of the current, incomplete line.
    line: Vec<u8>,
    /// The previous chunk ended in `\r`: a leading `\n` belongs to it.
    after_cr: bool,
    /// Nothing decoded yet: a leading BOM is skipped.
    at_start: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    max_event_size: usize,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    /// A decoder bounded at [`DEFAULT_MAX_EVENT_SIZE`].
    pub fn new() -> Self {
        Self::with_max_event_size(DEFAULT_MAX_EVENT_SIZE)
    }

    /// A decoder holding at most `max` bytes of one event.
    pub fn with_max_event_size(max: usize) -> Self {
        Self {
            line: Vec::new(),
            after_cr: false,
            at_start: true,
            event: None,
            data: String::new(),
            has_data: false,
            max_event_size: max,
        }
    }

    /// Feeds bytes; returns the events they complete.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<Vec<SseEvent>, FormatError> {
        let mut out = Vec::new();
        if self.after_cr && !chunk.is_empty() {
            self.after_cr = false;
            if chunk[0] == b'\n' {
                chunk = &chunk[1..];
            }
        }
        while let Some(pos) = chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.line.extend_from_slice(&chunk[..pos]);
            self.check_size()?;
            let line = std::mem::take(&mut self.line);
            if let Some(ev) = self.process_line(&line) {
                out.push(ev);
            }
            let was_cr = chunk[pos] == b'\r';
            chunk = &chunk[pos + 1..];
            if was_cr {
                match chunk.first() {
                    Some(b'\n') => chunk = &chunk[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.line.extend_from_slice(chunk);
        self.check_size()?;
        Ok(out)
    }

    /// Ends the stream. A trailing event without its blank line is
    /// dispatched (lenient: some servers close right after the last `data:`
    /// line).
    pub fn finish(&mut self) -> Option<SseEvent> {
        let line = std::mem::take(&mut self.line);
        let mut ev = if line.is_empty() { None } else { self.process_line(&line) };
        if ev.is_none() {
            ev = self.dispatch();
        }
        ev
    }

    fn check_size(&self) -> Result<(), FormatError> {
        if self.line.len().saturating_add(self.data.len()) > self.max_event_size {
            return Err(FormatError::EventTooLarge { max: self.max_event_size });
        }
        Ok(())
    }

    fn process_line(&mut self, raw: &[u8]) -> Option<SseEvent> {
        let mut raw = raw;
        if self.at_start {
            self.at_start = false;
            raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
        }
        if raw.is_empty() {
            return self.dispatch();
        }
        if raw[0] == b':' {
            return None;
        }
        let line = String::from_utf8_lossy(raw);
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if !self.has_data {
            return None;
        }
        self.has_data = false;
        Some(SseEvent { event, data: std::mem::take(&mut self.data) })
    }
}

/// Encodes one event: an optional `event:` line, one `data:` line per line
/// of `data`, and the blank line that dispatches it.
pub fn encode(event: Option<&str>, data: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 32);
    encode_into(&mut out, event, data);
    out
}

/// [`encode`], appending to `out`.
pub fn encode_into(out: &mut Vec<u8>, event: Option<&str>, data: &str) {
    if let Some(name) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
    }
    for line in data.split('\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.strip_suffix('\r').unwrap_or(line).as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(bytes: &[u8]) -> Vec<SseEvent> {
        let mut d = SseDecoder::new();
        let mut v = d.feed(bytes).unwrap();
        v.extend(d.finish());
        v
    }

    #[test]
    fn crlf_comments_multiline() {
        let evs = all(b": keep-alive\r\nevent: a\r\ndata: x\r\ndata:y\r\n\r\ndata: z\n\n");
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0], SseEvent { event: Some("a".into()), data: "x\ny".into() });
        assert_eq!(evs[1], SseEvent { event: None, data: "z".into() });
    }

    #[test]
    fn cr_split_from_lf_across_chunks() {
        let mut d = SseDecoder::new();
        assert!(d.feed(b"data: a\r").unwrap().is_empty());
        // The `\n` completes `\r\n`; it must not count as a blank line.
        assert!(d.feed(b"\n").unwrap().is_empty());
        let evs = d.feed(b"data: b\r\n\r\n").unwrap();
        assert_eq!(evs, vec![SseEvent { event: None, data: "a\nb".into() }]);
    }

    #[test]
    fn lone_cr_line_endings() {
        assert_eq!(all(b"data: a\r\rdata: b\r\r").len(), 2);
    }

    #[test]
    fn event_without_data_is_not_dispatched() {
        let evs = all(b"event: ping\n\ndata: 1\n\n");
        assert_eq!(evs, vec![SseEvent { event: None, data: "1".into() }]);
    }

    #[test]
    fn bounded() {
        let mut d = SseDecoder::with_max_event_size(16);
        assert!(matches!(d.feed(&[b'x'; 17]), Err(FormatError::EventTooLarge { max: 16 })));
        let mut d = SseDecoder::with_max_event_size(16);
        d.feed(b"data: 0123456789\n").unwrap();
        assert!(d.feed(b"data: 0123456789\n").is_err());
    }

    #[test]
    fn encode_round_trip() {
        let bytes = encode(Some("message_start"), "{\"a\":1}\nsecond");
        assert_eq!(bytes, b"event: message_start\ndata: {\"a\":1}\ndata: second\n\n");
        assert_eq!(all(&bytes), vec![SseEvent { event: Some("message_start".into()), data: "{\"a\":1}\nsecond".into() }]);
    }

    #[test]
    fn utf8_split_inside_char_one_byte_at_a_time() {
        let text = "data: h\u{e9}llo \u{1F600}\n\n".as_bytes();
        let mut d = SseDecoder::new();
        let mut evs = Vec::new();
        for b in text {
            evs.extend(d.feed(std::slice::from_ref(b)).unwrap());
        }
        assert_eq!(evs, vec![SseEvent { event: None, data: "h\u{e9}llo \u{1F600}".into() }]);
    }
}
