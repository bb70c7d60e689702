//! Which requests are traced as spans (when traces are exported), and
//! their W3C trace context: the caller's `traceparent` when it sent a
//! valid one (its sampling decision is kept), else a new trace sampled at
//! the configured ratio. A traced request's clock starts here; the spans
//! themselves are built later, off the request path, by the exporter.

use http::HeaderMap;
use keyway_core::span_timing::{SpanTiming, TraceContext, TraceParent};
use std::time::Instant;

/// The `traceparent` header (W3C Trace Context).
pub const TRACEPARENT: &str = "traceparent";

/// Decides, per request, whether it is traced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceSampler {
    /// A new trace is sampled when its id's low 64 bits are below this.
    threshold: u64,
    /// Every new trace is sampled.
    all: bool,
}

impl TraceSampler {
    /// Samples this share of new traces (`0.0` to `1.0`); a caller's
    /// `traceparent` decides for its own trace.
    pub fn new(ratio: f64) -> Self {
        let ratio = if ratio.is_nan() { 0.0 } else { ratio.clamp(0.0, 1.0) };
        // 2^64 * ratio, saturating: 1.0 is "all" and needs no threshold.
        Self { threshold: (ratio * 18_446_744_073_709_551_616.0) as u64, all: ratio >= 1.0 }
    }

    /// The clock of a request that started at `origin`, when it is traced.
    pub fn start(&self, headers: &HeaderMap, origin: Instant) -> Option<Box<SpanTiming>> {
        let parent = headers.get(TRACEPARENT).and_then(|v| TraceParent::parse(v.as_bytes()));
        let (trace_id, parent_span_id) = match parent {
            Some(p) if !p.sampled => return None,
            Some(p) => (p.trace_id, Some(p.span_id)),
            None => {
                let id: [u8; 16] = new_id();
                if !self.samples(&id) {
                    return None;
                }
                (id, None)
            }
        };
        let context = TraceContext { trace_id, parent_span_id, request_span_id: new_id(), upstream_span_id: new_id() };
        Some(Box::new(SpanTiming::new(context, origin)))
    }

    fn samples(&self, trace_id: &[u8; 16]) -> bool {
        let mut low = [0u8; 8];
        low.copy_from_slice(&trace_id[8..]);
        self.all || u64::from_be_bytes(low) < self.threshold
    }
}

/// The `traceparent` to send upstream: the upstream's spans become
/// children of the gateway's upstream span.
pub fn upstream_traceparent(timing: &SpanTiming) -> String {
    TraceParent { trace_id: timing.context.trace_id, span_id: timing.context.upstream_span_id, sampled: true }.render()
}

/// A random id, never all zeros (an invalid id in W3C Trace Context).
fn new_id<const N: usize>() -> [u8; N] {
    loop {
        let id: [u8; N] = std::array::from_fn(|_| rand::random::<u8>());
        if id.iter().any(|b| *b != 0) {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(traceparent: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(TRACEPARENT, traceparent.parse().unwrap());
        h
    }

    #[test]
    fn a_sampled_caller_trace_is_continued() {
        let t = TraceSampler::new(0.0)
            .start(&headers("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), Instant::now())
            .unwrap();
        assert_eq!(t.context.trace_id[..2], [0x4b, 0xf9]);
        assert_eq!(t.context.parent_span_id, Some([0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]));
        let up = upstream_traceparent(&t);
        assert!(up.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "{up}");
        assert!(up.ends_with("-01"));
    }

    #[test]
    fn an_unsampled_caller_trace_is_not_traced() {
        let h = headers("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
        assert!(TraceSampler::new(1.0).start(&h, Instant::now()).is_none());
    }

    #[test]
    fn new_traces_follow_the_ratio() {
        let none = HeaderMap::new();
        let all = TraceSampler::new(1.0);
        let never = TraceSampler::new(0.0);
        let half = TraceSampler::new(0.5);
        let mut sampled = 0;
        for _ in 0..1000 {
            assert!(all.start(&none, Instant::now()).is_some_and(|t| t.context.parent_span_id.is_none()));
            assert!(never.start(&none, Instant::now()).is_none());
            sampled += usize::from(half.start(&none, Instant::now()).is_some());
        }
        assert!((350..650).contains(&sampled), "{sampled} of 1000 at 0.5");
        // A malformed traceparent starts a new trace.
        assert!(all.start(&headers("nonsense"), Instant::now()).is_some_and(|t| t.context.parent_span_id.is_none()));
    }
}
