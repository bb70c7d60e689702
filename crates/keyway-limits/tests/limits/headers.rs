use super::{key, limiter};
use keyway_limits::headers::{most_restrictive, rate_limit_headers, ratelimit, ratelimit_policy, retry_after};
use keyway_limits::{Level, RateDecision, RateLimit, RateLimiter};

#[test]
fn allowed_request_fields() {
    let (_clock, limiter) = limiter();
    let limit = RateLimit::new(100, 60);
    let mut last = None;
    for _ in 0..58 {
        last = Some(limiter.check(&key("k"), limit));
    }
    let d = last.unwrap();
    // 58 * 600 ms = 34.8 s until full, rounded up.
    assert_eq!(ratelimit_policy(Level::Key, &d), ("RateLimit-Policy", "\"key\";q=100;w=60".to_owned()));
    assert_eq!(ratelimit(Level::Key, &d), ("RateLimit", "\"key\";r=42;t=35".to_owned()));
    assert_eq!(retry_after(&d), None);
}

#[test]
fn refusal_fields_round_retry_after_up() {
    let d = RateDecision {
        allowed: false,
        limit: RateLimit::new(10, 60),
        remaining: 0,
        reset_after_ms: 59_999,
        retry_after_ms: 5_001,
    };
    assert_eq!(
        rate_limit_headers(&[(Level::Tenant, d)]),
        vec![
            ("RateLimit-Policy", "\"tenant\";q=10;w=60".to_owned()),
            ("RateLimit", "\"tenant\";r=0;t=60".to_owned()),
            ("Retry-After", "6".to_owned()),
        ]
    );
}

#[test]
fn several_levels_report_the_lowest_remaining() {
    let decision = |remaining, reset_after_ms| RateDecision {
        allowed: true,
        limit: RateLimit::new(1_000, 3_600),
        remaining,
        reset_after_ms,
        retry_after_ms: 0,
    };
    let levels = [
        (Level::Key, decision(40, 1_000)),
        (Level::App, decision(7, 1_000)),
        (Level::Tenant, decision(7, 90_500)),
        (Level::Api, decision(900, 1_000)),
    ];
    assert_eq!(most_restrictive(&levels).map(|(l, _)| *l), Some(Level::Tenant));
    assert_eq!(
        rate_limit_headers(&levels),
        vec![("RateLimit-Policy", "\"tenant\";q=1000;w=3600".to_owned()), ("RateLimit", "\"tenant\";r=7;t=91".to_owned()),]
    );
    assert!(rate_limit_headers(&[]).is_empty());
}
