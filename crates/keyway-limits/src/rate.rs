//! Request-rate limits: the limit, the decision, the limiter trait, and
//! checking several levels for one request.
//!
//! # Guarantee (GCRA)
//!
//! With `RateLimit { requests: n, per_seconds: w }` the emission interval
//! is `T = w / n` (in ns, rounded up) and the burst tolerance is
//! `(n - 1) * T`. Exactly what is admitted, for one key:
//!
//! - **Burst**: at most `n` requests at the same instant, and from a full
//!   bucket exactly `n`.
//! - **Any interval**: for admitted requests `i < j`,
//!   `t_j - t_i >= (j - i - n + 1) * T`; so any interval of length `L`
//!   holds at most `n + floor(L / T)` admitted requests, and the long-run
//!   rate never exceeds `n` per `w` seconds.
//! - **Refill**: capacity comes back smoothly, one request every `T`
//!   (after a burst of 10 per 60 s, the 11th passes 6 s later, not 60 s).
//!
//! So there is no fixed-window edge burst (a fixed window lets `2n` pass
//! within a millisecond around the edge; GCRA lets `n + 1` pass only
//! `T` apart). It is *not* a sliding-log limit: a window of length `w`
//! can hold up to `2n - 1` admitted requests (a burst of `n`, then one
//! every `T`). That strict form needs one timestamp per admitted request.
//!
//! # Redis (later)
//!
//! A shared implementation must run each check as one atomic Lua script
//! that reads the server's clock (`TIME`), never the gateway's, and never
//! as GET-then-SET: read the TAT, apply the arithmetic of the in-memory
//! limiter, and `SET key tat PX reset_after` only when admitted.
//! For [`RateLimiter::check_all`] the script takes every level's key and
//! limit, checks all of them, and writes only if all conform.

use crate::key::LimitKey;
use serde::{Deserialize, Serialize};

/// At most `requests` per `per_seconds`, enforced smoothly (GCRA; see the
/// module docs for the exact guarantee). A zero in either field is
/// degenerate and refuses every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RateLimit {
    /// Requests per window; also the largest burst.
    pub requests: u64,
    /// Window length in seconds.
    pub per_seconds: u64,
}

impl RateLimit {
    /// `requests` per `per_seconds`.
    pub fn new(requests: u64, per_seconds: u64) -> Self {
        Self { requests, per_seconds }
    }

    /// Whether the limit can ever admit a request (both fields non-zero).
    pub fn is_valid(&self) -> bool {
        self.requests > 0 && self.per_seconds > 0
    }
}

/// The outcome of one rate check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateDecision {
    /// Whether the request is admitted (and was counted).
    pub allowed: bool,
    /// The limit the request was checked against.
    pub limit: RateLimit,
    /// How many more requests would be admitted right now, after this one.
    pub remaining: u64,
    /// Milliseconds (rounded up) until the bucket is full again, i.e.
    /// until `remaining` is back to `limit.requests`.
    pub reset_after_ms: u64,
    /// Milliseconds (rounded up) until a request would be admitted; 0 when
    /// `allowed`.
    pub retry_after_ms: u64,
}

/// A multi-level check was refused at one level; nothing was consumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateRefusal {
    /// Index, in the checked slice, of the level that refused.
    pub index: usize,
    /// The bucket that refused (its `level` names the `rate_limited` level).
    pub key: LimitKey,
    /// That level's decision (`allowed == false`).
    pub decision: RateDecision,
}

/// A request-rate limiter. Implementations: [`crate::InMemoryRateLimiter`]
/// now, Redis later (see the module docs).
pub trait RateLimiter: Send + Sync {
    /// Checks one request against `limit` for `key`, counting it if it is
    /// admitted. A refused check consumes nothing.
    fn check(&self, key: &LimitKey, limit: RateLimit) -> RateDecision;

    /// What [`check`](Self::check) would decide now, without counting.
    fn peek(&self, key: &LimitKey, limit: RateLimit) -> RateDecision;

    /// Gives back one request admitted by [`check`](Self::check) for `key`.
    fn refund(&self, key: &LimitKey, limit: RateLimit);

    /// Checks one request against several levels (key, app, tenant, API),
    /// in order. Either all admit it and each has counted it (`Ok`, one
    /// decision per level, in order), or the first refusing level is
    /// reported and **no level has counted it**.
    ///
    /// Default: check-then-commit. First [`peek`](Self::peek) every level;
    /// a refusal there returns with nothing touched. Then
    /// [`check`](Self::check) each level; if one refuses because a
    /// concurrent request took the last capacity in between, the levels
    /// already counted are [`refund`](Self::refund)ed. Only in that race
    /// is capacity held, briefly, by a request that ends up refused (and
    /// the refund, `TAT - T`, can be slightly generous to later requests).
    fn check_all(&self, checks: &[(LimitKey, RateLimit)]) -> Result<Vec<RateDecision>, RateRefusal> {
        for (index, (key, limit)) in checks.iter().enumerate() {
            let decision = self.peek(key, *limit);
            if !decision.allowed {
                return Err(RateRefusal { index, key: key.clone(), decision });
            }
        }
        let mut decisions = Vec::with_capacity(checks.len());
        for (index, (key, limit)) in checks.iter().enumerate() {
            let decision = self.check(key, *limit);
            if !decision.allowed {
                for (key, limit) in &checks[..index] {
                    self.refund(key, *limit);
                }
                return Err(RateRefusal { index, key: key.clone(), decision });
            }
            decisions.push(decision);
        }
        Ok(decisions)
    }
}

/// Checks one request against several levels; see
/// [`RateLimiter::check_all`]. A refused request costs nothing anywhere.
pub fn check_all<L: RateLimiter + ?Sized>(
    limiter: &L,
    checks: &[(LimitKey, RateLimit)],
) -> Result<Vec<RateDecision>, RateRefusal> {
    limiter.check_all(checks)
}
