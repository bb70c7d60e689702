//! JSON mode for providers without one (Anthropic): the caller's
//! `response_format` becomes one forced tool whose input schema is the
//! shape asked for (any object for `json_object`), and the model's call of
//! that tool comes back as the answer's text, in answers and streams
//! alike, with the finish reason `stop`. The caller sees what an OpenAI
//! model in JSON mode answers; the tool never shows.

use crate::canonical::{ChatRequest, ChatResponse, ContentPart, FinishReason, ResponseFormat, StreamEvent, Tool, ToolChoice};
use serde_json::json;

/// The tool's name: reserved, so a caller's own tool cannot be taken for it.
pub const JSON_TOOL: &str = "keyway_json_answer";

/// Rewrites `req` for a provider without JSON mode: its JSON
/// `response_format` becomes the forced [`JSON_TOOL`]. Whether it did
/// (the answer must then go through [`unwrap_response`] or [`JsonStream`]).
/// A request that also has tools of its own is left as is (the forced
/// tool would stop the model from calling them): the caller's ask is then
/// refused by [`ProviderKind::unsupported`](crate::ProviderKind::unsupported).
pub fn emulate(req: &mut ChatRequest) -> bool {
    if !req.tools.is_empty() {
        return false;
    }
    let (description, schema) = match req.response_format.take() {
        Some(ResponseFormat::JsonObject) => ("Answer with a JSON object.".to_owned(), json!({"type": "object"})),
        Some(ResponseFormat::JsonSchema { name, schema, .. }) => (format!("Answer with the JSON `{name}`."), schema),
        other => {
            req.response_format = other;
            return false;
        }
    };
    req.tools.push(Tool {
        name: JSON_TOOL.into(),
        description: Some(description),
        parameters: schema,
        strict: None,
        extra: Default::default(),
    });
    req.tool_choice = Some(ToolChoice::Tool(JSON_TOOL.into()));
    true
}

/// Whether `req` asks for JSON a provider without JSON mode can give only
/// through [`emulate`] (a JSON `response_format` and no tools of its own).
pub fn emulable(req: &ChatRequest) -> bool {
    req.tools.is_empty() && matches!(req.response_format, Some(ResponseFormat::JsonObject | ResponseFormat::JsonSchema { .. }))
}

/// Turns the model's call of [`JSON_TOOL`] in `resp` into the answer's text.
pub fn unwrap_response(resp: &mut ChatResponse) {
    for choice in &mut resp.choices {
        let calls = std::mem::take(&mut choice.message.tool_calls);
        for call in calls {
            if call.name == JSON_TOOL {
                choice.message.content.push(ContentPart::Text(call.arguments));
                if choice.finish_reason == Some(FinishReason::ToolCalls) {
                    choice.finish_reason = Some(FinishReason::Stop);
                }
            } else {
                choice.message.tool_calls.push(call);
            }
        }
    }
}

/// A stream's events with the model's call of [`JSON_TOOL`] turned into
/// text deltas (see [`unwrap_response`]).
#[derive(Debug, Default)]
pub struct JsonStream {
    /// (choice, tool ordinal) of the JSON tool's call, once started.
    answering: Vec<(u32, u32)>,
}

impl JsonStream {
    /// `ev`, as the caller must see it (`None`: dropped).
    pub fn map(&mut self, ev: StreamEvent) -> Option<StreamEvent> {
        match ev {
            StreamEvent::ToolCallStart { index, tool_index, name, .. } if name == JSON_TOOL => {
                self.answering.push((index, tool_index));
                None
            }
            StreamEvent::ToolCallArgsDelta { index, tool_index, json } if self.answering.contains(&(index, tool_index)) => {
                Some(StreamEvent::TextDelta { index, text: json })
            }
            StreamEvent::Finish { index, reason: FinishReason::ToolCalls } if self.answering.iter().any(|(i, _)| *i == index) => {
                Some(StreamEvent::Finish { index, reason: FinishReason::Stop })
            }
            other => Some(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{anthropic, openai};

    #[test]
    fn a_json_schema_becomes_the_forced_tool_and_its_call_the_answer_text() {
        let body = br#"{"model":"m","messages":[{"role":"user","content":"Capital of France?"}],
            "response_format":{"type":"json_schema","json_schema":{"name":"city","schema":{"type":"object","properties":{"name":{"type":"string"}}}}}}"#;
        let mut req = openai::parse_request(body).unwrap();
        assert!(emulable(&req));
        assert!(emulate(&mut req));
        let sent: serde_json::Value = serde_json::from_slice(&anthropic::render_request(&req)).unwrap();
        assert_eq!(sent["tool_choice"]["type"], "tool");
        assert_eq!(sent["tool_choice"]["name"], JSON_TOOL);
        assert_eq!(sent["tools"][0]["input_schema"]["properties"]["name"]["type"], "string");

        let answer = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude","stop_reason":"tool_use",
            "content":[{"type":"tool_use","id":"toolu_1","name":"keyway_json_answer","input":{"name":"Paris"}}],
            "usage":{"input_tokens":20,"output_tokens":9}}"#;
        let mut resp = anthropic::parse_response(answer).unwrap();
        unwrap_response(&mut resp);
        let out: serde_json::Value = serde_json::from_slice(&openai::render_response(&resp)).unwrap();
        assert_eq!(out["choices"][0]["message"]["content"], r#"{"name":"Paris"}"#);
        assert_eq!(out["choices"][0]["finish_reason"], "stop");
        assert!(out["choices"][0]["message"].get("tool_calls").is_none_or(|t| t.as_array().is_some_and(Vec::is_empty)), "{out}");
    }

    #[test]
    fn json_object_mode_and_what_is_left_alone() {
        let mut req = openai::parse_request(
            br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}"#,
        )
        .unwrap();
        assert!(emulate(&mut req));
        assert_eq!(req.tools[0].parameters, json!({"type": "object"}));
        assert_eq!(req.response_format, None);
        // Text mode, or tools of the caller's own: nothing to emulate.
        let mut text = openai::parse_request(
            br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"text"}}"#,
        )
        .unwrap();
        assert!(!emulate(&mut text));
        assert_eq!(text.response_format, Some(ResponseFormat::Text));
        let body = br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"},
            "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}"#;
        let mut tooled = openai::parse_request(body).unwrap();
        assert!(!emulable(&tooled));
        assert!(!emulate(&mut tooled));
        assert_eq!(tooled.response_format, Some(ResponseFormat::JsonObject), "left for the refusal");
    }

    #[test]
    fn a_streamed_json_answer_arrives_as_text() {
        let mut s = JsonStream::default();
        let events = [
            StreamEvent::ToolCallStart { index: 0, tool_index: 0, id: "toolu_1".into(), name: JSON_TOOL.into() },
            StreamEvent::ToolCallArgsDelta { index: 0, tool_index: 0, json: "{\"name\":".into() },
            StreamEvent::ToolCallArgsDelta { index: 0, tool_index: 0, json: "\"Paris\"}".into() },
            StreamEvent::Finish { index: 0, reason: FinishReason::ToolCalls },
        ];
        let out: Vec<_> = events.into_iter().filter_map(|e| s.map(e)).collect();
        assert_eq!(
            out,
            vec![
                StreamEvent::TextDelta { index: 0, text: "{\"name\":".into() },
                StreamEvent::TextDelta { index: 0, text: "\"Paris\"}".into() },
                StreamEvent::Finish { index: 0, reason: FinishReason::Stop },
            ]
        );
        // Another tool's events pass untouched.
        let other = StreamEvent::ToolCallStart { index: 0, tool_index: 1, id: "t2".into(), name: "f".into() };
        assert_eq!(s.map(other.clone()), Some(other));
    }
}
