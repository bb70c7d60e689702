//! Anthropic Messages SSE streams -> [`StreamEvent`]s.

use serde_json::{Map, Value};

use super::error::error_from_value;
use super::response::usage_from_anthropic;
use crate::canonical::{FinishReason, StreamEvent};
use crate::error::FormatError;
use crate::json::{self, ROOT};
use crate::sse::{SseDecoder, SseEvent};

/// Decodes an Anthropic stream.
///
/// `message_start` yields [`StreamEvent::Start`] and records its usage
/// (input and cache counts); `content_block_start` of a `tool_use` block
/// yields [`StreamEvent::ToolCallStart`] (tool indices count tool blocks
/// only: 0, 1, ...); `text_delta` and `input_json_delta` yield text and
/// argument deltas; `message_delta` yields [`StreamEvent::Finish`] and
/// then [`StreamEvent::Usage`], its counts overriding `message_start`'s
/// (`output_tokens` is cumulative); `message_stop` yields
/// [`StreamEvent::Done`]; `error` yields [`StreamEvent::Error`]. `ping`,
/// `content_block_stop`, thinking deltas and unknown events yield nothing.
/// The event name comes from the SSE `event:` line, else from the data's
/// `type`.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    sse: SseDecoder,
    /// Content block index -> tool index, for `tool_use` blocks.
    tool_blocks: Vec<(u64, u32)>,
    /// Raw Anthropic usage fields seen so far.
    usage: Map<String, Value>,
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
    /// line. A stream cut before `message_stop` yields no [`StreamEvent::Done`].
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
        if ev.data.trim().is_empty() {
            return Ok(());
        }
        let v = json::parse(ev.data.as_bytes())?;
        let m = json::object(&v, ROOT)?;
        let name = match ev.event.as_deref() {
            Some(n) => n,
            None => json::req_str(m, "type", ROOT)?,
        };
        match name {
            "message_start" => {
                let msg = json::object(json::req(m, "message", ROOT)?, "message")?;
                out.push(StreamEvent::Start {
                    id: json::opt_string(msg, "id", "message")?.unwrap_or_default(),
                    model: json::opt_string(msg, "model", "message")?.unwrap_or_default(),
                });
                if let Some(u) = json::opt_object(msg, "usage", "message")? {
                    self.merge_usage(u, "message.usage")?;
                }
            }
            "content_block_start" => {
                let index = json::opt_u64(m, "index", ROOT)?.unwrap_or(0);
                let block = json::object(json::req(m, "content_block", ROOT)?, "content_block")?;
                match json::req_str(block, "type", "content_block")? {
                    "text" => {
                        let text = json::opt_str(block, "text", "content_block")?.unwrap_or("");
                        if !text.is_empty() {
                            out.push(StreamEvent::TextDelta { index: 0, text: text.to_owned() });
                        }
                    }
                    "tool_use" => {
                        let tool_index = u32::try_from(self.tool_blocks.len()).unwrap_or(u32::MAX);
                        self.tool_blocks.push((index, tool_index));
                        out.push(StreamEvent::ToolCallStart {
                            index: 0,
                            tool_index,
                            id: json::opt_string(block, "id", "content_block")?.unwrap_or_default(),
                            name: json::opt_string(block, "name", "content_block")?.unwrap_or_default(),
                        });
                        // Input normally streams as deltas; a non-empty start input is sent whole.
                        if let Some(input) = json::get(block, "input").filter(|i| i.as_object().is_some_and(|o| !o.is_empty())) {
                            out.push(StreamEvent::ToolCallArgsDelta { index: 0, tool_index, json: input.to_string() });
                        }
                    }
                    _ => {}
                }
            }
            "content_block_delta" => {
                let index = json::opt_u64(m, "index", ROOT)?.unwrap_or(0);
                let delta = json::object(json::req(m, "delta", ROOT)?, "delta")?;
                match json::req_str(delta, "type", "delta")? {
                    "text_delta" => {
                        let text = json::req_str(delta, "text", "delta")?;
                        out.push(StreamEvent::TextDelta { index: 0, text: text.to_owned() });
                    }
                    "input_json_delta" => {
                        let part = json::req_str(delta, "partial_json", "delta")?;
                        // Blocks not started as `tool_use` (e.g. `server_tool_use`) are not modelled.
                        let tool = self.tool_blocks.iter().find(|(b, _)| *b == index).map(|(_, t)| *t);
                        let Some(tool_index) = tool else { return Ok(()) };
                        if !part.is_empty() {
                            out.push(StreamEvent::ToolCallArgsDelta { index: 0, tool_index, json: part.to_owned() });
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(d) = json::opt_object(m, "delta", ROOT)? {
                    if let Some(r) = json::opt_str(d, "stop_reason", "delta")? {
                        out.push(StreamEvent::Finish { index: 0, reason: FinishReason::from_anthropic(r) });
                    }
                }
                if let Some(u) = json::opt_object(m, "usage", ROOT)? {
                    self.merge_usage(u, "usage")?;
                    out.push(StreamEvent::Usage(usage_from_anthropic(&self.usage, "usage")?));
                }
            }
            "message_stop" => out.push(StreamEvent::Done),
            "error" => out.push(StreamEvent::Error(error_from_value(json::req(m, "error", ROOT)?, "error")?)),
            _ => {}
        }
        Ok(())
    }

    fn merge_usage(&mut self, u: &Map<String, Value>, path: &str) -> Result<(), FormatError> {
        // Validate before keeping.
        usage_from_anthropic(u, path)?;
        for (k, v) in u {
            if !v.is_null() {
                self.usage.insert(k.clone(), v.clone());
            }
        }
        Ok(())
    }
}
