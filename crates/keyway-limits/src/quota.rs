//! Period quotas: the quota, the decision, and the persisted usage row.

use crate::key::{Level, LimitKey};
use crate::period::Period;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The subject of a quota: a level and its subject id, as for rate limits.
pub type QuotaKey = LimitKey;

/// At most `requests` per calendar `period` (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Quota {
    /// Requests allowed per period.
    pub requests: u64,
    /// The calendar period the count resets on.
    pub period: Period,
}

/// The outcome of one quota check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaDecision {
    /// Whether the request is admitted (and was counted).
    pub allowed: bool,
    /// Requests counted in the current period, this one included if
    /// admitted.
    pub used: u64,
    /// The quota checked against.
    pub limit: Quota,
    /// When the current period ends and the count restarts at 0: the
    /// reset time of `quota_exceeded`.
    pub resets_at: DateTime<Utc>,
}

/// A multi-level quota check was refused at one level; nothing was counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaRefusal {
    /// Index, in the checked slice, of the level that refused.
    pub index: usize,
    /// The subject that refused.
    pub key: QuotaKey,
    /// That level's decision (`allowed == false`).
    pub decision: QuotaDecision,
}

/// One persisted quota counter: how many requests `subject` at `level`
/// made in the `period` starting at `period_start`.
///
/// Rows come out of [`crate::QuotaCounter::snapshot_dirty`] and go back in
/// through [`crate::QuotaCounter::load`]. A store keeps one row per
/// `(level, subject, period, period_start)` and upserts `used` (taking the
/// larger value is safe: counts only grow within a period). Rows of past
/// periods are history; only the current period's rows need loading.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QuotaUsage {
    /// Level of the subject (`key`, `app`, `tenant`, `api`).
    pub level: Level,
    /// The subject's id at that level.
    pub subject: String,
    /// Day or month.
    pub period: Period,
    /// Start of the period (UTC midnight; the 1st for a month).
    pub period_start: DateTime<Utc>,
    /// Requests counted in that period.
    pub used: u64,
}

/// Period quota counters. Implementations: [`crate::QuotaCounter`] (in
/// memory, persisted by the gateway through [`take_dirty`](Self::take_dirty)
/// and [`load_usage`](Self::load_usage)) now; a shared store (Redis) for a
/// cluster, where every node counts against the same numbers.
pub trait QuotaLimiter: Send + Sync {
    /// Counts one request against `quota` for `subject` at `now`, if the
    /// quota is not used up. A refused request is not counted.
    fn try_consume(&self, subject: &QuotaKey, quota: Quota, now: DateTime<Utc>) -> QuotaDecision;

    /// What [`try_consume`](Self::try_consume) would decide, without counting.
    fn peek(&self, subject: &QuotaKey, quota: Quota, now: DateTime<Utc>) -> QuotaDecision;

    /// Gives back one request counted by [`try_consume`](Self::try_consume)
    /// in the period containing `now`.
    fn refund(&self, subject: &QuotaKey, quota: Quota, now: DateTime<Utc>);

    /// The counts changed since the last call, marked clean: to persist.
    fn take_dirty(&self) -> Vec<QuotaUsage>;

    /// Seeds counts (from storage at start-up, or back after a failed
    /// persist): the newer period wins, and within one the larger count.
    fn load_usage(&self, rows: Vec<QuotaUsage>);

    /// Counts one request against several levels' quotas: all count it, or
    /// the first refusing level is reported and none counts it. Same
    /// check-then-commit scheme as [`crate::RateLimiter::check_all`]: peek
    /// all, then consume each, refunding on a lost race.
    fn try_consume_all(&self, checks: &[(QuotaKey, Quota)], now: DateTime<Utc>) -> Result<Vec<QuotaDecision>, QuotaRefusal> {
        for (index, (key, quota)) in checks.iter().enumerate() {
            let decision = self.peek(key, *quota, now);
            if !decision.allowed {
                return Err(QuotaRefusal { index, key: key.clone(), decision });
            }
        }
        let mut decisions = Vec::with_capacity(checks.len());
        for (index, (key, quota)) in checks.iter().enumerate() {
            let decision = self.try_consume(key, *quota, now);
            if !decision.allowed {
                for (key, quota) in &checks[..index] {
                    self.refund(key, *quota, now);
                }
                return Err(QuotaRefusal { index, key: key.clone(), decision });
            }
            decisions.push(decision);
        }
        Ok(decisions)
    }
}
