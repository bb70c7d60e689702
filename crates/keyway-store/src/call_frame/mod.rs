//! The stored form of the call log: rows in frames.
//!
//! A frame is one blob holding up to [`MAX_ROWS`] call-log rows of one
//! writer batch, sorted by request id, whose times and id times lie within
//! [`MAX_SPAN_MS`] of each other. A backend stores a frame as one row
//! (its bounds and the blob), so inserting a batch of 256 calls writes
//! one row and a few pages instead of 256 rows, and retention deletes
//! whole frames. The format is the backend's business only: SQLite keeps
//! frames in `call_frames` (migration 8); a PostgreSQL backend can keep
//! the same blobs in a `bytea` column.
//!
//! # Layout (version 1)
//!
//! Integers are LEB128 varints (`i64`s zigzag-encoded first) unless said.
//!
//! ```text
//! frame   = version:u8  rows  base_ns:i64  dict  row*
//! dict    = count  (len bytes)*          every distinct text of the frame but request ids
//! row     = len  head  rest              len: bytes of head and rest, so a reader skips a row
//! head    = time_delta:i64  request_id:(len bytes)  tenant api app key code  status
//! rest    = key_prefix method path client_ip model  present:u8  latency_ms:f64le
//!           [upstream_latency_ms:f64le] [cost_usd:f64le] [prompt_tokens] [completion_tokens]
//!           [provider] [cached_input_tokens cache_write_tokens reasoning_tokens]
//!           entries  (stage:u8 result:u8 evidence fix)*
//! ```
//!
//! Texts other than the request id are references into the frame's
//! dictionary: `0` for none, `i + 1` for entry `i`. A batch repeats its
//! tenants, APIs, apps, keys, paths and most of its trace evidence from
//! row to row, so each is stored once per frame, and a reader looking
//! for one key first finds it in the dictionary, or skips the frame.
//! `present` has a bit per optional number, in the order above, then one
//! for the provider, one (with no data) for tokens Keyway counted, and
//! one for the three token details.

mod decode;
mod encode;
mod varint;

pub use decode::{id_ms, Frame, FrameError, RowFilter};
pub use encode::{encode, split, Placed};

/// Most rows in one frame: bounds the work of reading one row by id.
pub const MAX_ROWS: usize = 1024;

/// Widest span of a frame's times, so a lookup by time knows how far
/// before a time a frame holding it can start: a lookup steps through
/// the frame index entries of this span. A batch holding calls that
/// started longer ago than this (slow requests, long streams) is cut
/// into more frames.
pub const MAX_SPAN_MS: i64 = 5_000;

/// The first byte of every frame.
const VERSION: u8 = 1;

/// The bits of a row's `present` byte.
const UPSTREAM_LATENCY: u8 = 1;
const COST: u8 = 2;
const PROMPT_TOKENS: u8 = 4;
const COMPLETION_TOKENS: u8 = 8;
/// Added after version 1's first frames: a frame written before it has
/// no row with this bit, so it reads back with no provider.
const PROVIDER: u8 = 16;
/// The row's tokens were counted by Keyway (no provider usage); no data.
const TOKENS_ESTIMATED: u8 = 32;
/// Added after [`TOKENS_ESTIMATED`]: the row's cached-input, cache-write
/// and reasoning tokens follow its provider (a frame written before has
/// no row with this bit, so those read back as none).
const TOKEN_DETAILS: u8 = 64;

/// The time bounds of the rows a frame holds, in milliseconds since the
/// epoch: the smallest and largest of their times and of their request
/// ids' times (a minted id's time is its row's; others count by time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Smallest millisecond.
    pub lo_ms: i64,
    /// Largest millisecond.
    pub hi_ms: i64,
}

#[cfg(test)]
mod tests;
