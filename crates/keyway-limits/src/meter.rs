//! The AI metering ledger: spend budgets (USD per day or month) and
//! tokens-per-minute limits, at the key, app and tenant levels.
//!
//! One ledger drives enforcement and what is recorded: admission
//! [`reserve`](Meter::reserve)s an estimate at every level (refused, it
//! holds nothing anywhere); completion [`settle`](Meter::settle)s the real
//! amount in place of the estimate. A [`Reservation`] is settled once: it
//! is consumed by value, so a settlement cannot be counted twice.
//!
//! Amounts are integers: spend in micro-USD, tokens as counted. A level is
//! refused when what it already used plus what is held for calls in
//! flight plus this call's estimate would pass its limit; a call whose
//! estimate alone is larger than a token limit is still admitted when the
//! minute is otherwise unused (else it could never be served).

use crate::key::LimitKey;
use crate::period::Period;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// A metered limit of one level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MeterLimit {
    /// At most this many micro-USD per calendar period (UTC).
    Budget {
        /// The budget, in micro-USD.
        micro_usd: u64,
        /// The period it resets on.
        period: Period,
    },
    /// At most this many tokens per clock minute (UTC).
    TokensPerMinute(u64),
}

/// What a meter counts, as persisted: `usd_day`, `usd_month` or
/// `tokens_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Measure {
    /// Micro-USD spent in a UTC day.
    UsdDay,
    /// Micro-USD spent in a UTC month.
    UsdMonth,
    /// Tokens used in a UTC minute.
    TokensMinute,
}

impl Measure {
    /// The persisted name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UsdDay => "usd_day",
            Self::UsdMonth => "usd_month",
            Self::TokensMinute => "tokens_minute",
        }
    }

    /// The measure named `s`, if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "usd_day" => Self::UsdDay,
            "usd_month" => Self::UsdMonth,
            "tokens_minute" => Self::TokensMinute,
            _ => return None,
        })
    }

    /// Start of the window containing `now`.
    pub fn window_start(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::UsdDay => Period::Day.start(now),
            Self::UsdMonth => Period::Month.start(now),
            Self::TokensMinute => now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now),
        }
    }

    /// Start of the next window: when the count restarts at 0.
    pub fn next_window(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::UsdDay => Period::Day.next_start(now),
            Self::UsdMonth => Period::Month.next_start(now),
            Self::TokensMinute => self.window_start(now) + TimeDelta::minutes(1),
        }
    }
}

impl MeterLimit {
    /// What the limit counts.
    pub fn measure(self) -> Measure {
        match self {
            Self::Budget { period: Period::Day, .. } => Measure::UsdDay,
            Self::Budget { period: Period::Month, .. } => Measure::UsdMonth,
            Self::TokensPerMinute(_) => Measure::TokensMinute,
        }
    }

    /// The limit's amount (micro-USD or tokens).
    pub fn amount(self) -> u64 {
        match self {
            Self::Budget { micro_usd, .. } => micro_usd,
            Self::TokensPerMinute(n) => n,
        }
    }
}

/// Amounts of one call: what admission estimates, what completion settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Amounts {
    /// Cost in micro-USD.
    pub micro_usd: u64,
    /// Tokens, prompt and completion.
    pub tokens: u64,
}

impl Amounts {
    /// The amount `measure` counts.
    pub fn of(self, measure: Measure) -> u64 {
        match measure {
            Measure::UsdDay | Measure::UsdMonth => self.micro_usd,
            Measure::TokensMinute => self.tokens,
        }
    }
}

/// One level's limit checked at admission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterCheck {
    /// The subject.
    pub key: LimitKey,
    /// Its limit.
    pub limit: MeterLimit,
}

/// A level refused the call; nothing was held anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterRefusal {
    /// The level and subject that refused.
    pub key: LimitKey,
    /// Its limit.
    pub limit: MeterLimit,
    /// What it used in the current window (settled calls only).
    pub used: u64,
    /// What calls in flight hold.
    pub held: u64,
    /// When the window restarts.
    pub resets_at: DateTime<Utc>,
}

/// One amount held at one level for a call in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The subject.
    pub key: LimitKey,
    /// What is counted.
    pub measure: Measure,
    /// The window the amount is held in.
    pub window_start: DateTime<Utc>,
    /// The amount held.
    pub amount: u64,
}

/// What admission held for one call. Settled once, by value.
#[derive(Debug, Default, PartialEq, Eq)]
#[must_use = "a reservation holds capacity until it is settled"]
pub struct Reservation {
    /// The holds, one per level checked.
    pub holds: Vec<Hold>,
}

/// One persisted meter count: what `key` used of `measure` in the window
/// starting at `window_start`. Counts only grow within a window, so a
/// store may keep the larger of two values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterUsage {
    /// The subject.
    pub key: LimitKey,
    /// What is counted.
    pub measure: Measure,
    /// Start of the window.
    pub window_start: DateTime<Utc>,
    /// Settled amount in that window.
    pub used: u64,
}

/// The metering ledger. Implementations: [`crate::MeterLedger`] (in
/// memory, persisted by the gateway through [`take_dirty`](Self::take_dirty)
/// and [`load_usage`](Self::load_usage)); a shared store (Redis) for a
/// cluster, where every node counts against the same numbers.
pub trait Meter: Send + Sync {
    /// Holds `estimate` at every level of `checks`, or refuses at the
    /// first level it would pass and holds nothing.
    fn reserve(&self, checks: &[MeterCheck], estimate: Amounts, now: DateTime<Utc>) -> Result<Reservation, MeterRefusal>;

    /// Replaces a reservation's holds with the real amounts used. Settling
    /// with [`Amounts::default`] releases it (the call failed).
    fn settle(&self, reservation: Reservation, actual: Amounts, now: DateTime<Utc>);

    /// What [`reserve`](Self::reserve) would see at `key` for `limit`:
    /// (used, held) in the current window.
    fn usage(&self, key: &LimitKey, limit: MeterLimit, now: DateTime<Utc>) -> (u64, u64);

    /// The counts changed since the last call, marked clean: to persist.
    fn take_dirty(&self) -> Vec<MeterUsage>;

    /// Seeds counts (from storage at start-up, or back after a failed
    /// persist): the newer window wins, and within one the larger count.
    fn load_usage(&self, rows: Vec<MeterUsage>);
}
