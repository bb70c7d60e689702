//! Stage 6, limits: `rate_limited`, `quota_exceeded`.

use crate::{fmt_time, ErrorCode, Refusal, Timestamp};

/// A rate limit that is used up.
#[derive(Debug, Clone)]
pub struct RateUsed<'a> {
    /// The level it is set at: `key`, `app`, `tenant` or `api`.
    pub level: &'a str,
    /// The same for callers: "key's", "team's"...
    pub whose: &'a str,
    /// The id it counts for.
    pub subject: &'a str,
    /// Requests allowed...
    pub requests: u64,
    /// ...per this many seconds.
    pub per_seconds: u64,
    /// Seconds until one more request fits.
    pub retry_after_s: u64,
    /// The `RateLimit`, `RateLimit-Policy` and `Retry-After` headers.
    pub headers: Vec<(&'static str, String)>,
}

/// A period quota that is used up.
#[derive(Debug, Clone, Copy)]
pub struct QuotaUsed<'a> {
    /// The level it is set at.
    pub level: &'a str,
    /// The same for callers.
    pub whose: &'a str,
    /// The id it counts for.
    pub subject: &'a str,
    /// Requests allowed per period.
    pub requests: u64,
    /// The period: `day` or `month`.
    pub period: &'a str,
    /// Requests counted in this period.
    pub used: u64,
    /// When the period ends.
    pub resets_at: Timestamp,
    /// Now, for `Retry-After`.
    pub now: Timestamp,
}

impl Refusal {
    /// `rate_limited`: a rate limit is used up.
    pub fn rate_limited(used: RateUsed<'_>) -> Self {
        let RateUsed { level, whose, subject, requests, per_seconds, retry_after_s: retry, headers } = used;
        let mut r = Self::new(
            ErrorCode::RateLimited,
            format!("The {whose} rate limit of {requests} requests per {per_seconds} s is used up; retry in {retry} s."),
            format!("{level} {subject} at {requests} per {per_seconds} s"),
        )
        .hint(format!("Slow down: wait {retry} s (Retry-After) before the next request."))
        .fix(format!("raise the {level} rate limit, or spread the caller's traffic"));
        r.headers = headers;
        r
    }

    /// `quota_exceeded`: a period quota is used up.
    pub fn quota_exceeded(used: QuotaUsed<'_>) -> Self {
        let QuotaUsed { level, whose, subject, requests, period, used, resets_at, now } = used;
        let resets = fmt_time(&resets_at);
        let retry = (resets_at - now).num_seconds().max(1);
        Self::new(
            ErrorCode::QuotaExceeded,
            format!("The {whose} quota of {requests} requests per {period} is used up ({used} used); it resets at {resets}."),
            format!("{level} {subject} used {used} of {requests} per {period}"),
        )
        .hint(format!("Wait until {resets}, or ask for a larger quota."))
        .fix(format!("raise the {level} quota"))
        .header("retry-after", retry.to_string())
    }
}
