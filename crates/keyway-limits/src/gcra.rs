//! The generic cell rate algorithm, as pure arithmetic on nanoseconds.
//!
//! State is one number per bucket, the theoretical arrival time (TAT):
//! the instant at which the bucket would be full again. With `n` requests
//! per window `W`, the emission interval is `T = ceil(W / n)` nanoseconds
//! and the burst tolerance `τ = (n - 1) * T`. A request at `now` conforms
//! iff `max(TAT, now) - now <= τ`; if it does, `TAT = max(TAT, now) + T`.

use crate::rate::{RateDecision, RateLimit};

/// Nanoseconds per millisecond.
const NS_PER_MS: u64 = 1_000_000;

/// The outcome of evaluating one request against a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    /// What to tell the caller.
    pub(crate) decision: RateDecision,
    /// The TAT to store if the request is admitted; `None` if refused.
    pub(crate) new_tat: Option<u64>,
}

/// Emission interval `T` in ns, rounded up so that `n * T >= W`: the
/// limiter errs on the strict side by under 1 ns per request.
/// `None` for a degenerate limit (0 requests or a 0 s window).
pub(crate) fn emission_ns(limit: RateLimit) -> Option<u64> {
    if limit.requests == 0 || limit.per_seconds == 0 {
        return None;
    }
    let window_ns = u128::from(limit.per_seconds) * 1_000_000_000;
    let t = window_ns.div_ceil(u128::from(limit.requests));
    Some(u64::try_from(t).unwrap_or(u64::MAX))
}

/// Milliseconds to ns.
pub(crate) fn ms_to_ns(ms: u64) -> u64 {
    ms.saturating_mul(NS_PER_MS)
}

/// Nanoseconds to ms, rounded up (a client waiting that long is not early).
fn ns_to_ms_ceil(ns: u64) -> u64 {
    ns.div_ceil(NS_PER_MS)
}

/// Evaluates one request at `now_ns` against a bucket whose stored TAT is
/// `tat` (`None` = unknown or evicted, i.e. full). Changes nothing.
pub(crate) fn step(tat: Option<u64>, limit: RateLimit, now_ns: u64) -> Step {
    let Some(t) = emission_ns(limit) else {
        // Fail closed: a zero limit admits nothing.
        let retry_after_ms = limit.per_seconds.max(1).saturating_mul(1000);
        let decision = RateDecision { allowed: false, limit, remaining: 0, reset_after_ms: 0, retry_after_ms };
        return Step { decision, new_tat: None };
    };
    let tau = t.saturating_mul(limit.requests - 1);
    let tat = tat.unwrap_or(now_ns).max(now_ns);
    let backlog = tat - now_ns;
    if backlog > tau {
        let decision = RateDecision {
            allowed: false,
            limit,
            remaining: 0,
            reset_after_ms: ns_to_ms_ceil(backlog),
            retry_after_ms: ns_to_ms_ceil(backlog - tau),
        };
        return Step { decision, new_tat: None };
    }
    let new_backlog = backlog.saturating_add(t);
    // Capacity is τ + T = n * T; what is left of it, in whole requests.
    let remaining = tau.saturating_add(t).saturating_sub(new_backlog) / t;
    let decision =
        RateDecision { allowed: true, limit, remaining, reset_after_ms: ns_to_ms_ceil(new_backlog), retry_after_ms: 0 };
    Step { decision, new_tat: Some(now_ns.saturating_add(new_backlog)) }
}

/// The TAT after giving back one admitted request: `TAT - T`. A result
/// at or before `now_ns` means a full bucket (`None`).
pub(crate) fn refund(tat: u64, limit: RateLimit, now_ns: u64) -> Option<u64> {
    let t = emission_ns(limit)?;
    let tat = tat.saturating_sub(t);
    (tat > now_ns).then_some(tat)
}
