use super::*;
use keyway_core::codes::ErrorCode;
use keyway_core::ids::{KeyId, RequestId};

fn migrated() -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    super::super::migrations::migrate(&mut conn, super::super::migrations::MIGRATIONS, super::super::migrations::BACKFILLS)
        .unwrap();
    conn
}

fn at(ms: i64) -> Timestamp {
    chrono::DateTime::from_timestamp_millis(ms).unwrap()
}

fn row_at(ms: i64, key: &str) -> CallLogRow {
    CallLogRow {
        status: 200,
        latency_ms: 1.0,
        key_id: Some(KeyId::from(key)),
        ..CallLogRow::arriving(at(ms), "GET", format!("/{ms}"), "::1")
    }
}

fn by_id(conn: &Connection, r: &CallLogRow) -> Vec<CallLogRow> {
    query(conn, &LogQuery { request_id: Some(r.request_id.0.clone()), ..Default::default() }, None, 10).unwrap()
}

fn frames(conn: &Connection) -> i64 {
    conn.query_row("SELECT count(*) FROM call_frames", [], |r| r.get(0)).unwrap()
}

#[test]
fn a_batch_is_one_frame_and_every_row_is_found_by_id_stragglers_too() {
    let mut conn = migrated();
    let first: Vec<_> = (0..300).map(|i| row_at(1_000_000 + i, "key_a")).collect();
    insert(&mut conn, &first).unwrap();
    assert_eq!(frames(&conn), 1);
    // The next batch holds rows older than the newest stored (requests
    // that arrived earlier and finished later) and one far older.
    let second = vec![row_at(1_000_100, "key_b"), row_at(1_000_400, "key_b"), row_at(1_000_000 - 3 * MAX_SPAN_MS, "key_c")];
    insert(&mut conn, &second).unwrap();
    assert_eq!(frames(&conn), 3, "the far straggler has a frame of its own");
    for r in first.iter().chain(&second) {
        assert_eq!(by_id(&conn, r), vec![r.clone()]);
    }
    assert_eq!(count(&conn).unwrap(), 303);
    let unknown = CallLogRow { request_id: RequestId::at(at(1_000_050)), ..first[0].clone() };
    assert!(by_id(&conn, &unknown).is_empty());
}

#[test]
fn a_request_id_is_stored_once() {
    let mut conn = migrated();
    let a = row_at(5_000, "key_a");
    insert(&mut conn, std::slice::from_ref(&a)).unwrap();
    let again = vec![row_at(5_001, "key_a"), a.clone()];
    assert!(matches!(insert(&mut conn, &again), Err(StoreError::Conflict(_))));
    let twice = vec![row_at(6_000, "key_a"); 2];
    assert!(matches!(insert(&mut conn, &twice), Err(StoreError::Conflict(_))));
    assert_eq!(count(&conn).unwrap(), 1, "a refused batch stores nothing");
    // An id the gateway did not mint is found by a scan.
    let imported = CallLogRow { request_id: RequestId("imported-1".into()), ..row_at(7_000, "key_a") };
    insert(&mut conn, std::slice::from_ref(&imported)).unwrap();
    assert_eq!(by_id(&conn, &imported), vec![imported.clone()]);
    assert!(matches!(insert(&mut conn, std::slice::from_ref(&imported)), Err(StoreError::Conflict(_))));
}

/// Newest first by id millisecond, then frame, then id: what the frames
/// must give back, computed from the rows themselves.
fn brute(rows: &[(i64, CallLogRow)], keep: impl Fn(&CallLogRow) -> bool, limit: usize) -> Vec<RequestId> {
    let mut v: Vec<_> = rows.iter().filter(|(_, r)| keep(r)).collect();
    v.sort_by(|(fa, a), (fb, b)| {
        let ka = (a.time.timestamp_millis(), *fa, a.request_id.as_str());
        let kb = (b.time.timestamp_millis(), *fb, b.request_id.as_str());
        kb.cmp(&ka)
    });
    v.into_iter().take(limit).map(|(_, r)| r.request_id.clone()).collect()
}

#[test]
fn time_ranges_and_filters_agree_with_a_brute_force_reading() {
    let mut conn = migrated();
    let mut all = Vec::new();
    let mut state = 7u64;
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        state >> 33
    };
    for b in 0..40i64 {
        // Batches a second apart, with rows up to 3 s late.
        let rows: Vec<_> = (0..50)
            .map(|_| {
                let ms = 10_000_000 + b * 1_000 - (next() % 3_000) as i64;
                let mut r = row_at(ms, ["key_a", "key_b", "key_c"][(next() % 3) as usize]);
                if next() % 5 == 0 {
                    r.code = Some(ErrorCode::RateLimited);
                    r.status = 429;
                }
                r
            })
            .collect();
        insert(&mut conn, &rows).unwrap();
        all.extend(rows.into_iter().map(|r| (b, r)));
    }
    let ids = |q: LogQuery, limit| query(&conn, &q, None, limit).unwrap().into_iter().map(|r| r.request_id).collect::<Vec<_>>();
    for limit in [1, 7, 100, 5_000] {
        assert_eq!(ids(LogQuery::default(), limit), brute(&all, |_| true, limit), "limit {limit}");
        let key = LogQuery { key_id: Some("key_b".into()), ..Default::default() };
        assert_eq!(ids(key, limit), brute(&all, |r| r.key_id.as_ref().is_some_and(|k| k.as_str() == "key_b"), limit));
        let (since, until) = (at(10_012_345), at(10_025_000));
        let window = LogQuery { since: Some(since), until: Some(until), code: Some("rate_limited".into()), ..Default::default() };
        let keep = |r: &CallLogRow| r.time >= since && r.time < until && r.code == Some(ErrorCode::RateLimited);
        assert_eq!(ids(window, limit), brute(&all, keep, limit), "window, limit {limit}");
    }
    assert!(ids(LogQuery { key_id: Some("key_none".into()), ..Default::default() }, 10).is_empty());
}

#[test]
fn purge_deletes_exactly_the_older_rows_and_rewrites_straddling_frames() {
    let mut conn = migrated();
    for b in 0..10i64 {
        let rows: Vec<_> = (0..100).map(|i| row_at(20_000_000 + b * 10_000 + i * 100, "key_a")).collect();
        insert(&mut conn, &rows).unwrap();
    }
    // Cuts the sixth frame in the middle.
    let cut = at(20_000_000 + 5 * 10_000 + 50 * 100);
    let (mut purged, mut transactions) = (0, 0);
    loop {
        let p = purge_chunk(&mut conn, cut, 2).unwrap();
        purged += p.rows;
        transactions += 1;
        if p.done {
            break;
        }
    }
    assert_eq!(purged, 550);
    // Each batch spans 10 s: two frames of 5 s. Eleven frames are wholly
    // older and the twelfth is cut; two frames a transaction.
    assert_eq!(transactions, 6);
    assert_eq!(count(&conn).unwrap(), 450);
    let left = query(&conn, &LogQuery::default(), None, 1_000).unwrap();
    assert_eq!(left.len(), 450);
    assert!(left.iter().all(|r| r.time >= cut));
    assert_eq!(purge_chunk(&mut conn, cut, 2).unwrap(), Purged { rows: 0, done: true }, "nothing older is left");
}

#[test]
fn the_newest_calls_of_a_dense_log_read_few_frames() {
    let mut conn = migrated();
    // 200 batches of 256 calls, 10 ms apart: all within 5 s of each other.
    let mut newest = Vec::new();
    for b in 0..200i64 {
        let rows: Vec<_> = (0..256).map(|_| row_at(30_000_000 + b * 10, "key_a")).collect();
        insert(&mut conn, &rows).unwrap();
        newest = rows;
    }
    let mut stmt = conn.prepare("SELECT count(*) FROM call_frames").unwrap();
    let frames: i64 = stmt.query_row([], |r| r.get(0)).unwrap();
    assert_eq!(frames, 200);
    FETCHED.with(|f| f.set(0));
    let got = query(&conn, &LogQuery::default(), None, 100).unwrap();
    assert_eq!(FETCHED.with(|f| f.get()), 1, "the newest frame holds the 100 newest; the others are skipped on their bounds");
    assert_eq!(got.len(), 100);
    let mut want: Vec<_> = newest.iter().map(|r| r.request_id.clone()).collect();
    want.sort_by(|a, b| b.as_str().cmp(a.as_str()));
    assert_eq!(got.into_iter().map(|r| r.request_id).collect::<Vec<_>>(), want[..100].to_vec());
}
