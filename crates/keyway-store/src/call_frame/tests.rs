use super::*;
use keyway_core::codes::{ErrorCode, Stage};
use keyway_core::ids::{ApiId, AppId, KeyId, RequestId, TenantId};
use keyway_core::records::CallLogRow;
use keyway_core::Trace;

fn at(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap() + chrono::Duration::nanoseconds(123_456)
}

fn plain(ms: i64) -> CallLogRow {
    CallLogRow { status: 200, latency_ms: 0.5, ..CallLogRow::arriving(at(ms), "GET", "/orders/v1/x", "10.0.0.1") }
}

/// A row with every optional field set, and unusual texts.
fn full(ms: i64, key: &str) -> CallLogRow {
    let mut trace = Trace::new();
    trace.pass(Stage::Route, "api \"orders\" v1 ✓");
    trace.fail(Stage::Key, "revoked\n", Some("issue a new key".into()));
    trace.close(Stage::Upstream);
    CallLogRow {
        tenant_id: Some(TenantId::from("ten_a")),
        api_id: Some(ApiId::from("api_a")),
        app_id: Some(AppId::from("app_a")),
        key_id: Some(KeyId::from(key)),
        key_prefix: Some("kw_live_abcd".into()),
        status: 401,
        code: Some(ErrorCode::KeyRevoked),
        latency_ms: f64::NAN,
        upstream_latency_ms: Some(0.25),
        model: Some("gpt-4o".into()),
        provider: Some("openai".into()),
        tokens_estimated: true,
        token_details: Some(keyway_core::records::TokenDetails {
            cached_input_tokens: 1_000,
            cache_write_tokens: 0,
            reasoning_tokens: u64::from(u32::MAX) + 1,
        }),
        prompt_tokens: Some(i64::MAX as u64),
        completion_tokens: Some(0),
        cost_usd: Some(1e-9),
        trace,
        ..CallLogRow::arriving(at(ms), "POST", "/ä/%2F", "::1")
    }
}

fn frames(rows: &[CallLogRow]) -> Vec<(Bounds, Vec<u8>)> {
    split(rows).unwrap().iter().map(|f| encode(f)).collect()
}

fn all(bytes: &[u8]) -> Vec<CallLogRow> {
    Frame::parse(bytes).unwrap().rows(&RowFilter::default()).unwrap()
}

/// Rows compare equal, NaN latencies included.
fn same(a: &[CallLogRow], b: &[CallLogRow]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        let nan =
            |r: &CallLogRow| CallLogRow { latency_ms: if r.latency_ms.is_nan() { -1.0 } else { r.latency_ms }, ..r.clone() };
        assert_eq!(nan(x), nan(y));
    }
}

#[test]
fn rows_round_trip_sorted_by_request_id() {
    let rows = vec![full(1_000, "key_b"), plain(900), full(1_000, "key_a"), plain(950)];
    let f = frames(&rows);
    assert_eq!(f.len(), 1);
    let (bounds, bytes) = &f[0];
    assert_eq!(*bounds, Bounds { lo_ms: 900, hi_ms: 1_000 });
    let mut sorted = rows.clone();
    sorted.sort_by(|a, b| a.request_id.as_str().cmp(b.request_id.as_str()));
    same(&all(bytes), &sorted);
    assert_eq!(Frame::parse(bytes).unwrap().ids().unwrap().len(), 4);
}

#[test]
fn repeated_texts_are_stored_once() {
    let rows: Vec<_> = (0..200).map(|i| full(1_000 + i, "key_same")).collect();
    let (_, bytes) = &frames(&rows)[0];
    // Each row: its id (31 bytes), five floats and counts (~45), and a
    // few bytes of references per text; the texts themselves once.
    assert!(bytes.len() < 200 * 120, "{} bytes", bytes.len());
    same(&all(bytes), &rows);
}

#[test]
fn filters_select_on_the_head_and_a_missing_text_skips_the_frame() {
    let mut rows = vec![full(1_000, "key_a"), full(1_001, "key_b"), plain(1_002)];
    rows[1].code = None;
    let (_, bytes) = &frames(&rows)[0];
    let frame = Frame::parse(bytes).unwrap();
    let ids = |f: RowFilter<'_>| frame.rows(&f).unwrap().into_iter().map(|r| r.request_id).collect::<Vec<_>>();
    assert_eq!(ids(RowFilter { key_id: Some("key_b"), ..Default::default() }), vec![rows[1].request_id.clone()]);
    assert_eq!(ids(RowFilter { code: Some("key_revoked"), ..Default::default() }), vec![rows[0].request_id.clone()]);
    assert_eq!(ids(RowFilter { key_id: Some("key_zz"), ..Default::default() }), Vec::<RequestId>::new());
    assert_eq!(ids(RowFilter { tenant_id: Some("ten_a"), app_id: Some("app_a"), ..Default::default() }).len(), 2);
    assert_eq!(
        ids(RowFilter { request_id: Some(rows[2].request_id.as_str()), ..Default::default() }),
        vec![rows[2].request_id.clone()]
    );
    let t = |ms: i64| at(ms).timestamp_nanos_opt().unwrap();
    assert_eq!(ids(RowFilter { since_ns: Some(t(1_001)), ..Default::default() }).len(), 2);
    assert_eq!(ids(RowFilter { since_ns: Some(t(1_001)), until_ns: Some(t(1_002)), ..Default::default() }).len(), 1);
    let listed: Vec<_> = frame.ids().unwrap().into_iter().map(|(_, id)| id.to_owned()).collect();
    assert_eq!(listed, rows.iter().map(|r| r.request_id.0.clone()).collect::<Vec<_>>());
}

#[test]
fn batches_are_cut_by_row_count_and_by_time_span() {
    let many: Vec<_> = (0..MAX_ROWS as i64 + 5).map(|i| plain(10_000 + i / 10)).collect();
    let f = frames(&many);
    assert_eq!(f.iter().map(|(_, b)| Frame::parse(b).unwrap().ids().unwrap().len()).collect::<Vec<_>>(), vec![MAX_ROWS, 5]);
    // A straggler a long request left behind gets a frame of its own.
    let spread = vec![plain(1_000), plain(1_000 + MAX_SPAN_MS), plain(1_001 + MAX_SPAN_MS * 2)];
    let f = frames(&spread);
    assert_eq!(f.len(), 2);
    assert!(f.iter().all(|(b, _)| b.hi_ms - b.lo_ms <= MAX_SPAN_MS));
    // A row whose id was minted a moment before its time widens the bounds.
    let mut skewed = plain(5_000);
    skewed.time = at(5_400);
    assert_eq!(frames(&[skewed])[0].0, Bounds { lo_ms: 5_000, hi_ms: 5_400 });
    // An id the gateway did not mint is placed by its time.
    let other = CallLogRow { request_id: RequestId("imported-7".into()), ..plain(7_000) };
    assert_eq!(frames(std::slice::from_ref(&other))[0].0, Bounds { lo_ms: 7_000, hi_ms: 7_000 });
    same(&all(&frames(std::slice::from_ref(&other))[0].1), &[other]);
}

#[test]
fn damaged_frames_are_errors_never_panics() {
    let (_, bytes) = &frames(&[full(1_000, "key_a"), plain(1_001)])[0];
    for cut in 0..bytes.len() {
        let read = Frame::parse(&bytes[..cut]).and_then(|f| f.rows(&RowFilter::default()));
        assert!(read.is_err(), "cut at {cut} read as {read:?}");
    }
    let mut flipped = bytes.clone();
    flipped[0] = 9;
    assert_eq!(Frame::parse(&flipped).err(), Some(FrameError::Malformed("unknown version")));
    // Every single-byte change either reads or fails cleanly.
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x5a;
        let _ = Frame::parse(&b).and_then(|f| f.rows(&RowFilter::default()));
    }
}

#[test]
fn id_ms_reads_the_ulid_millisecond_of_minted_ids_only() {
    for ms in [0, 1, 1_714_564_801_123, (1 << 48) - 1] {
        let id = RequestId::at(chrono::DateTime::from_timestamp_millis(ms).unwrap());
        assert_eq!(id_ms(id.as_str()), Some(ms), "{id}");
    }
    for other in [
        "req_b",
        "req_nope",
        "key_01hx0000000000000000000000",
        "req_01HX0000000000000000000000",
        "req_81hx0000000000000000000000",
    ] {
        assert_eq!(id_ms(other), None, "{other}");
    }
}

#[test]
fn id_ms_takes_exactly_the_lowercase_crockford_digits() {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'h' => Some(c - b'a' + 10),
        b'j' | b'k' => Some(c - b'j' + 18),
        b'm' | b'n' => Some(c - b'm' + 20),
        b'p'..=b't' => Some(c - b'p' + 22),
        b'v'..=b'z' => Some(c - b'v' + 27),
        _ => None,
    };
    for c in 0..=255u8 {
        for at in [1, 9, 10, 25] {
            let mut ulid = *b"01hx000000000000000000000z";
            ulid[at] = c;
            let Ok(text) = std::str::from_utf8(&ulid) else { continue };
            let expected = digit(c).map(|d| {
                let mut ms = 0i64;
                for (i, &b) in ulid[..10].iter().enumerate() {
                    ms = (ms << 5) | i64::from(if i == at { d } else { digit(b).unwrap() });
                }
                ms
            });
            assert_eq!(id_ms(&format!("req_{text}")), expected, "{c:#04x} at {at}");
        }
    }
}
