//! OpenAI `chat.completion.chunk` SSE streams -> [`StreamEvent`]s.

use serde_json::Value;

use super::error::error_from_value;
use super::response::usage_from_openai;
use crate::canonical::{FinishReason, StreamEvent};
use crate::error::FormatError;
use crate::json::{self, index_path, key_path, ROOT};
use crate::sse::{SseDecoder, SseEvent};

/// The usage of one whole SSE event (as it arrived, blank line included)
/// that is OpenAI's usage-only chunk: a single `data:` line whose chunk
/// has an empty `choices` and no `error`, read without building the rest.
/// What [`StreamDecoder`] would make of it is [`StreamEvent::Usage`] (and
/// perhaps a [`StreamEvent::Start`]); `None` for any other event (no
/// usage, choices, an error, a usage member it does not take, several
/// lines...), to be decoded in full (the decoder names what is wrong).
pub(crate) fn usage_only_event(event: &[u8]) -> Option<crate::canonical::Usage> {
    #[derive(serde::Deserialize)]
    struct Chunk {
        #[serde(default)]
        choices: Option<Vec<serde::de::IgnoredAny>>,
        #[serde(default)]
        error: Option<serde::de::IgnoredAny>,
        #[serde(default)]
        usage: Option<super::UsageWire>,
    }
    let line = event.strip_suffix(b"\r\n\r\n").or_else(|| event.strip_suffix(b"\n\n"))?;
    let data = line.strip_prefix(b"data:")?;
    let data = data.strip_prefix(b" ").unwrap_or(data);
    if data.contains(&b'\n') || data.contains(&b'\r') {
        return None;
    }
    let chunk: Chunk = serde_json::from_slice(data).ok()?;
    match (chunk.choices, chunk.error, chunk.usage) {
        (Some(choices), None, Some(usage)) if choices.is_empty() => Some(usage.into()),
        _ => None,
    }
}

/// Decodes an OpenAI stream, chunk by chunk.
///
/// The first chunk with an `id` or a choice yields [`StreamEvent::Start`]; `delta.content` yields
/// text; a `delta.tool_calls[]` entry seen for the first time (per choice
/// and `index`) yields [`StreamEvent::ToolCallStart`], and its
/// `function.arguments` fragments yield [`StreamEvent::ToolCallArgsDelta`];
/// `finish_reason` yields [`StreamEvent::Finish`]. A non-null `usage`
/// yields [`StreamEvent::Usage`] whether the chunk's `choices` is empty
/// (`stream_options.include_usage`) or not (some compatible servers put it
/// on the last content chunk). `data: [DONE]` yields [`StreamEvent::Done`];
/// `data: {"error": ...}` yields [`StreamEvent::Error`].
#[derive(Debug, Default)]
pub struct StreamDecoder {
    sse: SseDecoder,
    started: bool,
    /// (choice index, tool index) pairs already started.
    tools: Vec<(u32, u32)>,
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

    /// Ends the stream, decoding a trailing event that lacked its blank
    /// line. A stream cut before `[DONE]` yields no [`StreamEvent::Done`].
    pub fn finish(&mut self) -> Result<Vec<StreamEvent>, FormatError> {
        let mut out = Vec::new();
        if let Some(ev) = self.sse.finish() {
            self.decode_event_into(&ev, &mut out)?;
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
        if data == "[DONE]" {
            out.push(StreamEvent::Done);
            return Ok(());
        }
        if data.is_empty() {
            return Ok(());
        }
        let v = json::parse(data.as_bytes())?;
        let m = json::object(&v, ROOT)?;
        if let Some(e) = json::get(m, "error") {
            out.push(StreamEvent::Error(error_from_value(e, "error")?));
            return Ok(());
        }
        // Azure sends a first chunk with `id: ""` and no choices (only
        // `prompt_filter_results`): wait for a chunk that names the answer.
        let has_id = json::opt_str(m, "id", ROOT)?.is_some_and(|id| !id.is_empty());
        let has_choices = json::opt_array(m, "choices", ROOT)?.is_some_and(|c| !c.is_empty());
        if !self.started && (has_id || has_choices) {
            self.started = true;
            out.push(StreamEvent::Start {
                id: json::opt_string(m, "id", ROOT)?.unwrap_or_default(),
                model: json::opt_string(m, "model", ROOT)?.unwrap_or_default(),
            });
        }
        if let Some(choices) = json::opt_array(m, "choices", ROOT)? {
            for (i, c) in choices.iter().enumerate() {
                self.decode_choice(c, i, &index_path("choices", i), out)?;
            }
        }
        if let Some(u) = json::opt_object(m, "usage", ROOT)? {
            out.push(StreamEvent::Usage(usage_from_openai(u, "usage")?));
        }
        Ok(())
    }

    fn decode_choice(&mut self, v: &Value, pos: usize, path: &str, out: &mut Vec<StreamEvent>) -> Result<(), FormatError> {
        let c = json::object(v, path)?;
        let index = json::opt_u32(c, "index", path)?.unwrap_or(u32::try_from(pos).unwrap_or(u32::MAX));
        if let Some(delta) = json::opt_object(c, "delta", path)? {
            let d_path = key_path(path, "delta");
            if let Some(text) = json::opt_str(delta, "content", &d_path)? {
                if !text.is_empty() {
                    out.push(StreamEvent::TextDelta { index, text: text.to_owned() });
                }
            }
            if let Some(calls) = json::opt_array(delta, "tool_calls", &d_path)? {
                let calls_path = key_path(&d_path, "tool_calls");
                for (i, call) in calls.iter().enumerate() {
                    self.decode_tool_call(index, call, i, &index_path(&calls_path, i), out)?;
                }
            }
        }
        if let Some(reason) = json::opt_str(c, "finish_reason", path)? {
            out.push(StreamEvent::Finish { index, reason: FinishReason::from_openai(reason) });
        }
        Ok(())
    }

    fn decode_tool_call(
        &mut self,
        index: u32,
        v: &Value,
        pos: usize,
        path: &str,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), FormatError> {
        let t = json::object(v, path)?;
        let tool_index = json::opt_u32(t, "index", path)?.unwrap_or(u32::try_from(pos).unwrap_or(u32::MAX));
        let f_path = key_path(path, "function");
        let f = json::opt_object(t, "function", path)?;
        let name = f.map(|f| json::opt_str(f, "name", &f_path)).transpose()?.flatten();
        let args = f.map(|f| json::opt_str(f, "arguments", &f_path)).transpose()?.flatten();
        if !self.tools.contains(&(index, tool_index)) {
            self.tools.push((index, tool_index));
            out.push(StreamEvent::ToolCallStart {
                index,
                tool_index,
                id: json::opt_string(t, "id", path)?.unwrap_or_default(),
                name: name.unwrap_or_default().to_owned(),
            });
        }
        if let Some(json) = args.filter(|a| !a.is_empty()) {
            out.push(StreamEvent::ToolCallArgsDelta { index, tool_index, json: json.to_owned() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usage_only_chunk_reads_as_the_decoder_reads_it() {
        let usage = br#"data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":19,"completion_tokens":12,"total_tokens":31,"prompt_tokens_details":{"cached_tokens":3}}}"#;
        for end in [&b"\n\n"[..], b"\r\n\r\n"] {
            let event = [&usage[..], end].concat();
            let decoded = StreamDecoder::new().feed(&event).unwrap();
            let from_decoder = decoded.iter().find_map(|e| match e {
                StreamEvent::Usage(u) => Some(*u),
                _ => None,
            });
            assert_eq!(usage_only_event(&event), from_decoder);
        }
        for other in [
            &b"data: {\"choices\":[{\"index\":0,\"delta\":{}}],\"usage\":{\"prompt_tokens\":1}}\n\n"[..],
            b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1},\"error\":{\"message\":\"x\"}}\n\n",
            b"data: {\"usage\":{\"prompt_tokens\":1}}\n\n",
            b"event: x\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\n\n",
            b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}}",
            b"data: [DONE]\n\n",
        ] {
            assert!(usage_only_event(other).is_none(), "{}", String::from_utf8_lossy(other));
        }
        // A usage the fast read does not take is left to the decoder,
        // whose error names the member.
        let wrong = b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":-1}}\n\n";
        assert!(usage_only_event(wrong).is_none());
        assert!(StreamDecoder::new().feed(wrong).unwrap_err().to_string().contains("prompt_tokens"));
    }
}
