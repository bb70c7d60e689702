//! SIGTERM under load loses no call-log row: the real binary is started,
//! loaded by concurrent clients, sent SIGTERM mid-load, and afterwards the
//! store holds exactly one row per response the clients received.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test harness code")]

mod common;

use common::*;
use serde_json::json;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_loses_no_call_log_row() {
    let upstream = keyway::echo::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let data_dir = temp_dir("sigterm");
    let (gw, adm) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyway"))
        .args(["serve", "--data-dir", data_dir.to_str().unwrap()])
        .args(["--listen", &format!("127.0.0.1:{gw}"), "--admin-listen", &format!("127.0.0.1:{adm}")])
        .env("KEYWAY_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("KEYWAY_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let admin = format!("http://127.0.0.1:{adm}");
    let mut ready = false;
    for _ in 0..200 {
        if http.get(format!("{admin}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "keyway did not start");
    let post = |path: String, body: serde_json::Value| {
        let http = http.clone();
        let url = format!("{admin}{path}");
        async move {
            let r = http.post(url).bearer_auth(ADMIN_TOKEN).json(&body).send().await.unwrap();
            assert!(r.status().is_success());
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    let t = post("/admin/v1/tenants".into(), json!({"slug": "load", "name": "Load"})).await;
    let tid = t["id"].as_str().unwrap().to_owned();
    let u = post(format!("/admin/v1/tenants/{tid}/users"), json!({"email": "o@load.test", "role": "owner"})).await;
    let a = post(format!("/admin/v1/tenants/{tid}/apps"), json!({"name": "load", "owner_user_id": u["id"]})).await;
    post(
        format!("/admin/v1/tenants/{tid}/apis"),
        json!({"name": "l", "version": "v1", "base_path": "/l", "upstream": {"targets": [{"url": format!("http://{upstream}")}]},
               "auth": ["api_key"], "requires_approval": false, "visibility": "tenant"}),
    )
    .await;
    let k = post(format!("/admin/v1/apps/{}/keys", a["id"].as_str().unwrap()), json!({})).await;
    let key = k["key"].as_str().unwrap().to_owned();

    let answered = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for i in 0..16 {
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let answered = answered.clone();
        let key = key.clone();
        clients.push(tokio::spawn(async move {
            // Mix accepted and refused calls; stop at the first connection failure.
            for n in 0..100_000u32 {
                let mut req = http.get(format!("http://127.0.0.1:{gw}/l/x/{i}/{n}"));
                if n % 3 != 0 {
                    req = req.bearer_auth(&key);
                }
                match req.send().await {
                    Ok(r) => {
                        // A response counts once its body is read in full.
                        if r.bytes().await.is_ok() {
                            answered.fetch_add(1, Ordering::SeqCst);
                        } else {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(answered.load(Ordering::SeqCst) > 100, "load did not get going");
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    for c in clients {
        c.await.unwrap();
    }
    let exit = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    assert!(exit.success(), "keyway exited with {exit:?}");

    let store = keyway_store::sqlite::SqliteStore::open(&data_dir.join("keyway.db")).unwrap();
    use keyway_store::Store;
    // Page through the log newest-first; a page ends where the next begins
    // (rows of the boundary millisecond are fetched twice and deduplicated).
    let mut seen = std::collections::HashSet::new();
    let mut until: Option<chrono::DateTime<chrono::Utc>> = None;
    loop {
        let rows = store.calls(&keyway_core::records::LogQuery { until, limit: 1000, ..Default::default() }).await.unwrap();
        let fresh = rows.iter().filter(|r| seen.insert(r.request_id.clone())).count();
        if fresh == 0 {
            break;
        }
        until = Some(rows.last().unwrap().time + chrono::Duration::milliseconds(1));
    }
    let total = seen.len();
    let sent = answered.load(Ordering::SeqCst) as usize;
    assert_eq!(total, sent, "call-log rows vs responses received");
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// A graceful stop leaves nothing slow for after "keyway stopped": the
/// store's write-ahead log is already copied back and emptied (SQLite's
/// own checkpoint when the last connection closed once took 1.3-1.8 s
/// of silent exit after a busy run).
#[tokio::test]
async fn a_graceful_stop_leaves_the_write_ahead_log_empty() {
    let mut node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    for _ in 0..50 {
        assert_eq!(node.get_bearer("/orders/v1/x", &key).await.status(), 200);
    }
    // Hold the store open past the stop, as a process exit would find it.
    let store = node.running.as_ref().unwrap().store.clone();
    let wal = node.data_dir.join("keyway.db-wal");
    assert!(std::fs::metadata(&wal).unwrap().len() > 0, "the run wrote to the WAL");
    node.stop().await;
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0, "WAL left for the exit to checkpoint");
    drop(store);
}
