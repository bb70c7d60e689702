use chrono::{DateTime, Utc};
use keyway_limits::{Level, LimitKey, Period, Quota, QuotaCounter, QuotaLimiter, QuotaUsage};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn app() -> LimitKey {
    LimitKey::new(Level::App, "app_1")
}

const TWO_PER_DAY: Quota = Quota { requests: 2, period: Period::Day };
const THREE_PER_MONTH: Quota = Quota { requests: 3, period: Period::Month };

#[test]
fn period_bounds_follow_the_utc_calendar() {
    let cases = [
        (Period::Day, "2026-01-31T23:59:59Z", "2026-01-31T00:00:00Z", "2026-02-01T00:00:00Z"),
        (Period::Month, "2026-01-31T23:59:59Z", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
        (Period::Month, "2026-02-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"),
        (Period::Month, "2026-12-31T12:00:00Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        (Period::Day, "2028-02-28T10:00:00+05:00", "2028-02-28T00:00:00Z", "2028-02-29T00:00:00Z"),
    ];
    for (period, now, start, next) in cases {
        assert_eq!(period.start(at(now)), at(start), "{period:?} {now}");
        assert_eq!(period.next_start(at(now)), at(next), "{period:?} {now}");
    }
}

#[test]
fn a_daily_quota_resets_at_midnight_and_refusals_do_not_count() {
    let counter = QuotaCounter::new();
    let now = at("2026-01-31T23:59:59Z");
    assert_eq!(counter.try_consume(&app(), TWO_PER_DAY, now).used, 1);
    assert_eq!(counter.try_consume(&app(), TWO_PER_DAY, now).used, 2);
    for _ in 0..5 {
        let refused = counter.try_consume(&app(), TWO_PER_DAY, now);
        assert!(!refused.allowed);
        assert_eq!((refused.used, refused.resets_at), (2, at("2026-02-01T00:00:00Z")));
    }
    let next = counter.try_consume(&app(), TWO_PER_DAY, at("2026-02-01T00:00:00Z"));
    assert!(next.allowed);
    assert_eq!((next.used, next.resets_at), (1, at("2026-02-02T00:00:00Z")));
}

#[test]
fn a_monthly_quota_resets_on_the_first() {
    let counter = QuotaCounter::new();
    for day in ["2026-01-01T00:00:00Z", "2026-01-15T08:00:00Z", "2026-01-31T23:59:59Z"] {
        assert!(counter.try_consume(&app(), THREE_PER_MONTH, at(day)).allowed);
    }
    let refused = counter.try_consume(&app(), THREE_PER_MONTH, at("2026-01-31T23:59:59Z"));
    assert_eq!((refused.allowed, refused.used, refused.resets_at), (false, 3, at("2026-02-01T00:00:00Z")));
    let feb = counter.try_consume(&app(), THREE_PER_MONTH, at("2026-02-01T00:00:00Z"));
    assert_eq!((feb.allowed, feb.used, feb.resets_at), (true, 1, at("2026-03-01T00:00:00Z")));
}

#[test]
fn day_and_month_quotas_on_one_subject_count_separately() {
    let counter = QuotaCounter::new();
    let now = at("2026-03-10T10:00:00Z");
    counter.try_consume(&app(), TWO_PER_DAY, now);
    counter.try_consume(&app(), TWO_PER_DAY, now);
    assert_eq!(counter.try_consume(&app(), THREE_PER_MONTH, now).used, 1);
    assert!(!counter.try_consume(&app(), TWO_PER_DAY, now).allowed);
}

#[test]
fn snapshot_and_load_survive_a_restart() {
    let now = at("2026-01-20T12:00:00Z");
    let before = QuotaCounter::new();
    let key = LimitKey::new(Level::Key, "key_1");
    for _ in 0..2 {
        before.try_consume(&key, THREE_PER_MONTH, now);
    }
    before.try_consume(&app(), TWO_PER_DAY, now);
    let mut rows = before.snapshot_dirty();
    rows.sort_by(|a, b| a.subject.cmp(&b.subject));
    assert_eq!(
        rows,
        vec![
            QuotaUsage {
                level: Level::App,
                subject: "app_1".into(),
                period: Period::Day,
                period_start: at("2026-01-20T00:00:00Z"),
                used: 1
            },
            QuotaUsage {
                level: Level::Key,
                subject: "key_1".into(),
                period: Period::Month,
                period_start: at("2026-01-01T00:00:00Z"),
                used: 2
            },
        ]
    );
    assert!(before.snapshot_dirty().is_empty(), "rows are clean once taken");

    // Through JSON, as a store might keep them.
    let stored = serde_json::to_string(&rows).unwrap();
    assert!(stored.contains("\"level\":\"app\"") && stored.contains("\"period\":\"day\""), "{stored}");
    let after = QuotaCounter::new();
    after.load(serde_json::from_str::<Vec<QuotaUsage>>(&stored).unwrap());
    assert!(after.snapshot_dirty().is_empty(), "loaded rows are clean");
    assert_eq!(after.try_consume(&key, THREE_PER_MONTH, now).used, 3);
    assert!(!after.try_consume(&key, THREE_PER_MONTH, now).allowed);
    assert_eq!(after.try_consume(&app(), TWO_PER_DAY, now).used, 2);
    assert_eq!(after.snapshot_dirty().len(), 2);
}

#[test]
fn load_keeps_the_larger_count_and_the_newer_period() {
    let counter = QuotaCounter::new();
    let now = at("2026-01-20T12:00:00Z");
    let row = |start: &str, used| QuotaUsage {
        level: Level::App,
        subject: "app_1".into(),
        period: Period::Month,
        period_start: at(start),
        used,
    };
    counter.load([row("2026-01-01T00:00:00Z", 2)]);
    counter.load([row("2026-01-01T00:00:00Z", 1), row("2025-12-01T00:00:00Z", 99)]);
    assert_eq!(counter.peek(&app(), THREE_PER_MONTH, now).used, 3);
    counter.try_consume(&app(), THREE_PER_MONTH, now);
    assert!(!counter.try_consume(&app(), THREE_PER_MONTH, now).allowed);
}

#[test]
fn unsaved_counts_of_an_ended_period_are_still_snapshotted() {
    let counter = QuotaCounter::new();
    counter.try_consume(&app(), TWO_PER_DAY, at("2026-01-31T23:00:00Z"));
    counter.try_consume(&app(), TWO_PER_DAY, at("2026-01-31T23:30:00Z"));
    counter.try_consume(&app(), TWO_PER_DAY, at("2026-02-01T00:10:00Z"));
    let mut rows: Vec<_> = counter.snapshot_dirty().into_iter().map(|r| (r.period_start, r.used)).collect();
    rows.sort();
    assert_eq!(rows, vec![(at("2026-01-31T00:00:00Z"), 2), (at("2026-02-01T00:00:00Z"), 1)]);
}

#[test]
fn ended_periods_are_dropped_from_memory() {
    let counter = QuotaCounter::new();
    for i in 0..50 {
        counter.try_consume(&LimitKey::new(Level::Key, format!("k{i}")), TWO_PER_DAY, at("2026-01-31T10:00:00Z"));
    }
    assert_eq!(counter.evict_stale(at("2026-01-31T23:59:59Z")), 0);
    assert_eq!(counter.evict_stale(at("2026-02-01T00:00:00Z")), 50);
    assert!(counter.is_empty());
    // Their final counts were not saved yet, so they are not lost.
    assert_eq!(counter.snapshot_dirty().len(), 50);
}

#[test]
fn try_consume_all_counts_nothing_when_one_level_refuses() {
    let counter = QuotaCounter::new();
    let now = at("2026-01-20T12:00:00Z");
    let key = LimitKey::new(Level::Key, "key_1");
    let tenant = LimitKey::new(Level::Tenant, "ten_1");
    let checks = [(key.clone(), THREE_PER_MONTH), (tenant.clone(), Quota { requests: 1, period: Period::Day })];
    assert!(counter.try_consume_all(&checks, now).is_ok());
    for _ in 0..3 {
        let refusal = counter.try_consume_all(&checks, now).unwrap_err();
        assert_eq!((refusal.index, refusal.key.clone()), (1, tenant.clone()));
        assert_eq!(refusal.decision.resets_at, at("2026-01-21T00:00:00Z"));
    }
    assert_eq!(counter.peek(&key, THREE_PER_MONTH, now).used, 2, "one request counted at the key level");
}

#[test]
fn enums_serialize_lowercase() {
    assert_eq!(serde_json::to_string(&Period::Month).unwrap(), "\"month\"");
    assert_eq!(serde_json::from_str::<Period>("\"day\"").unwrap(), Period::Day);
    assert_eq!(serde_json::to_string(&Level::Tenant).unwrap(), "\"tenant\"");
    assert_eq!("api".parse::<Level>().unwrap(), Level::Api);
    assert!("org".parse::<Level>().is_err());
}
