//! Rollups in memory: the call-log writer folds every row it has written
//! into per-minute counts here (off the request path), and once a minute
//! adds the closed minutes, and the hours and days they belong to, of
//! every grain (see [`Grain`]), into storage in one transaction. Analytics reads storage and the minutes
//! still open here together, so a call made a second ago is counted, and
//! never twice: a flush holds [`LiveRollups`]'s gate while it moves
//! minutes from memory to storage.

use hashbrown::{Equivalent, HashMap};
use keyway_core::records::{CallLogRow, LogQuery};
use keyway_core::rollup::{Grain, Level, RollupKey, RollupQuery, RollupRow, RollupValue};
use keyway_core::Timestamp;
use keyway_store::{Store, StoreError};
use std::sync::{Arc, Mutex};
use tokio::sync::RwLock;

/// Minutes counted but not yet in storage.
#[derive(Debug, Default)]
pub struct LiveRollups {
    open: Mutex<HashMap<RollupKey, RollupValue>>,
    /// Held for writing while minutes move to storage, for reading while
    /// analytics reads both.
    gate: RwLock<()>,
}

impl LiveRollups {
    /// Counts `rows` (already stored).
    pub fn fold(&self, rows: &[CallLogRow]) {
        let mut open = self.lock();
        let open = &mut *open;
        // Consecutive rows mostly count into the same minute row (one
        // caller, one API): the last one found is kept and compared, ids
        // by pointer first, before anything is hashed.
        let mut last: Option<(MinuteOf<'_>, &mut RollupValue)> = None;
        for row in rows {
            let key = MinuteOf::new(row);
            if let Some((seen, value)) = &mut last {
                if seen.same(&key) {
                    value.add(row);
                    continue;
                }
            }
            // Looked up borrowed: the owned key (five strings) is built
            // only for a minute's first call of its kind.
            let value = match open.get_mut(&key) {
                Some(value) => value,
                None => open.entry(RollupKey::minute_of(row)).or_default(),
            };
            value.add(row);
            last = Some((key, value));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RollupKey, RollupValue>> {
        // A panic while holding it leaves counts that are still counts.
        self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Moves the minutes starting before `cut` (unix seconds) into storage
    /// (with their hour and day rows) and raises the watermark to
    /// `watermark`; returns how many minute rows. On failure they stay
    /// here for the next flush.
    pub async fn flush(&self, store: &dyn Store, cut: i64, watermark: Timestamp) -> Result<usize, StoreError> {
        let _gate = self.gate.write().await;
        let taken: Vec<(RollupKey, RollupValue)> = {
            let mut open = self.lock();
            let keys: Vec<RollupKey> = open.keys().filter(|k| k.bucket < cut).cloned().collect();
            keys.into_iter().filter_map(|k| open.remove_entry(&k)).collect()
        };
        let n = taken.len();
        let rows = Arc::new(with_coarser_levels(&taken));
        if let Err(e) = store.save_rollups(rows, watermark).await {
            let mut open = self.lock();
            for (k, v) in taken {
                open.entry(k).or_default().merge(&v);
            }
            return Err(e);
        }
        Ok(n)
    }

    /// Stored rollups matching `query` plus the open minutes matching it
    /// (re-bucketed to the query's level, projected to its grain, never
    /// merged), each call counted once.
    pub async fn read(&self, store: &dyn Store, query: &RollupQuery) -> Result<Vec<RollupRow>, StoreError> {
        let _gate = self.gate.read().await;
        let mut rows = store.rollups(query).await?;
        let open = self.lock();
        for (k, v) in open.iter() {
            let key = query.grain.project(&k.at(query.level));
            if query.matches(&key) {
                rows.push(RollupRow { grain: query.grain, level: query.level, key, value: v.clone() });
            }
        }
        Ok(rows)
    }

    /// After an unclean stop: counts the stored rows from `watermark` on
    /// (they were written but their minutes never reached storage).
    pub async fn recover(&self, store: &dyn Store, watermark: Timestamp) -> Result<u64, StoreError> {
        let mut until: Option<Timestamp> = None;
        let mut total = 0;
        loop {
            let page = store.calls(&LogQuery { since: Some(watermark), until, limit: 1000, ..Default::default() }).await?;
            let Some(last) = page.last() else {
                return Ok(total);
            };
            until = Some(last.time);
            total += page.len() as u64;
            self.fold(&page);
            if page.len() < 1000 {
                return Ok(total);
            }
        }
    }
}

/// [`RollupKey::minute_of`] a row, borrowing its text: hashes and compares
/// as that key does (the same fields in the same order, `&str` hashing as
/// `String`).
#[derive(Hash)]
struct MinuteOf<'a> {
    bucket: i64,
    tenant_id: &'a str,
    api_id: &'a str,
    app_id: &'a str,
    key_id: &'a str,
    status_class: u16,
    code: &'a str,
}

impl<'a> MinuteOf<'a> {
    fn new(row: &'a CallLogRow) -> Self {
        MinuteOf {
            bucket: Level::Minute.bucket(row.time.timestamp()),
            tenant_id: row.tenant_id.as_ref().map_or("", |v| v.as_str()),
            api_id: row.api_id.as_ref().map_or("", |v| v.as_str()),
            app_id: row.app_id.as_ref().map_or("", |v| v.as_str()),
            key_id: row.key_id.as_ref().map_or("", |v| v.as_str()),
            status_class: row.status / 100,
            code: row.code.map_or(keyway_core::rollup::OK, |c| c.as_str()),
        }
    }
}

impl MinuteOf<'_> {
    /// Whether `other` is the same minute row; shared ids compare by
    /// pointer.
    fn same(&self, other: &MinuteOf<'_>) -> bool {
        let text = |a: &str, b: &str| std::ptr::eq(a, b) || a == b;
        self.bucket == other.bucket
            && self.status_class == other.status_class
            && text(self.key_id, other.key_id)
            && text(self.app_id, other.app_id)
            && text(self.api_id, other.api_id)
            && text(self.tenant_id, other.tenant_id)
            && text(self.code, other.code)
    }
}

impl Equivalent<RollupKey> for MinuteOf<'_> {
    fn equivalent(&self, k: &RollupKey) -> bool {
        self.bucket == k.bucket
            && self.status_class == k.status_class
            && self.key_id == k.key_id
            && self.app_id == k.app_id
            && self.api_id == k.api_id
            && self.tenant_id == k.tenant_id
            && self.code == k.code
    }
}

/// The minute rows, and the hour and day rows they add up to, in every
/// grain.
fn with_coarser_levels(minutes: &[(RollupKey, RollupValue)]) -> Vec<RollupRow> {
    let mut out = Vec::with_capacity(minutes.len() * 4);
    for grain in Grain::ALL {
        for level in Level::ALL.into_iter().filter(|l| grain.stored_at(*l)) {
            let mut merged: HashMap<RollupKey, RollupValue> = HashMap::new();
            for (k, v) in minutes {
                merged.entry(grain.project(&k.at(level))).or_default().merge(v);
            }
            out.extend(merged.into_iter().map(|(key, value)| RollupRow { grain, level, key, value }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call_log::{CallLogSettings, CallLogWriter};
    use keyway_core::ids::{KeyId, RequestId, TenantId};
    use keyway_core::rollup::{Dimension, OK};
    use keyway_core::sketch::RELATIVE_ERROR;
    use keyway_core::{ErrorCode, Trace};
    use keyway_store::sqlite::SqliteStore;
    use rand::Rng;
    use std::time::Duration;

    const KEYS: [&str; 3] = ["key_a", "key_b", "key_c"];

    #[test]
    fn a_borrowed_minute_key_finds_the_owned_one() {
        let mut rng = rand::thread_rng();
        let base = chrono::Utc::now();
        let mut map: HashMap<RollupKey, u32> = HashMap::new();
        for _ in 0..200 {
            let row = random_row(&mut rng, base);
            *map.entry(RollupKey::minute_of(&row)).or_default() += 1;
            assert!(map.get(&MinuteOf::new(&row)).is_some(), "{row:?}");
        }
        // And only its own: another minute, code or key is another entry.
        let row = random_row(&mut rng, base);
        let mut other = row.clone();
        other.time += chrono::Duration::minutes(10);
        let key = RollupKey::minute_of(&row);
        assert!(MinuteOf::new(&row).equivalent(&key));
        assert!(!MinuteOf::new(&other).equivalent(&key));
    }

    #[test]
    fn runs_of_one_minute_row_count_as_rows_one_at_a_time() {
        let mut rng = rand::thread_rng();
        let base = chrono::Utc::now();
        // Runs of equal keys (sorted), shared ids, and a few strays.
        let mut rows: Vec<CallLogRow> = (0..400).map(|_| random_row(&mut rng, base)).collect();
        rows.sort_by_key(|r| (r.time.timestamp() / 60, r.key_id.clone(), r.code.map(|c| c.as_str())));
        rows.extend((0..50).map(|_| random_row(&mut rng, base)));
        let together = LiveRollups::default();
        together.fold(&rows);
        let apart = LiveRollups::default();
        for row in &rows {
            apart.fold(std::slice::from_ref(row));
        }
        assert_eq!(*together.lock(), *apart.lock());
    }

    fn random_row(rng: &mut impl Rng, base: Timestamp) -> CallLogRow {
        let time = base + chrono::Duration::milliseconds(rng.gen_range(0..300_000));
        let code = [None, None, None, Some(ErrorCode::KeyRevoked), Some(ErrorCode::KeyUnknown)][rng.gen_range(0..5)];
        CallLogRow {
            request_id: RequestId::at(time),
            time,
            tenant_id: Some(TenantId::from("ten_x")),
            api_id: None,
            app_id: None,
            key_id: Some(KeyId::from(KEYS[rng.gen_range(0..3)])),
            key_prefix: None,
            method: "GET".into(),
            path: "/x".into(),
            status: if code.is_some() { 401 } else { [200, 200, 503][rng.gen_range(0..3)] },
            code,
            client_ip: "::1".into(),
            latency_ms: rng.gen_range(0.1..400.0),
            upstream_latency_ms: code.is_none().then(|| rng.gen_range(0.05..300.0)),
            model: None,
            provider: None,
            tokens_estimated: false,
            token_details: None,
            prompt_tokens: None,
            completion_tokens: None,
            cost_usd: None,
            trace: Trace::default(),
        }
    }

    fn query(grain: Grain, level: Level, base: Timestamp) -> RollupQuery {
        RollupQuery {
            grain,
            level,
            since: base.timestamp() - 86_400,
            until: base.timestamp() + 86_400,
            tenant_id: None,
            api_id: None,
            app_id: None,
            key_id: None,
            code: None,
            sketches: true,
            merge: None,
        }
    }

    async fn write(store: &Arc<SqliteStore>, rows: &[CallLogRow]) -> Arc<LiveRollups> {
        let settings = CallLogSettings { flush_interval: Duration::from_secs(3600), ..Default::default() };
        let (tx, writer) = CallLogWriter::start(store.clone(), settings);
        let watermark = store.start_rollups(rows[0].time - chrono::Duration::hours(1)).await.unwrap();
        tx.rollups().recover(store.as_ref(), watermark).await.unwrap();
        for r in rows {
            tx.record(r.clone());
        }
        assert!(tx.flush(Duration::from_secs(10)).await);
        let live = tx.rollups().clone();
        writer.shutdown().await;
        live
    }

    /// Every grain and level rollups are stored at.
    fn stored_grains() -> Vec<(Grain, Level)> {
        Grain::ALL.into_iter().flat_map(|g| Level::ALL.map(|l| (g, l))).filter(|(g, l)| g.stored_at(*l)).collect()
    }

    /// Brute force over `rows` against merged rollups of a level, per key
    /// (when the grain keeps it; all keys together otherwise) and code.
    fn check(stored: &[RollupRow], rows: &[CallLogRow]) {
        let grain = stored.first().map_or(Grain::Full, |s| s.grain);
        assert!(stored.iter().all(|s| s.grain == grain && grain.project(&s.key) == s.key), "rows of one grain");
        let keys: Vec<Option<&str>> = if grain.keeps(Dimension::Key) { KEYS.map(Some).to_vec() } else { vec![None] };
        let codes: Vec<Option<&str>> =
            if grain.keeps(Dimension::Code) { [OK, "key_revoked", "key_unknown"].map(Some).to_vec() } else { vec![None] };
        for key in keys {
            for &code in &codes {
                let mine: Vec<&CallLogRow> = rows
                    .iter()
                    .filter(|r| key.is_none_or(|key| r.key_id.as_ref().is_some_and(|k| k.as_str() == key)))
                    .filter(|r| code.is_none_or(|code| r.code.map_or(OK, |c| c.as_str()) == code))
                    .collect();
                let mut merged = RollupValue::default();
                for s in
                    stored.iter().filter(|s| key.is_none_or(|key| s.key.key_id == key) && code.is_none_or(|c| s.key.code == c))
                {
                    merged.merge(&s.value);
                }
                assert_eq!(merged.requests, mine.len() as u64, "{key:?} {code:?}");
                let errors = mine.iter().filter(|r| keyway_core::rollup::is_error(r)).count() as u64;
                assert_eq!(merged.errors, errors, "{key:?} {code:?}");
                let mut lat: Vec<f64> = mine.iter().map(|r| r.latency_ms).collect();
                lat.sort_by(f64::total_cmp);
                for q in [0.5, 0.95, 0.99] {
                    let want = lat[(q * (lat.len() - 1) as f64) as usize];
                    let got = merged.latency.quantile(q).unwrap();
                    assert!((got - want).abs() <= want * RELATIVE_ERROR + 1e-9, "{key:?} {code:?} p{q}: {got} vs {want}");
                }
            }
        }
    }

    #[tokio::test]
    async fn stored_rollups_equal_brute_force_at_every_level_and_survive_a_restart() {
        let mut rng = rand::thread_rng();
        let base = chrono::DateTime::from_timestamp(1_764_000_000, 0).unwrap();
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let first: Vec<CallLogRow> = (0..1500).map(|_| random_row(&mut rng, base)).collect();
        write(&store, &first).await;
        for (grain, level) in stored_grains() {
            check(&store.rollups(&query(grain, level, base)).await.unwrap(), &first);
        }
        // A restart, and more calls in the same minutes: nothing counted twice.
        let second: Vec<CallLogRow> = (0..800).map(|_| random_row(&mut rng, base)).collect();
        write(&store, &second).await;
        let all: Vec<CallLogRow> = first.iter().chain(&second).cloned().collect();
        for (grain, level) in stored_grains() {
            check(&store.rollups(&query(grain, level, base)).await.unwrap(), &all);
        }
    }

    #[tokio::test]
    async fn open_minutes_are_read_with_stored_ones_and_a_crash_is_recovered_once() {
        let mut rng = rand::thread_rng();
        let base = chrono::DateTime::from_timestamp(1_764_000_000, 0).unwrap();
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        store.start_rollups(base - chrono::Duration::hours(1)).await.unwrap();
        let rows: Vec<CallLogRow> = (0..600).map(|_| random_row(&mut rng, base)).collect();
        store.insert_calls(&rows).await.unwrap();
        let live = LiveRollups::default();
        live.fold(&rows[..200]);
        // Half the minutes go to storage, the rest stay open.
        live.flush(store.as_ref(), base.timestamp() + 150, base - chrono::Duration::hours(1)).await.unwrap();
        for grain in Grain::ALL.into_iter().filter(|g| g.stored_at(Level::Minute)) {
            let read = live.read(store.as_ref(), &query(grain, Level::Minute, base)).await.unwrap();
            check(&read, &rows[..200]);
        }
        // A crash: only what was flushed is stored; the watermark did not
        // move, so a recovery counts every stored row once.
        let fresh = LiveRollups::default();
        store.purge_rollups(Level::Minute, base + chrono::Duration::days(2)).await.unwrap();
        store.purge_rollups(Level::Hour, base + chrono::Duration::days(2)).await.unwrap();
        store.purge_rollups(Level::Day, base + chrono::Duration::days(2)).await.unwrap();
        let n = fresh.recover(store.as_ref(), base - chrono::Duration::hours(1)).await.unwrap();
        assert_eq!(n, 600);
        for grain in Grain::ALL {
            check(&fresh.read(store.as_ref(), &query(grain, Level::Hour, base)).await.unwrap(), &rows);
        }
    }
}
