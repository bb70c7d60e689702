//! Stage 6, limits: `rate_limited`, `quota_exceeded`, and the AI
//! gateway's `budget_exceeded` and `token_rate_limited`.

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

/// An AI spend budget that is used up.
#[derive(Debug, Clone, Copy)]
pub struct BudgetUsed<'a> {
    /// The level it is set at: `key`, `app` or `tenant`.
    pub level: &'a str,
    /// The same for callers.
    pub whose: &'a str,
    /// The id it counts for.
    pub subject: &'a str,
    /// The budget, USD per period.
    pub budget_usd: f64,
    /// Spent in this period, USD (settled calls).
    pub spent_usd: f64,
    /// Held by calls in flight, USD.
    pub held_usd: f64,
    /// The period: `day` or `month`.
    pub period: &'a str,
    /// When the period ends.
    pub resets_at: Timestamp,
    /// Now, for `Retry-After`.
    pub now: Timestamp,
}

/// An AI tokens-per-minute limit that is used up.
#[derive(Debug, Clone, Copy)]
pub struct TokensUsed<'a> {
    /// The level it is set at: `key`, `app` or `tenant`.
    pub level: &'a str,
    /// The same for callers.
    pub whose: &'a str,
    /// The id it counts for.
    pub subject: &'a str,
    /// Tokens allowed per minute.
    pub per_minute: u64,
    /// Tokens used this minute, and held by calls in flight.
    pub used: u64,
    /// This call's estimate.
    pub asked: u64,
    /// Seconds until the minute ends.
    pub retry_after_s: u64,
}

impl Refusal {
    /// `budget_exceeded`: an AI spend budget is used up; gives spent and budget.
    pub fn budget_exceeded(b: BudgetUsed<'_>) -> Self {
        let resets = fmt_time(&b.resets_at);
        let retry = (b.resets_at - b.now).num_seconds().max(1);
        Self::new(
            ErrorCode::BudgetExceeded,
            format!(
                "The {} AI budget of {} per {} is used up: ${:.6} spent; it resets at {resets}.",
                b.whose,
                usd(b.budget_usd),
                b.period,
                b.spent_usd
            ),
            format!(
                "{} {} spent ${:.6} (+ ${:.6} held by calls in flight) of {} per {}",
                b.level,
                b.subject,
                b.spent_usd,
                b.held_usd,
                usd(b.budget_usd),
                b.period
            ),
        )
        .hint(format!("Wait until {resets}, or ask for a larger budget."))
        .fix(format!("raise the {}'s budget", b.level))
        .header("retry-after", retry.to_string())
        .header("ratelimit-policy", format!("\"{}-budget\";q={};w={}", b.level, micro(b.budget_usd), period_secs(b.period)))
        .header(
            "ratelimit",
            format!("\"{}-budget\";r={};t={retry}", b.level, micro(b.budget_usd).saturating_sub(micro(b.spent_usd))),
        )
    }

    /// `token_rate_limited`: an AI tokens-per-minute limit is used up.
    pub fn token_rate_limited(t: TokensUsed<'_>) -> Self {
        let retry = t.retry_after_s.max(1);
        Self::new(
            ErrorCode::TokenRateLimited,
            format!(
                "The {} limit of {} tokens per minute is used up ({} used or in flight, this call needs about {}); retry in {retry} s.",
                t.whose, t.per_minute, t.used, t.asked
            ),
            format!("{} {} at {} of {} tokens per minute, asked {}", t.level, t.subject, t.used, t.per_minute, t.asked),
        )
        .hint(format!("Wait {retry} s (Retry-After), or send smaller requests (max_tokens)."))
        .fix(format!("raise the {}'s tokens_per_minute", t.level))
        .header("retry-after", retry.to_string())
        .header("ratelimit-policy", format!("\"{}-tokens\";q={};w=60", t.level, t.per_minute))
        .header("ratelimit", format!("\"{}-tokens\";r={};t={retry}", t.level, t.per_minute.saturating_sub(t.used)))
    }
}

/// A budget in dollars: cents when it has no finer part, else up to
/// micro-dollars (`$45.00`, `$0.000001`).
fn usd(x: f64) -> String {
    let cents = format!("{x:.2}");
    if (cents.parse::<f64>().unwrap_or(x) - x).abs() < 1e-9 {
        return format!("${cents}");
    }
    let fine = format!("{x:.6}");
    format!("${}", fine.trim_end_matches('0'))
}

/// USD as whole micro-USD (the unit of the budget's `RateLimit` fields).
fn micro(usd: f64) -> u64 {
    (usd * 1e6).round().max(0.0) as u64
}

/// A budget period's length in seconds, for `RateLimit-Policy` (a month
/// as 30 days).
fn period_secs(period: &str) -> u64 {
    if period == "month" {
        30 * 86_400
    } else {
        86_400
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn budgets_read_in_cents_or_finer_when_they_have_to() {
        assert_eq!(super::usd(45.0), "$45.00");
        assert_eq!(super::usd(0.5), "$0.50");
        assert_eq!(super::usd(0.000001), "$0.000001");
        assert_eq!(super::usd(1.2345), "$1.2345");
    }
}
