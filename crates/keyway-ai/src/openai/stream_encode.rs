//! [`StreamEvent`]s -> OpenAI `chat.completion.chunk` SSE bytes.

use serde_json::{json, Map, Value};

use super::error::error_to_value;
use super::response::usage_to_openai;
use crate::canonical::{FinishReason, StreamEvent};
use crate::json;
use crate::sse;

/// Encodes canonical events in OpenAI's exact chunk shape.
///
/// Every chunk is `{"id", "object": "chat.completion.chunk", "created",
/// "model", "choices": [{"index", "delta", "logprobs": null,
/// "finish_reason"}]}`; the first delta of each choice carries
/// `"role": "assistant"`. When `include_usage` is set, every chunk carries
/// `"usage": null` and [`StreamEvent::Usage`] becomes a chunk with
/// `"choices": []` and the usage, as OpenAI sends it; otherwise usage is
/// dropped. [`StreamEvent::Done`] becomes `data: [DONE]`.
#[derive(Debug, Clone)]
pub struct StreamEncoder {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    /// Choices whose `role` delta was sent.
    roles_sent: Vec<u32>,
}

impl StreamEncoder {
    /// An encoder stamping `created` (Unix seconds) on every chunk.
    pub fn new(created: u64, include_usage: bool) -> Self {
        Self { id: String::new(), model: String::new(), created, include_usage, roles_sent: Vec::new() }
    }

    /// Encodes one event (possibly to no bytes).
    pub fn encode(&mut self, ev: &StreamEvent) -> Vec<u8> {
        match ev {
            StreamEvent::Start { id, model } => {
                self.id.clone_from(id);
                self.model.clone_from(model);
                self.roles_sent.push(0);
                self.choice_chunk(0, json!({"role": "assistant", "content": ""}), None)
            }
            StreamEvent::TextDelta { index, text } => self.delta_chunk(*index, "content", json!(text)),
            StreamEvent::ToolCallStart { index, tool_index, id, name } => {
                let call = json!([{"index": tool_index, "id": id, "type": "function",
                    "function": {"name": name, "arguments": ""}}]);
                self.delta_chunk(*index, "tool_calls", call)
            }
            StreamEvent::ToolCallArgsDelta { index, tool_index, json } => {
                let call = json!([{"index": tool_index, "function": {"arguments": json}}]);
                self.delta_chunk(*index, "tool_calls", call)
            }
            StreamEvent::Finish { index, reason } => self.choice_chunk(*index, json!({}), Some(reason)),
            StreamEvent::Usage(u) if self.include_usage => {
                let mut chunk = self.chunk(Vec::new());
                chunk.insert("usage".into(), usage_to_openai(u));
                sse::encode(None, &Value::Object(chunk).to_string())
            }
            StreamEvent::Usage(_) => Vec::new(),
            StreamEvent::Error(e) => sse::encode(None, &json!({"error": error_to_value(e)}).to_string()),
            StreamEvent::Done => sse::encode(None, "[DONE]"),
        }
    }

    /// Encodes several events.
    pub fn encode_all<'a>(&mut self, evs: impl IntoIterator<Item = &'a StreamEvent>) -> Vec<u8> {
        evs.into_iter().flat_map(|e| self.encode(e)).collect()
    }

    fn delta_chunk(&mut self, index: u32, key: &str, value: Value) -> Vec<u8> {
        let mut delta = Map::new();
        if !self.roles_sent.contains(&index) {
            self.roles_sent.push(index);
            delta.insert("role".into(), json!("assistant"));
        }
        delta.insert(key.into(), value);
        self.choice_chunk(index, Value::Object(delta), None)
    }

    fn choice_chunk(&self, index: u32, delta: Value, reason: Option<&FinishReason>) -> Vec<u8> {
        let choice = json!({
            "index": index,
            "delta": delta,
            "logprobs": null,
            "finish_reason": reason.map(FinishReason::to_openai),
        });
        let mut chunk = self.chunk(vec![choice]);
        if self.include_usage {
            chunk.insert("usage".into(), Value::Null);
        }
        sse::encode(None, &Value::Object(chunk).to_string())
    }

    fn chunk(&self, choices: Vec<Value>) -> json::Obj {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("object".into(), json!("chat.completion.chunk"));
        m.insert("created".into(), json!(self.created));
        m.insert("model".into(), json!(self.model));
        m.insert("choices".into(), Value::Array(choices));
        m
    }
}
