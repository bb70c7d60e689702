//! [`InMemoryRateLimiter`]: GCRA state per key in this process.

use crate::clock::Clock;
use crate::gcra;
use crate::key::LimitKey;
use crate::rate::{RateDecision, RateLimit, RateLimiter};
use crate::shards::{Shard, Sharded};

/// GCRA rate limiter holding one TAT (`u64` ns) per key, in 32 locked
/// shards chosen by key hash.
///
/// An entry whose TAT is in the past describes a full bucket, exactly like
/// a missing one, so dropping it loses nothing: shards drop such entries
/// every few operations, and [`evict_idle`](Self::evict_idle) sweeps all
/// shards. Memory is therefore bounded by the keys active within their
/// last window.
#[derive(Debug)]
pub struct InMemoryRateLimiter<C: Clock> {
    clock: C,
    shards: Sharded<Shard<u64>>,
}

impl<C: Clock> InMemoryRateLimiter<C> {
    /// An empty limiter reading time from `clock`.
    pub fn new(clock: C) -> Self {
        Self { clock, shards: Sharded::new() }
    }

    /// The clock this limiter reads.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Drops every idle entry (bucket full again); returns how many.
    pub fn evict_idle(&self) -> usize {
        let now = gcra::ms_to_ns(self.clock.now_millis());
        let mut evicted = 0;
        self.shards.for_each(|shard| evicted += sweep(shard, now));
        evicted
    }

    /// Number of keys currently held (idle ones included until swept).
    pub fn len(&self) -> usize {
        let mut len = 0;
        self.shards.for_each(|shard| len += shard.map.len());
        len
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn now_ns(&self) -> u64 {
        gcra::ms_to_ns(self.clock.now_millis())
    }
}

/// Drops the entries of `shard` whose TAT is not after `now`.
fn sweep(shard: &mut Shard<u64>, now: u64) -> usize {
    let before = shard.map.len();
    shard.map.retain(|_, tat| *tat > now);
    shard.swept();
    before - shard.map.len()
}

impl<C: Clock> RateLimiter for InMemoryRateLimiter<C> {
    fn check(&self, key: &LimitKey, limit: RateLimit) -> RateDecision {
        let now = self.now_ns();
        let mut shard = self.shards.lock(key);
        let step = gcra::step(shard.map.get(key).copied(), limit, now);
        if let Some(tat) = step.new_tat {
            match shard.map.get_mut(key) {
                Some(stored) => *stored = tat,
                None => {
                    shard.map.insert(key.clone(), tat);
                }
            }
        }
        if shard.tick() {
            sweep(&mut shard, now);
        }
        step.decision
    }

    fn peek(&self, key: &LimitKey, limit: RateLimit) -> RateDecision {
        let now = self.now_ns();
        let shard = self.shards.lock(key);
        gcra::step(shard.map.get(key).copied(), limit, now).decision
    }

    fn refund(&self, key: &LimitKey, limit: RateLimit) {
        let now = self.now_ns();
        let mut shard = self.shards.lock(key);
        if let Some(stored) = shard.map.get_mut(key) {
            match gcra::refund(*stored, limit, now) {
                Some(tat) => *stored = tat,
                None => {
                    shard.map.remove(key);
                }
            }
        }
    }
}
