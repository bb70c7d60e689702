use super::{key, limiter};
use keyway_limits::{check_all, Level, LimitKey, RateDecision, RateLimit, RateLimiter};
use std::sync::Mutex;

#[test]
fn a_refusal_at_the_api_level_leaves_the_key_level_untouched() {
    let (_clock, limiter) = limiter();
    let key_limit = RateLimit::new(10, 60);
    let api = LimitKey::new(Level::Api, "api_1");
    let checks = [(key("k"), key_limit), (api.clone(), RateLimit::new(1, 60))];

    let ok = check_all(&limiter, &checks).unwrap();
    assert_eq!(ok.iter().map(|d| d.remaining).collect::<Vec<_>>(), vec![9, 0]);

    for _ in 0..5 {
        let refusal = check_all(&limiter, &checks).unwrap_err();
        assert_eq!((refusal.index, &refusal.key), (1, &api));
        assert!(!refusal.decision.allowed);
        assert_eq!(refusal.decision.retry_after_ms, 60_000);
    }
    // Only the one admitted request was counted at the key level.
    assert_eq!(limiter.peek(&key("k"), key_limit).remaining, 8);
}

#[test]
fn a_refusal_at_the_first_level_reports_it() {
    let (_clock, limiter) = limiter();
    let checks = [(key("k"), RateLimit::new(1, 60)), (LimitKey::new(Level::App, "app"), RateLimit::new(10, 60))];
    check_all(&limiter, &checks).unwrap();
    let refusal = check_all(&limiter, &checks).unwrap_err();
    assert_eq!((refusal.index, refusal.key.level), (0, Level::Key));
    assert_eq!(limiter.peek(&checks[1].0, checks[1].1).remaining, 8);
}

/// Peeks say yes, but the commit at `racy` refuses: as if a concurrent
/// request took the last capacity in between.
struct Racy<L> {
    inner: L,
    racy: LimitKey,
    refunds: Mutex<Vec<LimitKey>>,
}

impl<L: RateLimiter> RateLimiter for Racy<L> {
    fn check(&self, key: &LimitKey, limit: RateLimit) -> RateDecision {
        if *key == self.racy {
            return RateDecision { allowed: false, limit, remaining: 0, reset_after_ms: 1, retry_after_ms: 1 };
        }
        self.inner.check(key, limit)
    }

    fn peek(&self, key: &LimitKey, limit: RateLimit) -> RateDecision {
        self.inner.peek(key, limit)
    }

    fn refund(&self, key: &LimitKey, limit: RateLimit) {
        self.refunds.lock().unwrap().push(key.clone());
        self.inner.refund(key, limit);
    }
}

#[test]
fn a_lost_race_refunds_the_levels_already_counted() {
    let (_clock, inner) = limiter();
    let racy = LimitKey::new(Level::Tenant, "t");
    let limiter = Racy { inner, racy: racy.clone(), refunds: Mutex::new(Vec::new()) };
    let limit = RateLimit::new(10, 60);
    let checks = [(key("k"), limit), (LimitKey::new(Level::App, "a"), limit), (racy, limit), (key("never"), limit)];

    let refusal = check_all(&limiter, &checks).unwrap_err();
    assert_eq!(refusal.index, 2);
    assert_eq!(*limiter.refunds.lock().unwrap(), vec![checks[0].0.clone(), checks[1].0.clone()]);
    for (key, limit) in &checks {
        assert_eq!(limiter.inner.peek(key, *limit).remaining, 9, "{key}");
    }
    // The refunded entries are full buckets again, so they are dropped.
    assert!(limiter.inner.is_empty());
}
