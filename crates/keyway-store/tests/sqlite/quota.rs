//! Quota counters: upsert keeps the larger count; read back by period start.

use crate::fixtures::*;
use keyway_store::{QuotaUsageRow, Store};

fn row(subject: &str, start_ms: i64, used: u64) -> QuotaUsageRow {
    QuotaUsageRow { level: "app".into(), subject: subject.into(), period: "day".into(), period_start: at(start_ms), used }
}

#[tokio::test]
async fn counters_only_grow_and_are_read_by_period() {
    let s = store();
    s.save_quota_usage(&[row("app_a", 1_000, 5), row("app_b", 1_000, 2), row("app_a", 0, 9)]).await.unwrap();
    s.save_quota_usage(&[row("app_a", 1_000, 3), row("app_b", 1_000, 4)]).await.unwrap();
    let mut got = s.quota_usage(at(1_000)).await.unwrap();
    got.sort_by(|a, b| a.subject.cmp(&b.subject));
    assert_eq!(got, vec![row("app_a", 1_000, 5), row("app_b", 1_000, 4)]);
    assert_eq!(s.quota_usage(at(0)).await.unwrap().len(), 3);
}

#[tokio::test]
async fn ended_token_minutes_are_dropped_as_newer_ones_are_saved() {
    let s = store();
    let tokens = |subject: &str, start_ms: i64, used: u64| QuotaUsageRow {
        level: "key".into(),
        subject: subject.into(),
        period: "tokens_minute".into(),
        period_start: at(start_ms),
        used,
    };
    s.save_quota_usage(&[tokens("key_a", 0, 10), tokens("key_b", 0, 5), row("app_a", 0, 1)]).await.unwrap();
    s.save_quota_usage(&[tokens("key_a", 60_000, 7)]).await.unwrap();
    let mut got = s.quota_usage(at(0)).await.unwrap();
    got.sort_by(|a, b| (&a.period, &a.subject).cmp(&(&b.period, &b.subject)));
    assert_eq!(got, vec![row("app_a", 0, 1), tokens("key_a", 60_000, 7)], "the ended minute went, the day counter stayed");
}
