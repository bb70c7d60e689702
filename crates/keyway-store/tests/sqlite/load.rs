//! `load_all` with a gateway-sized key count.

use crate::fixtures::*;
use keyway_core::change::Record;
use keyway_core::model::ApiKey;
use keyway_store::{KeySink, Store};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_all_returns_a_hundred_thousand_keys() {
    const KEYS: usize = 100_000;
    let s = store();
    let w = world(&s, "acme").await;
    let keys: Vec<ApiKey> = (0..KEYS).map(|i| if i % 2 == 0 { key(&w.app) } else { bare_key(&w.app) }).collect();
    let changes: Vec<_> = keys.iter().map(|k| insert(Record::Key(k.clone()))).collect();
    let started = Instant::now();
    s.apply(&changes, &[]).await.unwrap();
    eprintln!("inserted {KEYS} keys in {:?}", started.elapsed());

    let started = Instant::now();
    let dump = s.load_all().await.unwrap();
    eprintln!("loaded {KEYS} keys in {:?}", started.elapsed());
    assert_eq!(dump.keys.len(), KEYS);
    assert_eq!(dump.keys.first(), keys.first());
    assert_eq!(dump.keys.last(), keys.last());
    assert_eq!(dump.keys[KEYS / 2 + 1], keys[KEYS / 2 + 1]);
    assert_eq!(dump.apps.len(), 1);
}

#[tokio::test]
async fn streaming_load_hands_over_every_key_in_storage_order() {
    let s = store();
    let w = world(&s, "acme").await;
    let keys: Vec<ApiKey> = (0..50).map(|i| if i % 2 == 0 { key(&w.app) } else { bare_key(&w.app) }).collect();
    let changes: Vec<_> = keys.iter().map(|k| insert(Record::Key(k.clone()))).collect();
    s.apply(&changes, &[]).await.unwrap();

    let seen = Arc::new(Mutex::new((None, Vec::new())));
    let dump = s.load_all_streaming(Box::new(Collect(Arc::clone(&seen)))).await.unwrap();
    assert!(dump.keys.is_empty(), "keys go to the sink, not the dump");
    assert_eq!(*seen.lock().unwrap(), (Some(50), keys), "told the count first, then every key");
    let whole = s.load_all().await.unwrap();
    assert_eq!((dump.tenants, dump.users, dump.apps), (whole.tenants, whole.users, whole.apps));
}

/// Keeps what a streaming load tells it.
struct Collect(Arc<Mutex<(Option<usize>, Vec<ApiKey>)>>);

impl KeySink for Collect {
    fn expect(&mut self, count: usize) {
        self.0.lock().unwrap().0 = Some(count);
    }
    fn key(&mut self, key: ApiKey) {
        self.0.lock().unwrap().1.push(key);
    }
}
