//! The in-memory nonce store: refuses a nonce inside its expiry, forgets
//! it after, and never holds more than its capacity.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code")]

use keyway_credentials::http_signature::{MemoryNonceStore, NonceStore};

#[tokio::test]
async fn a_nonce_is_refused_until_it_expires_then_accepted_again() {
    let store = MemoryNonceStore::new(10);
    assert!(store.insert_if_new("hk_1", "n", 100, 400).await.unwrap());
    assert!(!store.insert_if_new("hk_1", "n", 399, 699).await.unwrap());
    assert!(store.insert_if_new("hk_2", "n", 399, 699).await.unwrap(), "nonces are per key");
    assert!(store.insert_if_new("hk_1", "n", 400, 700).await.unwrap(), "expired at 400");
}

#[tokio::test]
async fn expired_nonces_are_evicted_and_memory_is_bounded_by_count() {
    let store = MemoryNonceStore::new(3);
    for (i, n) in ["a", "b", "c"].iter().enumerate() {
        assert!(store.insert_if_new("k", n, 0, 100 + i as u64).await.unwrap());
    }
    assert_eq!(store.len(), 3);
    // At 101, "a" (expired at 100) and "b" (expired at 101) go first.
    assert!(store.insert_if_new("k", "d", 101, 500).await.unwrap());
    assert_eq!(store.len(), 2);
    assert_eq!(store.evicted_live(), 0);
    // Full of live nonces: the soonest to expire ("c", 102) makes room.
    assert!(store.insert_if_new("k", "e", 101, 600).await.unwrap());
    assert!(store.insert_if_new("k", "f", 101, 700).await.unwrap());
    assert_eq!(store.len(), 3);
    assert_eq!(store.evicted_live(), 1);
    assert!(!store.insert_if_new("k", "d", 101, 500).await.unwrap(), "d is still held");
    for i in 0..1000 {
        store.insert_if_new("k", &format!("flood-{i}"), 101, 900).await.unwrap();
    }
    assert_eq!(store.len(), 3);
}
