//! [`MeterLedger`]: the metering ledger in this process, sharded by
//! subject, with dirty-row snapshots so a restart keeps what was spent.

use crate::key::LimitKey;
use crate::meter::{Amounts, Hold, Measure, Meter, MeterCheck, MeterLimit, MeterRefusal, MeterUsage, Reservation};
use crate::shards::{FastMap, Shard, Sharded};
use chrono::{DateTime, Utc};

/// The count of one subject and measure in its current window.
#[derive(Debug, Clone, Copy)]
struct Count {
    start: DateTime<Utc>,
    /// Settled amounts.
    used: u64,
    /// Amounts held by calls in flight.
    held: u64,
    /// `used` changed since the last snapshot.
    dirty: bool,
}

impl Count {
    fn new(start: DateTime<Utc>) -> Self {
        Self { start, used: 0, held: 0, dirty: false }
    }
}

/// A subject's counts, one per measure.
type Counts = FastMap<Measure, Count>;

/// The metering ledger, in memory.
#[derive(Debug)]
pub struct MeterLedger {
    shards: Sharded<Shard<Counts>>,
}

impl Default for MeterLedger {
    fn default() -> Self {
        Self { shards: Sharded::new() }
    }
}

/// The current window's count of `measure` in `counts`, rolled over if
/// the window has changed (the old window's settled amount was already
/// snapshotted or is dropped with it; holds of calls still in flight in
/// the old window are released when they settle).
fn current(counts: &mut Counts, measure: Measure, now: DateTime<Utc>) -> &mut Count {
    let start = measure.window_start(now);
    let c = counts.entry(measure).or_insert_with(|| Count::new(start));
    if c.start < start {
        *c = Count::new(start);
    }
    c
}

/// Drops counts of windows that have ended, once saved and no call
/// holds anything in them, and subjects left with none: memory follows
/// the subjects calling now, not every subject that ever called.
fn sweep(shard: &mut Shard<Counts>, now: DateTime<Utc>) {
    shard.map.retain(|_, counts| {
        counts.retain(|measure, c| c.dirty || c.held > 0 || c.start >= measure.window_start(now));
        !counts.is_empty()
    });
    shard.swept();
}

impl MeterLedger {
    /// Number of subjects held.
    pub fn len(&self) -> usize {
        let mut n = 0;
        self.shards.for_each(|s| n += s.map.len());
        n
    }

    /// Whether no subject is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    fn release(&self, holds: &[Hold]) {
        for h in holds {
            let mut shard = self.shards.lock(&h.key);
            if let Some(c) = shard.map.get_mut(&h.key).and_then(|m| m.get_mut(&h.measure)) {
                if c.start == h.window_start {
                    c.held = c.held.saturating_sub(h.amount);
                }
            }
        }
    }
}

impl Meter for MeterLedger {
    fn reserve(&self, checks: &[MeterCheck], estimate: Amounts, now: DateTime<Utc>) -> Result<Reservation, MeterRefusal> {
        let mut holds = Vec::with_capacity(checks.len());
        for check in checks {
            let measure = check.limit.measure();
            let amount = estimate.of(measure);
            let mut shard = self.shards.lock(&check.key);
            if shard.tick() {
                sweep(&mut shard, now);
            }
            let c = current(shard.map.entry(check.key.clone()).or_default(), measure, now);
            let limit = check.limit.amount();
            let after = c.used.saturating_add(c.held).saturating_add(amount);
            let over = match check.limit {
                // A budget is used up once spending reaches it.
                MeterLimit::Budget { .. } => c.used >= limit || after > limit,
                // A minute's first call is admitted whatever its size.
                MeterLimit::TokensPerMinute(_) => after > limit && (c.used > 0 || c.held > 0),
            };
            if over {
                let refusal = MeterRefusal {
                    key: check.key.clone(),
                    limit: check.limit,
                    used: c.used,
                    held: c.held,
                    resets_at: measure.next_window(now),
                };
                drop(shard);
                self.release(&holds);
                return Err(refusal);
            }
            c.held = c.held.saturating_add(amount);
            holds.push(Hold { key: check.key.clone(), measure, window_start: c.start, amount });
        }
        Ok(Reservation { holds })
    }

    fn settle(&self, reservation: Reservation, actual: Amounts, now: DateTime<Utc>) {
        // Each hold's count is released and charged under one lock: every
        // hold is of its own subject and measure, so this is the same as
        // releasing them all first.
        for h in &reservation.holds {
            let amount = actual.of(h.measure);
            let mut shard = self.shards.lock(&h.key);
            let release = |counts: &mut Counts| {
                if let Some(c) = counts.get_mut(&h.measure).filter(|c| c.start == h.window_start) {
                    c.held = c.held.saturating_sub(h.amount);
                }
            };
            if amount == 0 {
                if let Some(counts) = shard.map.get_mut(&h.key) {
                    release(counts);
                }
                continue;
            }
            let counts = shard.map.entry(h.key.clone()).or_default();
            release(counts);
            let c = current(counts, h.measure, now);
            // A call that began in an earlier minute no longer counts
            // against this one's tokens; spend always counts (in the
            // window it ended in).
            if h.measure == Measure::TokensMinute && c.start != h.window_start {
                continue;
            }
            c.used = c.used.saturating_add(amount);
            c.dirty = true;
        }
    }

    fn usage(&self, key: &LimitKey, limit: MeterLimit, now: DateTime<Utc>) -> (u64, u64) {
        let measure = limit.measure();
        let shard = self.shards.lock(key);
        match shard.map.get(key).and_then(|m| m.get(&measure)) {
            Some(c) if c.start == measure.window_start(now) => (c.used, c.held),
            _ => (0, 0),
        }
    }

    fn take_dirty(&self) -> Vec<MeterUsage> {
        let mut rows = Vec::new();
        self.shards.for_each(|shard| {
            for (key, counts) in &mut shard.map {
                for (measure, c) in counts.iter_mut().filter(|(_, c)| c.dirty) {
                    c.dirty = false;
                    rows.push(MeterUsage { key: key.clone(), measure: *measure, window_start: c.start, used: c.used });
                }
            }
        });
        rows
    }

    fn load_usage(&self, rows: Vec<MeterUsage>) {
        for row in rows {
            let mut shard = self.shards.lock(&row.key);
            let counts = shard.map.entry(row.key).or_default();
            match counts.get_mut(&row.measure) {
                Some(c) if c.start > row.window_start => {}
                Some(c) if c.start == row.window_start => {
                    if row.used > c.used {
                        c.used = row.used;
                    } else if c.used > row.used {
                        c.dirty = true;
                    }
                }
                _ => {
                    counts.insert(row.measure, Count { start: row.window_start, used: row.used, held: 0, dirty: false });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Level;
    use crate::period::Period;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, h, m, s).unwrap()
    }

    fn budget(level: Level, id: &str, micro_usd: u64) -> MeterCheck {
        MeterCheck { key: LimitKey::new(level, id), limit: MeterLimit::Budget { micro_usd, period: Period::Day } }
    }

    fn tpm(level: Level, id: &str, n: u64) -> MeterCheck {
        MeterCheck { key: LimitKey::new(level, id), limit: MeterLimit::TokensPerMinute(n) }
    }

    fn amounts(micro_usd: u64, tokens: u64) -> Amounts {
        Amounts { micro_usd, tokens }
    }

    #[test]
    fn the_settled_amount_replaces_the_estimate_and_spending_up_to_the_budget_refuses_the_next_call() {
        let m = MeterLedger::new();
        let checks = [budget(Level::Key, "k", 1_000)];
        let r = m.reserve(&checks, amounts(300, 0), at(10, 0, 0)).unwrap();
        assert_eq!(m.usage(&checks[0].key, checks[0].limit, at(10, 0, 0)), (0, 300));
        m.settle(r, amounts(700, 0), at(10, 0, 1));
        assert_eq!(m.usage(&checks[0].key, checks[0].limit, at(10, 0, 1)), (700, 0), "the real amount, not the estimate");
        let r = m.reserve(&checks, amounts(300, 0), at(10, 0, 2)).unwrap();
        m.settle(r, amounts(400, 0), at(10, 0, 3));
        let refused = m.reserve(&checks, amounts(0, 0), at(10, 0, 4)).unwrap_err();
        assert_eq!((refused.used, refused.resets_at), (1_100, Period::Day.next_start(at(10, 0, 4))));
        assert!(m.reserve(&checks, amounts(0, 0), at(10, 0, 4) + chrono::TimeDelta::days(1)).is_ok(), "a new day");
    }

    #[test]
    fn a_refusal_at_one_level_holds_nothing_at_the_others() {
        let m = MeterLedger::new();
        let checks = [budget(Level::Key, "k", 1_000), budget(Level::App, "a", 100)];
        let refused = m.reserve(&checks, amounts(200, 0), at(10, 0, 0)).unwrap_err();
        assert_eq!(refused.key.level, Level::App);
        assert_eq!(m.usage(&checks[0].key, checks[0].limit, at(10, 0, 0)), (0, 0), "the key level let go of its hold");
    }

    #[test]
    fn calls_in_flight_count_against_the_limit_until_they_settle() {
        let m = MeterLedger::new();
        let checks = [tpm(Level::Tenant, "t", 1_000)];
        let first = m.reserve(&checks, amounts(0, 600), at(10, 0, 0)).unwrap();
        assert!(m.reserve(&checks, amounts(0, 600), at(10, 0, 1)).is_err(), "600 held + 600 > 1000");
        m.settle(first, amounts(0, 100), at(10, 0, 2));
        assert!(m.reserve(&checks, amounts(0, 600), at(10, 0, 3)).is_ok(), "100 used + 600 <= 1000");
    }

    #[test]
    fn a_minutes_first_call_is_admitted_whatever_its_size_and_the_next_minute_starts_at_zero() {
        let m = MeterLedger::new();
        let checks = [tpm(Level::Key, "k", 100)];
        let r = m.reserve(&checks, amounts(0, 5_000), at(10, 0, 0)).unwrap();
        m.settle(r, amounts(0, 5_000), at(10, 0, 30));
        let refused = m.reserve(&checks, amounts(0, 1), at(10, 0, 59)).unwrap_err();
        assert_eq!(refused.resets_at, at(10, 1, 0));
        assert!(m.reserve(&checks, amounts(0, 1), at(10, 1, 0)).is_ok());
    }

    #[test]
    fn releasing_a_failed_call_gives_everything_back() {
        let m = MeterLedger::new();
        let checks = [budget(Level::Key, "k", 1_000), tpm(Level::Key, "k", 10)];
        let r = m.reserve(&checks, amounts(900, 9), at(10, 0, 0)).unwrap();
        m.settle(r, Amounts::default(), at(10, 0, 1));
        assert_eq!(m.usage(&checks[0].key, checks[0].limit, at(10, 0, 1)), (0, 0));
        assert_eq!(m.usage(&checks[1].key, checks[1].limit, at(10, 0, 1)), (0, 0));
        assert!(m.take_dirty().is_empty(), "nothing spent, nothing to persist");
    }

    #[test]
    fn subjects_of_ended_windows_are_swept_once_saved() {
        let m = MeterLedger::new();
        for i in 0..2_000 {
            let checks = [tpm(Level::Key, &format!("k{i}"), 10)];
            let r = m.reserve(&checks, amounts(0, 1), at(10, 0, 0)).unwrap();
            m.settle(r, amounts(0, 1), at(10, 0, 0));
        }
        let _ = m.take_dirty();
        for i in 0..100_000 {
            let checks = [tpm(Level::Key, &format!("later{}", i % 500), 10)];
            let r = m.reserve(&checks, amounts(0, 0), at(10, 5, 0)).unwrap();
            m.settle(r, amounts(0, 0), at(10, 5, 0));
        }
        assert!(m.len() <= 500, "the ended minute's subjects are gone: {}", m.len());
    }

    #[test]
    fn spend_survives_a_restart_through_the_dirty_rows() {
        let m = MeterLedger::new();
        let checks = [budget(Level::App, "a", 1_000)];
        let r = m.reserve(&checks, amounts(10, 0), at(10, 0, 0)).unwrap();
        m.settle(r, amounts(999, 0), at(10, 0, 1));
        let rows = m.take_dirty();
        assert_eq!(rows.len(), 1);
        assert!(m.take_dirty().is_empty(), "marked clean");
        let restarted = MeterLedger::new();
        restarted.load_usage(rows);
        assert_eq!(restarted.usage(&checks[0].key, checks[0].limit, at(11, 0, 0)).0, 999);
        assert!(restarted.reserve(&checks, amounts(2, 0), at(11, 0, 0)).is_err(), "999 + 2 > 1000");
    }
}
