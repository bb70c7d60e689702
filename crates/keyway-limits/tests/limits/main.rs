//! Tests of keyway-limits, driven by a manual clock (no sleeps).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test harness fails loudly")]

mod check_all;
mod concurrency;
mod gcra;
mod headers;
mod quota;

use keyway_limits::{InMemoryRateLimiter, Level, LimitKey, ManualClock};
use std::sync::Arc;

/// 2026-01-01T00:00:00Z, in ms.
pub const T0: u64 = 1_767_225_600_000;

/// A limiter on a frozen manual clock at [`T0`].
pub fn limiter() -> (Arc<ManualClock>, InMemoryRateLimiter<Arc<ManualClock>>) {
    let clock = Arc::new(ManualClock::new(T0));
    (clock.clone(), InMemoryRateLimiter::new(clock))
}

/// A key-level limit key.
pub fn key(subject: &str) -> LimitKey {
    LimitKey::new(Level::Key, subject)
}

/// Deterministic xorshift64 PRNG.
pub struct XorShift(pub u64);

impl XorShift {
    /// Next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}
