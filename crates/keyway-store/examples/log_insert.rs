//! Times the call-log write path alone: `ROWS` gateway-like rows (ids
//! minted from their time, 10,000 a second, a trace of three steps) in
//! batches of `BATCH` through `Store::insert_call_batch` into a fresh
//! file store. `cargo run --release -p keyway-store --example log_insert`
//! (env ROWS, BATCH, DIR); under callgrind it gives instructions per row.
//! With OPEN=path/keyway.db it only times opening that file (migrations).
use keyway_core::codes::{ErrorCode, Stage};
use keyway_core::ids::{ApiId, AppId, KeyId, RequestId, TenantId};
use keyway_core::records::CallLogRow;
use keyway_core::Trace;
use keyway_store::sqlite::SqliteStore;
use keyway_store::Store;
use std::sync::Arc;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn row(i: usize, keys: &[(TenantId, ApiId, AppId, KeyId)]) -> CallLogRow {
    let time = chrono::Utc::now() + chrono::Duration::microseconds(i as i64 * 100);
    let mut trace = Trace::new();
    trace.pass(Stage::Route, "api orders v1");
    trace.pass(Stage::Credential, "key kw_live_abcd");
    trace.close(Stage::Limits);
    let (t, api, app, key) = keys[i % keys.len()].clone();
    CallLogRow {
        request_id: RequestId::at(time),
        time,
        tenant_id: Some(t),
        api_id: Some(api),
        app_id: Some(app),
        key_id: Some(key),
        key_prefix: Some("kw_live_abcd".into()),
        method: "GET".into(),
        path: "/bench/x".into(),
        status: if i.is_multiple_of(10) { 429 } else { 200 },
        code: (i.is_multiple_of(10)).then_some(ErrorCode::RateLimited),
        client_ip: "127.0.0.1".into(),
        latency_ms: 0.25,
        upstream_latency_ms: Some(0.1),
        model: None,
        provider: None,
        tokens_estimated: false,
        token_details: None,
        prompt_tokens: None,
        completion_tokens: None,
        cost_usd: None,
        trace,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if let Ok(path) = std::env::var("OPEN") {
        // Times opening (and migrating) an existing database file.
        let started = std::time::Instant::now();
        SqliteStore::open(std::path::Path::new(&path))?;
        println!("opened {path} in {:.1} s", started.elapsed().as_secs_f64());
        return Ok(());
    }
    let (rows, batch) = (env("ROWS", 200_000), env("BATCH", 256));
    let dir = std::env::var("DIR").unwrap_or_else(|_| format!("/tmp/log_insert_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = SqliteStore::open(&std::path::Path::new(&dir).join("keyway.db"))?;
    let keys: Vec<_> =
        (0..500).map(|_| (TenantId::generate(), ApiId::generate(), AppId::generate(), KeyId::generate())).collect();
    let all: Vec<CallLogRow> = (0..rows).map(|i| row(i, &keys)).collect();
    let batches: Vec<Arc<Vec<CallLogRow>>> = all.chunks(batch).map(|c| Arc::new(c.to_vec())).collect();
    let started = std::time::Instant::now();
    for b in batches {
        store.insert_call_batch(b).await?;
    }
    let took = started.elapsed();
    store.close().await?;
    let size = std::fs::metadata(std::path::Path::new(&dir).join("keyway.db")).map(|m| m.len()).unwrap_or(0);
    println!(
        "{rows} rows in batches of {batch}: {:.2} us per row, {} bytes per row on disk",
        took.as_secs_f64() * 1e6 / rows as f64,
        size / rows as u64
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
