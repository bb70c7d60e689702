//! When each stage of a traced request ended, and its W3C trace context
//! (`traceparent`): what the OTLP exporter needs to turn a finished
//! [`Trace`](crate::Trace) into spans. Kept only for requests whose traces
//! are exported; never stored, never serialized.

use crate::codes::Stage;
use std::time::{Duration, Instant};

/// A request's place in a distributed trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceContext {
    /// The trace id: the caller's (from `traceparent`) or a new one.
    pub trace_id: [u8; 16],
    /// The caller's span (from `traceparent`), parent of the request's span.
    pub parent_span_id: Option<[u8; 8]>,
    /// The span of the whole request in the gateway (`keyway.request`).
    pub request_span_id: [u8; 8],
    /// The span of the upstream exchange, forwarded as the upstream's parent.
    pub upstream_span_id: [u8; 8],
}

/// The parts of a W3C `traceparent` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceParent {
    /// The trace id (never all zeros).
    pub trace_id: [u8; 16],
    /// The parent span id (never all zeros).
    pub span_id: [u8; 8],
    /// Whether the caller sampled the trace (flag `01`).
    pub sampled: bool,
}

impl TraceParent {
    /// Parses `00-<32 hex>-<16 hex>-<2 hex>` (a later version's longer
    /// value too, by its first four fields); `None` when malformed.
    pub fn parse(value: &[u8]) -> Option<TraceParent> {
        if value.len() < 55 || (value.len() > 55 && value[55] != b'-') {
            return None;
        }
        let version = hex_byte(&value[0..2])?;
        if version == 0xff || (version == 0 && value.len() != 55) {
            return None;
        }
        if value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
            return None;
        }
        let mut trace_id = [0u8; 16];
        for (i, b) in trace_id.iter_mut().enumerate() {
            *b = hex_byte(&value[3 + 2 * i..5 + 2 * i])?;
        }
        let mut span_id = [0u8; 8];
        for (i, b) in span_id.iter_mut().enumerate() {
            *b = hex_byte(&value[36 + 2 * i..38 + 2 * i])?;
        }
        let flags = hex_byte(&value[53..55])?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(TraceParent { trace_id, span_id, sampled: flags & 1 == 1 })
    }

    /// The header value, version `00`.
    pub fn render(&self) -> String {
        let mut s = String::with_capacity(55);
        s.push_str("00-");
        push_hex(&mut s, &self.trace_id);
        s.push('-');
        push_hex(&mut s, &self.span_id);
        s.push_str(if self.sampled { "-01" } else { "-00" });
        s
    }
}

/// Lower-case hex of `bytes` appended to `out` (by table: `write!` per
/// byte costs thousands of instructions per header).
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

fn hex_byte(two: &[u8]) -> Option<u8> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    Some(digit(two[0])? << 4 | digit(two[1])?)
}

/// A traced request's clock: when it started, and when each stage that
/// ran ended (a stage starts where the previous one ended).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanTiming {
    /// Where the request sits in its distributed trace.
    pub context: TraceContext,
    /// When the gateway started on the request.
    pub origin: Instant,
    /// Per stage (in [`Stage::ALL`] order), how long after `origin` it ended.
    ends: [Option<Duration>; Stage::ALL.len()],
}

impl SpanTiming {
    /// A clock started at `origin`.
    pub fn new(context: TraceContext, origin: Instant) -> Self {
        Self { context, origin, ends: [None; Stage::ALL.len()] }
    }

    /// Notes that `stage` ended now.
    pub fn mark(&mut self, stage: Stage) {
        self.mark_at(stage, Instant::now());
    }

    /// Notes that `stage` ended at `at`.
    pub fn mark_at(&mut self, stage: Stage, at: Instant) {
        if let Some(slot) = self.ends.get_mut(stage.number().wrapping_sub(1)) {
            *slot = Some(at.saturating_duration_since(self.origin));
        }
    }

    /// How long after the start `stage` ended, if it ran.
    pub fn ended(&self, stage: Stage) -> Option<Duration> {
        self.ends.get(stage.number().wrapping_sub(1)).copied().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_and_renders_the_w3c_example() {
        let p = TraceParent::parse(SAMPLE.as_bytes()).unwrap();
        assert_eq!(p.trace_id[0], 0x4b);
        assert_eq!(p.span_id[7], 0xb7);
        assert!(p.sampled);
        assert_eq!(p.render(), SAMPLE);
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(bad.as_bytes()), None, "{bad}");
        }
        // A later version may append fields.
        assert!(TraceParent::parse(format!("01{}-what", &SAMPLE[2..]).as_bytes()).is_some());
    }

    #[test]
    fn marks_each_stage_after_the_origin() {
        let origin = Instant::now();
        let ctx = TraceContext { trace_id: [1; 16], parent_span_id: None, request_span_id: [2; 8], upstream_span_id: [3; 8] };
        let mut t = SpanTiming::new(ctx, origin);
        t.mark_at(Stage::Route, origin + Duration::from_millis(2));
        assert_eq!(t.ended(Stage::Route), Some(Duration::from_millis(2)));
        assert_eq!(t.ended(Stage::Upstream), None);
    }
}
