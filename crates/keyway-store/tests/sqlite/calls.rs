//! The call log: round trip, filters, order, limits, purge.

use crate::fixtures::*;
use keyway_core::codes::ErrorCode;
use keyway_core::records::{CallLogRow, LogQuery};
use keyway_store::sqlite::SqliteStore;
use keyway_store::Store;

fn q() -> LogQuery {
    LogQuery::default()
}

async fn ids(s: &SqliteStore, query: LogQuery) -> Vec<String> {
    s.calls(&query).await.unwrap().into_iter().map(|r| r.request_id.0).collect()
}

#[tokio::test]
async fn rows_round_trip() {
    let s = store();
    let full = call(at(0));
    let bare = bare_call(at(1));
    s.insert_calls(&[full.clone(), bare.clone()]).await.unwrap();
    assert_eq!(s.calls(&q()).await.unwrap(), vec![bare, full]);
}

#[tokio::test]
async fn huge_token_counts_saturate_and_nan_latency_survives() {
    let s = store();
    let mut row = call(at(0));
    row.prompt_tokens = Some(u64::MAX);
    row.latency_ms = f64::NAN;
    s.insert_calls(&[row]).await.unwrap();
    let back = s.calls(&q()).await.unwrap().remove(0);
    assert_eq!(back.prompt_tokens, Some(i64::MAX as u64));
    assert!(back.latency_ms.is_nan());
}

#[tokio::test]
async fn newest_first_with_ties_in_the_order_stored() {
    let s = store();
    let (a, b, c, d) = (call(at(10)), call(at(30)), call(at(20)), call(at(30)));
    s.insert_calls(&[a.clone(), b.clone()]).await.unwrap();
    s.insert_calls(&[c.clone(), d.clone()]).await.unwrap();
    // b and d share a millisecond: d, stored later, comes first.
    assert_eq!(ids(&s, q()).await, vec![d.request_id.0, b.request_id.0, c.request_id.0, a.request_id.0]);
}

#[tokio::test]
async fn out_of_order_rows_and_stragglers_are_found_by_id_and_time() {
    let s = store();
    // A batch out of order, many rows per millisecond.
    let mut first: Vec<CallLogRow> = (0..300).map(|i| bare_call(at(1_000 + (i % 7) * 3))).collect();
    first.reverse();
    s.insert_calls(&first).await.unwrap();
    // Stragglers: older than everything stored, inside and between its
    // milliseconds, and one much older.
    let late: Vec<CallLogRow> = [1_003, 1_001, 1_006, 5, 1_018].iter().map(|&ms| bare_call(at(ms))).collect();
    s.insert_calls(&late).await.unwrap();
    let newer: Vec<CallLogRow> = (0..50).map(|i| bare_call(at(1_018 + i % 3))).collect();
    s.insert_calls(&newer).await.unwrap();
    let all: Vec<&CallLogRow> = first.iter().chain(&late).chain(&newer).collect();
    for r in &all {
        let by_id = LogQuery { request_id: Some(r.request_id.0.clone()), ..q() };
        assert_eq!(s.calls(&by_id).await.unwrap(), vec![(*r).clone()], "{}", r.request_id);
    }
    // Every time window holds exactly its rows, newest first.
    for (since, until) in [(0, 10), (1_000, 1_004), (1_003, 1_004), (1_006, 1_019), (1_019, 2_000), (0, 2_000)] {
        let window = LogQuery { since: Some(at(since)), until: Some(at(until)), limit: 1000, ..q() };
        let got = s.calls(&window).await.unwrap();
        let mut want: Vec<String> =
            all.iter().filter(|r| r.time >= at(since) && r.time < at(until)).map(|r| r.request_id.0.clone()).collect();
        want.sort();
        let mut ids: Vec<String> = got.iter().map(|r| r.request_id.0.clone()).collect();
        assert!(got.windows(2).all(|w| w[0].time >= w[1].time), "newest first in [{since}, {until})");
        ids.sort();
        assert_eq!(ids, want, "[{since}, {until})");
    }
    // A duplicate of a straggler is refused too, and nothing of its batch stays.
    let again = [bare_call(at(1_030)), late[0].clone()];
    assert!(matches!(s.insert_calls(&again).await.unwrap_err(), keyway_store::StoreError::Conflict(_)));
    assert!(ids(&s, LogQuery { request_id: Some(again[0].request_id.0.clone()), ..q() }).await.is_empty());
    // Purge by time takes the stragglers with the rest.
    assert_eq!(s.purge_calls(at(1_004)).await.unwrap() as usize, all.iter().filter(|r| r.time < at(1_004)).count());
}

#[tokio::test]
async fn a_request_id_is_stored_once() {
    let s = store();
    let row = call(at(0));
    s.insert_calls(std::slice::from_ref(&row)).await.unwrap();
    let err = s.insert_calls(&[row]).await.unwrap_err();
    assert!(matches!(err, keyway_store::StoreError::Conflict(_)), "{err}");
}

#[tokio::test]
async fn time_windows_find_rows_whose_id_was_minted_a_moment_earlier() {
    let s = store();
    let mut row = bare_call(at(5_000));
    // As migrated rows from before ids were minted from the row's time.
    row.request_id = keyway_core::ids::RequestId::at(at(4_400));
    s.insert_calls(&[row.clone()]).await.unwrap();
    let window = LogQuery { since: Some(at(4_999)), until: Some(at(5_001)), ..q() };
    assert_eq!(ids(&s, window).await, vec![row.request_id.0.clone()]);
    let before = LogQuery { until: Some(at(4_999)), ..q() };
    assert!(ids(&s, before).await.is_empty());
    assert_eq!(s.purge_calls(at(5_001)).await.unwrap(), 1);
}

#[tokio::test]
async fn purge_goes_in_chunks_and_deletes_every_old_row() {
    let s = store();
    let rows: Vec<CallLogRow> = (0..12_345).map(|i| bare_call(at(i))).collect();
    s.insert_calls(&rows).await.unwrap();
    assert_eq!(s.purge_calls(at(12_000)).await.unwrap(), 12_000);
    assert_eq!(s.calls(&LogQuery { limit: 1000, ..q() }).await.unwrap().len(), 345);
}

#[tokio::test]
async fn each_filter_selects_its_rows() {
    let s = store();
    let rows: Vec<CallLogRow> = (0..6).map(|i| call(at(i * 1000))).collect();
    let mut shared = rows.clone();
    // Rows 1 and 2 share every id with row 0; row 3 is accepted.
    for i in [1, 2] {
        shared[i].tenant_id = rows[0].tenant_id.clone();
        shared[i].api_id = rows[0].api_id.clone();
        shared[i].app_id = rows[0].app_id.clone();
        shared[i].key_id = rows[0].key_id.clone();
    }
    shared[3].code = None;
    shared[4].code = Some(ErrorCode::KeyRevoked);
    s.insert_calls(&shared).await.unwrap();
    let r = &shared;
    let id = |i: usize| r[i].request_id.0.clone();

    let by = |f: fn(&mut LogQuery, String), v: String| {
        let mut query = q();
        f(&mut query, v);
        query
    };
    assert_eq!(ids(&s, by(|q, v| q.request_id = Some(v), id(4))).await, vec![id(4)]);
    let want = vec![id(2), id(1), id(0)];
    assert_eq!(ids(&s, by(|q, v| q.key_id = Some(v), r[0].key_id.clone().unwrap().to_string())).await, want);
    assert_eq!(ids(&s, by(|q, v| q.app_id = Some(v), r[0].app_id.clone().unwrap().to_string())).await, want);
    assert_eq!(ids(&s, by(|q, v| q.tenant_id = Some(v), r[0].tenant_id.clone().unwrap().to_string())).await, want);
    assert_eq!(ids(&s, by(|q, v| q.api_id = Some(v), r[0].api_id.clone().unwrap().to_string())).await, want);
    assert_eq!(ids(&s, by(|q, v| q.code = Some(v), "key_revoked".into())).await, vec![id(4)]);
    assert_eq!(ids(&s, by(|q, v| q.code = Some(v), "credential_missing".into())).await, vec![id(5), id(2), id(1), id(0)]);

    // since is inclusive, until exclusive.
    let window = LogQuery { since: Some(r[1].time), until: Some(r[4].time), ..q() };
    assert_eq!(ids(&s, window).await, vec![id(3), id(2), id(1)]);
    // Filters combine.
    let both = LogQuery { key_id: Some(r[0].key_id.clone().unwrap().to_string()), since: Some(r[1].time), limit: 1, ..q() };
    assert_eq!(ids(&s, both).await, vec![id(2)]);
    let none = LogQuery { request_id: Some("req_nope".into()), ..q() };
    assert!(ids(&s, none).await.is_empty());
}

#[tokio::test]
async fn limit_defaults_to_100_and_caps_at_1000() {
    let s = store();
    let rows: Vec<CallLogRow> = (0..1200).map(|i| bare_call(at(i))).collect();
    s.insert_calls(&rows).await.unwrap();
    assert_eq!(s.calls(&q()).await.unwrap().len(), 100);
    assert_eq!(s.calls(&LogQuery { limit: 7, ..q() }).await.unwrap().len(), 7);
    let all = s.calls(&LogQuery { limit: 50_000, ..q() }).await.unwrap();
    assert_eq!(all.len(), 1000);
    // The newest thousand.
    assert_eq!(all[0].request_id, rows[1199].request_id);
    assert_eq!(all[999].request_id, rows[200].request_id);
}

#[tokio::test]
async fn a_batch_of_a_thousand_lands_in_one_call() {
    let s = store();
    let rows: Vec<CallLogRow> = (0..1000).map(|i| call(at(i))).collect();
    s.insert_calls(&rows).await.unwrap();
    s.insert_calls(&[]).await.unwrap();
    assert_eq!(s.calls(&LogQuery { limit: 1000, ..q() }).await.unwrap().len(), 1000);
}

#[tokio::test]
async fn purge_deletes_older_rows_and_counts_them() {
    let s = store();
    let rows: Vec<CallLogRow> = (0..10).map(|i| bare_call(at(i * 1000))).collect();
    s.insert_calls(&rows).await.unwrap();
    assert_eq!(s.purge_calls(rows[4].time).await.unwrap(), 4);
    let left = s.calls(&q()).await.unwrap();
    assert_eq!(left.len(), 6);
    assert_eq!(left.last().map(|r| r.time), Some(rows[4].time));
    assert_eq!(s.purge_calls(rows[4].time).await.unwrap(), 0);
}

/// The rollup row of one call, as the writer would save it.
fn minute_of(row: &CallLogRow) -> keyway_core::rollup::RollupRow {
    let mut value = keyway_core::rollup::RollupValue::default();
    value.add(row);
    keyway_core::rollup::RollupRow {
        grain: keyway_core::rollup::Grain::Full,
        level: keyway_core::rollup::Level::Minute,
        key: keyway_core::rollup::RollupKey::minute_of(row),
        value,
    }
}

#[tokio::test]
async fn filters_read_old_rows_covered_minutes_and_rows_past_the_watermark() {
    let s = store();
    let minute = 60_000;
    // Before rollups started, in the covered minutes, after the watermark.
    let old = call(at(0));
    s.insert_calls(std::slice::from_ref(&old)).await.unwrap();
    s.start_rollups(at(10 * minute)).await.unwrap();
    let mut covered: Vec<CallLogRow> = (20..25).map(|m| call(at(m * minute))).collect();
    for r in &mut covered {
        r.key_id = old.key_id.clone();
    }
    let other = bare_call(at(22 * minute + 5));
    let mut newest = call(at(40 * minute));
    newest.key_id = old.key_id.clone();
    s.insert_calls(&covered).await.unwrap();
    s.insert_calls(&[other.clone(), newest.clone()]).await.unwrap();
    let rollups: Vec<_> = covered.iter().chain([&other]).map(minute_of).collect();
    s.save_rollups(std::sync::Arc::new(rollups), at(30 * minute)).await.unwrap();

    let key = old.key_id.clone().map(|k| k.to_string());
    let mut want: Vec<String> = vec![newest.request_id.0.clone()];
    want.extend(covered.iter().rev().map(|r| r.request_id.0.clone()));
    want.push(old.request_id.0.clone());
    assert_eq!(ids(&s, LogQuery { key_id: key.clone(), ..q() }).await, want);
    assert_eq!(ids(&s, LogQuery { key_id: key.clone(), limit: 2, ..q() }).await, want[..2].to_vec());
    let window = LogQuery { key_id: key, since: Some(at(21 * minute)), until: Some(at(23 * minute + 1)), ..q() };
    assert_eq!(ids(&s, window).await, want[2..5].to_vec());
    // Accepted calls carry no code, so a code filter never finds `other`.
    assert_eq!(ids(&s, LogQuery { code: Some("credential_missing".into()), ..q() }).await.len(), 7);
}

#[tokio::test]
async fn bounds_past_the_storable_years_select_all_or_nothing() {
    use chrono::TimeZone;
    let s = store();
    let row = bare_call(at(0));
    s.insert_calls(std::slice::from_ref(&row)).await.unwrap();
    let far_past = chrono::Utc.with_ymd_and_hms(1555, 3, 22, 6, 30, 37).unwrap();
    let far_future = chrono::Utc.with_ymd_and_hms(9998, 1, 1, 0, 0, 0).unwrap();
    assert!(ids(&s, LogQuery { until: Some(far_past), ..q() }).await.is_empty());
    assert_eq!(ids(&s, LogQuery { since: Some(far_past), until: Some(far_future), ..q() }).await, vec![row.request_id.0]);
    assert!(ids(&s, LogQuery { since: Some(far_future), key_id: Some("key_x".into()), ..q() }).await.is_empty());
    assert_eq!(s.purge_calls(far_past).await.unwrap(), 0);
}
