//! The stored form of a call's decision trace in the call log's rows of
//! schema versions 4 to 7 (since migration 8 the log is stored in frames,
//! `call_frame`, which keep the stage and result bytes defined here). It
//! is a small binary blob: a version byte, then per entry the stage and
//! result as one byte each, the evidence and the optional fix as
//! length-prefixed UTF-8. Rows written before this form hold a JSON array
//! of `[stage, result, evidence, fix?]` (or the API's objects); those are
//! still read, so a store of any age migrates.

use keyway_core::{Stage, StepResult, Trace, TraceEntry};
use serde::Deserialize;
use std::fmt;

/// First byte of the binary form (a JSON text starts with `[`).
const VERSION: u8 = 1;
/// The flag byte before an entry's fix: absent or present.
const NO_FIX: u8 = 0;
const FIX: u8 = 1;

/// Encodes a trace for storage.
pub(crate) fn encode(trace: &Trace) -> Vec<u8> {
    let text: usize = trace.entries.iter().map(|e| e.evidence.len() + e.fix.as_ref().map_or(0, String::len) + 8).sum();
    let mut out = Vec::with_capacity(1 + text);
    out.push(VERSION);
    for e in &trace.entries {
        out.push(stage_byte(e.stage));
        out.push(result_byte(e.result));
        push_text(&mut out, &e.evidence);
        match &e.fix {
            Some(fix) => {
                out.push(FIX);
                push_text(&mut out, fix);
            }
            None => out.push(NO_FIX),
        }
    }
    out
}

/// A stored trace that cannot be read.
#[derive(Debug)]
pub(crate) struct Unreadable(String);

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unreadable stored trace: {}", self.0)
    }
}

impl std::error::Error for Unreadable {}

/// Decodes a stored trace: the binary form, or the JSON of older rows.
pub(crate) fn decode(stored: &[u8]) -> Result<Trace, Unreadable> {
    match stored.first() {
        Some(&VERSION) => decode_binary(&stored[1..]),
        _ => {
            let text = std::str::from_utf8(stored).map_err(|e| Unreadable(e.to_string()))?;
            decode_json(text).map_err(|e| Unreadable(e.to_string()))
        }
    }
}

/// The byte a stage is stored as: its position in [`Stage::ALL`].
pub(crate) fn stage_byte(stage: Stage) -> u8 {
    // Stage::ALL has seven entries: the index fits a byte.
    Stage::ALL.iter().position(|s| *s == stage).map_or(u8::MAX, |i| i as u8)
}

/// The stage stored as `b`, if any.
pub(crate) fn stage_from_byte(b: u8) -> Option<Stage> {
    Stage::ALL.get(usize::from(b)).copied()
}

/// The byte a stage's result is stored as.
pub(crate) fn result_byte(result: StepResult) -> u8 {
    match result {
        StepResult::Pass => 0,
        StepResult::Fail => 1,
        StepResult::NotReached => 2,
    }
}

/// The result stored as `b`, if any.
pub(crate) fn result_from_byte(b: u8) -> Option<StepResult> {
    match b {
        0 => Some(StepResult::Pass),
        1 => Some(StepResult::Fail),
        2 => Some(StepResult::NotReached),
        _ => None,
    }
}

/// A LEB128 length, then the bytes.
fn push_text(out: &mut Vec<u8>, text: &str) {
    let mut n = text.len();
    loop {
        let low = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(low);
            break;
        }
        out.push(low | 0x80);
    }
    out.extend_from_slice(text.as_bytes());
}

fn decode_binary(mut rest: &[u8]) -> Result<Trace, Unreadable> {
    let mut entries = Vec::with_capacity(Stage::ALL.len());
    while !rest.is_empty() {
        let stage = stage_from_byte(take_byte(&mut rest)?).ok_or_else(|| Unreadable("stage out of range".into()))?;
        let b = take_byte(&mut rest)?;
        let result = result_from_byte(b).ok_or_else(|| Unreadable(format!("result byte {b}")))?;
        let evidence = take_text(&mut rest)?;
        let fix = match take_byte(&mut rest)? {
            NO_FIX => None,
            FIX => Some(take_text(&mut rest)?),
            other => return Err(Unreadable(format!("fix flag {other}"))),
        };
        entries.push(TraceEntry { stage, result, evidence: evidence.into(), fix });
    }
    Ok(Trace::of(entries))
}

fn take_byte(rest: &mut &[u8]) -> Result<u8, Unreadable> {
    let (&b, tail) = rest.split_first().ok_or_else(|| Unreadable("truncated".into()))?;
    *rest = tail;
    Ok(b)
}

fn take_text(rest: &mut &[u8]) -> Result<String, Unreadable> {
    let mut len = 0usize;
    for shift in (0..64).step_by(7) {
        let b = take_byte(rest)?;
        len |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            if len > rest.len() {
                return Err(Unreadable("truncated text".into()));
            }
            let (text, tail) = rest.split_at(len);
            *rest = tail;
            return String::from_utf8(text.to_vec()).map_err(|e| Unreadable(e.to_string()));
        }
    }
    Err(Unreadable("length too long".into()))
}

#[derive(Deserialize)]
struct Row(Stage, StepResult, String, #[serde(default)] Option<String>);

/// The JSON of rows stored before the binary form; also the API's object form.
fn decode_json(text: &str) -> Result<Trace, serde_json::Error> {
    match serde_json::from_str::<Vec<Row>>(text) {
        Ok(rows) => Ok(Trace::of(
            rows.into_iter()
                .map(|Row(stage, result, evidence, fix)| TraceEntry { stage, result, evidence: evidence.into(), fix })
                .collect(),
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
        let stored = encode(&t);
        assert_eq!(stored[0], VERSION);
        assert_eq!(decode(&stored).unwrap(), t);
    }

    #[test]
    fn accepted_traces_round_trip() {
        let mut t = Trace::new();
        for s in Stage::ALL {
            t.pass(s, format!("{s} ok"));
        }
        assert_eq!(decode(&encode(&t)).unwrap(), t);
        assert_eq!(decode(&encode(&Trace::default())).unwrap(), Trace::default());
        assert_eq!(decode(b"[]").unwrap(), Trace::default());
    }

    #[test]
    fn the_object_form_is_read_too() {
        let mut t = Trace::new();
        t.pass(Stage::Route, "x");
        let object = serde_json::to_string(&t).unwrap();
        assert_eq!(decode(object.as_bytes()).unwrap(), t);
    }

    #[test]
    fn rows_stored_as_json_arrays_are_still_read() {
        let old = r#"[["route","pass","api orders v1"],["credential","fail","no key","send one"],["key","not_reached",""]]"#;
        let t = decode(old.as_bytes()).unwrap();
        assert_eq!(t.entries.len(), 3);
        assert_eq!(t.entries[1].fix.as_deref(), Some("send one"));
        assert_eq!(t.entries[2].result, StepResult::NotReached);
    }

    #[test]
    fn long_texts_and_damaged_blobs() {
        let mut t = Trace::new();
        t.pass(Stage::Route, "x".repeat(100_000));
        assert_eq!(decode(&encode(&t)).unwrap(), t);
        let stored = encode(&t);
        for cut in [2, 3, 50, stored.len() - 1] {
            assert!(decode(&stored[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode(&[VERSION, 9, 0, 0, 0]).is_err(), "stage out of range");
        assert!(decode(&[VERSION, 0, 7, 0, 0]).is_err(), "result out of range");
        assert!(decode(&[VERSION, 0, 0, 2, 0xff, 0xfe, 0]).is_err(), "not UTF-8");
    }
}
