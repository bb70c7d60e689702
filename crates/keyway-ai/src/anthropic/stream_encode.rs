//! [`StreamEvent`]s -> Anthropic Messages SSE bytes.

use serde_json::{json, Value};

use super::error::error_to_value;
use super::response::usage_to_anthropic;
use crate::canonical::{FinishReason, StreamEvent, Usage};
use crate::sse;

/// Encodes canonical events as Anthropic's named SSE events.
///
/// [`StreamEvent::Start`] becomes `message_start` (usage zero: canonical
/// streams from OpenAI learn usage only at the end). Text and tool calls
/// open `content_block_start` blocks (`text`, or `tool_use` with
/// `input: {}`) closed by `content_block_stop` when another block begins
/// or the choice finishes; deltas are `text_delta` / `input_json_delta`.
/// [`StreamEvent::Finish`] and [`StreamEvent::Usage`] are held and sent
/// together as one `message_delta` (stop reason and full usage, input
/// included) when [`StreamEvent::Done`] arrives, followed by
/// `message_stop`. Only choice 0 is encoded (Anthropic has one). No `ping`
/// is sent.
#[derive(Debug, Clone, Default)]
pub struct StreamEncoder {
    /// The open block: (block index, tool index if `tool_use`).
    open: Option<(u32, Option<u32>)>,
    next_block: u32,
    /// Tool index -> block index.
    tool_blocks: Vec<(u32, u32)>,
    reason: Option<FinishReason>,
    usage: Option<Usage>,
    done: bool,
}

impl StreamEncoder {
    /// A fresh encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Encodes one event (possibly to no bytes).
    pub fn encode(&mut self, ev: &StreamEvent) -> Vec<u8> {
        let mut out = Vec::new();
        match ev {
            StreamEvent::Start { id, model } => {
                let msg = json!({
                    "type": "message_start",
                    "message": {
                        "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
                        "stop_reason": null, "stop_sequence": null,
                        "usage": {"input_tokens": 0, "output_tokens": 0},
                    }
                });
                emit(&mut out, "message_start", &msg);
            }
            StreamEvent::TextDelta { index: 0, text } => {
                if !matches!(self.open, Some((_, None))) {
                    self.close(&mut out);
                    let b = self.start_block();
                    self.open = Some((b, None));
                    let start = json!({"type": "content_block_start", "index": b, "content_block": {"type": "text", "text": ""}});
                    emit(&mut out, "content_block_start", &start);
                }
                if let Some((b, _)) = self.open {
                    let d = json!({"type": "content_block_delta", "index": b, "delta": {"type": "text_delta", "text": text}});
                    emit(&mut out, "content_block_delta", &d);
                }
            }
            StreamEvent::ToolCallStart { index: 0, tool_index, id, name } => {
                self.close(&mut out);
                let b = self.start_block();
                self.open = Some((b, Some(*tool_index)));
                self.tool_blocks.push((*tool_index, b));
                let start = json!({"type": "content_block_start", "index": b,
                    "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}});
                emit(&mut out, "content_block_start", &start);
            }
            StreamEvent::ToolCallArgsDelta { index: 0, tool_index, json } => {
                if let Some((_, b)) = self.tool_blocks.iter().find(|(t, _)| t == tool_index) {
                    let d = json!({"type": "content_block_delta", "index": b,
                        "delta": {"type": "input_json_delta", "partial_json": json}});
                    emit(&mut out, "content_block_delta", &d);
                }
            }
            StreamEvent::Finish { index: 0, reason } => {
                self.close(&mut out);
                self.reason = Some(reason.clone());
            }
            StreamEvent::Usage(u) => self.usage = Some(*u),
            StreamEvent::Error(e) => emit(&mut out, "error", &error_to_value(e)),
            StreamEvent::Done if !self.done => {
                self.done = true;
                self.close(&mut out);
                let d = json!({
                    "type": "message_delta",
                    "delta": {"stop_reason": self.reason.as_ref().map(|r| r.to_anthropic(false)), "stop_sequence": null},
                    "usage": usage_to_anthropic(&self.usage.unwrap_or_default()),
                });
                emit(&mut out, "message_delta", &d);
                emit(&mut out, "message_stop", &json!({"type": "message_stop"}));
            }
            // Other choices, or a repeated Done.
            _ => {}
        }
        out
    }

    /// Encodes several events.
    pub fn encode_all<'a>(&mut self, evs: impl IntoIterator<Item = &'a StreamEvent>) -> Vec<u8> {
        evs.into_iter().flat_map(|e| self.encode(e)).collect()
    }

    fn start_block(&mut self) -> u32 {
        let b = self.next_block;
        self.next_block = self.next_block.saturating_add(1);
        b
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        if let Some((b, _)) = self.open.take() {
            emit(out, "content_block_stop", &json!({"type": "content_block_stop", "index": b}));
        }
    }
}

fn emit(out: &mut Vec<u8>, name: &str, data: &Value) {
    sse::encode_into(out, Some(name), &data.to_string());
}
