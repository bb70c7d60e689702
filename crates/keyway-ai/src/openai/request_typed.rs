//! The common OpenAI request read by serde straight into [`ChatRequest`],
//! without building a `serde_json::Value` of the body first (which cost
//! half of [`parse_request`](super::parse_request)'s instructions).
//!
//! It reads a subset: a model, messages of every role whose content is a
//! string, `null` or text parts, an assistant message without tool calls,
//! and the scalar options. Anything else (tools, `tool_choice`,
//! `response_format`, `stop`, image or other parts, an assistant's
//! `tool_calls`, a member of a type the reference parser refuses, a
//! duplicate member) makes [`read`] answer `None`, and the caller parses
//! the body with the reference parser, which also names the member at
//! fault when there is one. So for every body [`read`] either answers
//! `None` or exactly what the reference parser answers (a differential
//! test checks it).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::canonical::{ChatRequest, ContentPart, Message, Role, WireFormat};

/// The request, when it is of the subset this module reads.
pub(crate) fn read(body: &[u8]) -> Option<ChatRequest> {
    let top: Top = serde_json::from_slice(body).ok()?;
    top.into_request()
}

/// A top-level member the subset does not read, present and not `null`.
const OUTSIDE: &[&str] = &["tools", "tool_choice", "response_format", "stop"];

/// Top-level members as read; `None` is absent or `null`.
#[derive(Default)]
struct Top {
    model: Option<String>,
    messages: Option<Vec<WireMessage>>,
    parallel_tool_calls: Option<bool>,
    max_tokens: Option<u64>,
    max_completion_tokens: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    seed: Option<i64>,
    n: Option<u32>,
    stream: Option<bool>,
    stream_options: Option<StreamOptions>,
    user: Option<String>,
    /// A member outside the subset was present.
    outside: bool,
    extra: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
struct StreamOptions {
    include_usage: Option<bool>,
}

#[derive(Deserialize)]
struct WireMessage {
    role: String,
    content: Option<TextContent>,
    name: Option<String>,
    tool_calls: Option<IgnoredAny>,
    tool_call_id: Option<String>,
}

/// `content`: a string or an array of text parts.
struct TextContent(Vec<ContentPart>);

#[derive(Deserialize)]
struct TextPart<'a> {
    #[serde(borrow, rename = "type")]
    kind: Cow<'a, str>,
    text: Option<String>,
}

impl Top {
    fn into_request(self) -> Option<ChatRequest> {
        if self.outside {
            return None;
        }
        let mut req = ChatRequest { model: self.model?, extra_format: Some(WireFormat::OpenAi), ..ChatRequest::default() };
        let mut leading = true;
        for m in self.messages? {
            let msg = m.into_message()?;
            if leading && msg.role == Role::System {
                req.system.extend(msg.content);
                continue;
            }
            leading = false;
            req.messages.push(msg);
        }
        req.parallel_tool_calls = self.parallel_tool_calls;
        match self.max_completion_tokens {
            Some(n) => {
                req.max_tokens = Some(n);
                req.openai_max_completion_tokens = true;
            }
            None => req.max_tokens = self.max_tokens,
        }
        req.temperature = self.temperature;
        req.top_p = self.top_p;
        req.seed = self.seed;
        req.n = self.n;
        req.stream = self.stream.unwrap_or(false);
        req.include_usage = self.stream_options.and_then(|o| o.include_usage).unwrap_or(false);
        req.user = self.user;
        req.extra = self.extra;
        Some(req)
    }
}

impl WireMessage {
    fn into_message(self) -> Option<Message> {
        let role = match self.role.as_str() {
            "system" | "developer" => Role::System,
            "user" => Role::User,
            "assistant" if self.tool_calls.is_none() => Role::Assistant,
            "tool" => Role::Tool,
            _ => return None,
        };
        let mut msg = Message::new(role, self.content.map(|c| c.0).unwrap_or_default());
        msg.name = self.name;
        if role == Role::Tool {
            msg.tool_call_id = Some(self.tool_call_id?);
        }
        Some(msg)
    }
}

impl<'de> Deserialize<'de> for Top {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(TopVisitor)
    }
}

struct TopVisitor;

/// `slot` read once: a second member of the same name is an error (the
/// reference parser keeps the last; the caller falls back to it).
fn once<'de, T: Deserialize<'de>, A: MapAccess<'de>>(slot: &mut Option<T>, map: &mut A, seen: &mut bool) -> Result<(), A::Error> {
    if std::mem::replace(seen, true) {
        return Err(de::Error::custom("duplicate member"));
    }
    *slot = map.next_value()?;
    Ok(())
}

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an OpenAI chat request object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut t = Top::default();
        let mut seen = [false; 12];
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "model" => once(&mut t.model, &mut map, &mut seen[0])?,
                "messages" => once(&mut t.messages, &mut map, &mut seen[1])?,
                "parallel_tool_calls" => once(&mut t.parallel_tool_calls, &mut map, &mut seen[2])?,
                "max_tokens" => once(&mut t.max_tokens, &mut map, &mut seen[3])?,
                "max_completion_tokens" => once(&mut t.max_completion_tokens, &mut map, &mut seen[4])?,
                "temperature" => once(&mut t.temperature, &mut map, &mut seen[5])?,
                "top_p" => once(&mut t.top_p, &mut map, &mut seen[6])?,
                "seed" => once(&mut t.seed, &mut map, &mut seen[7])?,
                "n" => once(&mut t.n, &mut map, &mut seen[8])?,
                "stream" => once(&mut t.stream, &mut map, &mut seen[9])?,
                "stream_options" => once(&mut t.stream_options, &mut map, &mut seen[10])?,
                "user" => once(&mut t.user, &mut map, &mut seen[11])?,
                k if OUTSIDE.contains(&k) => {
                    let v: Option<IgnoredAny> = map.next_value()?;
                    t.outside |= v.is_some();
                }
                _ => {
                    let v: Value = map.next_value()?;
                    if t.extra.insert(key.into_owned(), v).is_some() {
                        return Err(de::Error::custom("duplicate member"));
                    }
                }
            }
        }
        Ok(t)
    }
}

impl<'de> Deserialize<'de> for TextContent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ContentVisitor)
    }
}

struct ContentVisitor;

impl<'de> Visitor<'de> for ContentVisitor {
    type Value = TextContent;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of text parts")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<TextContent, E> {
        Ok(TextContent(vec![ContentPart::Text(s.to_owned())]))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<TextContent, E> {
        Ok(TextContent(vec![ContentPart::Text(s)]))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TextContent, A::Error> {
        let mut parts = Vec::new();
        while let Some(part) = seq.next_element::<TextPart<'de>>()? {
            match (part.kind.as_ref(), part.text) {
                ("text", Some(text)) => parts.push(ContentPart::Text(text)),
                _ => return Err(de::Error::custom("not a text part")),
            }
        }
        Ok(TextContent(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::read;
    use crate::openai::request::parse_request_value;

    /// Bodies inside the subset, each answered by [`read`].
    const READ: &[&str] = &[
        r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#,
        r#"{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"developer","content":[{"type":"text","text":"a"},{"type":"text","text":"b","cache_control":{"type":"ephemeral"}}]},{"role":"user","content":"q","name":"ann"},{"role":"system","content":"late"},{"role":"assistant","content":null},{"role":"tool","tool_call_id":"c1","content":"42"}],"max_tokens":64,"temperature":0.2,"top_p":1,"seed":-7,"n":2,"user":"u","parallel_tool_calls":false,"stream":true,"stream_options":{"include_usage":true,"x":1},"tools":null,"stop":null,"tool_choice":null,"response_format":null,"logprobs":true,"metadata":{"k":"v"},"extra_null":null}"#,
        r#"{"model":"m","messages":[],"max_completion_tokens":9,"max_tokens":null}"#,
        r#"{"model":"m\u00e9","messages":[{"role":"user","content":"esc\"aped\n","unknown":[1,2]}],"temperature":1e-3,"max_tokens":null}"#,
        r#"{"messages":[{"content":"x","role":"user"}],"model":"m","stream":false}"#,
    ];

    /// Bodies outside the subset or invalid: [`read`] declines, the
    /// reference parser answers (a request or an error).
    const DECLINED: &[&str] = &[
        r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}]}"#,
        r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":"auto"}"#,
        r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}"#,
        r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":["x"]}"#,
        r#"{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[]}]}"#,
        r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}"#,
        r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":null}]}]}"#,
        r#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#,
        r#"{"model":"m","messages":[{"role":"robot","content":"x"}]}"#,
        r#"{"model":"m","messages":[{"role":"user","content":"x","tool_call_id":5}]}"#,
        r#"{"model":"m","model":"n","messages":[]}"#,
        r#"{"model":"m","messages":[],"x":1,"x":2}"#,
        r#"{"model":"m","messages":[{"role":"user","role":"system","content":"x"}]}"#,
        r#"{"model":null,"messages":[]}"#,
        r#"{"model":"m"}"#,
        r#"{"model":"m","messages":null}"#,
        r#"{"model":7,"messages":[]}"#,
        r#"{"model":"m","messages":{}}"#,
        r#"{"model":"m","messages":[],"max_tokens":1.0}"#,
        // The reference parser does not read max_tokens beside
        // max_completion_tokens; this one declines rather than know it.
        r#"{"model":"m","messages":[],"max_completion_tokens":9,"max_tokens":"x"}"#,
        r#"{"model":"m","messages":[],"max_tokens":-0}"#,
        r#"{"model":"m","messages":[],"max_tokens":-1}"#,
        r#"{"model":"m","messages":[],"n":4294967296}"#,
        r#"{"model":"m","messages":[],"seed":9223372036854775808}"#,
        r#"{"model":"m","messages":[],"temperature":"hot"}"#,
        r#"{"model":"m","messages":[],"stream":"yes"}"#,
        r#"{"model":"m","messages":[],"stream_options":{"include_usage":1}}"#,
        r#"{"model":"m","messages":[],"stream_options":[]}"#,
        r#"{"model":"m","messages":[],"user":5}"#,
        r#"{"model":"m","messages":[{"role":"user","content":5}]}"#,
        r#"{"model":"m","messages":[{"role":"user","content":"x","name":1}]}"#,
        r#"{"model":"m","messages":[]} trailing"#,
        r#"[1,2]"#,
        r#"not json"#,
        "",
    ];

    #[test]
    fn the_subset_reads_exactly_what_the_reference_parser_reads() {
        for body in READ {
            let fast = read(body.as_bytes()).unwrap_or_else(|| panic!("declined: {body}"));
            assert_eq!(Ok(fast), parse_request_value(body.as_bytes()), "{body}");
        }
    }

    #[test]
    fn anything_else_is_left_to_the_reference_parser() {
        for body in DECLINED {
            assert_eq!(read(body.as_bytes()), None, "read: {body}");
        }
        // And some of those are errors that name their member.
        let e = crate::openai::parse_request(br#"{"model":"m","messages":[{"role":"robot","content":"x"}]}"#).unwrap_err();
        assert_eq!(e.path(), Some("messages[0].role"));
    }
}
