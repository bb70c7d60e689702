//! Reading frames: the rows a filter selects, each row skipped on its
//! head alone when it does not match.

use super::varint::Cursor;
use super::{COMPLETION_TOKENS, COST, PROMPT_TOKENS, PROVIDER, TOKENS_ESTIMATED, TOKEN_DETAILS, UPSTREAM_LATENCY, VERSION};
use crate::trace_codec::{result_from_byte, stage_from_byte};
use keyway_core::codes::ErrorCode;
use keyway_core::ids::{ApiId, AppId, KeyId, RequestId, TenantId};
use keyway_core::records::{CallLogRow, TokenDetails};
use keyway_core::{Trace, TraceEntry};
use std::fmt;

/// A frame that cannot be read, or a row that cannot be framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The bytes end before the frame does.
    Truncated,
    /// The bytes are not a frame this build can read.
    Malformed(&'static str),
    /// A row's time is outside what a frame holds (years 1677-2262).
    TimeOutOfRange,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Truncated => f.write_str("call-log frame is truncated"),
            FrameError::Malformed(what) => write!(f, "call-log frame is malformed: {what}"),
            FrameError::TimeOutOfRange => f.write_str("call time is outside the storable range (years 1677-2262)"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Which rows of a frame to read; every field set must match.
#[derive(Clone, Copy, Debug, Default)]
pub struct RowFilter<'q> {
    /// Exactly this request.
    pub request_id: Option<&'q str>,
    /// Calls of this tenant.
    pub tenant_id: Option<&'q str>,
    /// Calls to this API.
    pub api_id: Option<&'q str>,
    /// Calls of this app.
    pub app_id: Option<&'q str>,
    /// Calls with this key.
    pub key_id: Option<&'q str>,
    /// Calls refused with this code.
    pub code: Option<&'q str>,
    /// At or after this time (nanoseconds since the epoch).
    pub since_ns: Option<i64>,
    /// Before this time.
    pub until_ns: Option<i64>,
}

/// A frame's header and dictionary, read; its rows are read on demand.
pub struct Frame<'a> {
    rows: usize,
    base_ns: i64,
    dict: Vec<&'a str>,
    body: Cursor<'a>,
}

impl<'a> Frame<'a> {
    /// Reads the header and dictionary of `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, FrameError> {
        let mut c = Cursor::new(bytes);
        if c.byte()? != VERSION {
            return Err(FrameError::Malformed("unknown version"));
        }
        let rows = c.len()?;
        let base_ns = c.i64()?;
        let count = c.len()?;
        let mut dict = Vec::with_capacity(count);
        for _ in 0..count {
            dict.push(c.text()?);
        }
        Ok(Frame { rows, base_ns, dict, body: c })
    }

    /// The rows `filter` selects, in the frame's order (by request id).
    pub fn rows(&self, filter: &RowFilter<'_>) -> Result<Vec<CallLogRow>, FrameError> {
        let mut out = Vec::new();
        self.each(filter, |row| {
            out.push(row);
            Ok(())
        })?;
        Ok(out)
    }

    /// Every row's time and request id, in the frame's order.
    pub fn ids(&self) -> Result<Vec<(i64, &'a str)>, FrameError> {
        let mut out = Vec::with_capacity(self.rows);
        let mut c = self.body;
        for _ in 0..self.rows {
            let n = c.len()?;
            let mut row = Cursor::new(c.bytes(n)?);
            let time = self.base_ns.saturating_add(row.i64()?);
            out.push((time, row.text()?));
        }
        Ok(out)
    }

    /// Calls `f` with each row `filter` selects.
    fn each(&self, filter: &RowFilter<'_>, mut f: impl FnMut(CallLogRow) -> Result<(), FrameError>) -> Result<(), FrameError> {
        // A filter on a text the dictionary lacks selects nothing here.
        let mut wanted = [None; 5];
        for (slot, text) in wanted.iter_mut().zip([filter.tenant_id, filter.api_id, filter.app_id, filter.key_id, filter.code]) {
            if let Some(text) = text {
                match self.dict.iter().position(|d| *d == text) {
                    Some(i) => *slot = Some(i as u64 + 1),
                    None => return Ok(()),
                }
            }
        }
        let mut c = self.body;
        for _ in 0..self.rows {
            let n = c.len()?;
            let mut row = Cursor::new(c.bytes(n)?);
            let time_ns = self.base_ns.saturating_add(row.i64()?);
            if filter.since_ns.is_some_and(|s| time_ns < s) || filter.until_ns.is_some_and(|u| time_ns >= u) {
                continue;
            }
            let request_id = row.text()?;
            if filter.request_id.is_some_and(|id| id != request_id) {
                continue;
            }
            let mut refs = [0u64; 5];
            for r in &mut refs {
                *r = row.u64()?;
            }
            if wanted.iter().zip(refs).any(|(w, r)| w.is_some_and(|w| w != r)) {
                continue;
            }
            f(self.rest(row, time_ns, request_id, refs)?)?;
        }
        Ok(())
    }

    /// The rest of a row whose head matched.
    fn rest(&self, mut row: Cursor<'a>, time_ns: i64, request_id: &str, refs: [u64; 5]) -> Result<CallLogRow, FrameError> {
        let [tenant, api, app, key, code] = refs;
        let status = u16::try_from(row.u64()?).map_err(|_| FrameError::Malformed("status out of range"))?;
        let key_prefix = self.text(row.u64()?)?.map(str::to_owned);
        let method = self.required(row.u64()?)?.to_owned();
        let path = self.required(row.u64()?)?.to_owned();
        let client_ip = self.required(row.u64()?)?.to_owned();
        let model = self.text(row.u64()?)?.map(str::to_owned);
        let present = row.byte()?;
        let latency_ms = row.f64()?;
        let upstream_latency_ms = if present & UPSTREAM_LATENCY != 0 { Some(row.f64()?) } else { None };
        let cost_usd = if present & COST != 0 { Some(row.f64()?) } else { None };
        let prompt_tokens = if present & PROMPT_TOKENS != 0 { Some(row.u64()?) } else { None };
        let completion_tokens = if present & COMPLETION_TOKENS != 0 { Some(row.u64()?) } else { None };
        let provider = if present & PROVIDER != 0 { self.text(row.u64()?)?.map(str::to_owned) } else { None };
        let token_details = if present & TOKEN_DETAILS != 0 {
            Some(TokenDetails { cached_input_tokens: row.u64()?, cache_write_tokens: row.u64()?, reasoning_tokens: row.u64()? })
        } else {
            None
        };
        let entries = row.len()?;
        let mut trace = Vec::with_capacity(entries);
        for _ in 0..entries {
            let stage = stage_from_byte(row.byte()?).ok_or(FrameError::Malformed("stage out of range"))?;
            let result = result_from_byte(row.byte()?).ok_or(FrameError::Malformed("result out of range"))?;
            let evidence = self.required(row.u64()?)?.to_owned();
            let fix = self.text(row.u64()?)?.map(str::to_owned);
            trace.push(TraceEntry { stage, result, evidence: evidence.into(), fix });
        }
        if !row.is_empty() {
            return Err(FrameError::Malformed("row longer than its fields"));
        }
        let code = match self.text(code)? {
            Some(text) => Some(ErrorCode::parse(text).ok_or(FrameError::Malformed("unknown refusal code"))?),
            None => None,
        };
        Ok(CallLogRow {
            request_id: RequestId(request_id.to_owned()),
            time: chrono::DateTime::from_timestamp_nanos(time_ns),
            tenant_id: self.text(tenant)?.map(TenantId::from),
            api_id: self.text(api)?.map(ApiId::from),
            app_id: self.text(app)?.map(AppId::from),
            key_id: self.text(key)?.map(KeyId::from),
            key_prefix,
            method,
            path,
            status,
            code,
            client_ip,
            latency_ms,
            upstream_latency_ms,
            model,
            provider,
            tokens_estimated: present & TOKENS_ESTIMATED != 0,
            token_details,
            prompt_tokens,
            completion_tokens,
            cost_usd,
            trace: Trace::of(trace),
        })
    }

    /// The text a reference names: `None` for `0`.
    fn text(&self, reference: u64) -> Result<Option<&'a str>, FrameError> {
        match reference {
            0 => Ok(None),
            r => usize::try_from(r - 1)
                .ok()
                .and_then(|i| self.dict.get(i))
                .map(|t| Some(*t))
                .ok_or(FrameError::Malformed("text reference out of range")),
        }
    }

    fn required(&self, reference: u64) -> Result<&'a str, FrameError> {
        self.text(reference)?.ok_or(FrameError::Malformed("missing required text"))
    }
}

/// The ULID millisecond of a request id the gateway minted (`req_` and
/// 26 lowercase Crockford base-32 digits); `None` for any other text.
/// For such ids, text order is millisecond order.
pub fn id_ms(id: &str) -> Option<i64> {
    let ulid = id.strip_prefix("req_")?.as_bytes();
    if ulid.len() != 26 || ulid[0] > b'7' {
        return None;
    }
    // A table lookup a digit: this runs for every row of every batch.
    let mut ms: i64 = 0;
    for &c in &ulid[..10] {
        ms = (ms << 5) | i64::from(crockford_digit(c)?);
    }
    ulid[10..].iter().all(|&c| crockford_digit(c).is_some()).then_some(ms)
}

/// The value of a lowercase Crockford base-32 digit (no `i`, `l`, `o`,
/// `u`), `None` for any other byte.
fn crockford_digit(c: u8) -> Option<u8> {
    match CROCKFORD[usize::from(c)] {
        NOT_A_DIGIT => None,
        d => Some(d),
    }
}

const NOT_A_DIGIT: u8 = 0xff;

/// [`crockford_digit`] as a table, built at compile time.
static CROCKFORD: [u8; 256] = {
    let mut table = [NOT_A_DIGIT; 256];
    let digits = b"0123456789abcdefghjkmnpqrstvwxyz";
    let mut i = 0;
    while i < digits.len() {
        table[digits[i] as usize] = i as u8;
        i += 1;
    }
    table
};
