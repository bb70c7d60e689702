//! Rollups of the call log: counts, tokens, cost and latency sketches per
//! bucket (minute, hour, day) and per tenant, API, app, key, status class
//! and code, in three grains (see [`Grain`]: every dimension, per key, per
//! API and code). Every field merges by addition, so buckets of
//! many minutes, groups, grains or nodes merge exactly (latency within the
//! sketch's error).

mod grain;

pub use grain::{Dimension, Grain};

use crate::records::CallLogRow;
use crate::sketch::Sketch;

/// The code of an accepted call in rollups and analytics.
pub const OK: &str = "ok";

/// The granularity of a rollup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// One minute.
    Minute,
    /// One hour, built from minutes.
    Hour,
    /// One UTC day, built from minutes.
    Day,
}

impl Level {
    /// Every level, finest first.
    pub const ALL: [Level; 3] = [Level::Minute, Level::Hour, Level::Day];

    /// Length of a bucket in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            Level::Minute => 60,
            Level::Hour => 3600,
            Level::Day => 86_400,
        }
    }

    /// Start (unix seconds) of the bucket holding `secs`.
    pub fn bucket(self, secs: i64) -> i64 {
        secs - secs.rem_euclid(self.seconds())
    }

    /// The stored number of the level (0, 1, 2).
    pub fn index(self) -> i64 {
        match self {
            Level::Minute => 0,
            Level::Hour => 1,
            Level::Day => 2,
        }
    }

    /// The level stored as `n`.
    pub fn from_index(n: i64) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.index() == n)
    }
}

/// What one rollup row counts: a bucket and the call's dimensions (empty
/// text for one the call did not reach).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RollupKey {
    /// Start of the bucket, unix seconds.
    pub bucket: i64,
    /// Tenant id, or empty.
    pub tenant_id: String,
    /// API id, or empty.
    pub api_id: String,
    /// App id, or empty.
    pub app_id: String,
    /// Key id, or empty.
    pub key_id: String,
    /// The status divided by 100 (2 for 2xx, ...).
    pub status_class: u16,
    /// The refusal code, or [`OK`] for an accepted call.
    pub code: String,
}

impl RollupKey {
    /// The minute key of `row`.
    pub fn minute_of(row: &CallLogRow) -> RollupKey {
        RollupKey {
            bucket: Level::Minute.bucket(row.time.timestamp()),
            tenant_id: row.tenant_id.as_ref().map(|v| v.as_str().to_owned()).unwrap_or_default(),
            api_id: row.api_id.as_ref().map(|v| v.as_str().to_owned()).unwrap_or_default(),
            app_id: row.app_id.as_ref().map(|v| v.as_str().to_owned()).unwrap_or_default(),
            key_id: row.key_id.as_ref().map(|v| v.as_str().to_owned()).unwrap_or_default(),
            status_class: row.status / 100,
            code: row.code.map_or(OK, |c| c.as_str()).to_owned(),
        }
    }

    /// The same dimensions in the `level` bucket holding this one.
    pub fn at(&self, level: Level) -> RollupKey {
        RollupKey { bucket: level.bucket(self.bucket), ..self.clone() }
    }
}

/// What a rollup row holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RollupValue {
    /// Calls.
    pub requests: u64,
    /// Calls refused by Keyway, or answered 5xx.
    pub errors: u64,
    /// AI prompt tokens.
    pub prompt_tokens: u64,
    /// AI completion tokens.
    pub completion_tokens: u64,
    /// AI cost in USD.
    pub cost_usd: f64,
    /// Total latency in the gateway, ms.
    pub latency: Sketch,
    /// Upstream latency, ms, of calls that reached it.
    pub upstream_latency: Sketch,
}

impl RollupValue {
    /// Counts one call.
    pub fn add(&mut self, row: &CallLogRow) {
        self.requests += 1;
        if is_error(row) {
            self.errors += 1;
        }
        self.prompt_tokens = self.prompt_tokens.saturating_add(row.prompt_tokens.unwrap_or(0));
        self.completion_tokens = self.completion_tokens.saturating_add(row.completion_tokens.unwrap_or(0));
        self.cost_usd += row.cost_usd.filter(|c| c.is_finite()).unwrap_or(0.0);
        self.latency.add(row.latency_ms);
        if let Some(u) = row.upstream_latency_ms {
            self.upstream_latency.add(u);
        }
    }

    /// Adds `other` into this one.
    pub fn merge(&mut self, other: &RollupValue) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self.completion_tokens.saturating_add(other.completion_tokens);
        self.cost_usd += other.cost_usd;
        self.latency.merge(&other.latency);
        self.upstream_latency.merge(&other.upstream_latency);
    }
}

/// Whether a call counts as an error: refused by Keyway (any code), or
/// answered with a 5xx status.
pub fn is_error(row: &CallLogRow) -> bool {
    row.code.is_some() || row.status >= 500
}

/// One stored rollup.
#[derive(Clone, Debug, PartialEq)]
pub struct RollupRow {
    /// The dimensions it keeps (the others are empty in `key`).
    pub grain: Grain,
    /// Its granularity.
    pub level: Level,
    /// Bucket and dimensions.
    pub key: RollupKey,
    /// Counts.
    pub value: RollupValue,
}

/// Which rollups to read: one grain and level, buckets starting in
/// `[since, until)` (unix seconds), dimensions equal to those given.
#[derive(Clone, Debug, PartialEq)]
pub struct RollupQuery {
    /// The grain read: it must keep every dimension filtered on.
    pub grain: Grain,
    /// The level read.
    pub level: Level,
    /// First bucket start included.
    pub since: i64,
    /// First bucket start excluded.
    pub until: i64,
    /// Only this tenant.
    pub tenant_id: Option<String>,
    /// Only this API.
    pub api_id: Option<String>,
    /// Only this app.
    pub app_id: Option<String>,
    /// Only this key.
    pub key_id: Option<String>,
    /// Only this code ([`OK`] for accepted calls).
    pub code: Option<String>,
    /// Whether the latency sketches are needed (reading them costs).
    pub sketches: bool,
    /// Whether the reader may merge rows the caller will merge anyway.
    pub merge: Option<Merge>,
}

/// Rows a caller merges anyway, which the store may merge first (fewer
/// rows to hand over): those in the same bucket of `step` seconds (from
/// the epoch) with the same value of `by`. A merged row has the step's
/// bucket, that value, and every other dimension empty (status class 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Merge {
    /// Length of the merged buckets, seconds (`i64::MAX`: one for all).
    pub step: i64,
    /// The dimension kept, `None` for none.
    pub by: Option<Dimension>,
}

impl Merge {
    /// The merged bucket holding `bucket`.
    pub fn bucket(self, bucket: i64) -> i64 {
        bucket - bucket.rem_euclid(self.step)
    }
}

impl RollupQuery {
    /// Whether `key` is one this query reads.
    pub fn matches(&self, key: &RollupKey) -> bool {
        let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        key.bucket >= self.since
            && key.bucket < self.until
            && eq(&self.tenant_id, &key.tenant_id)
            && eq(&self.api_id, &key.api_id)
            && eq(&self.app_id, &key.app_id)
            && eq(&self.key_id, &key.key_id)
            && eq(&self.code, &key.code)
    }
}
