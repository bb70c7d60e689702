//! The stored form of a call's decision trace: a compact JSON array of
//! `[stage, result, evidence, fix?]` rows. The call log stores one per
//! request, so it is most of a row's size; this form is about a third
//! smaller than the API's `{"stage": .., "result": .., "evidence": ..}`
//! objects, and lossless.

use keyway_core::{Stage, StepResult, Trace, TraceEntry};
use serde::Deserialize;

/// Encodes a trace for storage.
pub(crate) fn encode(trace: &Trace) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(64 * trace.entries.len() + 2);
    out.push(b'[');
    let mut first = true;
    for e in &trace.entries {
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(b"[\"");
        out.extend_from_slice(e.stage.as_str().as_bytes());
        out.extend_from_slice(b"\",\"");
        out.extend_from_slice(e.result.as_str().as_bytes());
        out.extend_from_slice(b"\",");
        push_str(&mut out, &e.evidence);
        if let Some(fix) = &e.fix {
            out.push(b',');
            push_str(&mut out, fix);
        }
        out.push(b']');
    }
    out.push(b']');
    // Only ASCII punctuation and serde_json's UTF-8 output were written.
    String::from_utf8(out).unwrap_or_default()
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    // Serializing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[derive(Deserialize)]
struct Row(Stage, StepResult, String, #[serde(default)] Option<String>);

/// Decodes a stored trace; also reads the API's object form.
pub(crate) fn decode(text: &str) -> Result<Trace, serde_json::Error> {
    match serde_json::from_str::<Vec<Row>>(text) {
        Ok(rows) => Ok(Trace::of(
            rows.into_iter().map(|Row(stage, result, evidence, fix)| TraceEntry { stage, result, evidence, fix }).collect(),
        )),
        Err(_) => serde_json::from_str::<Trace>(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_fixes_escapes_and_unreached_stages() {
        let mut t = Trace::new();
        t.pass(Stage::Route, "api \"orders\" v1 (tenant acme) ✓");
        t.fail(Stage::Key, "revoked: \"leaked\"\n", Some("issue a new key".into()));
        t.close(Stage::Upstream);
        let text = encode(&t);
        assert!(text.starts_with("[[\"route\",\"pass\","), "{text}");
        assert_eq!(decode(&text).unwrap(), t);
    }

    #[test]
    fn accepted_traces_round_trip() {
        let mut t = Trace::new();
        for s in Stage::ALL {
            t.pass(s, format!("{s} ok"));
        }
        assert_eq!(decode(&encode(&t)).unwrap(), t);
        assert_eq!(decode("[]").unwrap(), Trace::default());
    }

    #[test]
    fn the_object_form_is_read_too() {
        let mut t = Trace::new();
        t.pass(Stage::Route, "x");
        let object = serde_json::to_string(&t).unwrap();
        assert_eq!(decode(&object).unwrap(), t);
    }
}
