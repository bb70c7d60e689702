//! Writing frames: a batch sorted and cut into frames, each encoded once.

use super::decode::FrameError;
use super::varint::{put_i64, put_text, put_u64};
use super::{
    Bounds, COMPLETION_TOKENS, COST, MAX_ROWS, MAX_SPAN_MS, PROMPT_TOKENS, PROVIDER, TOKENS_ESTIMATED, TOKEN_DETAILS,
    UPSTREAM_LATENCY, VERSION,
};
use crate::trace_codec::{result_byte, stage_byte};
use hashbrown::HashMap;
use keyway_core::records::CallLogRow;

/// A row on its way into a frame, with the times it is placed by.
#[derive(Clone, Copy, Debug)]
pub struct Placed<'a> {
    /// The row.
    pub row: &'a CallLogRow,
    /// Its time, nanoseconds since the epoch.
    pub time_ns: i64,
    /// Its request id's millisecond (its time's, for an id not minted by
    /// the gateway).
    pub id_ms: i64,
}

impl Placed<'_> {
    fn lo_ms(&self) -> i64 {
        self.id_ms.min(self.time_ns.div_euclid(1_000_000))
    }

    fn hi_ms(&self) -> i64 {
        self.id_ms.max(self.time_ns.div_euclid(1_000_000))
    }
}

/// Sorts `rows` by request id (so by time, for minted ids) and cuts them
/// into frames of at most [`MAX_ROWS`] rows spanning at most
/// [`MAX_SPAN_MS`]. Fails on a time no frame can hold (past 2262).
pub fn split(rows: &[CallLogRow]) -> Result<Vec<Vec<Placed<'_>>>, FrameError> {
    let mut placed = Vec::with_capacity(rows.len());
    for row in rows {
        let time_ns = row.time.timestamp_nanos_opt().ok_or(FrameError::TimeOutOfRange)?;
        let id_ms = super::decode::id_ms(row.request_id.as_str()).unwrap_or_else(|| time_ns.div_euclid(1_000_000));
        placed.push(Placed { row, time_ns, id_ms });
    }
    placed.sort_unstable_by(|a, b| (a.id_ms, a.row.request_id.as_str()).cmp(&(b.id_ms, b.row.request_id.as_str())));
    let mut frames: Vec<Vec<Placed<'_>>> = Vec::new();
    let mut bounds: Option<Bounds> = None;
    for p in placed {
        let fits = bounds.is_some_and(|b| {
            frames.last().is_some_and(|f| f.len() < MAX_ROWS) && p.hi_ms().max(b.hi_ms) - p.lo_ms().min(b.lo_ms) <= MAX_SPAN_MS
        });
        match (fits, frames.last_mut(), bounds.as_mut()) {
            (true, Some(frame), Some(b)) => {
                b.lo_ms = b.lo_ms.min(p.lo_ms());
                b.hi_ms = b.hi_ms.max(p.hi_ms());
                frame.push(p);
            }
            _ => {
                bounds = Some(Bounds { lo_ms: p.lo_ms(), hi_ms: p.hi_ms() });
                frames.push(vec![p]);
            }
        }
    }
    Ok(frames)
}

/// The frame of `rows` (one of [`split`]'s), and its bounds.
pub fn encode(rows: &[Placed<'_>]) -> (Bounds, Vec<u8>) {
    let base_ns = rows.iter().map(|p| p.time_ns).min().unwrap_or(0);
    let bounds = Bounds {
        lo_ms: rows.iter().map(Placed::lo_ms).min().unwrap_or(0),
        hi_ms: rows.iter().map(Placed::hi_ms).max().unwrap_or(0),
    };
    let mut dict = Dict::new();
    let mut body = Vec::with_capacity(rows.len() * 96);
    let mut scratch = Vec::with_capacity(256);
    for p in rows {
        scratch.clear();
        row(&mut scratch, p, base_ns, &mut dict);
        put_u64(&mut body, scratch.len() as u64);
        body.extend_from_slice(&scratch);
    }
    let mut out = Vec::with_capacity(16 + dict.bytes + body.len());
    out.push(VERSION);
    put_u64(&mut out, rows.len() as u64);
    put_i64(&mut out, base_ns);
    put_u64(&mut out, dict.texts.len() as u64);
    for text in &dict.texts {
        put_text(&mut out, text);
    }
    out.extend_from_slice(&body);
    (bounds, out)
}

fn row<'a>(out: &mut Vec<u8>, p: &Placed<'a>, base_ns: i64, dict: &mut Dict<'a>) {
    let r = p.row;
    // The head: what a filtered read looks at before skipping a row.
    put_i64(out, p.time_ns - base_ns);
    put_text(out, r.request_id.as_str());
    dict.put(out, 0, r.tenant_id.as_ref().map(|t| t.as_str()));
    dict.put(out, 1, r.api_id.as_ref().map(|a| a.as_str()));
    dict.put(out, 2, r.app_id.as_ref().map(|a| a.as_str()));
    dict.put(out, 3, r.key_id.as_ref().map(|k| k.as_str()));
    dict.put(out, 4, r.code.map(|c| c.as_str()));
    put_u64(out, u64::from(r.status));
    // The rest.
    dict.put(out, 5, r.key_prefix.as_deref());
    dict.put(out, 6, Some(&r.method));
    dict.put(out, 7, Some(&r.path));
    dict.put(out, 8, Some(&r.client_ip));
    dict.put(out, 9, r.model.as_deref());
    let present = flag(r.upstream_latency_ms.is_some(), UPSTREAM_LATENCY)
        | flag(r.cost_usd.is_some(), COST)
        | flag(r.prompt_tokens.is_some(), PROMPT_TOKENS)
        | flag(r.completion_tokens.is_some(), COMPLETION_TOKENS)
        | flag(r.provider.is_some(), PROVIDER)
        | flag(r.tokens_estimated, TOKENS_ESTIMATED)
        | flag(r.token_details.is_some(), TOKEN_DETAILS);
    out.push(present);
    out.extend_from_slice(&r.latency_ms.to_le_bytes());
    for v in [r.upstream_latency_ms, r.cost_usd].into_iter().flatten() {
        out.extend_from_slice(&v.to_le_bytes());
    }
    // Counts saturate at i64::MAX, as in every backend's integer columns.
    for v in [r.prompt_tokens, r.completion_tokens].into_iter().flatten() {
        put_u64(out, v.min(i64::MAX as u64));
    }
    if r.provider.is_some() {
        dict.put(out, PROVIDER_SLOT, r.provider.as_deref());
    }
    if let Some(d) = r.token_details {
        for v in [d.cached_input_tokens, d.cache_write_tokens, d.reasoning_tokens] {
            put_u64(out, v.min(i64::MAX as u64));
        }
    }
    put_u64(out, r.trace.entries.len() as u64);
    for (i, e) in r.trace.entries.iter().enumerate() {
        out.push(stage_byte(e.stage));
        out.push(result_byte(e.result));
        dict.put(out, TRACE_SLOTS + 2 * i, Some(&e.evidence));
        dict.put(out, TRACE_SLOTS + 2 * i + 1, e.fix.as_deref());
    }
}

fn flag(set: bool, bit: u8) -> u8 {
    if set {
        bit
    } else {
        0
    }
}

/// The first slot of the trace's texts in [`Dict::last`]: the ten text
/// columns and the provider come before.
const TRACE_SLOTS: usize = 11;
/// The dictionary slot of the provider (after the ten text columns).
const PROVIDER_SLOT: usize = 10;
/// Slots remembered: the columns and two texts for each of 16 entries.
const SLOTS: usize = TRACE_SLOTS + 32;

/// The frame's distinct texts, in first-use order.
struct Dict<'a> {
    index: HashMap<&'a str, u32>,
    texts: Vec<&'a str>,
    bytes: usize,
    /// Per column (slot), the last text put and its index: consecutive
    /// calls of a batch mostly repeat them, and comparing is cheaper
    /// than hashing.
    last: Vec<Option<(&'a str, u32)>>,
}

impl<'a> Dict<'a> {
    fn new() -> Self {
        Dict { index: HashMap::new(), texts: Vec::new(), bytes: 0, last: vec![None; SLOTS] }
    }

    /// Appends the reference of `text`, put in column `slot`: `0` for
    /// none, else its index + 1. Inlined: called ~24 times a row, mostly
    /// to find the column's last text again.
    #[inline]
    fn put(&mut self, out: &mut Vec<u8>, slot: usize, text: Option<&'a str>) {
        let Some(text) = text else {
            out.push(0);
            return;
        };
        let i = match self.last.get(slot).copied().flatten() {
            // Shared evidence is the very same string: a pointer compare.
            Some((last, i)) if std::ptr::eq(last, text) || last == text => i,
            _ => self.find(slot, text),
        };
        put_u64(out, u64::from(i) + 1);
    }

    /// The index of `text`, added if new, now the last of column `slot`.
    #[inline(never)]
    fn find(&mut self, slot: usize, text: &'a str) -> u32 {
        let next = self.texts.len() as u32;
        let i = *self.index.entry(text).or_insert_with(|| {
            self.texts.push(text);
            self.bytes += text.len() + 2;
            next
        });
        if let Some(s) = self.last.get_mut(slot) {
            *s = Some((text, i));
        }
        i
    }
}
