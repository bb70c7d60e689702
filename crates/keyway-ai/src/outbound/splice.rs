//! Minimal edits of a JSON object's top-level members, on the bytes.
//!
//! Pass-through must keep the caller's body as sent: key order, spacing,
//! number spellings and unknown fields. Re-serializing a parsed value
//! would lose all of these (serde_json's maps are sorted), so the body is
//! validated once with serde_json (or was, by the parse the caller already
//! made of it: [`Splice::of_parsed`]) and then edited by byte spans.

use crate::error::FormatError;
use crate::json;
use std::borrow::Cow;

/// One member of a JSON object: where its key starts and its value ends.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Member<'a> {
    /// The decoded key (borrowed from the body when it has no escape).
    key: Cow<'a, str>,
    /// Byte offset of the key's opening quote.
    start: usize,
    /// Byte range of the value.
    value: (usize, usize),
}

/// A JSON object's layout within its bytes.
#[derive(Debug)]
struct Layout<'a> {
    /// Offset of the closing `}`.
    close: usize,
    members: Vec<Member<'a>>,
}

/// A body whose top-level members can be replaced, removed or added.
#[derive(Debug)]
pub(crate) struct Splice<'a> {
    body: &'a [u8],
    layout: Layout<'a>,
    /// (range replaced, replacement), non-overlapping.
    edits: Vec<((usize, usize), Vec<u8>)>,
    /// Members appended before the closing `}`.
    appended: Vec<u8>,
}

impl<'a> Splice<'a> {
    /// Validates `body` as JSON whose root is an object.
    pub(crate) fn new(body: &'a [u8]) -> Result<Self, FormatError> {
        let v = json::parse(body)?;
        json::object(&v, json::ROOT)?;
        Self::of_parsed(body)
    }

    /// `body`, which the caller has already parsed as JSON (a request
    /// body that parsed into a [`ChatRequest`](crate::ChatRequest)), laid
    /// out without being validated again. Bytes that are not valid JSON
    /// give an error or an edit of no use, never a panic; a root that is
    /// not an object is refused as [`Splice::new`] refuses it.
    pub(crate) fn of_parsed(body: &'a [u8]) -> Result<Self, FormatError> {
        let mut s = Scanner { b: body, i: 0 };
        s.ws();
        if s.peek() != Some(b'{') {
            return Err(json::wrong(json::ROOT, "an object"));
        }
        let layout = s.object()?;
        Ok(Self { body, layout, edits: Vec::new(), appended: Vec::new() })
    }

    /// The raw bytes of the last top-level member named `key` (the one
    /// serde_json reads when a key is repeated).
    pub(crate) fn get(&self, key: &str) -> Option<&'a [u8]> {
        let body: &'a [u8] = self.body;
        self.layout.members.iter().rev().find(|m| m.key == key).and_then(|m| body.get(m.value.0..m.value.1))
    }

    /// Sets every top-level `key` to the JSON text `value`; appends the
    /// member when absent.
    pub(crate) fn set(&mut self, key: &str, value: &[u8]) {
        let mut found = false;
        for m in self.layout.members.iter().filter(|m| m.key == key) {
            found = true;
            self.edits.push((m.value, value.to_vec()));
        }
        if !found {
            self.appended.push(b',');
            self.appended.extend_from_slice(&json::to_bytes(&serde_json::Value::String(key.to_owned())));
            self.appended.push(b':');
            self.appended.extend_from_slice(value);
        }
    }

    /// Removes every top-level `key`, with the comma that joined it.
    pub(crate) fn remove(&mut self, key: &str) {
        let members = &self.layout.members;
        for (i, m) in members.iter().enumerate() {
            if m.key != key {
                continue;
            }
            // Take the member and the separator after it, or for the last
            // member the separator before it.
            let range = match members.get(i + 1) {
                Some(next) => (m.start, next.start),
                None => match i.checked_sub(1).and_then(|p| members.get(p)) {
                    Some(prev) => (prev.value.1, m.value.1),
                    None => (m.start, m.value.1),
                },
            };
            self.edits.push((range, Vec::new()));
        }
    }

    /// The edited body.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.edits.sort_by_key(|(r, _)| r.0);
        let mut out = Vec::with_capacity(self.body.len() + self.appended.len() + 32);
        let mut at = 0;
        for ((start, end), with) in &self.edits {
            if *start < at {
                // Overlaps an earlier removal (a repeated key removed twice).
                if with.is_empty() {
                    at = at.max(*end);
                }
                continue;
            }
            out.extend_from_slice(self.body.get(at..*start).unwrap_or_default());
            out.extend_from_slice(with);
            at = *end;
        }
        if self.appended.is_empty() {
            out.extend_from_slice(self.body.get(at..).unwrap_or_default());
            return out;
        }
        let close = self.layout.close;
        out.extend_from_slice(self.body.get(at..close).unwrap_or_default());
        let kept = self.layout.members.len() > self.edits.iter().filter(|(_, w)| w.is_empty()).count();
        // Drop the leading comma when the object ends up with no member.
        let appended = if kept { &self.appended[..] } else { self.appended.get(1..).unwrap_or_default() };
        out.extend_from_slice(appended);
        out.extend_from_slice(self.body.get(close..).unwrap_or_default());
        out
    }
}

/// Walks bytes already known to be valid JSON.
struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), FormatError> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(FormatError::Json { detail: format!("expected `{}` at byte {}", char::from(c), self.i) })
        }
    }

    fn object(&mut self) -> Result<Layout<'a>, FormatError> {
        self.expect(b'{')?;
        let mut members = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                Some(b'}') => break,
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                _ => {}
            }
            let start = self.i;
            self.string()?;
            let key = self.key(start)?;
            self.ws();
            self.expect(b':')?;
            self.ws();
            let v_start = self.i;
            self.value()?;
            members.push(Member { key, start, value: (v_start, self.i) });
        }
        let close = self.i;
        self.i += 1;
        Ok(Layout { close, members })
    }

    /// The key whose quoted text runs from `start` to here: borrowed
    /// when it has no escape (its bytes are then its text), else decoded.
    fn key(&self, start: usize) -> Result<Cow<'a, str>, FormatError> {
        let b: &'a [u8] = self.b;
        let quoted = b.get(start..self.i).unwrap_or_default();
        let inner = quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default();
        if !inner.contains(&b'\\') {
            if let Ok(text) = std::str::from_utf8(inner) {
                return Ok(Cow::Borrowed(text));
            }
        }
        serde_json::from_slice(quoted).map(Cow::Owned).map_err(|e| FormatError::Json { detail: e.to_string() })
    }

    fn string(&mut self) -> Result<(), FormatError> {
        self.expect(b'"')?;
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'\\' => self.i += 1,
                b'"' => return Ok(()),
                _ => {}
            }
        }
        Err(FormatError::Json { detail: "unterminated string".into() })
    }

    /// Skips one value: strings and brackets tracked, scalars to the next
    /// delimiter.
    fn value(&mut self) -> Result<(), FormatError> {
        match self.peek() {
            Some(b'"') => self.string(),
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                while let Some(c) = self.peek() {
                    match c {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                self.i += 1;
                                return Ok(());
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
                Err(FormatError::Json { detail: "unterminated container".into() })
            }
            _ => {
                while !matches!(self.peek(), None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')) {
                    self.i += 1;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn edit(body: &str, f: impl FnOnce(&mut Splice<'_>)) -> String {
        let mut s = Splice::new(body.as_bytes()).unwrap();
        f(&mut s);
        String::from_utf8(s.finish()).unwrap()
    }

    #[test]
    fn set_replaces_only_the_value() {
        let body = "{ \"a\" : 1.50e0,\n \"model\" :\"x\\\"}\" , \"z\":[{\"model\":1}] }";
        assert_eq!(edit(body, |s| s.set("model", b"\"m\"")), "{ \"a\" : 1.50e0,\n \"model\" :\"m\" , \"z\":[{\"model\":1}] }");
    }

    #[test]
    fn set_appends_when_absent() {
        assert_eq!(edit("{\"a\":1}", |s| s.set("b", b"true")), "{\"a\":1,\"b\":true}");
        assert_eq!(edit("{ }", |s| s.set("b", b"true")), "{ \"b\":true}");
    }

    #[test]
    fn remove_takes_the_separator() {
        assert_eq!(edit("{\"a\":1, \"b\":2}", |s| s.remove("a")), "{\"b\":2}");
        assert_eq!(edit("{\"a\":1, \"b\":2}", |s| s.remove("b")), "{\"a\":1}");
        assert_eq!(edit("{\"a\":1}", |s| s.remove("a")), "{}");
        assert_eq!(
            edit("{\"a\":1}", |s| {
                s.remove("a");
                s.set("c", b"3")
            }),
            "{\"c\":3}"
        );
        assert_eq!(edit("{\"a\":1,\"a\":2}", |s| s.remove("a")), "{}");
    }

    #[test]
    fn a_parsed_body_is_laid_out_as_a_validated_one() {
        let body = br#" {"a\u0062":1, "mod\"el":"x", "k\u00e9y":[1,{"z":"}"}], "model": "m"} "#;
        let (checked, parsed) = (Splice::new(body).unwrap(), Splice::of_parsed(body).unwrap());
        assert_eq!(checked.layout.members, parsed.layout.members);
        assert_eq!(parsed.get("ab"), Some(&b"1"[..]));
        assert_eq!(parsed.get("mod\"el"), Some(&br#""x""#[..]));
        assert_eq!(parsed.get("k\u{e9}y"), Some(&br#"[1,{"z":"}"}]"#[..]));
        assert!(matches!(parsed.layout.members[0].key, Cow::Owned(_)));
        assert!(matches!(parsed.layout.members[3].key, Cow::Borrowed("model")));
        let e = Splice::of_parsed(b"[1]").unwrap_err();
        assert_eq!(e, Splice::new(b"[1]").unwrap_err());
    }

    #[test]
    fn get_and_errors() {
        let s = Splice::new(br#"{"k":{"x":[1,"]"]},"k":null}"#).unwrap();
        assert_eq!(s.get("k"), Some(&b"null"[..]));
        assert!(Splice::new(b"[1]").is_err());
        assert!(Splice::new(b"{\"a\":").is_err());
    }
}
