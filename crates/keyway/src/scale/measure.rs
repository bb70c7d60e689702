//! The scale test's measurements: analytics and log queries through the
//! real admin handlers (in process, no socket), and a retention purge
//! while batches keep being written.

use super::traffic::Traffic;
use crate::app;
use crate::config::Config;
use axum::body::Body;
use http::Request;
use http_body_util::BodyExt;
use keyway_admin::{bootstrap_admin_token, router, AdminState};
use keyway_core::records::{CallLogRow, LogQuery};
use keyway_pipeline::SnapshotHandle;
use keyway_store::sqlite::SqliteStore;
use keyway_store::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

const TOKEN: &str = "kwadm_scale_test_token";

/// Percentiles of a set of durations, in ms, and the first one (the
/// coldest).
fn summary(mut ms: Vec<f64>) -> String {
    let first = ms.first().copied().unwrap_or(f64::NAN);
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms.get(((ms.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(f64::NAN);
    format!("p50 {:7.2} ms  p99 {:7.2} ms  max {:7.2} ms  first {:7.2} ms  (n={})", at(0.5), at(0.99), at(1.0), first, ms.len())
}

fn since(days: f64) -> String {
    let t = chrono::Utc::now() - chrono::Duration::milliseconds((days * 86_400_000.0) as i64);
    keyway_core::fmt_time(&t).replace('+', "%2B")
}

/// Times each query `n` times through the admin router; fails on a non-200.
async fn time(
    app: &axum::Router,
    only: Option<&str>,
    label: &str,
    n: usize,
    path: impl Fn(usize) -> String,
) -> anyhow::Result<()> {
    if only.is_some_and(|o| !label.contains(o)) {
        return Ok(());
    }
    let mut ms = Vec::with_capacity(n);
    let mut rows = 0;
    for i in 0..n {
        let req = Request::get(path(i)).header("authorization", format!("Bearer {TOKEN}")).body(Body::empty())?;
        let started = Instant::now();
        let res = app.clone().oneshot(req).await?;
        let status = res.status();
        let body = res.into_body().collect().await?.to_bytes();
        ms.push(started.elapsed().as_secs_f64() * 1e3);
        if !status.is_success() {
            anyhow::bail!("{label}: {status} {}", String::from_utf8_lossy(&body));
        }
        let v: serde_json::Value = serde_json::from_slice(&body)?;
        rows = v["data"].as_array().map_or(0, Vec::len);
    }
    println!("{label:<62} {}  ({rows} items)", summary(ms));
    Ok(())
}

/// Times the analytics and log queries.
/// Request ids to look up: those the generation kept (one per 10,000
/// rows), or, measuring a store filled before, the newest call before
/// each of 500 times spread over the traffic's span.
async fn lookup_ids(store: &SqliteStore, gen: &Traffic) -> anyhow::Result<Vec<String>> {
    if !gen.sample_ids.is_empty() {
        return Ok(gen.sample_ids.clone());
    }
    let (start, end) = (gen.time_of(0), chrono::Utc::now());
    let mut ids = Vec::new();
    for k in 1..=500 {
        let until = start + (end - start) * k / 500;
        let q = LogQuery { until: Some(until), limit: 1, ..Default::default() };
        ids.extend(store.calls(&q).await?.into_iter().map(|r| r.request_id.0));
    }
    Ok(ids)
}

pub async fn queries(config: &Config, store: Arc<SqliteStore>, gen: &Traffic, only: Option<&str>) -> anyhow::Result<()> {
    let settings = app::stage_settings(config)?;
    bootstrap_admin_token(store.as_ref(), &settings.hasher, Some(TOKEN)).await?;
    let ids = lookup_ids(store.as_ref(), gen).await?;
    let state = AdminState {
        store,
        snapshot: Arc::new(SnapshotHandle::default()),
        settings,
        metrics: Arc::new(String::new),
        admin_addr: None,
        call_log: None,
        credential_health: Default::default(),
    };
    let app = router(state);
    let ts = "/admin/v1/analytics/timeseries";
    let top = "/admin/v1/analytics/top";
    let hot = Traffic::key(0).0;
    let key = |i: usize| Traffic::key(i * 37 % 500).0;
    let n = 30;
    println!("-- analytics (each query {n} times)");
    time(&app, only, "requests by key, hourly, 7 days", n, |_| {
        format!("{ts}?metric=requests&by=key&step=3600&since={}", since(7.0))
    })
    .await?;
    time(&app, only, "errors by code, per minute, 24 hours", n, |_| {
        format!("{ts}?metric=errors&by=code&step=60&since={}", since(1.0))
    })
    .await?;
    time(&app, only, "latency_p99 by api, daily, 30 days", n, |_| {
        format!("{ts}?metric=latency_p99&by=api&step=86400&since={}", since(30.0))
    })
    .await?;
    time(&app, only, "latency_p95 of the hottest key, hourly, 7 days", n, |_| {
        format!("{ts}?metric=latency_p95&key_id={hot}&step=3600&since={}", since(7.0))
    })
    .await?;
    time(&app, only, "requests of one key, per minute, 24 hours", n, |i| {
        format!("{ts}?metric=requests&key_id={}&step=60&since={}", key(i), since(1.0))
    })
    .await?;
    time(&app, only, "top keys refused key_owner_suspended, 7 days", n, |_| {
        format!("{top}?dimension=key&code=key_owner_suspended&since={}", since(7.0))
    })
    .await?;
    time(&app, only, "top apps by latency_p99, 30 days", n, |_| {
        format!("{top}?dimension=app&metric=latency_p99&since={}", since(30.0))
    })
    .await?;
    time(&app, only, "top codes, 30 days (odd edges: minutes, hours, days)", n, |_| {
        format!("{top}?dimension=code&since={}", since(29.7))
    })
    .await?;
    println!("-- logs");
    time(&app, only, "by request id", ids.len().min(500), |i| format!("/admin/v1/logs?request_id={}", ids[i])).await?;
    time(&app, only, "by key over a day (100 newest)", n, |i| format!("/admin/v1/logs?key_id={}&since={}", key(i), since(1.0)))
        .await?;
    time(&app, only, "by key over 30 days, a tail key (100 newest)", n, |i| {
        format!("/admin/v1/logs?key_id={}&since={}", Traffic::key(400 + i).0, since(30.0))
    })
    .await?;
    time(&app, only, "by code scope_insufficient, 30 days (100 newest)", n, |_| {
        format!("/admin/v1/logs?code=scope_insufficient&since={}", since(30.0))
    })
    .await?;
    time(&app, only, "by app over a day (100 newest)", n, |i| {
        format!("/admin/v1/logs?app_id={}&since={}", Traffic::key(i).1, since(1.0))
    })
    .await?;
    time(&app, only, "newest 100, no filter", n, |_| "/admin/v1/logs".to_owned()).await?;
    Ok(())
}

/// Purges the oldest `rows` rows while a writer inserts 256-row batches
/// every 10 ms (~25,600 rows/s) and the store is checkpointed every
/// second (as a node does); prints the batches' latency during the purge
/// and without it.
pub async fn purge(store: Arc<SqliteStore>, gen: &Traffic, rows: u64) -> anyhow::Result<()> {
    let before = gen.time_of(rows);
    let writer_store = store.clone();
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let checkpoint_store = store.clone();
    let mut checkpoint_stop = stop_rx.clone();
    let checkpoints = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tick.tick() => { let _ = checkpoint_store.checkpoint().await; }
                _ = checkpoint_stop.changed() => break,
            }
        }
    });
    let writer = tokio::spawn(async move {
        let mut ms = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        let mut probe =
            Traffic::new(&super::ScaleOptions { rows: 1, days: 1, keys: 500, purge_rows: 0, measure_only: false, only: None });
        while !*stop_rx.borrow_and_update() {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop_rx.changed() => break,
            }
            let batch: Vec<CallLogRow> = probe
                .batch(0, 256)
                .into_iter()
                .map(|mut r| {
                    r.time = chrono::Utc::now();
                    r.request_id = keyway_core::ids::RequestId::at(r.time);
                    r
                })
                .collect();
            let started = Instant::now();
            if writer_store.insert_call_batch(Arc::new(batch)).await.is_err() {
                break;
            }
            ms.push((started, started.elapsed().as_secs_f64() * 1e3));
        }
        ms
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    let started = Instant::now();
    let purged = store.purge_calls(before).await?;
    let ended = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _ = stop_tx.send(true);
    let ms = writer.await?;
    checkpoints.await?;
    let (during, alone): (Vec<_>, Vec<_>) = ms.into_iter().partition(|(at, _)| *at >= started && *at < ended);
    let took = (ended - started).as_secs_f64();
    println!("-- retention purge of {purged} rows in {took:.1} s, 256-row batches written every 10 ms meanwhile");
    println!("{:<62} {}", "batch insert, no purge", summary(alone.into_iter().map(|(_, m)| m).collect()));
    println!("{:<62} {}", "batch insert, during the purge", summary(during.into_iter().map(|(_, m)| m).collect()));
    Ok(())
}
