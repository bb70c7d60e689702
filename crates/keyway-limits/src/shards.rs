//! A map split into independently locked shards, so that concurrent
//! requests on different keys rarely wait on the same lock.

use crate::key::LimitKey;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The hasher of every map here: subjects are ids Keyway issued, hashed
/// on every limited request (SipHash was 2% of an AI call's
/// instructions), and foldhash's per-map random seed still keeps the
/// layout unpredictable.
pub(crate) type RandomState = foldhash::fast::RandomState;

/// A hash map with [`RandomState`].
pub(crate) type FastMap<K, V> = HashMap<K, V, RandomState>;

/// Number of shards: a power of two well above the core counts we run on.
const SHARDS: usize = 32;

/// `LimitKey -> V`, in `SHARDS` mutex-protected hash maps chosen by hash.
#[derive(Debug)]
pub(crate) struct Sharded<S> {
    shards: Vec<Mutex<S>>,
    hasher: RandomState,
}

impl<S: Default> Sharded<S> {
    /// Empty shards.
    pub(crate) fn new() -> Self {
        Self { shards: (0..SHARDS).map(|_| Mutex::new(S::default())).collect(), hasher: RandomState::default() }
    }

    /// Locks the shard that holds `key`.
    pub(crate) fn lock(&self, key: &LimitKey) -> MutexGuard<'_, S> {
        let index = usize::try_from(self.hasher.hash_one(key) % SHARDS as u64).unwrap_or(0);
        lock(&self.shards[index])
    }

    /// Locks each shard in turn (never two at once).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&mut S)) {
        for shard in &self.shards {
            f(&mut lock(shard));
        }
    }
}

/// Locks a shard. A panic while holding it cannot leave a half-written
/// entry (each entry is a few integers written at once), so a poisoned
/// lock is simply taken over.
fn lock<S>(m: &Mutex<S>) -> MutexGuard<'_, S> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A shard is swept after this many operations on it, or after as many
/// as it held after its last sweep if that is more: a sweep costs
/// O(entries), so it stays O(1) amortized per operation.
const SWEEP_EVERY: usize = 1024;

/// One shard of a per-key map, with a counter for amortized sweeps.
#[derive(Debug)]
pub(crate) struct Shard<V> {
    /// The entries.
    pub(crate) map: FastMap<LimitKey, V>,
    /// Operations since the last sweep of this shard.
    ops: usize,
    /// Operations after which the next sweep is due.
    sweep_at: usize,
}

impl<V> Shard<V> {
    /// Counts one operation; true when a sweep is due.
    pub(crate) fn tick(&mut self) -> bool {
        self.ops += 1;
        self.ops >= self.sweep_at
    }

    /// Records that the shard was just swept.
    pub(crate) fn swept(&mut self) {
        self.ops = 0;
        self.sweep_at = SWEEP_EVERY.max(self.map.len());
    }
}

impl<V> Default for Shard<V> {
    fn default() -> Self {
        Self { map: FastMap::default(), ops: 0, sweep_at: SWEEP_EVERY }
    }
}
