//! Keyway's limits stage, with no I/O: request-rate limits and period
//! quotas, evaluated in memory.
//!
//! - [`clock`]: time sources ([`SystemClock`], and [`ManualClock`] for tests).
//! - [`key`]: what a limit applies to ([`Level`] + subject = [`LimitKey`]).
//! - [`rate`]: [`RateLimit`], [`RateDecision`], the [`RateLimiter`] trait and
//!   multi-level [`check_all`]; the exact GCRA guarantee is documented there.
//! - [`memory`]: [`InMemoryRateLimiter`], sharded GCRA state per key.
//! - [`headers`]: `RateLimit-Policy`, `RateLimit` and `Retry-After` fields.
//! - [`period`] and [`quota`]: calendar [`Period`]s, [`Quota`], [`QuotaDecision`]
//!   and the persisted [`QuotaUsage`] row.
//! - [`quota_counter`]: [`QuotaCounter`], in-memory counts with dirty-row
//!   snapshots so a restart does not reset quotas.
//! - [`meter`] and [`meter_ledger`]: the AI metering ledger ([`Meter`],
//!   [`MeterLedger`]): USD budgets and tokens per minute, reserved at
//!   admission and settled with the real amounts.
//!
//! Both limiters are traits ([`RateLimiter`], [`QuotaLimiter`]) so a
//! cluster can count in Redis. A refused request never consumes capacity,
//! at any level: see [`RateLimiter::check_all`] and
//! [`QuotaLimiter::try_consume_all`].

pub mod clock;
mod gcra;
pub mod headers;
pub mod key;
pub mod memory;
pub mod meter;
pub mod meter_ledger;
pub mod period;
pub mod quota;
pub mod quota_counter;
pub mod rate;
mod shards;

pub use clock::{Clock, ManualClock, SystemClock};
pub use key::{Level, LimitKey, UnknownLevel};
pub use memory::InMemoryRateLimiter;
pub use meter::{Amounts, Measure, Meter, MeterCheck, MeterLimit, MeterRefusal, MeterUsage, Reservation};
pub use meter_ledger::MeterLedger;
pub use period::Period;
pub use quota::{Quota, QuotaDecision, QuotaKey, QuotaLimiter, QuotaRefusal, QuotaUsage};
pub use quota_counter::QuotaCounter;
pub use rate::{check_all, RateDecision, RateLimit, RateLimiter, RateRefusal};
