//! [`QuotaCounter`]: period quota counts in this process, with dirty-row
//! snapshots for persistence.

use crate::key::LimitKey;
use crate::period::Period;
use crate::quota::{Quota, QuotaDecision, QuotaKey, QuotaLimiter, QuotaUsage};
use crate::shards::{Shard, Sharded};
use chrono::{DateTime, Utc};
use std::sync::{Mutex, PoisonError};

/// The count of one subject in one period.
#[derive(Debug, Clone, Copy)]
struct Count {
    start: DateTime<Utc>,
    used: u64,
    /// Changed since the last [`QuotaCounter::snapshot_dirty`].
    dirty: bool,
}

/// A subject's counts: at most one (the current) per period kind.
#[derive(Debug, Default, Clone, Copy)]
struct Slots {
    day: Option<Count>,
    month: Option<Count>,
}

impl Slots {
    fn get(&self, period: Period) -> Option<Count> {
        match period {
            Period::Day => self.day,
            Period::Month => self.month,
        }
    }

    fn get_mut(&mut self, period: Period) -> &mut Option<Count> {
        match period {
            Period::Day => &mut self.day,
            Period::Month => &mut self.month,
        }
    }
}

/// Period quota counters keyed by (subject, period start), in memory.
///
/// Only the current period of each subject is held: when a request arrives
/// in a new period, the old count is dropped (and, if not yet
/// snapshotted, handed to the next [`snapshot_dirty`](Self::snapshot_dirty)).
/// Subjects that stop calling are dropped by amortized sweeps and by
/// [`evict_stale`](Self::evict_stale).
///
/// To survive restarts, the owner periodically writes
/// [`snapshot_dirty`](Self::snapshot_dirty) to storage and, at start-up,
/// seeds the counter with [`load`](Self::load).
#[derive(Debug)]
pub struct QuotaCounter {
    shards: Sharded<Shard<Slots>>,
    /// Unsaved counts of periods that have ended.
    pending: Mutex<Vec<QuotaUsage>>,
}

impl Default for QuotaCounter {
    fn default() -> Self {
        Self::new()
    }
}

/// What to do with the count while evaluating a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Peek,
    Commit,
}

impl QuotaCounter {
    /// An empty counter.
    pub fn new() -> Self {
        Self { shards: Sharded::new(), pending: Mutex::new(Vec::new()) }
    }

    /// Counts one request against `quota` for `subject` at `now`, if the
    /// quota is not used up. A refused request is not counted.
    pub fn try_consume(&self, subject: &QuotaKey, quota: Quota, now: DateTime<Utc>) -> QuotaDecision {
        self.evaluate(subject, quota, now, Mode::Commit)
    }

    /// What [`try_consume`](Self::try_consume) would decide, without counting.
    pub fn peek(&self, subject: &QuotaKey, quota: Quota, now: DateTime<Utc>) -> QuotaDecision {
        self.evaluate(subject, quota, now, Mode::Peek)
    }

    /// Gives back one request counted by [`try_consume`](Self::try_consume)
    /// in the period containing `now`.
    pub fn refund(&self, subject: &QuotaKey, quota: Quota, now: DateTime<Utc>) {
        let start = quota.period.start(now);
        let mut shard = self.shards.lock(subject);
        if let Some(count) = shard.map.get_mut(subject).and_then(|slots| slots.get_mut(quota.period).as_mut()) {
            if count.start == start && count.used > 0 {
                count.used -= 1;
                count.dirty = true;
            }
        }
    }

    /// The rows changed since the last call (including final counts of
    /// periods that ended meanwhile), marking them clean. Write them to
    /// storage; if that fails, [`load`](Self::load) them back to retry.
    pub fn snapshot_dirty(&self) -> Vec<QuotaUsage> {
        let mut rows = std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        self.shards.for_each(|shard| {
            for (key, slots) in &mut shard.map {
                for (period, slot) in [(Period::Day, &mut slots.day), (Period::Month, &mut slots.month)] {
                    if let Some(count) = slot.as_mut().filter(|c| c.dirty) {
                        count.dirty = false;
                        rows.push(usage(key, period, count));
                    }
                }
            }
        });
        rows
    }

    /// Seeds counts, typically at start-up from storage. For each row, the
    /// newer period wins; within the same period, the larger count wins.
    /// Loaded counts are clean (not returned by the next snapshot) unless
    /// the counter already held a larger, unsaved one.
    pub fn load(&self, rows: impl IntoIterator<Item = QuotaUsage>) {
        for row in rows {
            let key = LimitKey { level: row.level, subject: row.subject };
            let mut shard = self.shards.lock(&key);
            let slot = shard.map.entry(key).or_default().get_mut(row.period);
            match slot {
                Some(count) if count.start > row.period_start => {}
                Some(count) if count.start == row.period_start => count.used = count.used.max(row.used),
                _ => *slot = Some(Count { start: row.period_start, used: row.used, dirty: false }),
            }
        }
    }

    /// Drops counts of periods that ended before `now` (unsaved ones are
    /// kept for the next snapshot); returns how many subjects were dropped.
    pub fn evict_stale(&self, now: DateTime<Utc>) -> usize {
        let mut dropped = 0;
        self.shards.for_each(|shard| dropped += self.sweep(shard, now));
        dropped
    }

    /// Number of subjects currently held.
    pub fn len(&self) -> usize {
        let mut len = 0;
        self.shards.for_each(|shard| len += shard.map.len());
        len
    }

    /// Whether no subject is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn evaluate(&self, subject: &QuotaKey, quota: Quota, now: DateTime<Utc>, mode: Mode) -> QuotaDecision {
        let start = quota.period.start(now);
        let resets_at = quota.period.next_start(now);
        let mut shard = self.shards.lock(subject);
        let current = shard
            .map
            .get(subject)
            .and_then(|slots| slots.get(quota.period))
            .filter(|count| count.start == start)
            .map_or(0, |count| count.used);
        if current >= quota.requests {
            return QuotaDecision { allowed: false, used: current, limit: quota, resets_at };
        }
        let decision = QuotaDecision { allowed: true, used: current + 1, limit: quota, resets_at };
        if mode == Mode::Peek {
            return decision;
        }
        if !shard.map.contains_key(subject) {
            shard.map.insert(subject.clone(), Slots::default());
        }
        let Some(slot) = shard.map.get_mut(subject).map(|slots| slots.get_mut(quota.period)) else {
            return decision;
        };
        if let Some(old) = slot.filter(|c| c.start != start && c.dirty) {
            self.stash(subject, quota.period, &old);
        }
        *slot = Some(Count { start, used: current + 1, dirty: true });
        if shard.tick() {
            self.sweep(&mut shard, now);
        }
        decision
    }

    /// Drops ended periods from one shard; returns how many subjects emptied.
    fn sweep(&self, shard: &mut Shard<Slots>, now: DateTime<Utc>) -> usize {
        let before = shard.map.len();
        let current = [(Period::Day, Period::Day.start(now)), (Period::Month, Period::Month.start(now))];
        shard.map.retain(|key, slots| {
            for ((period, start), slot) in current.into_iter().zip([&mut slots.day, &mut slots.month]) {
                if let Some(count) = slot.filter(|c| c.start < start) {
                    if count.dirty {
                        self.stash(key, period, &count);
                    }
                    *slot = None;
                }
            }
            slots.day.is_some() || slots.month.is_some()
        });
        shard.swept();
        before - shard.map.len()
    }

    /// Keeps an unsaved count of an ended period for the next snapshot.
    fn stash(&self, key: &LimitKey, period: Period, count: &Count) {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner).push(usage(key, period, count));
    }
}

/// The persisted form of one count.
fn usage(key: &LimitKey, period: Period, count: &Count) -> QuotaUsage {
    QuotaUsage { level: key.level, subject: key.subject.clone(), period, period_start: count.start, used: count.used }
}

impl QuotaLimiter for QuotaCounter {
    fn try_consume(&self, subject: &QuotaKey, quota: Quota, now: DateTime<Utc>) -> QuotaDecision {
        QuotaCounter::try_consume(self, subject, quota, now)
    }

    fn peek(&self, subject: &QuotaKey, quota: Quota, now: DateTime<Utc>) -> QuotaDecision {
        QuotaCounter::peek(self, subject, quota, now)
    }

    fn refund(&self, subject: &QuotaKey, quota: Quota, now: DateTime<Utc>) {
        QuotaCounter::refund(self, subject, quota, now);
    }

    fn take_dirty(&self) -> Vec<QuotaUsage> {
        self.snapshot_dirty()
    }

    fn load_usage(&self, rows: Vec<QuotaUsage>) {
        self.load(rows);
    }
}
