//! What the snapshot costs at scale: the lookups one request makes
//! (digest, app, owner, tenant, subscription), one key write applied
//! while an older version is still held, the build, and the memory.
//!
//! `cargo run --release -p keyway-pipeline --example snapshot_cost -- 10000 100000 1000000`

use keyway_core::change::{Change, Record};
use keyway_core::ids::SubscriptionId;
use keyway_core::key_format::{KeyDigest, KeyEnv};
use keyway_core::model::{ApiKey, App, Role, Subscription, SubscriptionStatus, Tenant, User};
use keyway_pipeline::{Snapshot, SnapshotHandle};
use std::hint::black_box;
use std::time::Instant;

#[path = "../tests/support/rng.rs"]
mod rng;
use rng::Rng;

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted.get(((sorted.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0.0)
}

fn run(n: usize) {
    let now = chrono::Utc::now();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ n as u64);
    let base_rss = rss_mb();
    let tenants: Vec<Tenant> = (0..(n / 500).max(1)).map(|i| Tenant::new(format!("t{i}"), "T", now)).collect();
    let users: Vec<User> = (0..(n / 50).max(1))
        .map(|i| User::new(&tenants[i % tenants.len()].id, format!("u{i}@x.test"), Role::Owner, now))
        .collect();
    let apps: Vec<App> = (0..(n / 5).max(1))
        .map(|i| {
            let u = &users[i % users.len()];
            App::new(&u.tenant_id, format!("a{i}"), &u.id, now)
        })
        .collect();
    let api = keyway_core::model::Api::new(
        &tenants[0].id,
        "bench",
        "v1",
        "/bench",
        keyway_core::model::Upstream { targets: vec![], strip_base_path: true, timeout_ms: None },
        now,
    );
    let subs: Vec<Subscription> = apps
        .iter()
        .map(|a| Subscription {
            id: SubscriptionId::generate(),
            api_id: api.id.clone(),
            app_id: a.id.clone(),
            tenant_id: a.tenant_id.clone(),
            status: SubscriptionStatus::Approved,
            requested_at: now,
            decided_at: Some(now),
            decided_by: None,
            reason: None,
            created_at: now,
        })
        .collect();
    let keys: Vec<ApiKey> = (0..n)
        .map(|i| {
            let a = &apps[i % apps.len()];
            ApiKey::new(&a.id, &a.tenant_id, KeyEnv::Live, "kw_live_abcd", rng.digest(), now)
        })
        .collect();
    let digests: Vec<KeyDigest> = keys.iter().map(|k| k.digest).collect();
    let sample: Vec<ApiKey> = (0..300).map(|i| keys[(i * 7919) % n].clone()).collect();
    let records_rss = rss_mb();

    let started = Instant::now();
    let snap = Snapshot::build(tenants, users, apps, keys, vec![api.clone()], subs);
    let build_ms = started.elapsed().as_secs_f64() * 1e3;
    let snap_rss = rss_mb() - base_rss;
    let handle = SnapshotHandle::new(snap);

    // One request's lookups, over keys in random order.
    let probes: Vec<KeyDigest> = (0..1_000_000).map(|_| digests[rng.below(n)]).collect();
    let s = handle.load();
    let started = Instant::now();
    let mut found = 0usize;
    for d in &probes {
        let Some(k) = s.keys.get(d) else { continue };
        let Some(app) = s.apps.get(&k.key.app_id) else { continue };
        let owner = s.users.get(&app.owner_user_id);
        let tenant = s.tenants.get(&k.key.tenant_id);
        let sub = s.subscriptions.get(&(app.id.clone(), api.id.clone()));
        found += usize::from(black_box(owner.is_some() && tenant.is_some() && sub.is_some()));
    }
    let lookup_ns = started.elapsed().as_nanos() as f64 / probes.len() as f64;
    // The usage flush's scan, with 1% of the keys used since the last one.
    for d in probes.iter().take(n / 100) {
        if let Some(k) = s.keys.get(d) {
            k.usage.touch(now.timestamp_millis());
        }
    }
    let started = Instant::now();
    let used = s.unflushed_usage().len();
    let scan_ms = started.elapsed().as_secs_f64() * 1e3;
    drop(s);

    // Key writes (revokes, then creates), each while the previous
    // version is held, as an in-flight request would.
    let mut revoke = Vec::new();
    let mut create = Vec::new();
    for (i, k) in sample.iter().enumerate() {
        let mut after = k.clone();
        after.rare_mut().revoked_at = Some(now);
        let held = handle.load();
        let started = Instant::now();
        handle.apply(&[Change::Update(Record::Key(after))]);
        revoke.push(started.elapsed().as_secs_f64() * 1e6);
        drop(held);
        let fresh = ApiKey::new(&k.app_id, &k.tenant_id, KeyEnv::Live, "kw_live_abcd", rng.digest(), now);
        let held = handle.load();
        let started = Instant::now();
        handle.apply(&[Change::Insert(Record::Key(fresh))]);
        create.push(started.elapsed().as_secs_f64() * 1e6);
        drop(held);
        black_box(i);
    }
    revoke.sort_by(f64::total_cmp);
    create.sort_by(f64::total_cmp);
    println!(
        "n={n:>8} build {build_ms:>7.0} ms  snapshot ~{snap_rss:>6.0} MB (records {:>5.0} MB)  request lookups {lookup_ns:>5.0} ns  usage scan {scan_ms:>5.1} ms ({used} used)  \
         revoke p50/p99 {:>8.1}/{:>8.1} us  create p50/p99 {:>8.1}/{:>8.1} us  ({found})",
        records_rss - base_rss,
        percentile(&revoke, 0.5),
        percentile(&revoke, 0.99),
        percentile(&create, 0.5),
        percentile(&create, 0.99),
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    for n in if sizes.is_empty() { vec![10_000, 100_000] } else { sizes } {
        run(n);
    }
}
