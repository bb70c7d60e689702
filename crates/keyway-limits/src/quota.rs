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
