//! Rate-limit response header fields, per the IETF httpapi draft
//! (draft-ietf-httpapi-ratelimit-headers), in structured-field form:
//!
//! ```text
//! RateLimit-Policy: "key";q=100;w=60
//! RateLimit: "key";r=42;t=10
//! Retry-After: 6
//! ```
//!
//! The policy name is the level (`key`, `app`, `tenant`, `api`); `q` is
//! the quota in requests, `w` the window in seconds, `r` the remaining
//! requests, `t` the seconds until the bucket is full again (rounded up).
//! `Retry-After` is whole seconds, rounded up, and only sent on a refusal.

use crate::key::Level;
use crate::rate::RateDecision;

/// `RateLimit-Policy` header name.
pub const RATELIMIT_POLICY: &str = "RateLimit-Policy";
/// `RateLimit` header name.
pub const RATELIMIT: &str = "RateLimit";
/// `Retry-After` header name.
pub const RETRY_AFTER: &str = "Retry-After";

/// Milliseconds to whole seconds, rounded up.
fn secs_ceil(ms: u64) -> u64 {
    ms.div_ceil(1000)
}

/// `RateLimit-Policy: "<level>";q=<requests>;w=<per_seconds>`.
pub fn ratelimit_policy(level: Level, decision: &RateDecision) -> (&'static str, String) {
    let value = format!("\"{}\";q={};w={}", level.as_str(), decision.limit.requests, decision.limit.per_seconds);
    (RATELIMIT_POLICY, value)
}

/// `RateLimit: "<level>";r=<remaining>;t=<seconds until full, rounded up>`.
pub fn ratelimit(level: Level, decision: &RateDecision) -> (&'static str, String) {
    let value = format!("\"{}\";r={};t={}", level.as_str(), decision.remaining, secs_ceil(decision.reset_after_ms));
    (RATELIMIT, value)
}

/// `Retry-After: <seconds, rounded up>` for a refusal; `None` if allowed.
pub fn retry_after(decision: &RateDecision) -> Option<(&'static str, String)> {
    (!decision.allowed).then(|| (RETRY_AFTER, secs_ceil(decision.retry_after_ms).to_string()))
}

/// The most restrictive of several levels' decisions: a refused one if
/// any, else the lowest `remaining`; ties go to the longest reset, then to
/// the earliest in the slice. `None` for an empty slice.
pub fn most_restrictive(decisions: &[(Level, RateDecision)]) -> Option<&(Level, RateDecision)> {
    decisions
        .iter()
        .enumerate()
        .min_by_key(|(i, (_, d))| (d.allowed, d.remaining, std::cmp::Reverse(d.reset_after_ms), *i))
        .map(|(_, item)| item)
}

/// The header fields for one request checked at several levels: a single
/// policy, the [`most_restrictive`] one, as `RateLimit-Policy` and
/// `RateLimit`, plus `Retry-After` if it refused. Clients see the limit
/// that binds first; the draft also allows listing every policy, which we
/// do not (it would expose the tenant's and API's limits to every key).
pub fn rate_limit_headers(decisions: &[(Level, RateDecision)]) -> Vec<(&'static str, String)> {
    let Some((level, decision)) = most_restrictive(decisions) else {
        return Vec::new();
    };
    let mut headers = vec![ratelimit_policy(*level, decision), ratelimit(*level, decision)];
    headers.extend(retry_after(decision));
    headers
}
