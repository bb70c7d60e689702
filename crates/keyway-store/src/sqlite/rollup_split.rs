//! Splitting one rollup read into reads of consecutive bucket ranges (so
//! they can run on several connections at once), and putting their
//! answers back together as the one read would have answered.
//!
//! A merged read folds rows per bucket of the merge's step. When every
//! part boundary is a whole step from the epoch, no merged bucket spans
//! two parts and the answers only need concatenating. When the range
//! holds too few steps for that (a ranking merges everything into one
//! bucket), the parts split at whole buckets of the level instead, and
//! rows of the same merged bucket and group from different parts are
//! merged.

use keyway_core::rollup::{RollupKey, RollupQuery, RollupRow};
use std::collections::HashMap;

/// A read split into parts, oldest range first.
#[derive(Debug)]
pub(crate) struct Split {
    /// The reads, each over its own bucket range, together covering the
    /// original one.
    pub parts: Vec<RollupQuery>,
    /// Whether a merged bucket may span parts, so rows of different
    /// parts must be merged (see [`join`]).
    pub straddles: bool,
}

/// `x` rounded up to a multiple of `unit` (from the epoch).
fn align_up(x: i64, unit: i64) -> i64 {
    x.saturating_add((unit - x.rem_euclid(unit)) % unit)
}

/// `q` split into at most `n` parts of about equal bucket ranges, each
/// starting at a whole bucket of its level (and of the merge's step when
/// the range holds at least `n` of them). One part when `n` is 1 or the
/// range holds a single bucket.
pub(crate) fn split(q: &RollupQuery, n: usize) -> Split {
    let level = q.level.seconds();
    let span = q.until.saturating_sub(q.since);
    let step = q.merge.map(|m| m.step);
    let wide = |unit: i64| i64::try_from(n).is_ok_and(|n| span / unit >= n);
    let (unit, straddles) = match step {
        Some(s) if s > 0 && s % level == 0 && wide(s) => (s, false),
        Some(_) => (level, true),
        None => (level, false),
    };
    let mut bounds = vec![q.since];
    let parts = i64::try_from(n.max(1)).unwrap_or(1);
    for k in 1..parts {
        let b = align_up(q.since.saturating_add(span / parts * k), unit);
        if b > *bounds.last().unwrap_or(&q.since) && b < q.until {
            bounds.push(b);
        }
    }
    bounds.push(q.until);
    let parts: Vec<RollupQuery> = bounds.windows(2).map(|w| RollupQuery { since: w[0], until: w[1], ..q.clone() }).collect();
    Split { straddles: straddles && parts.len() > 1, parts }
}

/// The parts' answers, in part order, as one answer: concatenated, and
/// when `straddles`, rows with the same key (merged bucket and group)
/// merged into the first of them, which keeps the order oldest first.
pub(crate) fn join(answers: Vec<Vec<RollupRow>>, straddles: bool) -> Vec<RollupRow> {
    let total = answers.iter().map(Vec::len).sum();
    let mut out: Vec<RollupRow> = Vec::with_capacity(total);
    if !straddles {
        answers.into_iter().for_each(|a| out.extend(a));
        return out;
    }
    let mut seen: HashMap<RollupKey, usize> = HashMap::new();
    for row in answers.into_iter().flatten() {
        match seen.get(&row.key) {
            Some(&i) => out[i].value.merge(&row.value),
            None => {
                seen.insert(row.key.clone(), out.len());
                out.push(row);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyway_core::rollup::{Grain, Level, Merge, RollupValue};

    fn q(level: Level, since: i64, until: i64, step: Option<i64>) -> RollupQuery {
        RollupQuery {
            grain: Grain::Key,
            level,
            since,
            until,
            tenant_id: None,
            api_id: None,
            app_id: None,
            key_id: Some("key_1".into()),
            code: None,
            sketches: true,
            merge: step.map(|step| Merge { step, by: None }),
        }
    }

    fn ranges(s: &Split) -> Vec<(i64, i64)> {
        s.parts.iter().map(|p| (p.since, p.until)).collect()
    }

    #[test]
    fn parts_cover_the_range_at_whole_steps_and_keep_the_filters() {
        let h = 3600;
        // A week of hours in 2-hour steps: four parts at whole steps.
        let s = split(&q(Level::Hour, 0, 168 * h, Some(2 * h)), 4);
        assert_eq!(ranges(&s), vec![(0, 42 * h), (42 * h, 84 * h), (84 * h, 126 * h), (126 * h, 168 * h)]);
        assert!(!s.straddles);
        assert!(s.parts.iter().all(|p| p.key_id.as_deref() == Some("key_1") && p.sketches && p.level == Level::Hour));
        // Odd bounds: parts still start at whole steps, none empty.
        let s = split(&q(Level::Hour, 5 * h, 15 * h, Some(3 * h)), 3);
        assert_eq!(ranges(&s), vec![(5 * h, 9 * h), (9 * h, 12 * h), (12 * h, 15 * h)]);
        assert!(!s.straddles);
        // Fewer steps than parts: whole hours, and rows may straddle.
        let s = split(&q(Level::Hour, 5 * h, 15 * h, Some(3 * h)), 4);
        assert_eq!(ranges(&s), vec![(5 * h, 8 * h), (8 * h, 10 * h), (10 * h, 13 * h), (13 * h, 15 * h)]);
        assert!(s.straddles);
        // Unmerged: whole buckets of the level.
        let s = split(&q(Level::Minute, 0, 600, None), 4);
        assert_eq!(ranges(&s), vec![(0, 180), (180, 300), (300, 480), (480, 600)]);
        assert!(!s.straddles);
    }

    #[test]
    fn a_range_of_few_steps_splits_at_buckets_and_says_rows_straddle() {
        let d = 86_400;
        let s = split(&q(Level::Day, 3 * d, 32 * d, Some(i64::MAX)), 4);
        assert!(s.straddles);
        assert_eq!(s.parts.first().map(|p| p.since), Some(3 * d));
        assert_eq!(s.parts.last().map(|p| p.until), Some(32 * d));
        assert!(s.parts.windows(2).all(|w| w[0].until == w[1].since && w[1].since % d == 0));
        assert_eq!(s.parts.len(), 4);
        // One bucket, or one connection: not split.
        assert_eq!(ranges(&split(&q(Level::Day, 0, d, Some(i64::MAX)), 4)), vec![(0, d)]);
        assert!(!split(&q(Level::Day, 0, d, Some(i64::MAX)), 4).straddles);
        assert_eq!(ranges(&split(&q(Level::Hour, 0, 9 * 3600, Some(3600)), 1)), vec![(0, 9 * 3600)]);
    }

    fn row(bucket: i64, group: &str, requests: u64) -> RollupRow {
        RollupRow {
            grain: Grain::Key,
            level: Level::Day,
            key: RollupKey { bucket, app_id: group.into(), ..RollupKey::default() },
            value: RollupValue { requests, ..RollupValue::default() },
        }
    }

    #[test]
    fn joining_concatenates_or_merges_rows_of_the_same_bucket_and_group() {
        let answers = vec![vec![row(0, "a", 1), row(0, "b", 2)], vec![row(0, "a", 3)], vec![row(86_400, "a", 4)]];
        let concatenated = join(answers.clone(), false);
        assert_eq!(concatenated.iter().map(|r| r.value.requests).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
        let merged = join(answers, true);
        let got: Vec<(i64, &str, u64)> = merged.iter().map(|r| (r.key.bucket, r.key.app_id.as_str(), r.value.requests)).collect();
        assert_eq!(got, vec![(0, "a", 4), (0, "b", 2), (86_400, "a", 4)]);
    }
}
