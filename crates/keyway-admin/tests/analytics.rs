//! Analytics answers against brute force over the raw rows, on random
//! traffic: some minutes stored, the newest still open in memory.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

mod common;

use chrono::{DateTime, Utc};
use common::Harness;
use keyway_admin::analytics::Dimension;
use keyway_admin::{router, AdminState, PendingCalls};
use keyway_core::ids::{ApiId, AppId, KeyId, RequestId, TenantId};
use keyway_core::records::CallLogRow;
use keyway_core::rollup::{Grain, RollupQuery, RollupRow};
use keyway_core::{ErrorCode, Trace};
use keyway_gateway::rollup::LiveRollups;
use keyway_store::sqlite::SqliteStore;
use keyway_store::{Store, StoreError};
use rand::Rng;
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// The open minutes, and what the planner asked for. With `finer`, every
/// query is answered from that grain instead (the full grain answers
/// anything), and unmerged when `unmerged`: the same answers must come
/// out.
struct Live {
    rollups: Arc<LiveRollups>,
    finer: Option<Grain>,
    unmerged: bool,
    asked: Mutex<Vec<Grain>>,
}

impl Live {
    fn new(rollups: Arc<LiveRollups>, finer: Option<Grain>, unmerged: bool) -> Live {
        Live { rollups, finer, unmerged, asked: Mutex::new(Vec::new()) }
    }
}

impl PendingCalls for Live {
    fn flush(&self, _within: std::time::Duration) -> Pin<Box<dyn Future<Output = bool> + Send + '_>> {
        Box::pin(async { true })
    }
    fn rollups<'a>(
        &'a self,
        store: &'a dyn Store,
        query: &'a RollupQuery,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<RollupRow>, StoreError>> + Send + 'a>> {
        self.asked.lock().unwrap().push(query.grain);
        let mut q = query.clone();
        q.grain = self.finer.unwrap_or(q.grain);
        if self.unmerged {
            q.merge = None;
        }
        Box::pin(async move { self.rollups.read(store, &q).await })
    }
}

const KEYS: [&str; 4] = ["key_a", "key_b", "key_c", "key_d"];
const BASE: i64 = 1_764_547_200; // 2025-12-01T00:00:00Z

fn random_row(rng: &mut impl Rng) -> CallLogRow {
    let time = DateTime::from_timestamp(BASE, 0).unwrap() + chrono::Duration::milliseconds(rng.gen_range(0..2 * 86_400_000));
    let code = [None, None, None, Some(ErrorCode::KeyRevoked), Some(ErrorCode::KeyOwnerSuspended)][rng.gen_range(0..5)];
    let key = KEYS[rng.gen_range(0..KEYS.len())];
    CallLogRow {
        request_id: RequestId::at(time),
        time,
        tenant_id: Some(TenantId::from("ten_x")),
        api_id: Some(ApiId::from(if rng.gen_bool(0.5) { "api_1" } else { "api_2" })),
        app_id: Some(AppId::from(format!("app_{}", &key[4..]).as_str())),
        key_id: (rng.gen_range(0..10) > 0).then(|| KeyId::from(key)),
        key_prefix: None,
        method: "GET".into(),
        path: "/x".into(),
        status: if code.is_some() { 403 } else { 200 },
        code,
        client_ip: "::1".into(),
        latency_ms: rng.gen_range(0.2..900.0),
        upstream_latency_ms: None,
        model: None,
        provider: None,
        tokens_estimated: false,
        token_details: None,
        prompt_tokens: Some(rng.gen_range(0..50)),
        completion_tokens: Some(rng.gen_range(0..50)),
        cost_usd: None,
        trace: Trace::default(),
    }
}

async fn harness(rows: &[CallLogRow]) -> Harness {
    harnesses(rows, &[(None, false)]).await.remove(0).0
}

/// One store and its open minutes, behind one router per `(finer,
/// unmerged)` (see [`Live`]).
async fn harnesses(rows: &[CallLogRow], variants: &[(Option<Grain>, bool)]) -> Vec<(Harness, Arc<Live>)> {
    harnesses_on(Harness::new().await, rows, variants).await
}

/// [`harnesses`] over `h`'s store.
async fn harnesses_on(h: Harness, rows: &[CallLogRow], variants: &[(Option<Grain>, bool)]) -> Vec<(Harness, Arc<Live>)> {
    h.state.store.start_rollups(DateTime::from_timestamp(BASE - 60, 0).unwrap()).await.unwrap();
    let live = Arc::new(LiveRollups::default());
    live.fold(rows);
    // Everything before the last six hours goes to storage; the rest stays open.
    let cut = BASE + 42 * 3600;
    live.flush(h.state.store.as_ref(), cut, DateTime::from_timestamp(cut, 0).unwrap()).await.unwrap();
    let mut out = Vec::new();
    for (finer, unmerged) in variants {
        let pending = Arc::new(Live::new(live.clone(), *finer, *unmerged));
        let state = AdminState { call_log: Some(pending.clone()), ..h.state.clone() };
        out.push((Harness { app: router(state.clone()), state, token: h.token.clone() }, pending));
    }
    out
}

fn time(secs: i64) -> String {
    keyway_core::fmt_time(&DateTime::<Utc>::from_timestamp(secs, 0).unwrap())
}

fn code(r: &CallLogRow) -> String {
    r.code.map_or("ok", |c| c.as_str()).to_owned()
}

fn key(r: &CallLogRow) -> Option<String> {
    r.key_id.as_ref().map(|k| k.0.to_string())
}

fn exact(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[(q * (v.len() - 1) as f64) as usize]
}

fn points(body: &Value) -> BTreeMap<(String, Option<String>), f64> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| ((p["time"].as_str().unwrap().to_owned(), p["group"].as_str().map(str::to_owned)), p["value"].as_f64().unwrap()))
        .collect()
}

#[tokio::test]
async fn series_and_rankings_equal_brute_force_counts_and_percentiles() {
    let mut rng = rand::thread_rng();
    let rows: Vec<CallLogRow> = (0..4000).map(|_| random_row(&mut rng)).collect();
    let h = harness(&rows).await;
    let range = format!("since={}&until={}", time(BASE), time(BASE + 2 * 86_400)).replace('+', "%2B");

    for step in [3600, 86_400, 600] {
        // Requests per key and step.
        let got = points(
            &h.ok("GET", &format!("/admin/v1/analytics/timeseries?metric=requests&by=key&step={step}&{range}"), Value::Null)
                .await,
        );
        let mut want: BTreeMap<(String, Option<String>), f64> = BTreeMap::new();
        for r in &rows {
            let t = r.time.timestamp();
            *want.entry((time(t - t.rem_euclid(step)), key(r))).or_default() += 1.0;
        }
        assert_eq!(got, want, "step {step}");
    }

    // p95 per code and hour, within the sketch's 1%.
    let got = points(
        &h.ok("GET", &format!("/admin/v1/analytics/timeseries?metric=latency_p95&by=code&step=3600&{range}"), Value::Null).await,
    );
    let mut groups: BTreeMap<(String, Option<String>), Vec<f64>> = BTreeMap::new();
    for r in &rows {
        let t = r.time.timestamp();
        groups.entry((time(t - t.rem_euclid(3600)), Some(code(r)))).or_default().push(r.latency_ms);
    }
    assert_eq!(got.len(), groups.len());
    for (g, lat) in groups {
        let want = exact(lat, 0.95);
        assert!((got[&g] - want).abs() <= want * 0.01 + 0.001, "{g:?}: {} vs {want}", got[&g]);
    }

    // Tokens of one key over everything, errors of one API.
    let got = points(
        &h.ok("GET", &format!("/admin/v1/analytics/timeseries?metric=tokens&key_id=key_b&step=86400&{range}"), Value::Null).await,
    );
    let want: f64 = rows
        .iter()
        .filter(|r| key(r).as_deref() == Some("key_b"))
        .map(|r| (r.prompt_tokens.unwrap() + r.completion_tokens.unwrap()) as f64)
        .sum();
    assert_eq!(got.values().sum::<f64>(), want);

    // Requests of one key per minute (the full grain, read through its
    // key index), and of one app per hour (the per-key grain's app index).
    let of_key = |r: &CallLogRow| key(r).as_deref() == Some("key_a");
    let of_app = |r: &CallLogRow| r.app_id.as_ref().is_some_and(|a| a.as_str() == "app_c");
    type Case<'a> = (&'a str, i64, &'a dyn Fn(&CallLogRow) -> bool);
    let cases: [Case<'_>; 2] = [("key_id=key_a", 60, &of_key), ("app_id=app_c", 3600, &of_app)];
    for (filter, step, matches) in cases {
        let got = points(
            &h.ok("GET", &format!("/admin/v1/analytics/timeseries?metric=requests&{filter}&step={step}&{range}"), Value::Null)
                .await,
        );
        let mut want: BTreeMap<(String, Option<String>), f64> = BTreeMap::new();
        for r in rows.iter().filter(|r| matches(r)) {
            let t = r.time.timestamp();
            *want.entry((time(t - t.rem_euclid(step)), None)).or_default() += 1.0;
        }
        assert!(!want.is_empty());
        assert_eq!(got, want, "{filter}");
    }

    // Which keys got key_owner_suspended: one call, largest first.
    let body = h.ok("GET", &format!("/admin/v1/analytics/top?dimension=key&code=key_owner_suspended&{range}"), Value::Null).await;
    let mut want: BTreeMap<Option<String>, f64> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.code == Some(ErrorCode::KeyOwnerSuspended)) {
        *want.entry(key(r)).or_default() += 1.0;
    }
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), want.len());
    for pair in data.windows(2) {
        assert!(pair[0]["value"].as_f64() >= pair[1]["value"].as_f64(), "{body}");
    }
    for d in data {
        assert_eq!(d["value"].as_f64().unwrap(), want[&d["group"].as_str().map(str::to_owned)], "{d}");
    }

    // A range of odd minutes reads days, hours and minutes: still exact.
    let (lo, hi) = (BASE + 3 * 60, BASE + 86_400 + 7 * 3600 + 11 * 60);
    let odd = format!("since={}&until={}", time(lo), time(hi)).replace('+', "%2B");
    let body = h.ok("GET", &format!("/admin/v1/analytics/top?dimension=api&metric=errors&limit=1&{odd}"), Value::Null).await;
    let mut want: BTreeMap<String, f64> = BTreeMap::new();
    for r in rows.iter().filter(|r| (lo..hi).contains(&r.time.timestamp()) && r.code.is_some()) {
        *want.entry(r.api_id.clone().unwrap().to_string()).or_default() += 1.0;
    }
    let best = want.iter().max_by(|a, b| a.1.total_cmp(b.1).then_with(|| b.0.cmp(a.0))).unwrap();
    assert_eq!(body["data"], serde_json::json!([{"group": best.0, "value": *best.1 as u64}]));
}

/// Series and rankings of every metric kind, grouping, step and filter
/// over a range with odd edges (minutes, hours and a day).
fn assorted_queries() -> Vec<String> {
    let range = format!("since={}&until={}", time(BASE + 3 * 60), time(BASE + 86_400 + 7 * 3600 + 11 * 60)).replace('+', "%2B");
    let mut queries = Vec::new();
    for metric in ["requests", "errors", "latency_p95", "tokens"] {
        for by in ["", "&by=api", "&by=app", "&by=key", "&by=code", "&by=tenant"] {
            for step in [60, 3600, 86_400] {
                queries.push(format!("/admin/v1/analytics/timeseries?metric={metric}{by}&step={step}&{range}"));
            }
        }
        for dimension in Dimension::NAMES {
            queries.push(format!("/admin/v1/analytics/top?dimension={dimension}&metric={metric}&limit=1000&{range}"));
        }
    }
    for filter in ["app_id=app_a", "api_id=api_1&code=key_revoked", "tenant_id=ten_x&key_id=key_c", "code=ok"] {
        queries.push(format!("/admin/v1/analytics/timeseries?metric=latency_p99&by=code&step=3600&{filter}&{range}"));
        queries.push(format!("/admin/v1/analytics/top?dimension=api&metric=requests&{filter}&{range}"));
        queries.push(format!("/admin/v1/analytics/timeseries?metric=requests&by=key&step=3600&{filter}&{range}"));
        queries.push(format!("/admin/v1/analytics/top?dimension=key&metric=errors&{filter}&{range}"));
    }
    queries
}

#[tokio::test]
async fn every_grain_and_the_merged_read_give_the_same_answers_and_the_planner_picks_the_coarsest() {
    let mut rng = rand::thread_rng();
    let rows: Vec<CallLogRow> = (0..3000).map(|_| random_row(&mut rng)).collect();
    let hs = harnesses(&rows, &[(None, false), (Some(Grain::Full), true), (Some(Grain::Full), false)]).await;
    let (planned, live) = &hs[0];
    let queries = assorted_queries();
    let range = format!("since={}&until={}", time(BASE + 3 * 60), time(BASE + 86_400 + 7 * 3600 + 11 * 60)).replace('+', "%2B");
    for q in &queries {
        let want = planned.ok("GET", q, Value::Null).await;
        assert!(!want["data"].as_array().unwrap().is_empty(), "{q}");
        for (h, _) in &hs[1..] {
            assert_eq!(h.ok("GET", q, Value::Null).await, want, "{q}");
        }
    }
    // The grain the planner read for each kind of query.
    for (q, grain) in [
        ("timeseries?metric=requests&by=api", Grain::Api),
        ("timeseries?metric=latency_p99&code=ok", Grain::Api),
        ("top?dimension=code", Grain::Api),
        ("timeseries?metric=requests&by=app&step=3600", Grain::App),
        ("timeseries?metric=latency_p99&by=app&step=86400", Grain::App),
        ("timeseries?metric=requests&by=key&step=3600&app_id=app_a", Grain::Key),
        ("timeseries?metric=latency_p99&key_id=key_a&step=86400", Grain::Key),
        ("timeseries?metric=requests&by=key&step=300", Grain::Full),
        ("top?dimension=api&app_id=app_a", Grain::Full),
        ("top?dimension=code&key_id=key_a", Grain::Full),
    ] {
        live.asked.lock().unwrap().clear();
        planned.ok("GET", &format!("/admin/v1/analytics/{q}&{range}"), Value::Null).await;
        let asked = live.asked.lock().unwrap().clone();
        assert!(!asked.is_empty() && asked.iter().all(|g| *g == grain), "{q}: {asked:?}");
    }
}

/// A directory under the system temp dir, removed on drop.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_store_splitting_each_read_over_its_connections_answers_as_one_connection_does() {
    let mut rng = rand::thread_rng();
    // ~7 calls a minute: a minute lost or counted twice at a part's edge shows.
    let rows: Vec<CallLogRow> = (0..20_000).map(|_| random_row(&mut rng)).collect();
    let dir = TempDir(std::env::temp_dir().join(format!("keyway-analytics-test-{}", KeyId::generate())));
    let store = Arc::new(SqliteStore::open(&dir.0.join("keyway.db")).unwrap());
    assert!(store.analytics_readers() > 1, "a file store reads analytics on several connections");
    let file = harnesses_on(Harness::with_store(store).await, &rows, &[(None, false)]).await;
    let memory = harnesses(&rows, &[(None, false)]).await;
    let (file, memory) = (&file[0].0, &memory[0].0);
    for q in &assorted_queries() {
        let want = memory.ok("GET", q, Value::Null).await;
        assert!(!want["data"].as_array().unwrap().is_empty(), "{q}");
        assert_eq!(file.ok("GET", q, Value::Null).await, want, "{q}");
    }
}

#[tokio::test]
async fn bad_parameters_are_refused_naming_them() {
    let h = harness(&[random_row(&mut rand::thread_rng())]).await;
    for (query, param) in [
        ("/admin/v1/analytics/timeseries", "metric"),
        ("/admin/v1/analytics/timeseries?metric=speed", "metric"),
        ("/admin/v1/analytics/timeseries?metric=requests&by=user", "by"),
        ("/admin/v1/analytics/timeseries?metric=requests&step=90", "step"),
        ("/admin/v1/analytics/timeseries?metric=requests&step=30", "step"),
        ("/admin/v1/analytics/timeseries?metric=requests&code=nope", "code"),
        ("/admin/v1/analytics/timeseries?metric=requests&since=yesterday", "since"),
        ("/admin/v1/analytics/timeseries?metric=requests&limit=3", "limit"),
        ("/admin/v1/analytics/top", "dimension"),
        ("/admin/v1/analytics/top?dimension=key&limit=0", "limit"),
        ("/admin/v1/analytics/top?dimension=key&metric=requests&metric=errors", "metric"),
    ] {
        let r = h.call("GET", query, None).await;
        assert_eq!(r.problem(400, "request_invalid")["param"], param, "{query}: {}", r.text);
    }
    // An empty range is no data, not an error.
    let empty = h
        .ok("GET", "/admin/v1/analytics/top?dimension=key&since=2025-01-02T00:00:00Z&until=2025-01-01T00:00:00Z", Value::Null)
        .await;
    assert_eq!(empty["data"], serde_json::json!([]));
}
