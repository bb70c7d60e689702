//! Replay protection: a nonce is refused when seen again inside the
//! window. Behind [`NonceStore`] so a cluster can share one (e.g. Redis
//! `SET key 1 NX EXAT expires_at`); [`MemoryNonceStore`] is bounded.

use async_trait::async_trait;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The store could not answer (e.g. Redis unreachable).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NonceStoreError(pub String);

/// Remembers the nonces of verified requests until their window passes.
#[async_trait]
pub trait NonceStore: Send + Sync {
    /// Records `nonce` of key `key_id` until `expires_at` (Unix seconds)
    /// and answers `true`, or answers `false` when it is recorded already
    /// and has not expired at `now`. Must be atomic: of two concurrent
    /// calls with one nonce, one answers `false`.
    async fn insert_if_new(&self, key_id: &str, nonce: &str, now: u64, expires_at: u64) -> Result<bool, NonceStoreError>;
}

struct Seen {
    expiry: HashMap<String, u64>,
    by_expiry: BinaryHeap<Reverse<(u64, String)>>,
}

/// An in-process nonce store holding at most `capacity` nonces; expired
/// ones are evicted first, and when it is full of live ones the one
/// closest to expiry goes (counted by [`MemoryNonceStore::evicted_live`]:
/// size the capacity above the peak signed requests per window).
pub struct MemoryNonceStore {
    capacity: usize,
    seen: Mutex<Seen>,
    evicted_live: AtomicU64,
}

impl MemoryNonceStore {
    /// A store of at most `capacity` nonces (at least one).
    pub fn new(capacity: usize) -> Self {
        MemoryNonceStore {
            capacity: capacity.max(1),
            seen: Mutex::new(Seen { expiry: HashMap::new(), by_expiry: BinaryHeap::new() }),
            evicted_live: AtomicU64::new(0),
        }
    }

    /// How many nonces are held.
    pub fn len(&self) -> usize {
        self.seen.lock().map(|s| s.expiry.len()).unwrap_or(0)
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many unexpired nonces were evicted because the store was full.
    pub fn evicted_live(&self) -> u64 {
        self.evicted_live.load(Ordering::Relaxed)
    }

    fn insert(&self, key: String, now: u64, expires_at: u64) -> Result<bool, NonceStoreError> {
        let mut seen = self.seen.lock().map_err(|_| NonceStoreError("memory store poisoned".into()))?;
        let Seen { expiry, by_expiry } = &mut *seen;
        // Forget what has expired; a nonce still held is a replay.
        Self::evict(expiry, by_expiry, |at, _| at <= now);
        if expiry.contains_key(&key) {
            return Ok(false);
        }
        // Full of live nonces: the soonest to expire makes room.
        let before = expiry.len();
        let capacity = self.capacity;
        Self::evict(expiry, by_expiry, |_, len| len >= capacity);
        let evicted = before - expiry.len();
        self.evicted_live.fetch_add(evicted as u64, Ordering::Relaxed);
        expiry.insert(key.clone(), expires_at);
        by_expiry.push(Reverse((expires_at, key)));
        Ok(true)
    }
}

impl MemoryNonceStore {
    /// Pops heap entries, soonest expiry first, while `more(expiry, held)`;
    /// a popped entry whose nonce was re-recorded since is only dropped.
    fn evict(
        expiry: &mut HashMap<String, u64>,
        by_expiry: &mut BinaryHeap<Reverse<(u64, String)>>,
        more: impl Fn(u64, usize) -> bool,
    ) {
        while let Some(Reverse((at, _))) = by_expiry.peek() {
            if !more(*at, expiry.len()) {
                break;
            }
            if let Some(Reverse((at, old))) = by_expiry.pop() {
                if expiry.get(&old) == Some(&at) {
                    expiry.remove(&old);
                }
            }
        }
    }
}

#[async_trait]
impl NonceStore for MemoryNonceStore {
    async fn insert_if_new(&self, key_id: &str, nonce: &str, now: u64, expires_at: u64) -> Result<bool, NonceStoreError> {
        let mut key = String::with_capacity(key_id.len() + 1 + nonce.len());
        key.push_str(key_id);
        key.push('\n');
        key.push_str(nonce);
        self.insert(key, now, expires_at)
    }
}

impl fmt::Debug for MemoryNonceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryNonceStore").field("capacity", &self.capacity).field("len", &self.len()).finish()
    }
}

impl fmt::Display for NonceStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "nonce store unavailable: {}", self.0)
    }
}

impl std::error::Error for NonceStoreError {}
