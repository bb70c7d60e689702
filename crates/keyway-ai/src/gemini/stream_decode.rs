//! Gemini `streamGenerateContent?alt=sse` streams -> [`StreamEvent`]s.

use super::error::error_from_value;
use super::response::{blocked, call_id, finish_reason_from_gemini, parse_part, signed_id, usage_from_gemini, Part};
use crate::canonical::{FinishReason, StreamEvent, Usage};
use crate::error::FormatError;
use crate::json::{self, index_path, key_path, ROOT};
use crate::sse::{SseDecoder, SseEvent};

/// Decodes a Gemini `alt=sse` stream.
///
/// Every `data:` is a whole `GenerateContentResponse` chunk. The first
/// chunk yields [`StreamEvent::Start`] (`responseId`, `modelVersion`);
/// each text part yields [`StreamEvent::TextDelta`]; each `functionCall`
/// part (Gemini sends calls whole, never split) yields
/// [`StreamEvent::ToolCallStart`] (tool indices count calls per candidate:
/// 0, 1, ...; ids as in [`parse_response`](super::parse_response)) then
/// one [`StreamEvent::ToolCallArgsDelta`] with all of `args`; a
/// `finishReason` yields [`StreamEvent::Finish`] (`STOP` after calls is
/// [`FinishReason::ToolCalls`]); a blocked prompt finishes choice 0 with
/// [`FinishReason::ContentFilter`]; `data: {"error": ...}` yields
/// [`StreamEvent::Error`]. Thought parts and other unmodelled parts yield
/// nothing.
///
/// Gemini repeats `usageMetadata` on every chunk, the last being final,
/// and sends no end marker: the stream is over when the HTTP body ends.
/// So [`finish`](Self::finish) must be called then: it yields
/// [`StreamEvent::Usage`] from the last `usageMetadata` seen, then
/// [`StreamEvent::Done`] — the latter only if some choice finished, so a
/// stream cut short still reads as unfinished (as with the other decoders).
#[derive(Debug, Default)]
pub struct StreamDecoder {
    sse: SseDecoder,
    started: bool,
    response_id: String,
    /// Calls seen so far across candidates (for generated ids).
    calls: usize,
    /// (candidate index, calls started in it).
    tools: Vec<(u32, u32)>,
    usage: Option<Usage>,
    finished: bool,
    ended: bool,
}

impl StreamDecoder {
    /// A decoder with the default SSE event bound.
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder over a custom SSE decoder (e.g. another size bound).
    pub fn with_sse(sse: SseDecoder) -> Self {
        Self { sse, ..Self::default() }
    }

    /// Feeds raw stream bytes, split anywhere.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<StreamEvent>, FormatError> {
        let mut out = Vec::new();
        for ev in self.sse.feed(bytes)? {
            self.decode_event_into(&ev, &mut out)?;
        }
        Ok(out)
    }

    /// Ends the stream (call it when the HTTP body ends): decodes a
    /// trailing event that lacked its blank line, then yields the final
    /// [`StreamEvent::Usage`] and [`StreamEvent::Done`] (see the type
    /// docs). Calling it again yields nothing.
    pub fn finish(&mut self) -> Result<Vec<StreamEvent>, FormatError> {
        let mut out = Vec::new();
        if self.ended {
            return Ok(out);
        }
        if let Some(ev) = self.sse.finish() {
            self.decode_event_into(&ev, &mut out)?;
        }
        self.ended = true;
        if let Some(u) = self.usage.take() {
            out.push(StreamEvent::Usage(u));
        }
        if self.finished {
            out.push(StreamEvent::Done);
        }
        Ok(out)
    }

    /// Decodes one SSE event already split out by the caller.
    pub fn decode_event(&mut self, ev: &SseEvent) -> Result<Vec<StreamEvent>, FormatError> {
        let mut out = Vec::new();
        self.decode_event_into(ev, &mut out)?;
        Ok(out)
    }

    fn decode_event_into(&mut self, ev: &SseEvent, out: &mut Vec<StreamEvent>) -> Result<(), FormatError> {
        let data = ev.data.trim();
        if data.is_empty() {
            return Ok(());
        }
        let v = json::parse(data.as_bytes())?;
        let m = json::object(&v, ROOT)?;
        if let Some(e) = json::get(m, "error") {
            out.push(StreamEvent::Error(error_from_value(e, "error")?));
            return Ok(());
        }
        if !self.started {
            self.started = true;
            self.response_id = json::opt_string(m, "responseId", ROOT)?.unwrap_or_default();
            out.push(StreamEvent::Start {
                id: self.response_id.clone(),
                model: json::opt_string(m, "modelVersion", ROOT)?.unwrap_or_default(),
            });
        }
        let candidates = json::opt_array(m, "candidates", ROOT)?;
        for (i, c) in candidates.into_iter().flatten().enumerate() {
            self.decode_candidate(c, i, &index_path("candidates", i), out)?;
        }
        if candidates.is_none_or(Vec::is_empty) && blocked(m)? {
            self.finished = true;
            out.push(StreamEvent::Finish { index: 0, reason: FinishReason::ContentFilter });
        }
        if let Some(u) = json::opt_object(m, "usageMetadata", ROOT)? {
            self.usage = Some(usage_from_gemini(u, "usageMetadata")?);
        }
        Ok(())
    }

    fn decode_candidate(
        &mut self,
        v: &serde_json::Value,
        pos: usize,
        path: &str,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), FormatError> {
        let c = json::object(v, path)?;
        let index = json::opt_u32(c, "index", path)?.unwrap_or(u32::try_from(pos).unwrap_or(u32::MAX));
        if let Some(content) = json::opt_object(c, "content", path)? {
            let c_path = key_path(path, "content");
            let parts_path = key_path(&c_path, "parts");
            for (i, p) in json::opt_array(content, "parts", &c_path)?.into_iter().flatten().enumerate() {
                match parse_part(p, &index_path(&parts_path, i))? {
                    Part::Content(part) => {
                        if let Some(text) = part.as_text().filter(|t| !t.is_empty()) {
                            out.push(StreamEvent::TextDelta { index, text: text.to_owned() });
                        }
                    }
                    Part::Call(id, name, args, signature) => {
                        let id = signed_id(id.unwrap_or_else(|| call_id(&self.response_id, self.calls)), signature.as_deref());
                        self.calls += 1;
                        let tool_index = self.next_tool_index(index);
                        out.push(StreamEvent::ToolCallStart { index, tool_index, id, name });
                        out.push(StreamEvent::ToolCallArgsDelta { index, tool_index, json: args });
                    }
                }
            }
        }
        if let Some(r) = json::opt_str(c, "finishReason", path)? {
            let called = self.tools.iter().any(|(i, n)| *i == index && *n > 0);
            self.finished = true;
            out.push(StreamEvent::Finish { index, reason: finish_reason_from_gemini(r, called) });
        }
        Ok(())
    }

    fn next_tool_index(&mut self, index: u32) -> u32 {
        if let Some((_, n)) = self.tools.iter_mut().find(|(i, _)| *i == index) {
            let t = *n;
            *n = n.saturating_add(1);
            return t;
        }
        self.tools.push((index, 1));
        0
    }
}
