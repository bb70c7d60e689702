//! Analytics over rollups, without I/O: which rollup levels cover a time
//! range, and series and rankings merged from rollup rows. Counts add;
//! percentiles come from merged sketches, never from averages.

pub use keyway_core::rollup::Dimension;
use keyway_core::rollup::{Level, RollupKey, RollupRow, RollupValue};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// What is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Calls.
    Requests,
    /// Calls refused by Keyway or answered 5xx.
    Errors,
    /// Median total latency, ms.
    LatencyP50,
    /// 95th percentile of total latency, ms.
    LatencyP95,
    /// 99th percentile of total latency, ms.
    LatencyP99,
    /// AI tokens, prompt and completion.
    Tokens,
    /// AI cost, USD.
    Cost,
}

impl Metric {
    /// Every metric's name, as the query string spells it.
    pub const NAMES: &'static [&'static str] =
        &["requests", "errors", "latency_p50", "latency_p95", "latency_p99", "tokens", "cost"];

    /// The metric named `s`.
    pub fn parse(s: &str) -> Option<Metric> {
        Some(match s {
            "requests" => Metric::Requests,
            "errors" => Metric::Errors,
            "latency_p50" => Metric::LatencyP50,
            "latency_p95" => Metric::LatencyP95,
            "latency_p99" => Metric::LatencyP99,
            "tokens" => Metric::Tokens,
            "cost" => Metric::Cost,
            _ => return None,
        })
    }

    /// Whether reading it needs the latency sketches.
    pub fn needs_sketches(self) -> bool {
        matches!(self, Metric::LatencyP50 | Metric::LatencyP95 | Metric::LatencyP99)
    }

    /// Its value over `v`, for sorting and for the answer; `None` for a
    /// percentile of no calls.
    fn of(self, v: &RollupValue) -> Option<(f64, Value)> {
        let count = |n: u64| Some((n as f64, Value::from(n)));
        let pct = |q: f64| v.latency.quantile(q).map(|x| (x, Value::from(round(x))));
        match self {
            Metric::Requests => count(v.requests),
            Metric::Errors => count(v.errors),
            Metric::Tokens => count(v.prompt_tokens.saturating_add(v.completion_tokens)),
            Metric::Cost => Some((v.cost_usd, Value::from(v.cost_usd))),
            Metric::LatencyP50 => pct(0.5),
            Metric::LatencyP95 => pct(0.95),
            Metric::LatencyP99 => pct(0.99),
        }
    }
}

/// Three decimals (µs): the sketch is accurate to 1% anyway.
fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The coarsest level whose buckets tile buckets of `step` seconds.
pub fn level_for_step(step: i64) -> Level {
    *Level::ALL.iter().rev().find(|l| step % l.seconds() == 0).unwrap_or(&Level::Minute)
}

/// `[since, until)` (unix seconds, whole minutes) as the fewest rollup
/// ranges: whole days, then whole hours, then minutes at the edges.
pub fn cover(since: i64, until: i64) -> Vec<(Level, i64, i64)> {
    fn split(level_i: usize, lo: i64, hi: i64, out: &mut Vec<(Level, i64, i64)>) {
        if lo >= hi {
            return;
        }
        let level = Level::ALL[level_i];
        if level_i == 0 {
            out.push((level, lo, hi));
            return;
        }
        let s = level.seconds();
        let (a, b) = (lo + (s - lo.rem_euclid(s)) % s, hi - hi.rem_euclid(s));
        if a >= b {
            split(level_i - 1, lo, hi, out);
            return;
        }
        split(level_i - 1, lo, a, out);
        out.push((level, a, b));
        split(level_i - 1, b, hi, out);
    }
    let mut out = Vec::new();
    split(Level::ALL.len() - 1, since, until, &mut out);
    out
}

/// One point of a series.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    /// Start of the bucket.
    pub time: String,
    /// The group, `null` when not grouped or when the calls had none.
    pub group: Option<String>,
    /// The metric's value.
    pub value: Value,
}

/// One row of a ranking.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ranked {
    /// The group, `null` for calls that had none (e.g. no key).
    pub group: Option<String>,
    /// The metric's value.
    pub value: Value,
}

fn group_of(by: Option<Dimension>, k: &RollupKey) -> Option<String> {
    by.map(|d| d.of(k)).filter(|g| !g.is_empty()).map(str::to_owned)
}

/// The series of `metric` per bucket of `step` seconds (from the epoch)
/// and group, oldest first, groups in order; buckets without calls are
/// left out. Rows are sorted, not hashed, into their points: tens of
/// thousands of points cost no allocation per row.
pub fn timeseries(rows: &[RollupRow], step: i64, by: Option<Dimension>, metric: Metric) -> Vec<Point> {
    let mut sorted: Vec<(i64, &str, &RollupValue)> =
        rows.iter().map(|r| (r.key.bucket - r.key.bucket.rem_euclid(step), by.map_or("", |d| d.of(&r.key)), &r.value)).collect();
    sorted.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let mut points = Vec::with_capacity(sorted.len());
    // Points come bucket by bucket: each bucket's time is formatted once.
    let mut time: Option<(i64, String)> = None;
    for run in sorted.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
        let (bucket, group, first) = run[0];
        let merged;
        let v = if run.len() == 1 {
            first
        } else {
            let mut m = RollupValue::default();
            run.iter().for_each(|(_, _, v)| m.merge(v));
            merged = m;
            &merged
        };
        let Some((_, value)) = metric.of(v) else {
            continue;
        };
        if time.as_ref().is_none_or(|(b, _)| *b != bucket) {
            let Some(t) = chrono::DateTime::from_timestamp(bucket, 0) else {
                continue;
            };
            time = Some((bucket, keyway_core::fmt_time(&t)));
        }
        let time = time.as_ref().map(|(_, t)| t.clone()).unwrap_or_default();
        points.push(Point { time, group: (!group.is_empty()).then(|| group.to_owned()), value });
    }
    points
}

/// The `limit` groups of `dimension` with the largest `metric`, largest
/// first (ties: by group).
pub fn top(rows: &[RollupRow], dimension: Dimension, metric: Metric, limit: usize) -> Vec<Ranked> {
    let mut merged: HashMap<Option<String>, RollupValue> = HashMap::new();
    for r in rows {
        merged.entry(group_of(Some(dimension), &r.key)).or_default().merge(&r.value);
    }
    let mut ranked: Vec<(f64, Ranked)> =
        merged.into_iter().filter_map(|(group, v)| metric.of(&v).map(|(sort, value)| (sort, Ranked { group, value }))).collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.group.cmp(&b.1.group)));
    ranked.into_iter().take(limit).map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cover_uses_whole_days_and_hours_inside_the_range() {
        let d = 86_400;
        assert_eq!(cover(0, 2 * d), vec![(Level::Day, 0, 2 * d)]);
        assert_eq!(
            cover(d - 120, 2 * d + 3660),
            vec![
                (Level::Minute, d - 120, d),
                (Level::Day, d, 2 * d),
                (Level::Hour, 2 * d, 2 * d + 3600),
                (Level::Minute, 2 * d + 3600, 2 * d + 3660)
            ]
        );
        assert_eq!(cover(60, 180), vec![(Level::Minute, 60, 180)]);
        assert!(cover(60, 60).is_empty());
    }

    #[test]
    fn steps_read_the_coarsest_level_that_tiles_them() {
        assert_eq!(level_for_step(60), Level::Minute);
        assert_eq!(level_for_step(300), Level::Minute);
        assert_eq!(level_for_step(7200), Level::Hour);
        assert_eq!(level_for_step(86_400 * 7), Level::Day);
    }
}
